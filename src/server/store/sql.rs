//! What the SQL drivers share: the schema's queries (identical in SQLite
//! and PostgreSQL but for the claim), reading rows into domain types, and
//! the [`Store`](super::Store) implementation itself, stamped out for each
//! driver by [`impl_store!`] so one body of code serves both, as the
//! conformance suite checks.

use chrono::{DateTime, Utc};

use super::{StoreError, from_millis};
use crate::domain::{JobState, Progress, SnippetId, Visibility};

/// A fresh job for a snippet, replacing a finished record if one is left.
pub(super) const REQUEUE_JOB: &str = "
    INSERT INTO jobs (snippet_id, state, attempts, max_attempts, run_at, created_at, updated_at, enqueued_at)
    VALUES ($1, 'queued', 0, $2, $3, $3, $3, $3)
    ON CONFLICT (snippet_id) DO UPDATE SET
        state = 'queued', attempts = 0, max_attempts = excluded.max_attempts,
        run_at = excluded.run_at, locked_by = NULL, lease_until = NULL, last_error = NULL,
        progress_done = NULL, progress_total = NULL, updated_at = excluded.updated_at,
        finished_at = NULL, attempt_started_at = NULL, enqueued_at = excluded.enqueued_at";

/// Records how the attempt held by the fence `$1..$3` ended (`$5`, with
/// error `$6`) as of `$4`: run it before the fenced update that ends the
/// attempt, in the same transaction. It inserts nothing when the fence
/// does not hold, which is also how the caller learns that.
pub(super) const RECORD_ATTEMPT: &str = "
    INSERT INTO job_attempts (snippet_id, attempt, holder, started_at, finished_at, outcome, error)
    SELECT snippet_id, attempts, locked_by, COALESCE(attempt_started_at, $4), $4, $5, $6
    FROM jobs
    WHERE snippet_id = $1 AND state = 'processing' AND locked_by = $2 AND attempts = $3";

pub(super) const PRUNE_JOBS: &str = "
    DELETE FROM jobs
    WHERE (state = 'succeeded' AND finished_at < $1) OR (state = 'failed' AND finished_at < $2)";

/// What a list row needs: never the code, never the HTML (`IS NOT NULL`
/// reads only the row's header, not the value).
pub(super) const SUMMARY_SELECT: &str = "
    SELECT s.id, s.language, s.filename, s.line_count, s.created_at, s.preview, s.visibility,
           s.html IS NOT NULL AS has_html, s.error IS NOT NULL AS has_error,
           j.state, j.progress_done, j.progress_total
    FROM snippets s LEFT JOIN jobs j ON j.snippet_id = s.id";

/// The states of a list's snippets, for a list stream's snapshot.
pub(super) const STATE_SELECT: &str = "
    SELECT s.id, s.html IS NOT NULL AS has_html, s.error IS NOT NULL AS has_error,
           j.state, j.attempts, j.run_at, j.progress_done, j.progress_total
    FROM snippets s LEFT JOIN jobs j ON j.snippet_id = s.id";

/// Completions written with one set of statements, at most: their
/// parameters stay far below either database's limit.
const COMPLETION_CHUNK: usize = 200;

/// `done` cut into ranges of at most [`COMPLETION_CHUNK`] completions in
/// which no snippet appears twice (two leases of one snippet in one
/// batch is rare, but then the id alone would not say which one held).
pub(super) fn completion_chunks(done: &[super::Completed<'_>]) -> Vec<std::ops::Range<usize>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut seen = std::collections::HashSet::new();
    for (index, job) in done.iter().enumerate() {
        if index - start == COMPLETION_CHUNK || !seen.insert(job.lease.snippet_id.as_str()) {
            chunks.push(start..index);
            start = index;
            seen.clear();
            seen.insert(job.lease.snippet_id.as_str());
        }
    }
    chunks.push(start..done.len());
    chunks
}

/// `VALUES ($1, $2, CAST($3 AS BIGINT)), ...`: `count` rows of two texts
/// and a number, written so both dialects read the number as one (SQLite
/// takes any type; PostgreSQL must be told). The fences (job, holder,
/// attempt) of a batch of leases, and its results (job, HTML, time).
pub(super) fn text_text_number_rows(count: usize) -> String {
    let rows: Vec<String> = (0..count)
        .map(|row| {
            let n = 3 * row;
            format!("(${}, ${}, CAST(${} AS BIGINT))", n + 1, n + 2, n + 3)
        })
        .collect();
    format!("VALUES {}", rows.join(", "))
}

/// `$1, $2, ... $n`, for an `IN (...)` list.
pub(super) fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn parse_id(raw: &str) -> Result<SnippetId, StoreError> {
    SnippetId::parse(raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn visibility(raw: &str) -> Result<Visibility, StoreError> {
    Visibility::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("visibility {raw}")))
}

/// A count or attempt number read back from a BIGINT column.
pub(super) fn to_u32(value: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value}")))
}

