//! What operators read and steer ([`Operations`]): the dashboard's counts,
//! history and jobs table, bulk actions, nodes and the pause.
//!
//! The jobs table is searched with a [`JobFilter`] turned into one `WHERE`
//! clause ([`filter_sql`]), so a bulk action acts on exactly the rows the
//! operator was shown, across every page.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::{Dialect, SqlStore, Statement, checked, during, job_state, opt_time, parse_id};
use crate::{
    domain::{
        JobState, SnippetId,
        operations::{AttemptRow, Finished, JobCounts, JobFilter, JobRow, NodeRow},
        source::preview,
    },
    server::store::{JobCursor, Operations, StoreError, from_millis, millis},
};

/// A job (one revision's) with its revision's summary.
const JOBS_FROM: &str = "FROM jobs j
    JOIN revisions r ON r.snippet_id = j.snippet_id AND r.number = j.revision";

const JOB_COLUMNS: &str = "j.snippet_id, j.revision, j.state, j.attempts, j.max_attempts, j.run_at,
    j.finished_at, j.locked_by, COALESCE(j.enqueued_at, j.created_at) AS enqueued_at,
    COALESCE(j.last_error, r.error) AS error, r.first_language, r.first_name, r.preview";

/// A value bound to a filter's placeholder.
enum Bind {
    Text(String),
    Int(i64),
}

/// The `WHERE` clause of a filter over `jobs j JOIN revisions r`, with its
/// values numbered from `$first`. The language and the text look at every
/// file of the job's revision.
fn filter_sql(filter: &JobFilter, now: DateTime<Utc>, first: usize) -> (String, Vec<Bind>) {
    let mut clauses = vec!["1 = 1".to_owned()];
    let mut binds = Vec::new();
    let next = |bind: Bind, binds: &mut Vec<Bind>| {
        binds.push(bind);
        format!("${}", first + binds.len() - 1)
    };
    if let Some(state) = filter.state {
        let p = next(Bind::Text(state.as_str().to_owned()), &mut binds);
        clauses.push(format!("j.state = {p}"));
    }
    if let Some(language) = &filter.language {
        let p = next(Bind::Text(language.clone()), &mut binds);
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM files f WHERE f.snippet_id = j.snippet_id
                     AND f.revision = j.revision AND f.language = {p})"
        ));
    }
    if let Some(text) = filter.q.as_deref().filter(|t| !t.is_empty()) {
        let escaped: String = text
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let p = next(Bind::Text(format!("%{escaped}%")), &mut binds);
        clauses.push(format!(
            "(EXISTS (SELECT 1 FROM files f JOIN blobs b ON b.hash = f.hash
                      WHERE f.snippet_id = j.snippet_id AND f.revision = j.revision
                        AND LOWER(b.code) LIKE {p} ESCAPE '\\')
              OR LOWER(COALESCE(j.last_error, '')) LIKE {p} ESCAPE '\\'
              OR LOWER(COALESCE(r.error, '')) LIKE {p} ESCAPE '\\')"
        ));
    }
    if let Some(min) = filter.min_attempts {
        let p = next(Bind::Int(i64::from(min)), &mut binds);
        clauses.push(format!("j.attempts >= {p}"));
    }
    if let Some(older) = filter.older_than_secs {
        let cut = now - chrono::Duration::seconds(i64::try_from(older).unwrap_or(i64::MAX / 1000));
        let p = next(Bind::Int(cut.timestamp_millis()), &mut binds);
        clauses.push(format!("COALESCE(j.enqueued_at, j.created_at) <= {p}"));
    }
    (clauses.join(" AND "), binds)
}

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
    fn bind_all(query: Statement<'_, D>, binds: Vec<Bind>) -> Statement<'_, D> {
        binds.into_iter().fold(query, |query, bind| match bind {
            Bind::Text(text) => query.bind(text),
            Bind::Int(n) => query.bind(n),
        })
    }

    fn job_row_of(row: &D::Row) -> Result<JobRow, StoreError> {
        let state: Option<String> = row.try_get("state")?;
        Ok(JobRow {
            id: parse_id(&row.try_get::<String, _>("snippet_id")?)?,
            revision: checked(row.try_get("revision")?, "revision")?,
            state: job_state(state)?.unwrap_or(JobState::Queued),
            language: row.try_get("first_language")?,
            filename: row.try_get("first_name")?,
            preview: preview(&row.try_get::<String, _>("preview")?),
            attempts: checked(row.try_get("attempts")?, "attempts")?,
            max_attempts: checked(row.try_get("max_attempts")?, "max attempts")?,
            enqueued_at: from_millis(row.try_get("enqueued_at")?)?,
            run_at: from_millis(row.try_get("run_at")?)?,
            finished_at: opt_time(row.try_get("finished_at")?)?,
            holder: row.try_get("locked_by")?,
            error: row.try_get("error")?,
        })
    }
}

