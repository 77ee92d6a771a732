//! Storage for operating the queue: what the dashboard reads (counts,
//! history, latencies, a searchable list of jobs and each one's attempts,
//! the nodes) and what it steers (bulk retry and delete, the cluster-wide
//! pause). Kept apart from [`Store`](super::Store), which is the product's
//! own path, and implemented for both drivers by [`impl_operations!`].

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
#[cfg(test)]
use crate::domain::JobState;
use crate::domain::{
    SnippetId,
    operations::{AttemptRow, Finished, JobCounts, JobFilter, JobRow, NodeRow},
};

/// Where a page of jobs starts: after this (queued time, id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobCursor {
    pub enqueued_at_ms: i64,
    pub id: SnippetId,
}

impl JobCursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.enqueued_at_ms, self.id)
    }

    pub fn parse(raw: &str) -> Option<JobCursor> {
        let (ms, id) = raw.split_once('.')?;
        Some(JobCursor {
            enqueued_at_ms: ms.parse().ok()?,
            id: SnippetId::parse(id).ok()?,
        })
    }
}

#[async_trait]
pub trait Operations: Send + Sync + 'static {
    async fn job_counts(&self) -> Result<JobCounts, StoreError>;

    /// When the longest-waiting due job became due.
    async fn oldest_due(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Succeeded and failed attempts per `bucket` since `since`, oldest
    /// first; buckets with none are left out.
    async fn finished_per(
        &self,
        bucket: Duration,
        since: DateTime<Utc>,
    ) -> Result<Vec<Finished>, StoreError>;

    /// Submit -> done, in milliseconds, of the jobs that finished since.
    async fn latencies_since(&self, since: DateTime<Utc>) -> Result<Vec<u64>, StoreError>;

    /// A page of the jobs `filter` matches, newest queued first, after
    /// `cursor`.
    async fn search_jobs(
        &self,
        filter: &JobFilter,
        cursor: Option<&JobCursor>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<JobRow>, StoreError>;

    /// One job's row.
    async fn job_row(&self, id: &SnippetId) -> Result<Option<JobRow>, StoreError>;

    /// How many jobs `filter` matches, over every page.
    async fn count_jobs(&self, filter: &JobFilter, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// One job's attempts, oldest first.
    async fn attempts(&self, id: &SnippetId) -> Result<Vec<AttemptRow>, StoreError>;

    /// Queues anew (all attempts back) every failed or retrying job the
    /// filter matches. Returns their ids.
    async fn retry_matching(
        &self,
        filter: &JobFilter,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<SnippetId>, StoreError>;

    /// Deletes the snippets (and jobs) the filter matches, with tombstones.
    async fn delete_matching(
        &self,
        filter: &JobFilter,
        now: DateTime<Utc>,
    ) -> Result<Vec<SnippetId>, StoreError>;

    async fn heartbeat(&self, node: &NodeRow) -> Result<(), StoreError>;

    /// Every node heard from, those silent since `gone_before` marked gone.
    async fn nodes(&self, gone_before: DateTime<Utc>) -> Result<Vec<NodeRow>, StoreError>;

    /// A node that stopped cleanly says goodbye.
    async fn remove_node(&self, id: &str) -> Result<(), StoreError>;

    /// Forgets nodes not heard from since `before`.
    async fn prune_nodes(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    async fn set_paused(&self, paused: bool) -> Result<(), StoreError>;

    async fn paused(&self) -> Result<bool, StoreError>;
}

/// A value bound to a filter's placeholder.
pub(super) enum Bind {
    Text(String),
    Int(i64),
}

/// The `WHERE` clause of a filter over `jobs j JOIN snippets s`, with its
/// values numbered from `$first`.
pub(super) fn filter_sql(
    filter: &JobFilter,
    now: DateTime<Utc>,
    first: usize,
) -> (String, Vec<Bind>) {
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
        clauses.push(format!("s.language = {p}"));
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
            "(LOWER(s.code) LIKE {p} ESCAPE '\\' OR LOWER(COALESCE(j.last_error, '')) LIKE {p} ESCAPE '\\' \
             OR LOWER(COALESCE(s.error, '')) LIKE {p} ESCAPE '\\')"
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

/// Implements [`Operations`] for `$store` (whose `pool` field is a sqlx
/// pool) reading rows of type `$row`.
macro_rules! impl_operations {
    ($store:ident, $row:ty) => {
        fn bind_all<'q>(
            mut query: sqlx::query::Query<
                'q,
                <$row as sqlx::Row>::Database,
                <<$row as sqlx::Row>::Database as sqlx::Database>::Arguments<'q>,
            >,
            binds: Vec<super::ops::Bind>,
        ) -> sqlx::query::Query<
            'q,
            <$row as sqlx::Row>::Database,
            <<$row as sqlx::Row>::Database as sqlx::Database>::Arguments<'q>,
        > {
            for bind in binds {
                query = match bind {
                    super::ops::Bind::Text(text) => query.bind(text),
                    super::ops::Bind::Int(n) => query.bind(n),
                };
            }
            query
        }

        fn count_of(row: &$row) -> Result<u64, StoreError> {
            let n: i64 = row.try_get("n")?;
            u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("count {n}")))
        }

        const JOBS_FROM: &str = "FROM jobs j JOIN snippets s ON s.id = j.snippet_id";

        const JOB_COLUMNS: &str = "j.snippet_id, j.state, j.attempts, j.max_attempts, j.run_at,
            j.finished_at, j.locked_by, COALESCE(j.enqueued_at, j.created_at) AS enqueued_at,
            COALESCE(j.last_error, s.error) AS error, s.language, s.filename, s.preview";

        fn job_row_of(row: &$row) -> Result<crate::domain::operations::JobRow, StoreError> {
            let state: Option<String> = row.try_get("state")?;
            Ok(crate::domain::operations::JobRow {
                id: parse_id(&row.try_get::<String, _>("snippet_id")?)?,
                state: job_state(state)?.unwrap_or(JobState::Queued),
                language: row.try_get("language")?,
                filename: row.try_get("filename")?,
                preview: preview(&row.try_get::<String, _>("preview")?),
                attempts: to_u32(row.try_get("attempts")?, "attempts")?,
                max_attempts: to_u32(row.try_get("max_attempts")?, "max attempts")?,
                enqueued_at: from_millis(row.try_get("enqueued_at")?)?,
                run_at: from_millis(row.try_get("run_at")?)?,
                finished_at: opt_time(row.try_get("finished_at")?)?,
                holder: row.try_get("locked_by")?,
                error: row.try_get("error")?,
            })
        }

        #[async_trait]
        impl super::ops::Operations for $store {
            async fn job_counts(&self) -> Result<crate::domain::operations::JobCounts, StoreError> {
                let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
                    .fetch_all(&self.pool)
                    .await?;
                let mut counts = crate::domain::operations::JobCounts::default();
                for row in &rows {
                    let n = count_of(row)?;
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
            }

            async fn oldest_due(
                &self,
                now: DateTime<Utc>,
            ) -> Result<Option<DateTime<Utc>>, StoreError> {
                let row = sqlx::query(
                    "SELECT MIN(run_at) AS oldest FROM jobs
                     WHERE state IN ('queued', 'retrying') AND run_at <= $1",
                )
                .bind(millis(now))
                .fetch_one(&self.pool)
                .await?;
                opt_time(row.try_get("oldest")?)
            }

            async fn finished_per(
                &self,
                bucket: std::time::Duration,
                since: DateTime<Utc>,
            ) -> Result<Vec<crate::domain::operations::Finished>, StoreError> {
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
                        let succeeded: i64 = row.try_get("succeeded")?;
                        let failed: i64 = row.try_get("failed")?;
                        Ok(crate::domain::operations::Finished {
                            at: from_millis(row.try_get("bucket")?)?,
                            succeeded: u64::try_from(succeeded).unwrap_or(0),
                            failed: u64::try_from(failed).unwrap_or(0),
                        })
                    })
                    .collect()
            }

            async fn latencies_since(&self, since: DateTime<Utc>) -> Result<Vec<u64>, StoreError> {
                let rows = sqlx::query(
                    "SELECT finished_at - COALESCE(enqueued_at, created_at) AS ms FROM jobs
                     WHERE state IN ('succeeded', 'failed') AND finished_at >= $1",
                )
                .bind(millis(since))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let ms: i64 = row.try_get("ms")?;
                        Ok(u64::try_from(ms).unwrap_or(0))
                    })
                    .collect()
            }

            async fn search_jobs(
                &self,
                filter: &crate::domain::operations::JobFilter,
                cursor: Option<&super::ops::JobCursor>,
                limit: u32,
                now: DateTime<Utc>,
            ) -> Result<Vec<crate::domain::operations::JobRow>, StoreError> {
                let (mut clause, mut binds) = super::ops::filter_sql(filter, now, 1);
                if let Some(cursor) = cursor {
                    let a = binds.len() + 1;
                    clause.push_str(&format!(
                        " AND (COALESCE(j.enqueued_at, j.created_at) < ${a}
                              OR (COALESCE(j.enqueued_at, j.created_at) = ${a} AND j.snippet_id < ${}))",
                        a + 1
                    ));
                    binds.push(super::ops::Bind::Int(cursor.enqueued_at_ms));
                    binds.push(super::ops::Bind::Text(cursor.id.to_string()));
                }
                binds.push(super::ops::Bind::Int(i64::from(limit)));
                let sql = format!(
                    "SELECT {JOB_COLUMNS}
                     {JOBS_FROM} WHERE {clause}
                     ORDER BY COALESCE(j.enqueued_at, j.created_at) DESC, j.snippet_id DESC
                     LIMIT ${}",
                    binds.len()
                );
                let rows = bind_all(sqlx::query(&sql), binds).fetch_all(&self.pool).await?;
                rows.iter().map(job_row_of).collect()
            }

            async fn job_row(
                &self,
                id: &SnippetId,
            ) -> Result<Option<crate::domain::operations::JobRow>, StoreError> {
                let sql = format!("SELECT {JOB_COLUMNS} {JOBS_FROM} WHERE j.snippet_id = $1");
                let row = sqlx::query(&sql)
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(job_row_of).transpose()
            }

            async fn count_jobs(
                &self,
                filter: &crate::domain::operations::JobFilter,
                now: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                let (clause, binds) = super::ops::filter_sql(filter, now, 1);
                let sql = format!("SELECT COUNT(*) AS n {JOBS_FROM} WHERE {clause}");
                let row = bind_all(sqlx::query(&sql), binds).fetch_one(&self.pool).await?;
                count_of(&row)
            }

            async fn attempts(
                &self,
                id: &SnippetId,
            ) -> Result<Vec<crate::domain::operations::AttemptRow>, StoreError> {
                let rows = sqlx::query(
                    "SELECT attempt, holder, started_at, finished_at, outcome, error
                     FROM job_attempts WHERE snippet_id = $1 ORDER BY id",
                )
                .bind(id.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let started: i64 = row.try_get("started_at")?;
                        let finished: i64 = row.try_get("finished_at")?;
                        Ok(crate::domain::operations::AttemptRow {
                            attempt: to_u32(row.try_get("attempt")?, "attempt")?,
                            holder: row.try_get("holder")?,
                            started_at: from_millis(started)?,
                            finished_at: from_millis(finished)?,
                            duration_ms: u64::try_from(finished - started).unwrap_or(0),
                            outcome: row.try_get("outcome")?,
                            error: row.try_get("error")?,
                        })
                    })
                    .collect()
            }

            async fn retry_matching(
                &self,
                filter: &crate::domain::operations::JobFilter,
                max_attempts: u32,
                now: DateTime<Utc>,
            ) -> Result<Vec<SnippetId>, StoreError> {
                let (clause, binds) = super::ops::filter_sql(filter, now, 3);
                let mut tx = self.pool.begin().await?;
                // One statement: the matching failed or retrying jobs are
                // queued anew with all their attempts; a failed snippet's
                // error goes with it.
                let sql = format!(
                    "UPDATE jobs SET state = 'queued', attempts = 0, max_attempts = $1, run_at = $2,
                         locked_by = NULL, lease_until = NULL, last_error = NULL, progress_done = NULL,
                         progress_total = NULL, updated_at = $2, finished_at = NULL,
                         attempt_started_at = NULL, enqueued_at = $2
                     WHERE state IN ('failed', 'retrying') AND snippet_id IN (
                         SELECT j.snippet_id {JOBS_FROM} WHERE {clause})
                     RETURNING snippet_id"
                );
                let query = sqlx::query(&sql)
                    .bind(i64::from(max_attempts))
                    .bind(millis(now));
                let rows = bind_all(query, binds).fetch_all(&mut *tx).await?;
                let ids = rows
                    .iter()
                    .map(|row| parse_id(&row.try_get::<String, _>("snippet_id")?))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                for id in &ids {
                    sqlx::query("UPDATE snippets SET error = NULL WHERE id = $1 AND html IS NULL")
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(ids)
            }

            async fn delete_matching(
                &self,
                filter: &crate::domain::operations::JobFilter,
                now: DateTime<Utc>,
            ) -> Result<Vec<SnippetId>, StoreError> {
                let (clause, binds) = super::ops::filter_sql(filter, now, 2);
                let mut tx = self.pool.begin().await?;
                let sql = format!(
                    "INSERT INTO tombstones (id, gone_at, reason)
                     SELECT j.snippet_id, $1, 'deleted' {JOBS_FROM} WHERE {clause}
                     ON CONFLICT (id) DO NOTHING
                     RETURNING id"
                );
                let rows = bind_all(sqlx::query(&sql).bind(millis(now)), binds)
                    .fetch_all(&mut *tx)
                    .await?;
                let ids = rows
                    .iter()
                    .map(|row| parse_id(&row.try_get::<String, _>("id")?))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                for chunk in ids.chunks(500) {
                    let sql = format!(
                        "DELETE FROM snippets WHERE id IN ({})",
                        placeholders(1, chunk.len())
                    );
                    let mut query = sqlx::query(&sql);
                    for id in chunk {
                        query = query.bind(id.as_str());
                    }
                    query.execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(ids)
            }

            async fn heartbeat(&self, node: &crate::domain::operations::NodeRow) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO nodes (id, role, host, workers, busy, started_at, last_heartbeat)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (id) DO UPDATE SET busy = excluded.busy,
                         last_heartbeat = excluded.last_heartbeat",
                )
                .bind(&node.id)
                .bind(&node.role)
                .bind(&node.host)
                .bind(i64::from(node.workers))
                .bind(i64::from(node.busy))
                .bind(millis(node.started_at))
                .bind(millis(node.last_heartbeat))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn nodes(
                &self,
                gone_before: DateTime<Utc>,
            ) -> Result<Vec<crate::domain::operations::NodeRow>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, role, host, workers, busy, started_at, last_heartbeat
                     FROM nodes ORDER BY started_at, id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let last_heartbeat = from_millis(row.try_get("last_heartbeat")?)?;
                        Ok(crate::domain::operations::NodeRow {
                            id: row.try_get("id")?,
                            role: row.try_get("role")?,
                            host: row.try_get("host")?,
                            workers: to_u32(row.try_get("workers")?, "workers")?,
                            busy: to_u32(row.try_get("busy")?, "busy")?,
                            started_at: from_millis(row.try_get("started_at")?)?,
                            last_heartbeat,
                            gone: last_heartbeat < gone_before,
                        })
                    })
                    .collect()
            }

            async fn remove_node(&self, id: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM nodes WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn prune_nodes(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
                let done = sqlx::query("DELETE FROM nodes WHERE last_heartbeat < $1")
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn set_paused(&self, paused: bool) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO cluster_flags (name, value) VALUES ('paused', $1)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(if paused { "true" } else { "false" })
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn paused(&self) -> Result<bool, StoreError> {
                let row = sqlx::query("SELECT value FROM cluster_flags WHERE name = 'paused'")
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match row {
                    Some(row) => row.try_get::<String, _>("value")? == "true",
                    None => false,
                })
            }
        }
    };
}

pub(super) use impl_operations;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_filters_number_their_values() {
        let cursor = JobCursor {
            enqueued_at_ms: 1_700_000_000_000,
            id: SnippetId::parse("abcdefABCDEF").unwrap(),
        };
        assert_eq!(JobCursor::parse(&cursor.encode()), Some(cursor));
        assert_eq!(JobCursor::parse("nonsense"), None);
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