pub(super) fn job_state(raw: Option<String>) -> Result<Option<JobState>, StoreError> {
    raw.map(|s| JobState::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("job state {s}"))))
        .transpose()
}

pub(super) fn progress(done: Option<i64>, total: Option<i64>) -> Option<Progress> {
    Some(Progress {
        done: u32::try_from(done?).ok()?,
        total: u32::try_from(total?).ok()?,
    })
}

/// A snippet whose job record was pruned still has its outcome on the row.
pub(super) fn derived_state(job: Option<JobState>, has_html: bool, has_error: bool) -> JobState {
    job.unwrap_or(if has_html {
        JobState::Succeeded
    } else if has_error {
        JobState::Failed
    } else {
        JobState::Queued
    })
}

pub(super) fn opt_time(ms: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(from_millis).transpose()
}

/// One snippet with its job, everything a page shows.
pub(super) const VIEW_SELECT: &str = "
    SELECT s.id, s.code, s.language, s.filename, s.created_at, s.html, s.highlighted_at,
           s.highlighted_in_ms, s.error, s.expires_at, s.visibility, s.burn_after_reading,
           s.owner_hash, j.state, j.attempts, j.max_attempts, j.run_at, j.progress_done,
           j.progress_total, j.last_error
    FROM snippets s LEFT JOIN jobs j ON j.snippet_id = s.id";

/// The claim: the oldest due jobs, up to `$4`, leased to worker `$1` until
/// `$2`, with what running them needs, in one statement (one round trip,
/// atomic without a transaction around it). `$lock` is the dialect's way of keeping two
/// concurrent claims off the same row ("" where the statement already runs
/// under a single write lock).
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs
             SET state = 'processing', locked_by = $1, lease_until = $2, attempts = attempts + 1,
                 progress_done = NULL, progress_total = NULL, updated_at = $3,
                 attempt_started_at = $3
             WHERE snippet_id IN (
                 SELECT snippet_id FROM jobs
                 WHERE state IN ('queued', 'retrying') AND run_at <= $3
                 ORDER BY run_at
                 LIMIT $4 ",
            $lock,
            ")
             RETURNING snippet_id, attempts, max_attempts, enqueued_at,
                 (SELECT code FROM snippets WHERE snippets.id = jobs.snippet_id) AS code,
                 (SELECT language FROM snippets WHERE snippets.id = jobs.snippet_id) AS language"
        )
    };
}

pub(super) use claim_sql;

/// An update of a job only the holder of its lease may make: `$1` to `$3`
/// are the fence (the job, the worker, the attempt; bound by `fenced`), and
/// `$set`'s own values are numbered from `$4`. A worker whose lease expired
/// and was taken over holds a stale attempt number and changes nothing.
macro_rules! fenced_update {
    ($set:literal) => {
        concat!(
            "UPDATE jobs SET ",
            $set,
            " WHERE snippet_id = $1 AND state = 'processing' AND locked_by = $2 AND attempts = $3"
        )
    };
}

pub(super) use fenced_update;

