//! Storage: the one source of truth.
//!
//! Everything durable goes through three traits, one per area and per
//! room that uses it (River groups its driver the same way):
//!
//! - [`SnippetStore`]: snippets as pages, lists and the API read and change
//!   them (`service`, `http`);
//! - [`JobStore`]: the queue workers claim from and finish in, and the
//!   maintenance loops' passes (`jobs`);
//! - [`Operations`] (`ops.rs`): what operators read and steer: counts,
//!   history, the jobs table, bulk actions, nodes, the pause (`admin`).
//!
//! One generic body of SQL in `sql/` implements all three for both
//! databases; the few places they differ are the [`Dialect`] trait, which
//! SQLite (embedded, the single-node default, `sqlite.rs`) and PostgreSQL
//! (several nodes, `postgres.rs`) implement. Events are only hints about
//! changes here; a page that missed one re-reads a snapshot.
//!
//! Times are passed in rather than read inside, so the maintenance loops can
//! be tested with a clock of their own.

pub mod ops;
mod postgres;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    domain::{
        Failed, GoneReason, Progress, RevisionInfo, SnippetId, SnippetSummary, SnippetView,
        StateChanged, Visibility,
    },
    server::owner::OwnerHash,
};

pub use ops::{JobCursor, Operations};
pub use postgres::PgStore;
pub use sql::{Cell, Dialect, SqlStore};
pub use sqlite::SqliteStore;

/// What went wrong in the store, and during which operation: a log line
/// that says "database error while claiming jobs" is one an operator can
/// act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error while {operation}")]
    Database {
        operation: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("could not apply database migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database URL `{0}` is not supported: use sqlite://path.db or postgres://...")]
    UnsupportedUrl(String),
    #[error("while {operation}, the database held a value this version cannot read: {detail}")]
    Corrupt {
        operation: &'static str,
        detail: String,
    },
}

/// Until [`StoreError::during`] names it.
const UNNAMED_OPERATION: &str = "using the database";

impl From<sqlx::Error> for StoreError {
    fn from(source: sqlx::Error) -> Self {
        StoreError::Database {
            operation: UNNAMED_OPERATION,
            source,
        }
    }
}

impl StoreError {
    /// A value read back that this version cannot make sense of.
    pub fn corrupt(detail: impl Into<String>) -> Self {
        StoreError::Corrupt {
            operation: UNNAMED_OPERATION,
            detail: detail.into(),
        }
    }

    /// The same error, naming the operation it interrupted.
    pub fn during(self, operation: &'static str) -> Self {
        match self {
            StoreError::Database { source, .. } => StoreError::Database { operation, source },
            StoreError::Corrupt { detail, .. } => StoreError::Corrupt { operation, detail },
            other => other,
        }
    }
}

/// One file about to be stored: its code, and what is known of it.
#[derive(Clone, Debug)]
pub struct NewFile {
    pub name: String,
    /// Whether a person gave the name.
    pub named: bool,
    pub language: String,
    pub code: String,
    /// The SHA-256 of the code, in hex ([`content_hash`]).
    pub hash: String,
    pub lines: u32,
}

impl NewFile {
    pub fn new(name: String, named: bool, language: String, code: String) -> Self {
        NewFile {
            hash: content_hash(&code),
            lines: crate::domain::source::line_count(&code),
            name,
            named,
            language,
            code,
        }
    }
}

/// The SHA-256 of a file's code, in hex: how its blob is found, and how a
/// page knows it already shows a file.
pub fn content_hash(code: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::server::hex(&Sha256::digest(code.as_bytes()))
}

/// A snippet about to be stored: its first revision, and that revision's
/// job.
#[derive(Clone, Debug)]
pub struct NewSnippet {
    pub id: SnippetId,
    pub files: Vec<NewFile>,
    pub max_attempts: u32,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The hash of its owner's secret; `None` only for snippets from
    /// before owners existed.
    pub owner: Option<OwnerHash>,
    pub visibility: Visibility,
    pub burn_after_reading: bool,
    /// The snippet it was forked from.
    pub forked_from: Option<SnippetId>,
}

/// A revision about to be saved over `base`, the revision its author saw.
#[derive(Clone, Debug)]
pub struct NewRevision {
    pub id: SnippetId,
    pub base: u32,
    pub files: Vec<NewFile>,
    pub lines_added: u32,
    pub lines_removed: u32,
    pub max_attempts: u32,
    pub now: DateTime<Utc>,
    /// Revisions kept: older ones are pruned with this save.
    pub keep: u32,
}

/// How a save went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    /// Stored as this revision number.
    As(u32),
    /// Another save landed first: the latest revision is not the base.
    Stale { latest: u32 },
    /// The snippet is not there (gone, or never was).
    Missing,
}

