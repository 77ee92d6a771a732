//! One body of SQL for both databases.
//!
//! [`SqlStore`] implements every store trait once, generically over the
//! sqlx database it runs on; the queries are the same text for SQLite and
//! PostgreSQL but where a [`Dialect`] says otherwise. By file:
//!
//! - `mod.rs` (here): the store, the dialect, and what all areas share:
//!   statements, reading rows into domain types, checked conversions;
//! - `snippets.rs`: [`SnippetStore`](super::SnippetStore);
//! - `jobs.rs`: [`JobStore`](super::JobStore): claims, fenced outcomes,
//!   batched completions, the maintenance passes;
//! - `operations.rs`: [`Operations`](super::Operations).
//!
//! The conformance suite (`tests/store_conformance.rs`) runs every test
//! against both databases, so a dialect difference that leaks shows there.
//!
//! Each trait method runs inside [`during`], which names the operation in
//! any error it returns.

mod jobs;
mod operations;
mod snippets;

use chrono::{DateTime, Utc};
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type, query::Query,
};
use tokio::sync::{Mutex, MutexGuard};

use super::{NewFile, StoreError, StoredSnippet, from_millis};
use crate::{
    domain::{
        FileView, ForkOrigin, JobState, Progress, SnippetId, SnippetSummary, SnippetView,
        StateChanged, Visibility, source::preview,
    },
    server::owner::OwnerHash,
};

/// Where SQLite and PostgreSQL differ, and nothing else: implemented by
/// `sqlx::Sqlite` in `sqlite.rs` and `sqlx::Postgres` in `postgres.rs`.
pub trait Dialect: Database {
    /// How a claim keeps two concurrent claims off the same row, put after
    /// the claim's `LIMIT` (see [`claim_sql`]).
    const CLAIM_LOCK: &'static str;
    /// Run first in the queue's transactions (claims and completions):
    /// what they need of the database that its defaults do not give;
    /// `None` where nothing is needed.
    const QUEUE_SETTINGS: Option<&'static str>;
    /// How a transaction sends a notice (`$1` channel, `$2` payload) to
    /// every node; `None` where there is only one node.
    const NOTIFY: Option<&'static str>;
    /// The database takes one writer at a time: this process's writes
    /// take turns before they reach it (see [`SqlStore::write_turn`]).
    const ONE_WRITER: bool;

    /// How many rows a statement changed (each sqlx driver has its own
    /// result type, with no trait in common that says).
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// Whether a batch statement takes its rows as one parameter, a JSON
    /// array of rows ([`Dialect::rows_of`]), rather than a parameter for
    /// each cell.
    const ROWS_AS_JSON: bool;

    /// A `SELECT` of a batch's `count` rows as a table of `columns`, its
    /// parameters numbered from `$first`: the queue's batch statements
    /// (claimed files, completions, results) read their rows from it, and
    /// `SqlStore::bind_rows` binds them.
    fn rows_of(first: usize, count: usize, columns: &[(&str, Cell)]) -> String;
}

/// The type of a column [`Dialect::rows_of`] reads.
#[derive(Debug, Clone, Copy)]
pub enum Cell {
    Text,
    Bigint,
}

/// A cell of a batch row ([`Dialect::rows_of`]); serde writes each as
/// the bare JSON value.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(untagged)]
enum Value<'a> {
    Text(&'a str),
    MaybeText(Option<&'a str>),
    Int(i64),
}

/// The store, on the database `D` names: see [`SqliteStore`] and
/// [`PgStore`].
///
/// [`SqliteStore`]: super::SqliteStore
/// [`PgStore`]: super::PgStore
#[derive(Debug)]
pub struct SqlStore<D: Database> {
    pool: Pool<D>,
    /// The claim statement in this dialect ([`claim_sql`]), written once.
    claim: String,
    /// Held by whichever of this process's writes has its turn, where the
    /// database takes one writer at a time ([`Dialect::ONE_WRITER`]).
    write_turn: Mutex<()>,
}

impl<D: Dialect> SqlStore<D> {
    pub(super) fn new(pool: Pool<D>) -> Self {
        SqlStore {
            pool,
            claim: claim_sql(D::CLAIM_LOCK),
            write_turn: Mutex::new(()),
        }
    }

    /// Waits for this process's turn to write, on a database that takes one
    /// writer at a time (SQLite); at once elsewhere. Hold it until the
    /// write (the whole transaction) is over.
    ///
    /// SQLite makes a second writer wait in its busy handler, which
    /// sleeps (1 ms, then 2, 5, 10...) and polls again, so a queue of
    /// small jobs, whose claims and completions write all the time, spent
    /// its drains with a writer asleep long after the lock was free: 528
    /// such sleeps in a 2.6 s drain of 10,000 jobs (`bench/PROFILE.md`,
    /// round 22). Here a write waits in a fair queue and starts the moment
    /// the last one ends. The busy handler stays, for writers in other
    /// processes (the `sqlite3` shell).
    async fn write_turn(&self) -> Option<MutexGuard<'_, ()>> {
        if D::ONE_WRITER {
            Some(self.write_turn.lock().await)
        } else {
            None
        }
    }
}

