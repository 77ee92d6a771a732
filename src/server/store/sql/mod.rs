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

use super::{StoreError, StoredSnippet, from_millis};
use crate::{
    domain::{
        JobState, Progress, SnippetId, SnippetSummary, SnippetView, StateChanged, Visibility,
        source::preview,
    },
    server::owner::OwnerHash,
};

/// Where SQLite and PostgreSQL differ, and nothing else: implemented by
/// `sqlx::Sqlite` in `sqlite.rs` and `sqlx::Postgres` in `postgres.rs`.
pub trait Dialect: Database {
    /// How a claim keeps two concurrent claims off the same row, put after
    /// the claim's `LIMIT` (see [`claim_sql`]).
    const CLAIM_LOCK: &'static str;
    /// Run first in the transactions that claim and complete jobs, where
    /// the commit need not wait for the disk; `None` where every commit is
    /// already like that.
    const LAZY_COMMIT: Option<&'static str>;
    /// How a transaction sends a notice (`$1` channel, `$2` payload) to
    /// every node; `None` where there is only one node.
    const NOTIFY: Option<&'static str>;

    /// How many rows a statement changed (each sqlx driver has its own
    /// result type, with no trait in common that says).
    fn rows_affected(result: &Self::QueryResult) -> u64;
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
}

impl<D: Dialect> SqlStore<D> {
    pub(super) fn new(pool: Pool<D>) -> Self {
        SqlStore {
            pool,
            claim: claim_sql(D::CLAIM_LOCK),
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

/// A fresh job for a snippet, replacing a finished record if one is left.
const REQUEUE_JOB: &str = "
    INSERT INTO jobs (snippet_id, state, attempts, max_attempts, run_at, created_at, updated_at, enqueued_at)
    VALUES ($1, 'queued', 0, $2, $3, $3, $3, $3)
    ON CONFLICT (snippet_id) DO UPDATE SET
        state = 'queued', attempts = 0, max_attempts = excluded.max_attempts,
        run_at = excluded.run_at, locked_by = NULL, lease_until = NULL, last_error = NULL,
        progress_done = NULL, progress_total = NULL, updated_at = excluded.updated_at,
        finished_at = NULL, attempt_started_at = NULL, enqueued_at = excluded.enqueued_at";

/// What a list row needs: never the code, never the HTML (`IS NOT NULL`
/// reads only the row's header, not the value).
const SUMMARY_SELECT: &str = "
    SELECT s.id, s.language, s.filename, s.line_count, s.created_at, s.preview, s.visibility,
           s.html IS NOT NULL AS has_html, s.error IS NOT NULL AS has_error,
           j.state, j.progress_done, j.progress_total
    FROM snippets s LEFT JOIN jobs j ON j.snippet_id = s.id";

/// The states of a list's snippets, for a list stream's snapshot.
const STATE_SELECT: &str = "
    SELECT s.id, s.html IS NOT NULL AS has_html, s.error IS NOT NULL AS has_error,
           j.state, j.attempts, j.run_at, j.progress_done, j.progress_total
    FROM snippets s LEFT JOIN jobs j ON j.snippet_id = s.id";

/// One snippet with its job, everything a page shows.
const VIEW_SELECT: &str = "
    SELECT s.id, s.code, s.language, s.filename, s.created_at, s.html, s.highlighted_at,
           s.highlighted_in_ms, s.error, s.expires_at, s.visibility, s.burn_after_reading,
           s.owner_hash, j.state, j.attempts, j.max_attempts, j.run_at, j.progress_done,
           j.progress_total, j.last_error
    FROM snippets s LEFT JOIN jobs j ON j.snippet_id = s.id";

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

/// A snippet whose job record was pruned still has its outcome on the row.
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
/// `$2` as of `$3`, with what running them needs, in one statement (one
/// round trip, atomic without a transaction around it). `lock` keeps two
/// concurrent claims off the same row ([`Dialect::CLAIM_LOCK`]).
fn claim_sql(lock: &str) -> String {
    format!(
        "UPDATE jobs
         SET state = 'processing', locked_by = $1, lease_until = $2, attempts = attempts + 1,
             progress_done = NULL, progress_total = NULL, updated_at = $3,
             attempt_started_at = $3
         WHERE snippet_id IN (
             SELECT snippet_id FROM jobs
             WHERE state IN ('queued', 'retrying') AND run_at <= $3
             ORDER BY run_at
             LIMIT $4 {lock})
         RETURNING snippet_id, attempts, max_attempts, enqueued_at,
             (SELECT code FROM snippets WHERE snippets.id = jobs.snippet_id) AS code,
             (SELECT language FROM snippets WHERE snippets.id = jobs.snippet_id) AS language"
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
    /// Ends a requeue: when the snippet update that guards it changed the
    /// row (`guard_held`), a fresh job replaces the old record; otherwise
    /// nothing changes.
    async fn requeue_in(
        mut tx: sqlx::Transaction<'_, D>,
        guard_held: bool,
        id: &SnippetId,
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
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
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
            language: row.try_get("language")?,
            filename: row.try_get("filename")?,
            preview: preview(&row.try_get::<String, _>("preview")?),
            lines: checked(row.try_get("line_count")?, "line count")?,
            visibility: visibility(&row.try_get::<String, _>("visibility")?)?,
            state,
            progress: Self::progress_of(row, state)?,
            created_at: from_millis(row.try_get("created_at")?)?,
        })
    }

    fn view_from_row(row: &D::Row) -> Result<SnippetView, StoreError> {
        let html: Option<String> = row.try_get("html")?;
        let snippet_error: Option<String> = row.try_get("error")?;
        let job = job_state(row.try_get("state")?)?;
        let state = derived_state(job, html.is_some(), snippet_error.is_some());
        let last_error: Option<String> = row.try_get("last_error")?;
        Ok(SnippetView {
            id: parse_id(&row.try_get::<String, _>("id")?)?,
            language: row.try_get("language")?,
            filename: row.try_get("filename")?,
            code: row.try_get("code")?,
            state,
            progress: Self::progress_of(row, state)?,
            attempts: Self::attempts_of(row, "attempts")?,
            max_attempts: Self::attempts_of(row, "max_attempts")?,
            next_attempt_at: match state {
                JobState::Retrying => opt_time(row.try_get("run_at")?)?,
                _ => None,
            },
            created_at: from_millis(row.try_get("created_at")?)?,
            highlighted_at: opt_time(row.try_get("highlighted_at")?)?,
            highlighted_in_ms: row
                .try_get::<Option<i64>, _>("highlighted_in_ms")?
                .map(|ms| checked(ms, "highlight time"))
                .transpose()?,
            expires_at: opt_time(row.try_get("expires_at")?)?,
            html: html.filter(|_| state == JobState::Succeeded),
            error: match state {
                JobState::Failed => snippet_error.or(last_error),
                JobState::Retrying => last_error,
                _ => None,
            },
            visibility: visibility(&row.try_get::<String, _>("visibility")?)?,
            burn_after_reading: row.try_get("burn_after_reading")?,
            is_owner: false,
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