/// A snippet as stored: what pages show, and who owns it (which never
/// leaves the server).
#[derive(Clone, Debug)]
pub struct StoredSnippet {
    pub view: SnippetView,
    pub owner: Option<OwnerHash>,
}

/// Proof that a worker holds a job: the fencing token every write of the
/// job's outcome is checked against. A worker whose lease expired and was
/// claimed again by someone else holds a stale token, and its writes are
/// refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub snippet_id: SnippetId,
    /// Jobs are per revision.
    pub revision: u32,
    pub worker: String,
    pub attempt: u32,
}

/// A file of a claimed job.
#[derive(Clone, Debug)]
pub struct JobFile {
    pub name: String,
    pub language: String,
    pub hash: String,
    pub bytes: u64,
    pub lines: u32,
    /// `None`: this engine's result for it is stored already (it did not
    /// change since it was last highlighted): nothing to do.
    pub code: Option<String>,
    /// That stored result, when `code` is `None`.
    pub cached_html: Option<String>,
    pub cached_rendered: Option<String>,
}

/// A job a worker has claimed, with what it needs to run it.
#[derive(Clone, Debug)]
pub struct ClaimedJob {
    pub lease: Lease,
    pub max_attempts: u32,
    /// When the job was (last) queued: the start of its submit -> done
    /// latency.
    pub enqueued_at: Option<DateTime<Utc>>,
    pub files: Vec<JobFile>,
}

/// One file's result.
#[derive(Clone, Copy, Debug)]
pub struct FileResult<'a> {
    pub hash: &'a str,
    pub language: &'a str,
    pub html: &'a str,
    pub rendered: Option<&'a str>,
    pub highlighted_in_ms: u64,
}

/// A finished job's results, to be stored if its lease still holds.
#[derive(Clone, Copy, Debug)]
pub struct Completed<'a> {
    pub lease: &'a Lease,
    /// The results of the files it highlighted (not those it reused).
    pub files: &'a [FileResult<'a>],
    /// The engine version whose results the revision shows.
    pub engine: &'a str,
    pub highlighted_in_ms: u64,
    /// A notice to send on [`NOTICE_CHANNEL`] if, and only if, this result
    /// is committed (PostgreSQL delivers it at commit). The store does not
    /// read it: what notices say is the events module's business.
    pub notice: Option<&'a str>,
}

/// The PostgreSQL channel notices travel on.
pub const NOTICE_CHANNEL: &str = "highlighter_events";

/// The largest NOTIFY payload PostgreSQL accepts is 7999 bytes.
pub const MAX_NOTICE_PAYLOAD: usize = 7999;

/// Packs notices (one line each) into as few NOTIFY payloads as fit under
/// [`MAX_NOTICE_PAYLOAD`], in order, one notice per line. A notice that
/// cannot fit even alone is dropped with a warning (the events module
/// keeps them far smaller).
pub fn pack_notices<S: AsRef<str>>(notices: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut payloads: Vec<String> = Vec::new();
    for notice in notices {
        let notice = notice.as_ref();
        if notice.len() > MAX_NOTICE_PAYLOAD {
            tracing::warn!(
                bytes = notice.len(),
                "a notice too large for NOTIFY was dropped"
            );
            crate::server::metrics::notice_dropped("too_large", 1);
            continue;
        }
        match payloads.last_mut() {
            Some(payload) if payload.len() + 1 + notice.len() <= MAX_NOTICE_PAYLOAD => {
                payload.push('\n');
                payload.push_str(notice);
            }
            _ => payloads.push(notice.to_owned()),
        }
    }
    payloads
}

/// What happened to a job whose lease had expired.
#[derive(Clone, Debug, PartialEq)]
pub enum Rescued {
    /// Due again now: the snippet and its revision.
    Requeued(SnippetId, u32),
    /// It had used its last attempt: failed for good, with what its pages
    /// show.
    Failed(SnippetId, Failed),
}