impl<D: Database> SqlStore<D> {
    pub fn pool(&self) -> &Pool<D> {
        &self.pool
    }
}

/// A statement with its parameters, on `D`.
type Statement<'q, D> = Query<'q, D, <D as Database>::Arguments<'q>>;

/// Runs one store operation, naming it in any error it returns.
async fn during<T>(
    operation: &'static str,
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    work.await.map_err(|error| error.during(operation))
}

/// A fresh job for a revision (`$1` snippet, `$4` revision), replacing a
/// finished record if one is left.
const REQUEUE_JOB: &str = "
    INSERT INTO jobs (snippet_id, revision, state, attempts, max_attempts, run_at, created_at,
                      updated_at, enqueued_at)
    VALUES ($1, $4, 'queued', 0, $2, $3, $3, $3, $3)
    ON CONFLICT (snippet_id, revision) DO UPDATE SET
        state = 'queued', attempts = 0, max_attempts = excluded.max_attempts,
        run_at = excluded.run_at, locked_by = NULL, lease_until = NULL, last_error = NULL,
        progress_done = NULL, progress_total = NULL, updated_at = excluded.updated_at,
        finished_at = NULL, attempt_started_at = NULL, enqueued_at = excluded.enqueued_at";

/// The latest revision of each snippet, and its job: the join every list
/// and snapshot starts from.
const LATEST: &str = "
    FROM snippets s
    JOIN revisions r ON r.snippet_id = s.id AND r.number = s.revision
    LEFT JOIN jobs j ON j.snippet_id = s.id AND j.revision = s.revision";

/// What a list row needs, from the revision's summary: never files, code
/// or HTML.
const SUMMARY_COLUMNS: &str = "
    SELECT s.id, s.created_at, s.visibility, r.first_language, r.first_name, r.file_count,
           r.lines, r.preview, r.engine IS NOT NULL AS has_html, r.error IS NOT NULL AS has_error,
           j.state, j.progress_done, j.progress_total";

/// The states of a list's snippets, for a list stream's snapshot.
const STATE_COLUMNS: &str = "
    SELECT s.id, s.revision, r.engine IS NOT NULL AS has_html, r.error IS NOT NULL AS has_error,
           j.state, j.attempts, j.run_at, j.progress_done, j.progress_total";

/// One revision of a snippet with its job and where it was forked from:
/// everything a page shows but its files. `$1` is the snippet; the
/// revision is the latest, or `$2` ([`view_sql`]).
fn view_sql(latest: bool) -> String {
    let revision = if latest { "s.revision" } else { "$2" };
    format!(
        "SELECT s.id, s.created_at, s.expires_at, s.visibility, s.burn_after_reading, s.owner_hash,
                s.revision AS latest_revision, s.first_revision, s.forked_from,
                o.visibility AS origin_visibility,
                r.number, r.created_at AS revised_at, r.lines_added, r.lines_removed, r.engine,
                r.highlighted_at, r.highlighted_in_ms, r.error, r.engine IS NOT NULL AS has_html,
                r.error IS NOT NULL AS has_error,
                j.state, j.attempts, j.max_attempts, j.run_at, j.progress_done, j.progress_total,
                j.last_error
         FROM snippets s
         JOIN revisions r ON r.snippet_id = s.id AND r.number = {revision}
         LEFT JOIN jobs j ON j.snippet_id = s.id AND j.revision = r.number
         LEFT JOIN snippets o ON o.id = s.forked_from
         WHERE s.id = $1"
    )
}