/// Implements [`Store`](super::Store) for `$store` (whose `pool` field is a
/// sqlx pool) reading rows of type `$row`, claiming with the query `$claim`.
macro_rules! impl_store {
    ($store:ident, $row:ty, $claim:expr) => {
    /// A [`fenced_update!`] statement with its fence bound.
    fn fenced<'q>(
        sql: &'q str,
        lease: &'q Lease,
    ) -> sqlx::query::Query<
        'q,
        <$row as sqlx::Row>::Database,
        <<$row as sqlx::Row>::Database as sqlx::Database>::Arguments<'q>,
    > {
        sqlx::query(sql)
            .bind(lease.snippet_id.as_str())
            .bind(lease.worker.as_str())
            .bind(i64::from(lease.attempt))
    }

    /// A statement whose parameters start with the fences of `jobs`, as
    /// [`text_text_number_rows`] numbers them.
    fn with_fences<'q>(
        sql: &'q str,
        jobs: &'q [Completed<'q>],
    ) -> sqlx::query::Query<
        'q,
        <$row as sqlx::Row>::Database,
        <<$row as sqlx::Row>::Database as sqlx::Database>::Arguments<'q>,
    > {
        jobs.iter().fold(sqlx::query(sql), |query, job| {
            query
                .bind(job.lease.snippet_id.as_str())
                .bind(job.lease.worker.as_str())
                .bind(i64::from(job.lease.attempt))
        })
    }

    /// [`RECORD_ATTEMPT`] for `lease`: `Ok(false)` when the fence does not
    /// hold (the attempt is someone else's now).
    async fn record_attempt(
        tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
        lease: &Lease,
        now: DateTime<Utc>,
        outcome: &str,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let recorded = fenced(RECORD_ATTEMPT, lease)
            .bind(millis(now))
            .bind(outcome)
            .bind(error)
            .execute(&mut **tx)
            .await?;
        Ok(recorded.rows_affected() == 1)
    }

    fn summary_from_row(row: &$row) -> Result<SnippetSummary, StoreError> {
        let id: String = row.try_get("id")?;
        let state = derived_state(
            job_state(row.try_get("state")?)?,
            row.try_get("has_html")?,
            row.try_get("has_error")?,
        );
        let head: String = row.try_get("preview")?;
        Ok(SnippetSummary {
            id: parse_id(&id)?,
            language: row.try_get("language")?,
            filename: row.try_get("filename")?,
            preview: preview(&head),
            lines: to_u32(row.try_get("line_count")?, "line count")?,
            visibility: visibility(&row.try_get::<String, _>("visibility")?)?,
            state,
            progress: match state {
                JobState::Processing => progress(
                    row.try_get("progress_done")?,
                    row.try_get("progress_total")?,
                ),
                _ => None,
            },
            created_at: from_millis(row.try_get("created_at")?)?,
        })
    }

    fn view_from_row(row: &$row) -> Result<SnippetView, StoreError> {
        let id: String = row.try_get("id")?;
        let html: Option<String> = row.try_get("html")?;
        let snippet_error: Option<String> = row.try_get("error")?;
        let job = job_state(row.try_get("state")?)?;
        let state = derived_state(job, html.is_some(), snippet_error.is_some());
        let last_error: Option<String> = row.try_get("last_error")?;
        let run_at: Option<i64> = row.try_get("run_at")?;
        Ok(SnippetView {
            id: parse_id(&id)?,
            language: row.try_get("language")?,
            filename: row.try_get("filename")?,
            code: row.try_get("code")?,
            state,
            progress: match state {
                JobState::Processing => progress(
                    row.try_get("progress_done")?,
                    row.try_get("progress_total")?,
                ),
                _ => None,
            },
            attempts: to_u32(row.try_get::<Option<i64>, _>("attempts")?.unwrap_or(0), "attempts")?,
            max_attempts: to_u32(
                row.try_get::<Option<i64>, _>("max_attempts")?.unwrap_or(0),
                "max attempts",
            )?,
            next_attempt_at: match state {
                JobState::Retrying => opt_time(run_at)?,
                _ => None,
            },
            created_at: from_millis(row.try_get("created_at")?)?,
            highlighted_at: opt_time(row.try_get("highlighted_at")?)?,
            highlighted_in_ms: row
                .try_get::<Option<i64>, _>("highlighted_in_ms")?
                .map(|ms| ms.max(0) as u64),
            expires_at: opt_time(row.try_get("expires_at")?)?,
            html: if state == JobState::Succeeded {
                html
            } else {
                None
            },
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

    fn stored_from_row(row: &$row) -> Result<StoredSnippet, StoreError> {
        let owner: Option<String> = row.try_get("owner_hash")?;
        Ok(StoredSnippet {
            view: view_from_row(row)?,
            owner: owner
                .map(|raw| OwnerHash::from_stored(raw).ok_or_else(|| StoreError::Corrupt("owner hash".into())))
                .transpose()?,
        })
    }

    fn state_from_row(row: &$row) -> Result<(SnippetId, StateChanged), StoreError> {
        let state = derived_state(
            job_state(row.try_get("state")?)?,
            row.try_get("has_html")?,
            row.try_get("has_error")?,
        );
        let id: String = row.try_get("id")?;
        Ok((
            parse_id(&id)?,
            StateChanged {
                state,
                progress: match state {
                    JobState::Processing => progress(
                        row.try_get("progress_done")?,
                        row.try_get("progress_total")?,
                    ),
                    _ => None,
                },
                attempts: to_u32(row.try_get::<Option<i64>, _>("attempts")?.unwrap_or(0), "attempts")?,
                next_attempt_at: match state {
                    JobState::Retrying => opt_time(row.try_get("run_at")?)?,
                    _ => None,
                },
            },
        ))
    }

    impl $store {
        /// Ends a requeue: when the snippet update that guards it changed
        /// the row (`guard_held`), a fresh job replaces the old record;
        /// otherwise nothing changes.
        async fn requeue_in(
            mut tx: sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
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
                .bind(millis(now))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        }
    }

    #[async_trait]
    impl Store for $store {
        async fn create_snippet(&self, new: &NewSnippet) -> Result<(), StoreError> {
            let now = millis(new.created_at);
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "INSERT INTO snippets (id, code, language, filename, line_count, created_at, expires_at,
                                       owner_hash, visibility, burn_after_reading, preview)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(new.id.as_str())
            .bind(new.code.as_str())
            .bind(&new.language)
            .bind(new.filename.as_ref().map(|f| f.as_str()))
            .bind(i64::from(new.code.line_count()))
            .bind(now)
            .bind(new.expires_at.map(millis))
            .bind(new.owner.as_ref().map(|o| o.as_str()))
            .bind(new.visibility.as_str())
            .bind(new.burn_after_reading)
            .bind(new.code.preview())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO jobs (snippet_id, state, max_attempts, run_at, created_at, updated_at, enqueued_at)
                 VALUES ($1, 'queued', $2, $3, $3, $3, $3)",
            )
            .bind(new.id.as_str())
            .bind(i64::from(new.max_attempts))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }

        async fn snippet(&self, id: &SnippetId) -> Result<Option<StoredSnippet>, StoreError> {
            let row = sqlx::query(&format!("{VIEW_SELECT} WHERE s.id = $1"))
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(stored_from_row).transpose()
        }

        async fn recent_snippets(
            &self,
            limit: u32,
            now: DateTime<Utc>,
        ) -> Result<Vec<SnippetSummary>, StoreError> {
            let rows = sqlx::query(&format!(
                "{SUMMARY_SELECT}
                 WHERE s.visibility = 'public' AND (s.expires_at IS NULL OR s.expires_at > $1)
                 ORDER BY s.created_at DESC, s.id DESC
                 LIMIT $2"
            ))
            .bind(millis(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(summary_from_row).collect()
        }

        async fn owner_snippets(
            &self,
            owner: &OwnerHash,
            limit: u32,
            now: DateTime<Utc>,
        ) -> Result<Vec<SnippetSummary>, StoreError> {
            let rows = sqlx::query(&format!(
                "{SUMMARY_SELECT}
                 WHERE s.owner_hash = $1 AND (s.expires_at IS NULL OR s.expires_at > $2)
                 ORDER BY s.created_at DESC, s.id DESC
                 LIMIT $3"
            ))
            .bind(owner.as_str())
            .bind(millis(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(summary_from_row).collect()
        }

        async fn list_states(
            &self,
            ids: &[SnippetId],
            now: DateTime<Utc>,
        ) -> Result<Vec<(SnippetId, StateChanged)>, StoreError> {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!(
                "{STATE_SELECT}
                 WHERE (s.expires_at IS NULL OR s.expires_at > $1) AND s.id IN ({})",
                placeholders(2, ids.len())
            );
            let mut query = sqlx::query(&sql).bind(millis(now));
            for id in ids {
                query = query.bind(id.as_str());
            }
            let rows = query.fetch_all(&self.pool).await?;
            rows.iter().map(state_from_row).collect()
        }

        async fn gone_reason(&self, id: &SnippetId) -> Result<Option<GoneReason>, StoreError> {
            let row = sqlx::query("SELECT reason FROM tombstones WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
            row.map(|row| {
                let raw: String = row.try_get("reason")?;
                GoneReason::parse(&raw).ok_or_else(|| StoreError::Corrupt(format!("tombstone reason {raw}")))
            })
            .transpose()
        }

        async fn delete_snippet(
            &self,
            id: &SnippetId,
            reason: GoneReason,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let mut tx = self.pool.begin().await?;
            // The tombstone first: a write, so SQLite takes its write lock
            // at once, and the claim on the id (a second delete, or a burn,
            // finds it taken).
            let claimed = sqlx::query(
                "INSERT INTO tombstones (id, gone_at, reason)
                 SELECT id, $2, $3 FROM snippets WHERE id = $1
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id.as_str())
            .bind(millis(now))
            .bind(reason.as_str())
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("DELETE FROM snippets WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn take_snippet(
            &self,
            id: &SnippetId,
            now: DateTime<Utc>,
        ) -> Result<Option<SnippetView>, StoreError> {
            let mut tx = self.pool.begin().await?;
            // Writing the tombstone is the claim: of two readers at once,
            // exactly one inserts it (the other finds the id taken and gets
            // nothing), and only a burn-after-reading snippet can be taken.
            let claimed = sqlx::query(
                "INSERT INTO tombstones (id, gone_at, reason)
                 SELECT id, $2, 'burned' FROM snippets WHERE id = $1 AND burn_after_reading = $3
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id.as_str())
            .bind(millis(now))
            .bind(true)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(None);
            }
            let row = sqlx::query(&format!("{VIEW_SELECT} WHERE s.id = $1"))
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await?;
            let view = view_from_row(&row)?;
            sqlx::query("DELETE FROM snippets WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(view))
        }

        async fn sweep_expired(&self, now: DateTime<Utc>) -> Result<Vec<SnippetId>, StoreError> {
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "INSERT INTO tombstones (id, gone_at, reason)
                 SELECT id, expires_at, 'expired' FROM snippets WHERE expires_at <= $1
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            let gone = sqlx::query("DELETE FROM snippets WHERE expires_at <= $1 RETURNING id")
                .bind(millis(now))
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            gone.iter()
                .map(|row| parse_id(&row.try_get::<String, _>("id")?))
                .collect()
        }

        async fn change_language(
            &self,
            id: &SnippetId,
            language: &str,
            max_attempts: u32,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let mut tx = self.pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE snippets
                 SET language = $1, html = NULL, highlighted_at = NULL, highlighted_in_ms = NULL, error = NULL
                 WHERE id = $2",
            )
            .bind(language)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
            Self::requeue_in(tx, changed.rows_affected() == 1, id, max_attempts, now).await
        }

        async fn claim_jobs(
            &self,
            worker: &str,
            limit: u32,
            now: DateTime<Utc>,
            lease_until: DateTime<Utc>,
        ) -> Result<Vec<ClaimedJob>, StoreError> {
            if limit == 0 {
                return Ok(Vec::new());
            }
            // One statement, so a claim is atomic; the dialect's query makes
            // sure two workers never claim the same row.
            let claim = sqlx::query(
                $claim,
            )
            .bind(worker)
            .bind(millis(lease_until))
            .bind(millis(now))
            .bind(i64::from(limit));
            let claimed = match Self::LAZY_COMMIT {
                Some(lazy) => {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query(lazy).execute(&mut *tx).await?;
                    let claimed = claim.fetch_all(&mut *tx).await?;
                    tx.commit().await?;
                    claimed
                }
                None => claim.fetch_all(&self.pool).await?,
            };
            let mut jobs = Vec::with_capacity(claimed.len());
            for row in claimed {
                let id: String = row.try_get("snippet_id")?;
                jobs.push(ClaimedJob {
                    lease: Lease {
                        snippet_id: parse_id(&id)?,
                        worker: worker.to_owned(),
                        attempt: to_u32(row.try_get("attempts")?, "attempts")?,
                    },
                    max_attempts: to_u32(row.try_get("max_attempts")?, "max attempts")?,
                    enqueued_at: opt_time(row.try_get("enqueued_at")?)?,
                    code: row.try_get("code")?,
                    language: row.try_get("language")?,
                });
            }
            Ok(jobs)
        }

        async fn renew_lease(
            &self,
            lease: &Lease,
            now: DateTime<Utc>,
            lease_until: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let done = fenced(fenced_update!("lease_until = $4, updated_at = $5"), lease)
            .bind(millis(lease_until))
            .bind(millis(now))
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        async fn save_progress(&self, lease: &Lease, progress: crate::domain::Progress) -> Result<bool, StoreError> {
            let done = fenced(fenced_update!("progress_done = $4, progress_total = $5"), lease)
            .bind(i64::from(progress.done))
            .bind(i64::from(progress.total))
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        async fn complete_jobs(
            &self,
            done: &[Completed<'_>],
            now: DateTime<Utc>,
        ) -> Result<Vec<bool>, StoreError> {
            let mut stored = vec![false; done.len()];
            if done.is_empty() {
                return Ok(stored);
            }
            let mut notices = Vec::new();
            let mut tx = self.pool.begin().await?;
            if let Some(lazy) = Self::LAZY_COMMIT {
                sqlx::query(lazy).execute(&mut *tx).await?;
            }
            // Three statements per chunk, not three per job: on SQLite each
            // statement is a round trip to its worker thread, on PostgreSQL
            // one over the network.
            for chunk in completion_chunks(done) {
                let jobs = &done[chunk.clone()];
                let fences = text_text_number_rows(jobs.len());
                let now_param = 3 * jobs.len() + 1;
                let record = format!(
                    "INSERT INTO job_attempts (snippet_id, attempt, holder, started_at, finished_at, outcome, error)
                     SELECT snippet_id, attempts, locked_by, COALESCE(attempt_started_at, ${now_param}),
                            ${now_param}, 'succeeded', NULL
                     FROM jobs
                     WHERE state = 'processing' AND (snippet_id, locked_by, attempts) IN ({fences})"
                );
                with_fences(&record, jobs).bind(millis(now)).execute(&mut *tx).await?;
                let succeed = format!(
                    "UPDATE jobs
                     SET state = 'succeeded', locked_by = NULL, lease_until = NULL, last_error = NULL,
                         progress_done = NULL, progress_total = NULL,
                         updated_at = ${now_param}, finished_at = ${now_param}
                     WHERE state = 'processing' AND (snippet_id, locked_by, attempts) IN ({fences})
                     RETURNING snippet_id"
                );
                let held: std::collections::HashSet<String> = with_fences(&succeed, jobs)
                    .bind(millis(now))
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|row| row.try_get("snippet_id"))
                    .collect::<Result<_, _>>()?;
                // A chunk never names a snippet twice, so its id says
                // which of the chunk's leases held.
                let results: Vec<(usize, &Completed<'_>)> = chunk
                    .zip(jobs)
                    .filter(|(_, job)| held.contains(job.lease.snippet_id.as_str()))
                    .collect();
                if results.is_empty() {
                    continue;
                }
                let rows = text_text_number_rows(results.len());
                let store_html = format!(
                    "WITH results (id, html, took_ms) AS ({rows})
                     UPDATE snippets
                     SET html = results.html, highlighted_at = ${}, highlighted_in_ms = results.took_ms,
                         error = NULL
                     FROM results WHERE snippets.id = results.id",
                    3 * results.len() + 1
                );
                results
                    .iter()
                    .fold(sqlx::query(&store_html), |query, (_, job)| {
                        query
                            .bind(job.lease.snippet_id.as_str())
                            .bind(job.html)
                            .bind(i64::try_from(job.highlighted_in_ms).unwrap_or(i64::MAX))
                    })
                    .bind(millis(now))
                    .execute(&mut *tx)
                    .await?;
                for (index, job) in results {
                    stored[index] = true;
                    notices.extend(job.notice);
                }
            }
            // Sent at commit, and only for results that are stored.
            if let Some(notify) = Self::NOTIFY {
                for payload in super::pack_notices(&notices) {
                    sqlx::query(notify)
                        .bind(super::NOTICE_CHANNEL)
                        .bind(payload)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(stored)
        }

        async fn retry_job(
            &self,
            lease: &Lease,
            error: &str,
            run_at: DateTime<Utc>,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let mut tx = self.pool.begin().await?;
            if !record_attempt(&mut tx, lease, now, "retrying", Some(error)).await? {
                tx.rollback().await?;
                return Ok(false);
            }
            fenced(
                fenced_update!(
                    "state = 'retrying', locked_by = NULL, lease_until = NULL, run_at = $4,
                     last_error = $5, progress_done = NULL, progress_total = NULL, updated_at = $6"
                ),
                lease,
            )
            .bind(millis(run_at))
            .bind(error)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn fail_job(
            &self,
            lease: &Lease,
            error: &str,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let mut tx = self.pool.begin().await?;
            if !record_attempt(&mut tx, lease, now, "failed", Some(error)).await? {
                tx.rollback().await?;
                return Ok(false);
            }
            fenced(
                fenced_update!(
                    "state = 'failed', locked_by = NULL, lease_until = NULL, last_error = $4,
                     progress_done = NULL, progress_total = NULL, updated_at = $5, finished_at = $5"
                ),
                lease,
            )
            .bind(error)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE snippets SET error = $1 WHERE id = $2")
                .bind(error)
                .bind(lease.snippet_id.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn release_job(&self, lease: &Lease, now: DateTime<Utc>) -> Result<bool, StoreError> {
            let mut tx = self.pool.begin().await?;
            if !record_attempt(&mut tx, lease, now, "released", None).await? {
                tx.rollback().await?;
                return Ok(false);
            }
            fenced(
                fenced_update!(
                    "state = 'queued', locked_by = NULL, lease_until = NULL, attempts = attempts - 1,
                     run_at = $4, progress_done = NULL, progress_total = NULL, updated_at = $4"
                ),
                lease,
            )
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn rescue_expired(&self, now: DateTime<Utc>) -> Result<Vec<Rescued>, StoreError> {
            const ABANDONED: &str =
                "The worker running this job stopped responding, and no attempts are left.";
            let mut tx = self.pool.begin().await?;
            // Their holders stopped answering: the attempts are recorded
            // as abandoned, then the jobs are failed or queued again.
            sqlx::query(
                "INSERT INTO job_attempts (snippet_id, attempt, holder, started_at, finished_at, outcome, error)
                 SELECT snippet_id, attempts, COALESCE(locked_by, ''), COALESCE(attempt_started_at, $1), $1,
                        'abandoned', 'The worker running this attempt stopped responding.'
                 FROM jobs WHERE state = 'processing' AND lease_until < $1",
            )
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            let failed = sqlx::query(
                "UPDATE jobs
                 SET state = 'failed', locked_by = NULL, lease_until = NULL, last_error = $1,
                     progress_done = NULL, progress_total = NULL, updated_at = $2, finished_at = $2
                 WHERE state = 'processing' AND lease_until < $2 AND attempts >= max_attempts
                 RETURNING snippet_id",
            )
            .bind(ABANDONED)
            .bind(millis(now))
            .fetch_all(&mut *tx)
            .await?;
            for row in &failed {
                sqlx::query("UPDATE snippets SET error = $1 WHERE id = $2")
                    .bind(ABANDONED)
                    .bind(row.try_get::<String, _>("snippet_id")?)
                    .execute(&mut *tx)
                    .await?;
            }
            let requeued = sqlx::query(
                "UPDATE jobs
                 SET state = 'queued', locked_by = NULL, lease_until = NULL, run_at = $1,
                     progress_done = NULL, progress_total = NULL, updated_at = $1
                 WHERE state = 'processing' AND lease_until < $1
                 RETURNING snippet_id",
            )
            .bind(millis(now))
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            let id = |row: &$row| -> Result<SnippetId, StoreError> {
                parse_id(&row.try_get::<String, _>("snippet_id")?)
            };
            let mut rescued = Vec::with_capacity(failed.len() + requeued.len());
            for row in &failed {
                rescued.push(Rescued::Failed(id(row)?));
            }
            for row in &requeued {
                rescued.push(Rescued::Requeued(id(row)?));
            }
            Ok(rescued)
        }

        async fn requeue_failed(
            &self,
            id: &SnippetId,
            max_attempts: u32,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let mut tx = self.pool.begin().await?;
            // A snippet is failed for good when it has an error and no HTML;
            // clearing the error is the claim that this request requeues it.
            let cleared = sqlx::query(
                "UPDATE snippets SET error = NULL WHERE id = $1 AND html IS NULL AND error IS NOT NULL",
            )
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
            Self::requeue_in(tx, cleared.rows_affected() == 1, id, max_attempts, now).await
        }

        async fn prune_finished_jobs(
            &self,
            succeeded_before: DateTime<Utc>,
            failed_before: DateTime<Utc>,
        ) -> Result<u64, StoreError> {
            let done = sqlx::query(PRUNE_JOBS)
                .bind(millis(succeeded_before))
                .bind(millis(failed_before))
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        }

        async fn unfinished_jobs(&self) -> Result<u64, StoreError> {
            let row = sqlx::query(
                "SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'processing', 'retrying')",
            )
            .fetch_one(&self.pool)
            .await?;
            let n: i64 = row.try_get("n")?;
            u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("count {n}")))
        }

        async fn ping(&self) -> Result<(), StoreError> {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        }
    }
    };
}

pub(super) use impl_store;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::{Completed, Lease};

    fn lease(snippet_id: &SnippetId, n: usize) -> Lease {
        Lease {
            snippet_id: snippet_id.clone(),
            worker: format!("w/{n}"),
            attempt: 1,
        }
    }

    fn completed(leases: &[Lease]) -> Vec<Completed<'_>> {
        leases
            .iter()
            .map(|lease| Completed {
                lease,
                html: "",
                highlighted_in_ms: 0,
                notice: None,
            })
            .collect()
    }

    #[test]
    fn completion_chunks_are_bounded_and_never_name_a_snippet_twice() {
        let ids: Vec<SnippetId> = (0..3).map(|_| SnippetId::random()).collect();
        let twice: Vec<Lease> = [0, 1, 0, 2, 2]
            .iter()
            .enumerate()
            .map(|(n, &which)| lease(&ids[which], n))
            .collect();
        assert_eq!(
            completion_chunks(&completed(&twice)),
            vec![0..2, 2..4, 4..5]
        );

        let many: Vec<Lease> = (0..COMPLETION_CHUNK * 2 + 1)
            .map(|n| lease(&SnippetId::random(), n))
            .collect();
        let chunks = completion_chunks(&completed(&many));
        assert_eq!(chunks.len(), 3);
        assert!(chunks.iter().all(|c| c.len() <= COMPLETION_CHUNK));
        assert_eq!(chunks.last().unwrap().end, many.len());
    }

    #[test]
    fn rows_number_their_parameters_in_order() {
        assert_eq!(
            text_text_number_rows(2),
            "VALUES ($1, $2, CAST($3 AS BIGINT)), ($4, $5, CAST($6 AS BIGINT))"
        );
    }
}