#[async_trait]
impl<D> Operations for SqlStore<D>
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
    async fn job_counts(&self) -> Result<JobCounts, StoreError> {
        during("counting jobs by state", async {
            let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
            let mut counts = JobCounts::default();
            for row in &rows {
                let n = Self::count_of(row)?;
                match job_state(row.try_get("state")?)? {
                    Some(JobState::Queued) => counts.queued = n,
                    Some(JobState::Processing) => counts.processing = n,
                    Some(JobState::Retrying) => counts.retrying = n,
                    Some(JobState::Succeeded) => counts.succeeded = n,
                    Some(JobState::Failed) => counts.failed = n,
                    None => {}
                }
            }
            Ok(counts)
        })
        .await
    }

    async fn oldest_due(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
        during("reading the oldest due job", async {
            let row = sqlx::query(
                "SELECT MIN(run_at) AS oldest FROM jobs
                 WHERE state IN ('queued', 'retrying') AND run_at <= $1",
            )
            .bind(millis(now))
            .fetch_one(&self.pool)
            .await?;
            opt_time(row.try_get("oldest")?)
        })
        .await
    }

    async fn finished_per(
        &self,
        bucket: Duration,
        since: DateTime<Utc>,
    ) -> Result<Vec<Finished>, StoreError> {
        during("reading finished attempts over time", async {
            let width = i64::try_from(bucket.as_millis()).unwrap_or(i64::MAX).max(1);
            let rows = sqlx::query(
                "SELECT (finished_at / $1) * $1 AS bucket,
                        SUM(CASE WHEN outcome = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
                        SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS failed
                 FROM job_attempts
                 WHERE finished_at >= $2 AND outcome IN ('succeeded', 'failed')
                 GROUP BY (finished_at / $1) * $1
                 ORDER BY bucket",
            )
            .bind(width)
            .bind(millis(since))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(Finished {
                        at: from_millis(row.try_get("bucket")?)?,
                        succeeded: checked(row.try_get("succeeded")?, "succeeded count")?,
                        failed: checked(row.try_get("failed")?, "failed count")?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn latencies_since(&self, since: DateTime<Utc>) -> Result<Vec<u64>, StoreError> {
        during("reading job latencies", async {
            let rows = sqlx::query(
                "SELECT finished_at - COALESCE(enqueued_at, created_at) AS ms FROM jobs
                 WHERE state IN ('succeeded', 'failed') AND finished_at >= $1",
            )
            .bind(millis(since))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    // A job requeued after it finished (a retry from the
                    // dashboard) can read as finishing before it was
                    // queued: that is no latency, not a corrupt row.
                    let ms: i64 = row.try_get("ms")?;
                    Ok(u64::try_from(ms).unwrap_or(0))
                })
                .collect()
        })
        .await
    }

    async fn search_jobs(
        &self,
        filter: &JobFilter,
        cursor: Option<&JobCursor>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<JobRow>, StoreError> {
        during("searching jobs", async {
            let (mut clause, mut binds) = filter_sql(filter, now, 1);
            if let Some(cursor) = cursor {
                let a = binds.len() + 1;
                clause.push_str(&format!(
                    " AND (COALESCE(j.enqueued_at, j.created_at) < ${a}
                          OR (COALESCE(j.enqueued_at, j.created_at) = ${a} AND j.snippet_id < ${b})
                          OR (COALESCE(j.enqueued_at, j.created_at) = ${a} AND j.snippet_id = ${b}
                              AND j.revision < ${c}))",
                    b = a + 1,
                    c = a + 2
                ));
                binds.push(Bind::Int(cursor.enqueued_at_ms));
                binds.push(Bind::Text(cursor.id.to_string()));
                binds.push(Bind::Int(i64::from(cursor.revision)));
            }
            binds.push(Bind::Int(i64::from(limit)));
            let sql = format!(
                "SELECT {JOB_COLUMNS}
                 {JOBS_FROM} WHERE {clause}
                 ORDER BY COALESCE(j.enqueued_at, j.created_at) DESC, j.snippet_id DESC,
                          j.revision DESC
                 LIMIT ${}",
                binds.len()
            );
            let rows = Self::bind_all(sqlx::query(&sql), binds)
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(Self::job_row_of).collect()
        })
        .await
    }

    async fn job_row(&self, id: &SnippetId) -> Result<Option<JobRow>, StoreError> {
        during("reading a job", async {
            // The latest revision's job.
            let sql = format!(
                "SELECT {JOB_COLUMNS} {JOBS_FROM} WHERE j.snippet_id = $1
                 ORDER BY j.revision DESC LIMIT 1"
            );
            let row = sqlx::query(&sql)
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(Self::job_row_of).transpose()
        })
        .await
    }

    async fn count_jobs(&self, filter: &JobFilter, now: DateTime<Utc>) -> Result<u64, StoreError> {
        during("counting matching jobs", async {
            let (clause, binds) = filter_sql(filter, now, 1);
            let sql = format!("SELECT COUNT(*) AS n {JOBS_FROM} WHERE {clause}");
            let row = Self::bind_all(sqlx::query(&sql), binds)
                .fetch_one(&self.pool)
                .await?;
            Self::count_of(&row)
        })
        .await
    }

    async fn attempts(&self, id: &SnippetId) -> Result<Vec<AttemptRow>, StoreError> {
        during("reading a job's attempts", async {
            let rows = sqlx::query(
                "SELECT revision, attempt, holder, started_at, finished_at, outcome, error
                 FROM job_attempts WHERE snippet_id = $1 ORDER BY id",
            )
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let started: i64 = row.try_get("started_at")?;
                    let finished: i64 = row.try_get("finished_at")?;
                    Ok(AttemptRow {
                        revision: checked(row.try_get("revision")?, "revision")?,
                        attempt: checked(row.try_get("attempt")?, "attempt")?,
                        holder: row.try_get("holder")?,
                        started_at: from_millis(started)?,
                        finished_at: from_millis(finished)?,
                        // Clocks of different nodes may disagree by a
                        // little: an attempt that ended "before" it began
                        // took no time.
                        duration_ms: u64::try_from(finished.saturating_sub(started)).unwrap_or(0),
                        outcome: row.try_get("outcome")?,
                        error: row.try_get("error")?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn retry_matching(
        &self,
        filter: &JobFilter,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<(SnippetId, u32)>, StoreError> {
        during("retrying matching jobs", async {
            let (clause, binds) = filter_sql(filter, now, 3);
            let _turn = self.write_turn().await;
            let mut tx = self.pool.begin().await?;
            // One statement: the matching failed or retrying jobs are queued
            // anew with all their attempts; a failed revision's error goes
            // with it.
            let sql = format!(
                "UPDATE jobs SET state = 'queued', attempts = 0, max_attempts = $1, run_at = $2,
                     locked_by = NULL, lease_until = NULL, last_error = NULL, progress_done = NULL,
                     progress_total = NULL, updated_at = $2, finished_at = NULL,
                     attempt_started_at = NULL, enqueued_at = $2
                 WHERE state IN ('failed', 'retrying') AND (snippet_id, revision) IN (
                     SELECT j.snippet_id, j.revision {JOBS_FROM} WHERE {clause})
                 RETURNING snippet_id, revision"
            );
            let query = sqlx::query(&sql)
                .bind(i64::from(max_attempts))
                .bind(millis(now));
            let rows = Self::bind_all(query, binds).fetch_all(&mut *tx).await?;
            let mut jobs = Vec::with_capacity(rows.len());
            for row in &rows {
                let id = parse_id(&row.try_get::<String, _>("snippet_id")?)?;
                let revision: u32 = checked(row.try_get("revision")?, "revision")?;
                sqlx::query(
                    "UPDATE revisions SET error = NULL
                     WHERE snippet_id = $1 AND number = $2 AND engine IS NULL",
                )
                .bind(id.as_str())
                .bind(i64::from(revision))
                .execute(&mut *tx)
                .await?;
                jobs.push((id, revision));
            }
            tx.commit().await?;
            Ok(jobs)
        })
        .await
    }

    async fn delete_matching(
        &self,
        filter: &JobFilter,
        now: DateTime<Utc>,
    ) -> Result<Vec<SnippetId>, StoreError> {
        during("deleting matching jobs", async {
            let (clause, binds) = filter_sql(filter, now, 2);
            let _turn = self.write_turn().await;
            let mut tx = self.pool.begin().await?;
            let sql = format!(
                "INSERT INTO tombstones (id, gone_at, reason)
                 SELECT DISTINCT j.snippet_id, $1, 'deleted' {JOBS_FROM} WHERE {clause}
                 ON CONFLICT (id) DO NOTHING
                 RETURNING id"
            );
            let rows = Self::bind_all(sqlx::query(&sql).bind(millis(now)), binds)
                .fetch_all(&mut *tx)
                .await?;
            let ids = Self::ids_of(&rows, "id")?;
            Self::delete_in(&mut tx, &ids).await?;
            tx.commit().await?;
            Ok(ids)
        })
        .await
    }

    async fn heartbeat(&self, node: &NodeRow) -> Result<(), StoreError> {
        during("recording a node's heartbeat", async {
            let _turn = self.write_turn().await;
            sqlx::query(
                "INSERT INTO nodes (id, role, host, workers, busy, started_at, last_heartbeat, paused)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id) DO UPDATE SET busy = excluded.busy,
                     last_heartbeat = excluded.last_heartbeat, paused = excluded.paused",
            )
            .bind(node.id.as_str())
            .bind(node.role.as_str())
            .bind(node.host.as_str())
            .bind(i64::from(node.workers))
            .bind(i64::from(node.busy))
            .bind(millis(node.started_at))
            .bind(millis(node.last_heartbeat))
            .bind(node.paused)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    async fn nodes(&self, gone_before: DateTime<Utc>) -> Result<Vec<NodeRow>, StoreError> {
        during("listing nodes", async {
            let rows = sqlx::query(
                "SELECT id, role, host, workers, busy, started_at, last_heartbeat, paused
                 FROM nodes ORDER BY started_at, id",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let last_heartbeat = from_millis(row.try_get("last_heartbeat")?)?;
                    Ok(NodeRow {
                        id: row.try_get("id")?,
                        role: row.try_get("role")?,
                        host: row.try_get("host")?,
                        workers: checked(row.try_get("workers")?, "workers")?,
                        busy: checked(row.try_get("busy")?, "busy")?,
                        started_at: from_millis(row.try_get("started_at")?)?,
                        last_heartbeat,
                        gone: last_heartbeat < gone_before,
                        paused: row.try_get("paused")?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn remove_node(&self, id: &str) -> Result<(), StoreError> {
        during("removing a node", async {
            let _turn = self.write_turn().await;
            sqlx::query("DELETE FROM nodes WHERE id = $1")
                .bind(id)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    async fn prune_nodes(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        during("pruning gone nodes", async {
            let _turn = self.write_turn().await;
            let done = sqlx::query("DELETE FROM nodes WHERE last_heartbeat < $1")
                .bind(millis(before))
                .execute(&self.pool)
                .await?;
            Ok(D::rows_affected(&done))
        })
        .await
    }

    async fn set_paused(&self, paused: bool) -> Result<(), StoreError> {
        during("setting the pause", async {
            let _turn = self.write_turn().await;
            sqlx::query(
                "INSERT INTO cluster_flags (name, value) VALUES ('paused', $1)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )
            .bind(if paused { "true" } else { "false" })
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    async fn paused(&self) -> Result<bool, StoreError> {
        during("reading the pause", async {
            let row = sqlx::query("SELECT value FROM cluster_flags WHERE name = 'paused'")
                .fetch_optional(&self.pool)
                .await?;
            Ok(match row {
                Some(row) => row.try_get::<String, _>("value")? == "true",
                None => false,
            })
        })
        .await
    }

    async fn shared_secret(&self, name: &str, fresh: &str) -> Result<String, StoreError> {
        during("reading a shared secret", async {
            // Write first (SQLite takes its write lock at once), and never
            // over a secret already there: two nodes starting together
            // agree on whichever insert landed first.
            let turn = self.write_turn().await;
            sqlx::query(
                "INSERT INTO cluster_flags (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(fresh)
            .execute(&self.pool)
            .await?;
            drop(turn);
            let row = sqlx::query("SELECT value FROM cluster_flags WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?;
            Ok(row.try_get("value")?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_number_their_values() {
        let filter = JobFilter {
            state: Some(JobState::Failed),
            q: Some("50%_off".into()),
            min_attempts: Some(2),
            ..Default::default()
        };
        let (sql, binds) = filter_sql(&filter, Utc::now(), 3);
        assert!(sql.contains("j.state = $3"), "{sql}");
        assert!(sql.contains("LIKE $4"), "{sql}");
        assert!(sql.contains("j.attempts >= $5"), "{sql}");
        assert_eq!(binds.len(), 3);
        match &binds[1] {
            Bind::Text(pattern) => assert_eq!(pattern, "%50\\%\\_off%"),
            Bind::Int(_) => panic!("text"),
        }
    }
}