/// A revision's files (`$1` snippet, `$2` revision), each with its code
/// and the HTML of engine `$3` (none when the revision is not highlighted).
const FILES_SELECT: &str = "
    SELECT f.position, f.name, f.named, f.language, f.hash, b.bytes, b.lines, b.code,
           h.html, h.rendered
    FROM files f
    JOIN blobs b ON b.hash = f.hash
    LEFT JOIN highlights h ON h.hash = f.hash AND h.language = f.language AND h.engine = $3
    WHERE f.snippet_id = $1 AND f.revision = $2
    ORDER BY f.position";

/// `$1, $2, ... $n`, for an `IN (...)` list.
fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_id(raw: &str) -> Result<SnippetId, StoreError> {
    SnippetId::parse(raw).map_err(|e| StoreError::corrupt(e.to_string()))
}

fn visibility(raw: &str) -> Result<Visibility, StoreError> {
    Visibility::parse(raw).ok_or_else(|| StoreError::corrupt(format!("visibility {raw}")))
}

fn job_state(raw: Option<String>) -> Result<Option<JobState>, StoreError> {
    raw.map(|s| JobState::parse(&s).ok_or_else(|| StoreError::corrupt(format!("job state {s}"))))
        .transpose()
}

/// A count, attempt number or duration read back from a BIGINT column:
/// one that does not fit says the row is not what this version wrote.
fn checked<T: TryFrom<i64>>(value: i64, what: &str) -> Result<T, StoreError> {
    T::try_from(value).map_err(|_| StoreError::corrupt(format!("{what} {value}")))
}

/// A value this version writes as BIGINT: saturates rather than fails,
/// since no count or duration it stores comes near `i64::MAX`.
fn to_i64<T: TryInto<i64>>(value: T) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

fn progress(done: Option<i64>, total: Option<i64>) -> Result<Option<Progress>, StoreError> {
    Ok(match (done, total) {
        (Some(done), Some(total)) => Some(Progress {
            done: checked(done, "progress")?,
            total: checked(total, "progress total")?,
        }),
        _ => None,
    })
}

/// A revision whose job record was pruned still has its outcome on its row.
fn derived_state(job: Option<JobState>, has_html: bool, has_error: bool) -> JobState {
    job.unwrap_or(if has_html {
        JobState::Succeeded
    } else if has_error {
        JobState::Failed
    } else {
        JobState::Queued
    })
}

fn opt_time(ms: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(from_millis).transpose()
}

/// The claim: the oldest due jobs, up to `$4`, leased to worker `$1` until
/// `$2` as of `$3`, in one statement (one round trip, atomic without a
/// transaction around it). `lock` keeps two concurrent claims off the same
/// row ([`Dialect::CLAIM_LOCK`]). Their files are read after
/// (`claimed_files_sql`): files never change once written.
fn claim_sql(lock: &str) -> String {
    format!(
        "UPDATE jobs
         SET state = 'processing', locked_by = $1, lease_until = $2, attempts = attempts + 1,
             progress_done = NULL, progress_total = NULL, updated_at = $3,
             attempt_started_at = $3
         WHERE (snippet_id, revision) IN (
             SELECT snippet_id, revision FROM jobs
             WHERE state IN ('queued', 'retrying') AND run_at <= $3
             ORDER BY run_at
             LIMIT $4 {lock})
         RETURNING snippet_id, revision, attempts, max_attempts, enqueued_at"
    )
}