/// The product's side of the store: snippets as pages, lists and the API
/// read and change them. Each change that needs a job queues it in the
/// same transaction.
#[async_trait]
pub trait SnippetStore: Send + Sync + 'static {
    /// Stores the snippet, its first revision and files, and queues that
    /// revision's job, in one transaction.
    async fn create_snippet(&self, new: &NewSnippet) -> Result<(), StoreError>;

    /// The latest revision of one snippet, with its files (code and
    /// HTML), its job's state and its owner.
    async fn snippet(&self, id: &SnippetId) -> Result<Option<StoredSnippet>, StoreError>;

    /// One revision of a snippet, as [`snippet`](SnippetStore::snippet)
    /// reads the latest; `None` when the snippet or the revision is not
    /// there (never was, or was pruned).
    async fn snippet_revision(
        &self,
        id: &SnippetId,
        revision: u32,
    ) -> Result<Option<StoredSnippet>, StoreError>;

    /// Every kept revision of a snippet, oldest first: numbers, times,
    /// lines added and removed, files (names and sizes, never code).
    async fn revisions(&self, id: &SnippetId) -> Result<Vec<RevisionInfo>, StoreError>;

    /// Saves a new revision over `base` and queues its job, in one
    /// transaction, unless another save landed first; prunes the oldest
    /// revisions beyond `keep`.
    async fn save_revision(&self, new: &NewRevision) -> Result<Saved, StoreError>;

    /// The public forks of a snippet that have not expired by `now`,
    /// newest first. A fork that burns after reading is never listed: the
    /// first stranger to follow the link would burn it for its reader.
    async fn forks(
        &self,
        id: &SnippetId,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<SnippetSummary>, StoreError>;

    /// The newest public snippets that have not expired by `now`, newest
    /// first. Unlisted snippets are never listed.
    async fn recent_snippets(
        &self,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<SnippetSummary>, StoreError>;

    /// The newest snippets of one owner (public or not), newest first.
    async fn owner_snippets(
        &self,
        owner: &OwnerHash,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<SnippetSummary>, StoreError>;

    /// The states of the latest revisions of the listed snippets that
    /// exist and have not expired: what a list stream's snapshot needs,
    /// without code or HTML.
    async fn list_states(
        &self,
        ids: &[SnippetId],
        now: DateTime<Utc>,
    ) -> Result<Vec<(SnippetId, StateChanged)>, StoreError>;

    /// Why a snippet that existed is gone; `None` if it never existed (or
    /// still does).
    async fn gone_reason(&self, id: &SnippetId) -> Result<Option<GoneReason>, StoreError>;

    /// [`gone_reason`](SnippetStore::gone_reason) for many ids in one
    /// read: those of `ids` that are gone, with why.
    async fn gone_reasons(
        &self,
        ids: &[SnippetId],
    ) -> Result<Vec<(SnippetId, GoneReason)>, StoreError>;

    /// Deletes a snippet (its revisions, files and jobs go with it, and
    /// code no other snippet holds) and leaves a tombstone with the reason.
    /// `false` when it was already gone or never was.
    async fn delete_snippet(
        &self,
        id: &SnippetId,
        reason: GoneReason,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Burn after reading: returns a burn-after-reading snippet's latest
    /// revision and deletes it, in one transaction. Of two readers at once
    /// exactly one gets it; `None` for the other, and for a snippet that is
    /// not burn after reading.
    async fn take_snippet(
        &self,
        id: &SnippetId,
        now: DateTime<Utc>,
    ) -> Result<Option<SnippetView>, StoreError>;

    /// Sets another language on files of the latest revision (the file at
    /// `position`, or every file) and queues its job anew, whatever its
    /// state: a worker still running the old job is fenced out. `false`
    /// when the snippet (or the file) is unknown.
    async fn change_language(
        &self,
        id: &SnippetId,
        position: Option<u32>,
        language: &str,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Queues the failed latest revision anew ("Try again"): a fresh job
    /// with all its attempts. `false` when the snippet is unknown or its
    /// latest revision is not failed.
    async fn requeue_failed(
        &self,
        id: &SnippetId,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Cheap liveness check for `/api/health`.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// The job engine's side of the store: the queue its workers claim from
/// and finish in, and the passes of its maintenance loops (rescue, prune,
/// sweep). Every write of a job's outcome is fenced by its [`Lease`].
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Claims up to `limit` due jobs for `worker`, leased until
    /// `lease_until`, with their files: the code of each that `engine`
    /// has no stored result for.
    async fn claim_jobs(
        &self,
        worker: &str,
        limit: u32,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        engine: &str,
    ) -> Result<Vec<ClaimedJob>, StoreError>;

    /// Extends a lease. `false`: the lease was lost; stop working on the job.
    async fn renew_lease(
        &self,
        lease: &Lease,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records how far the job got, for pages that open mid-way.
    async fn save_progress(&self, lease: &Lease, progress: Progress) -> Result<bool, StoreError>;

    /// Stores each job's file results and marks its job (and revision)
    /// succeeded where its lease still holds, all in one transaction: one
    /// answer per job, `false` where someone else owns the job now. One
    /// commit for a whole batch is what lets a busy queue keep up (see
    /// `jobs::completer`).
    async fn complete_jobs(
        &self,
        done: &[Completed<'_>],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError>;

    /// [`complete_jobs`](JobStore::complete_jobs) for one job.
    async fn complete_job(
        &self,
        lease: &Lease,
        files: &[FileResult<'_>],
        engine: &str,
        highlighted_in_ms: u64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = [Completed {
            lease,
            files,
            engine,
            highlighted_in_ms,
            notice: None,
        }];
        let stored = self.complete_jobs(&done, now).await?;
        Ok(stored.first().copied().unwrap_or(false))
    }

    /// Schedules the next attempt at `run_at`, if the lease still holds.
    async fn retry_job(
        &self,
        lease: &Lease,
        error: &str,
        run_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Fails the job for good, if the lease still holds.
    async fn fail_job(
        &self,
        lease: &Lease,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Gives an unfinished job back to the queue (shutdown); the attempt does
    /// not count.
    async fn release_job(&self, lease: &Lease, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Makes jobs whose lease expired before `now` due again (or failed, when
    /// they have no attempts left).
    async fn rescue_expired(&self, now: DateTime<Utc>) -> Result<Vec<Rescued>, StoreError>;

    /// Deletes finished job records (never snippets or revisions, which
    /// keep the outcome): succeeded ones that finished before
    /// `succeeded_before`, failed ones before `failed_before`. Returns how
    /// many went.
    async fn prune_finished_jobs(
        &self,
        succeeded_before: DateTime<Utc>,
        failed_before: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Deletes snippets that expired by `now` (their jobs go with them),
    /// leaving tombstones. Returns their ids. (Expiry is the sweeper's
    /// work, one of the job engine's maintenance loops.)
    async fn sweep_expired(&self, now: DateTime<Utc>) -> Result<Vec<SnippetId>, StoreError>;

    /// Jobs not finished yet (queued, processing or retrying).
    async fn unfinished_jobs(&self) -> Result<u64, StoreError>;
}

/// Every area at once: for the conformance suite, the benchmarks and other
/// tools that set a database up and read it back. The app itself hands
/// each room only its own area.
pub trait Store: SnippetStore + JobStore + Operations {}

impl<T: SnippetStore + JobStore + Operations> Store for T {}

pub type DynStore = Arc<dyn Store>;
pub type DynSnippetStore = Arc<dyn SnippetStore>;
pub type DynJobStore = Arc<dyn JobStore>;
pub type DynOperations = Arc<dyn Operations>;

/// An open database, by area: the product's snippets, the job engine's
/// queue, the operators' view, and, with PostgreSQL, the pool (the event
/// relay shares it). All three areas are one store underneath.
pub struct Connected {
    pub snippets: DynSnippetStore,
    pub jobs: DynJobStore,
    pub operations: DynOperations,
    pub postgres: Option<sqlx::PgPool>,
    /// Closes the pool when the node stops.
    pub closer: Closer,
}

/// The database's pool, to close when the node stops: SQLite checkpoints
/// its write-ahead log into the database file when its last connection
/// closes, so a stopped node leaves one file, whole, not a database plus
/// a log a copy could miss.
#[derive(Clone)]
pub enum Closer {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Closer {
    /// Waits for connections in use to be returned, then closes them all.
    pub async fn close(&self) {
        match self {
            Closer::Sqlite(pool) => pool.close().await,
            Closer::Postgres(pool) => pool.close().await,
        }
    }
}

/// Opens the store the URL names and brings its schema up to date.
pub async fn connect(url: &str) -> Result<Connected, StoreError> {
    if url.starts_with("sqlite:") {
        let store = Arc::new(SqliteStore::connect(url).await?);
        Ok(Connected {
            closer: Closer::Sqlite(store.pool().clone()),
            snippets: store.clone(),
            jobs: store.clone(),
            operations: store,
            postgres: None,
        })
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let store = Arc::new(PgStore::connect(url).await?);
        let pool = store.pool().clone();
        Ok(Connected {
            closer: Closer::Postgres(pool.clone()),
            snippets: store.clone(),
            jobs: store.clone(),
            operations: store,
            postgres: Some(pool),
        })
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

/// Milliseconds since the Unix epoch: how times are stored.
pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::corrupt(format!("timestamp {ms}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_pack_into_few_payloads_in_order() {
        let notices: Vec<String> = (0..1000).map(|n| format!("{{\"n\":{n:04}}}")).collect();
        let payloads = pack_notices(&notices);
        assert!(payloads.len() < 10, "{} payloads", payloads.len());
        assert!(payloads.iter().all(|p| p.len() <= MAX_NOTICE_PAYLOAD));
        let lines: Vec<String> = payloads
            .iter()
            .flat_map(|p| p.lines())
            .map(str::to_owned)
            .collect();
        assert_eq!(lines, notices);
        assert!(pack_notices(["x".repeat(MAX_NOTICE_PAYLOAD + 1)]).is_empty());
    }
}