// Rust does not carry a trait's where-clauses to the users of the trait,
// so each generic `impl` block here states what it needs of `D` (the same
// list every time): that its connections run statements, and that it
// binds and reads the few types the schema uses (text, BIGINT, boolean).
impl<D> SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> &'q str: Encode<'q, D> + Type<D> + ColumnIndex<D::Row>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
    for<'q> Option<i64>: Encode<'q, D>,
{
    /// Ends a requeue of revision `revision`: when the update that guards
    /// it changed a row (`guard_held`), a fresh job replaces the old
    /// record; otherwise nothing changes.
    async fn requeue_in(
        mut tx: sqlx::Transaction<'_, D>,
        guard_held: bool,
        id: &SnippetId,
        revision: u32,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if !guard_held {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(REQUEUE_JOB)
            .bind(id.as_str())
            .bind(i64::from(max_attempts))
            .bind(super::millis(now))
            .bind(i64::from(revision))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Stores the code of `files` that is not stored yet. A blob is never
    /// changed once written: the same hash is the same code.
    async fn insert_blobs(
        tx: &mut sqlx::Transaction<'_, D>,
        files: &[NewFile],
    ) -> Result<(), StoreError> {
        for file in files {
            sqlx::query(
                "INSERT INTO blobs (hash, bytes, lines, code) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (hash) DO NOTHING",
            )
            .bind(file.hash.as_str())
            .bind(to_i64(file.code.len()))
            .bind(i64::from(file.lines))
            .bind(file.code.as_str())
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Stores revision `number` of snippet `id` with its files and summary,
    /// and queues its job.
    #[allow(clippy::too_many_arguments)]
    async fn insert_revision(
        tx: &mut sqlx::Transaction<'_, D>,
        id: &SnippetId,
        number: u32,
        files: &[NewFile],
        lines_added: u32,
        lines_removed: u32,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Self::insert_blobs(tx, files).await?;
        let first = files
            .first()
            .ok_or_else(|| StoreError::corrupt("a revision without files"))?;
        let bytes: usize = files.iter().map(|f| f.code.len()).sum();
        let lines: i64 = files.iter().map(|f| i64::from(f.lines)).sum();
        sqlx::query(
            "INSERT INTO revisions (snippet_id, number, created_at, lines_added, lines_removed,
                                    file_count, bytes, lines, first_name, first_language, preview)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id.as_str())
        .bind(i64::from(number))
        .bind(super::millis(now))
        .bind(i64::from(lines_added))
        .bind(i64::from(lines_removed))
        .bind(to_i64(files.len()))
        .bind(to_i64(bytes))
        .bind(lines)
        .bind(first.named.then_some(first.name.as_str()))
        .bind(first.language.as_str())
        .bind(preview(&first.code))
        .execute(&mut **tx)
        .await?;
        for (position, file) in files.iter().enumerate() {
            sqlx::query(
                "INSERT INTO files (snippet_id, revision, position, name, named, language, hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id.as_str())
            .bind(i64::from(number))
            .bind(to_i64(position))
            .bind(file.name.as_str())
            .bind(file.named)
            .bind(file.language.as_str())
            .bind(file.hash.as_str())
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query(REQUEUE_JOB)
            .bind(id.as_str())
            .bind(i64::from(max_attempts))
            .bind(super::millis(now))
            .bind(i64::from(number))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Deletes snippets `ids` (their revisions, files and jobs go with
    /// them) and then the code they held that no other snippet holds: a
    /// deleted paste's code does not linger.
    async fn delete_in(
        tx: &mut sqlx::Transaction<'_, D>,
        ids: &[SnippetId],
    ) -> Result<(), StoreError> {
        for chunk in ids.chunks(500) {
            let list = placeholders(1, chunk.len());
            let hashes_sql =
                format!("SELECT DISTINCT hash FROM files WHERE snippet_id IN ({list})");
            let hashes: Vec<String> = chunk
                .iter()
                .fold(sqlx::query(&hashes_sql), |q, id| q.bind(id.as_str()))
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|row| row.try_get("hash"))
                .collect::<Result<_, _>>()?;
            let delete_sql = format!("DELETE FROM snippets WHERE id IN ({list})");
            chunk
                .iter()
                .fold(sqlx::query(&delete_sql), |q, id| q.bind(id.as_str()))
                .execute(&mut **tx)
                .await?;
            Self::drop_orphan_blobs(tx, &hashes).await?;
        }
        Ok(())
    }

    /// Deletes the blobs of `hashes` that no file holds any more (their
    /// highlights go with them).
    ///
    /// On PostgreSQL another transaction may meanwhile give one of them a
    /// new file (someone pasted the same code): the delete waits for that
    /// transaction, and once it commits, breaks the foreign key. The blob
    /// is in use again, so the statement is undone to a savepoint and run
    /// again, with a snapshot that sees the new file, instead of failing
    /// the whole deletion. SQLite has one writer at a time: no such race.
    async fn drop_orphan_blobs(
        tx: &mut sqlx::Transaction<'_, D>,
        hashes: &[String],
    ) -> Result<(), StoreError> {
        const ATTEMPTS: u32 = 3;
        for chunk in hashes.chunks(500) {
            let sql = format!(
                "DELETE FROM blobs WHERE hash IN ({})
                 AND NOT EXISTS (SELECT 1 FROM files f WHERE f.hash = blobs.hash)",
                placeholders(1, chunk.len())
            );
            for attempt in 1..=ATTEMPTS {
                sqlx::query("SAVEPOINT orphan_blobs")
                    .execute(&mut **tx)
                    .await?;
                let deleted = chunk
                    .iter()
                    .fold(sqlx::query(&sql), |q, hash| q.bind(hash.as_str()))
                    .execute(&mut **tx)
                    .await;
                match deleted {
                    Ok(_) => {
                        sqlx::query("RELEASE SAVEPOINT orphan_blobs")
                            .execute(&mut **tx)
                            .await?;
                        break;
                    }
                    Err(sqlx::Error::Database(e))
                        if e.kind() == sqlx::error::ErrorKind::ForeignKeyViolation
                            && attempt < ATTEMPTS =>
                    {
                        sqlx::query("ROLLBACK TO SAVEPOINT orphan_blobs")
                            .execute(&mut **tx)
                            .await?;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// One revision's view: the row read with [`view_sql`], and its files.
    async fn read_view(
        executor: &mut D::Connection,
        id: &SnippetId,
        revision: Option<u32>,
    ) -> Result<Option<StoredSnippet>, StoreError> {
        let sql = view_sql(revision.is_none());
        let mut query = sqlx::query(&sql).bind(id.as_str());
        if let Some(revision) = revision {
            query = query.bind(i64::from(revision));
        }
        let Some(row) = query.fetch_optional(&mut *executor).await? else {
            return Ok(None);
        };
        let mut stored = Self::stored_from_row(&row)?;
        let engine: Option<String> = row.try_get("engine")?;
        let files = sqlx::query(FILES_SELECT)
            .bind(id.as_str())
            .bind(i64::from(stored.view.revision))
            .bind(engine.as_deref().unwrap_or(""))
            .fetch_all(&mut *executor)
            .await?;
        let succeeded = stored.view.state == JobState::Succeeded;
        stored.view.files = files
            .iter()
            .map(|row| Self::file_from_row(row, succeeded))
            .collect::<Result<_, _>>()?;
        Ok(Some(stored))
    }

    /// A job's progress, read only while it runs.
    fn progress_of(row: &D::Row, state: JobState) -> Result<Option<Progress>, StoreError> {
        match state {
            JobState::Processing => progress(
                row.try_get("progress_done")?,
                row.try_get("progress_total")?,
            ),
            _ => Ok(None),
        }
    }

    /// The state of a row read with `has_html` and `has_error`.
    fn state_of(row: &D::Row) -> Result<JobState, StoreError> {
        Ok(derived_state(
            job_state(row.try_get("state")?)?,
            row.try_get("has_html")?,
            row.try_get("has_error")?,
        ))
    }

    /// A job's attempts (or its maximum), 0 where the job record is gone.
    fn attempts_of(row: &D::Row, column: &'static str) -> Result<u32, StoreError> {
        checked(row.try_get::<Option<i64>, _>(column)?.unwrap_or(0), column)
    }

    fn summary_from_row(row: &D::Row) -> Result<SnippetSummary, StoreError> {
        let state = Self::state_of(row)?;
        Ok(SnippetSummary {
            id: parse_id(&row.try_get::<String, _>("id")?)?,
            language: row.try_get("first_language")?,
            filename: row.try_get("first_name")?,
            files: checked(row.try_get("file_count")?, "file count")?,
            preview: preview(&row.try_get::<String, _>("preview")?),
            lines: checked(row.try_get("lines")?, "line count")?,
            visibility: visibility(&row.try_get::<String, _>("visibility")?)?,
            state,
            progress: Self::progress_of(row, state)?,
            created_at: from_millis(row.try_get("created_at")?)?,
        })
    }

    fn file_from_row(row: &D::Row, highlighted: bool) -> Result<FileView, StoreError> {
        let html: Option<String> = row.try_get("html")?;
        Ok(FileView {
            name: row.try_get("name")?,
            named: row.try_get("named")?,
            language: row.try_get("language")?,
            code: row.try_get("code")?,
            bytes: checked(row.try_get("bytes")?, "bytes")?,
            lines: checked(row.try_get("lines")?, "lines")?,
            hash: row.try_get("hash")?,
            html: html.filter(|_| highlighted),
            rendered: row
                .try_get::<Option<String>, _>("rendered")?
                .filter(|_| highlighted),
        })
    }

    /// A revision's view without its files (read apart: [`read_view`]).
    fn view_from_row(row: &D::Row) -> Result<SnippetView, StoreError> {
        let state = Self::state_of(row)?;
        let revision_error: Option<String> = row.try_get("error")?;
        let last_error: Option<String> = row.try_get("last_error")?;
        let forked_from = match row.try_get::<Option<String>, _>("forked_from")? {
            None => None,
            Some(origin) => {
                let public = row
                    .try_get::<Option<String>, _>("origin_visibility")?
                    .as_deref()
                    == Some(Visibility::Public.as_str());
                Some(ForkOrigin {
                    id: public.then(|| parse_id(&origin)).transpose()?,
                })
            }
        };
        Ok(SnippetView {
            id: parse_id(&row.try_get::<String, _>("id")?)?,
            revision: checked(row.try_get("number")?, "revision")?,
            latest_revision: checked(row.try_get("latest_revision")?, "latest revision")?,
            first_revision: checked(row.try_get("first_revision")?, "first revision")?,
            files: Vec::new(),
            state,
            progress: Self::progress_of(row, state)?,
            attempts: Self::attempts_of(row, "attempts")?,
            max_attempts: Self::attempts_of(row, "max_attempts")?,
            next_attempt_at: match state {
                JobState::Retrying => opt_time(row.try_get("run_at")?)?,
                _ => None,
            },
            created_at: from_millis(row.try_get("created_at")?)?,
            revised_at: from_millis(row.try_get("revised_at")?)?,
            highlighted_at: opt_time(row.try_get("highlighted_at")?)?
                .filter(|_| state == JobState::Succeeded),
            highlighted_in_ms: row
                .try_get::<Option<i64>, _>("highlighted_in_ms")?
                .map(|ms| checked(ms, "highlight time"))
                .transpose()?
                .filter(|_| state == JobState::Succeeded),
            expires_at: opt_time(row.try_get("expires_at")?)?,
            error: match state {
                JobState::Failed => revision_error.or(last_error),
                JobState::Retrying => last_error,
                _ => None,
            },
            visibility: visibility(&row.try_get::<String, _>("visibility")?)?,
            burn_after_reading: row.try_get("burn_after_reading")?,
            is_owner: false,
            lines_added: checked(row.try_get("lines_added")?, "lines added")?,
            lines_removed: checked(row.try_get("lines_removed")?, "lines removed")?,
            forked_from,
        })
    }

    fn stored_from_row(row: &D::Row) -> Result<StoredSnippet, StoreError> {
        let owner: Option<String> = row.try_get("owner_hash")?;
        Ok(StoredSnippet {
            view: Self::view_from_row(row)?,
            owner: owner
                .map(|raw| {
                    OwnerHash::from_stored(raw).ok_or_else(|| StoreError::corrupt("owner hash"))
                })
                .transpose()?,
        })
    }

    fn state_from_row(row: &D::Row) -> Result<(SnippetId, StateChanged), StoreError> {
        let state = Self::state_of(row)?;
        Ok((
            parse_id(&row.try_get::<String, _>("id")?)?,
            StateChanged {
                state,
                progress: Self::progress_of(row, state)?,
                attempts: Self::attempts_of(row, "attempts")?,
                next_attempt_at: match state {
                    JobState::Retrying => opt_time(row.try_get("run_at")?)?,
                    _ => None,
                },
                revision: checked(row.try_get("revision")?, "revision")?,
            },
        ))
    }

    /// A count read back as `n`.
    fn count_of(row: &D::Row) -> Result<u64, StoreError> {
        checked(row.try_get("n")?, "count")
    }

    /// The snippet ids of rows read back as `column`.
    fn ids_of(rows: &[D::Row], column: &str) -> Result<Vec<SnippetId>, StoreError> {
        rows.iter()
            .map(|row| parse_id(&row.try_get::<String, _>(column)?))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_do_not_fit_are_corrupt_not_wrapped() {
        assert_eq!(checked::<u32>(7, "attempts").unwrap(), 7);
        assert!(matches!(
            checked::<u32>(-1, "attempts"),
            Err(StoreError::Corrupt { detail, .. }) if detail == "attempts -1"
        ));
        assert!(checked::<u64>(-5, "count").is_err());
        assert!(progress(Some(1), Some(i64::MAX)).is_err());
        assert_eq!(progress(Some(1), None).unwrap(), None);
        assert_eq!(to_i64(u64::MAX), i64::MAX);
    }

    #[test]
    fn errors_name_the_operation_they_interrupted() {
        let error = StoreError::from(sqlx::Error::PoolTimedOut).during("claiming jobs");
        assert_eq!(error.to_string(), "database error while claiming jobs");
        let error = StoreError::corrupt("job state nonsense").during("reading a snippet");
        assert!(
            error.to_string().contains("while reading a snippet"),
            "{error}"
        );
    }
}
