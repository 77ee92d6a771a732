//! The job engine's side of the store ([`JobStore`]): claims, fenced
//! outcomes, batched completions, and the maintenance passes.
//!
//! A job is one revision's: it is named by its snippet and revision. Every
//! write of an attempt's outcome is fenced: it names the job, the worker
//! and the attempt number it holds, and changes nothing when any of them
//! no longer match (the lease expired and someone else claimed the job).
//! The attempt is recorded in `job_attempts` in the same transaction, so
//! the history and the job never disagree.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::{
    Cell, Dialect, SqlStore, Statement, Value, checked, during, opt_time, parse_id, to_i64,
};
use crate::{
    domain::{Failed, Progress, SnippetId},
    server::store::{
        ClaimedJob, Completed, FileResult, JobFile, JobStore, Lease, NOTICE_CHANNEL, Rescued,
        StoreError, millis, pack_notices,
    },
};

/// An update only the holder of a lease may make: `$1` to `$4` are the
/// fence (the snippet, the revision, the worker, the attempt; bound by
/// [`SqlStore::fenced`]) and `set`'s own values are numbered from `$5`.
fn fenced_update(set: &str) -> String {
    format!(
        "UPDATE jobs SET {set}
         WHERE snippet_id = $1 AND revision = $2 AND state = 'processing' AND locked_by = $3
           AND attempts = $4"
    )
}

/// Records how the attempt held by the fence `$1..$4` ended (`$6`, with
/// error `$7`) as of `$5`: run it before the fenced update that ends the
/// attempt, in the same transaction. It inserts nothing when the fence
/// does not hold, which is also how the caller learns that.
const RECORD_ATTEMPT: &str = "
    INSERT INTO job_attempts (snippet_id, revision, attempt, holder, started_at, finished_at,
                              outcome, error)
    SELECT snippet_id, revision, attempts, locked_by, COALESCE(attempt_started_at, $5), $5, $6, $7
    FROM jobs
    WHERE snippet_id = $1 AND revision = $2 AND state = 'processing' AND locked_by = $3
      AND attempts = $4";

const PRUNE_JOBS: &str = "
    DELETE FROM jobs
    WHERE (state = 'succeeded' AND finished_at < $1) OR (state = 'failed' AND finished_at < $2)";

/// What a job that ran out of attempts while its worker was gone shows.
const ABANDONED: &str = "The worker running this job stopped responding, and no attempts are left.";

/// Completions written with one set of statements, at most: their
/// parameters stay far below either database's limit.
const COMPLETION_CHUNK: usize = 200;

/// File results written by one statement, at most.
const RESULTS_CHUNK: usize = 500;

/// `done` cut into ranges of at most [`COMPLETION_CHUNK`] completions in
/// which no job appears twice (two leases of one job in one batch is
/// rare, but then the job alone would not say which one held).
fn completion_chunks(done: &[Completed<'_>]) -> Vec<std::ops::Range<usize>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut seen = HashSet::new();
    let job = |c: &Completed<'_>| (c.lease.snippet_id.clone(), c.lease.revision);
    for (index, completed) in done.iter().enumerate() {
        if index - start == COMPLETION_CHUNK || !seen.insert(job(completed)) {
            chunks.push(start..index);
            start = index;
            seen.clear();
            seen.insert(job(completed));
        }
    }
    chunks.push(start..done.len());
    chunks
}

/// A lease's fence as a batch row: (snippet, revision, holder, attempt).
const FENCE_COLUMNS: [(&str, Cell); 4] = [
    ("snippet_id", Cell::Text),
    ("revision", Cell::Bigint),
    ("holder", Cell::Text),
    ("attempt", Cell::Bigint),
];

/// A finished attempt as a batch row.
const ATTEMPT_COLUMNS: [(&str, Cell); 5] = [
    ("snippet_id", Cell::Text),
    ("revision", Cell::Bigint),
    ("attempt", Cell::Bigint),
    ("holder", Cell::Text),
    ("started_at", Cell::Bigint),
];

/// A revision's outcome as a batch row.
const OUTCOME_COLUMNS: [(&str, Cell); 4] = [
    ("id", Cell::Text),
    ("revision", Cell::Bigint),
    ("took_ms", Cell::Bigint),
    ("engine", Cell::Text),
];

/// A file's result as a batch row.
const RESULT_COLUMNS: [(&str, Cell); 6] = [
    ("hash", Cell::Text),
    ("language", Cell::Text),
    ("engine", Cell::Text),
    ("highlighted_in_ms", Cell::Bigint),
    ("html", Cell::Text),
    ("rendered", Cell::Text),
];

/// A job's key as a batch row.
const KEY_COLUMNS: [(&str, Cell); 2] = [("snippet_id", Cell::Text), ("revision", Cell::Bigint)];

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
    /// A [`fenced_update`] statement with its fence bound.
    fn fenced<'q>(sql: &'q str, lease: &'q Lease) -> Statement<'q, D> {
        sqlx::query(sql)
            .bind(lease.snippet_id.as_str())
            .bind(i64::from(lease.revision))
            .bind(lease.worker.as_str())
            .bind(i64::from(lease.attempt))
    }

    /// `rows` bound to `query` as [`Dialect::rows_of`] numbered them (after
    /// the statement's own parameters).
    fn bind_rows<'q, const N: usize>(
        query: Statement<'q, D>,
        rows: &[[Value<'q>; N]],
    ) -> Statement<'q, D> {
        if D::ROWS_AS_JSON {
            let rows: Vec<&[Value<'_>]> = rows.iter().map(|row| row.as_slice()).collect();
            let json = serde_json::to_string(&rows).expect("text and numbers always serialize");
            return query.bind(json);
        }
        rows.iter()
            .flatten()
            .fold(query, |query, cell| match *cell {
                Value::Text(text) => query.bind(text),
                Value::MaybeText(text) => query.bind(text),
                Value::Int(n) => query.bind(n),
            })
    }

    /// [`RECORD_ATTEMPT`] for `lease`: `Ok(false)` when the fence does not
    /// hold (the attempt is someone else's now).
    async fn record_attempt(
        tx: &mut sqlx::Transaction<'_, D>,
        lease: &Lease,
        now: DateTime<Utc>,
        outcome: &str,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let recorded = Self::fenced(RECORD_ATTEMPT, lease)
            .bind(millis(now))
            .bind(outcome)
            .bind(error)
            .execute(&mut **tx)
            .await?;
        Ok(D::rows_affected(&recorded) == 1)
    }

    /// Ends the attempt `lease` holds with `outcome` (in the caller's
    /// [`write_turn`](SqlStore::write_turn)): records it, then sets
    /// `set` on the job (numbered from `$5`: `values`, then `error` when
    /// there is one). Returns the transaction for the caller to add to and
    /// commit; `None`, with nothing changed, when the lease no longer holds.
    async fn end_attempt(
        &self,
        lease: &Lease,
        outcome: &str,
        error: Option<&str>,
        set: &str,
        values: &[i64],
        now: DateTime<Utc>,
    ) -> Result<Option<sqlx::Transaction<'static, D>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !Self::record_attempt(&mut tx, lease, now, outcome, error).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let sql = fenced_update(set);
        let mut query = Self::fenced(&sql, lease);
        for value in values {
            query = query.bind(*value);
        }
        if let Some(error) = error {
            query = query.bind(error);
        }
        query.execute(&mut *tx).await?;
        Ok(Some(tx))
    }

    /// Stores one chunk of completions (no job twice) in `tx`: the fenced
    /// update of the jobs, then, for those whose lease held, their
    /// attempts and the revisions' outcomes (their files' results are
    /// written for the whole batch, by [`SqlStore::store_results`]). A
    /// few statements, not a few per job: on SQLite each statement is a
    /// round trip to its worker thread, on PostgreSQL one over the
    /// network. Returns the indexes (into `jobs`) stored.
    async fn complete_chunk(
        tx: &mut sqlx::Transaction<'_, D>,
        jobs: &[Completed<'_>],
        now: DateTime<Utc>,
    ) -> Result<Vec<usize>, StoreError> {
        // The jobs whose fence holds, and when their attempts started: the
        // attempts are recorded from these rows, not by looking the jobs
        // up a second time.
        let succeed = format!(
            "UPDATE jobs
             SET state = 'succeeded', locked_by = NULL, lease_until = NULL, last_error = NULL,
                 progress_done = NULL, progress_total = NULL, updated_at = $1, finished_at = $1
             WHERE state = 'processing' AND (snippet_id, revision, locked_by, attempts) IN (
                 SELECT snippet_id, revision, holder, attempt FROM ({}) AS fences)
             RETURNING snippet_id, revision, attempt_started_at",
            D::rows_of(2, jobs.len(), &FENCE_COLUMNS)
        );
        let fences: Vec<[Value<'_>; 4]> = jobs
            .iter()
            .map(|job| {
                let lease = job.lease;
                [
                    Value::Text(lease.snippet_id.as_str()),
                    Value::Int(i64::from(lease.revision)),
                    Value::Text(lease.worker.as_str()),
                    Value::Int(i64::from(lease.attempt)),
                ]
            })
            .collect();
        let held: HashMap<(String, i64), Option<i64>> =
            Self::bind_rows(sqlx::query(&succeed).bind(millis(now)), &fences)
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|row| {
                    Ok((
                        (row.try_get("snippet_id")?, row.try_get("revision")?),
                        row.try_get("attempt_started_at")?,
                    ))
                })
                .collect::<Result<_, sqlx::Error>>()?;
        // A chunk never names a job twice, so the job says which of the
        // chunk's leases held.
        let stored: Vec<(usize, Option<i64>)> = (0..jobs.len())
            .filter_map(|index| {
                let lease = jobs[index].lease;
                let key = (lease.snippet_id.to_string(), i64::from(lease.revision));
                held.get(&key).map(|started| (index, *started))
            })
            .collect();
        if stored.is_empty() {
            return Ok(Vec::new());
        }
        // The fence matched, so each attempt's holder and number are its
        // lease's.
        let record = format!(
            "INSERT INTO job_attempts (snippet_id, revision, attempt, holder, started_at,
                                       finished_at, outcome, error)
             SELECT snippet_id, revision, attempt, holder, started_at, CAST($1 AS BIGINT),
                    'succeeded', NULL
             FROM ({}) AS attempts",
            D::rows_of(2, stored.len(), &ATTEMPT_COLUMNS),
        );
        let attempts: Vec<[Value<'_>; 5]> = stored
            .iter()
            .map(|&(index, started)| {
                let lease = jobs[index].lease;
                [
                    Value::Text(lease.snippet_id.as_str()),
                    Value::Int(i64::from(lease.revision)),
                    Value::Int(i64::from(lease.attempt)),
                    Value::Text(lease.worker.as_str()),
                    Value::Int(started.unwrap_or_else(|| millis(now))),
                ]
            })
            .collect();
        Self::bind_rows(sqlx::query(&record).bind(millis(now)), &attempts)
            .execute(&mut **tx)
            .await?;
        let stored: Vec<usize> = stored.into_iter().map(|(index, _)| index).collect();
        let outcome = format!(
            "WITH results AS ({})
             UPDATE revisions
             SET engine = results.engine, highlighted_at = $1, highlighted_in_ms = results.took_ms,
                 error = NULL
             FROM results WHERE revisions.snippet_id = results.id AND revisions.number = results.revision",
            D::rows_of(2, stored.len(), &OUTCOME_COLUMNS),
        );
        let outcomes: Vec<[Value<'_>; 4]> = stored
            .iter()
            .map(|&index| {
                let job = &jobs[index];
                [
                    Value::Text(job.lease.snippet_id.as_str()),
                    Value::Int(i64::from(job.lease.revision)),
                    Value::Int(to_i64(job.highlighted_in_ms)),
                    Value::Text(job.engine),
                ]
            })
            .collect();
        Self::bind_rows(sqlx::query(&outcome).bind(millis(now)), &outcomes)
            .execute(&mut **tx)
            .await?;
        Ok(stored)
    }

    /// The files' results of `jobs` (whose leases held), kept for every
    /// revision that shows them: each once, in key order. On PostgreSQL
    /// every node's completer writes its batches side by side with the
    /// others', and one that inserts a key another holds waits for it;
    /// taking keys in one order means neither can hold a key the other
    /// waits on first, so two batches never deadlock on shared results.
    async fn store_results<'j>(
        tx: &mut sqlx::Transaction<'_, D>,
        jobs: impl Iterator<Item = &'j Completed<'j>>,
    ) -> Result<(), StoreError> {
        let mut results: Vec<(&str, &FileResult<'_>)> = jobs
            .flat_map(|job| job.files.iter().map(move |file| (job.engine, file)))
            .collect();
        results.sort_by_key(|(engine, file)| (file.hash, file.language, *engine));
        results.dedup_by_key(|(engine, file)| (file.hash, file.language, *engine));
        for chunk in results.chunks(RESULTS_CHUNK) {
            // `WHERE true`: SQLite reads an upsert's `ON CONFLICT` after a
            // bare `SELECT ... FROM` as a join's `ON`.
            let sql = format!(
                "INSERT INTO highlights (hash, language, engine, highlighted_in_ms, html, rendered)
                 SELECT hash, language, engine, highlighted_in_ms, html, rendered
                 FROM ({}) AS results WHERE true
                 ON CONFLICT (hash, language, engine) DO NOTHING",
                D::rows_of(1, chunk.len(), &RESULT_COLUMNS)
            );
            let rows: Vec<[Value<'_>; 6]> = chunk
                .iter()
                .map(|(engine, file)| {
                    [
                        Value::Text(file.hash),
                        Value::Text(file.language),
                        Value::Text(engine),
                        Value::Int(to_i64(file.highlighted_in_ms)),
                        Value::Text(file.html),
                        Value::MaybeText(file.rendered),
                    ]
                })
                .collect();
            Self::bind_rows(sqlx::query(&sql), &rows)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// The jobs a claim's rows name, held by `worker`, without their files.
    fn claimed_jobs(rows: &[D::Row], worker: &str) -> Result<Vec<ClaimedJob>, StoreError> {
        rows.iter()
            .map(|row| {
                Ok(ClaimedJob {
                    lease: Lease {
                        snippet_id: parse_id(&row.try_get::<String, _>("snippet_id")?)?,
                        revision: checked(row.try_get("revision")?, "revision")?,
                        worker: worker.to_owned(),
                        attempt: checked(row.try_get("attempts")?, "attempts")?,
                    },
                    max_attempts: checked(row.try_get("max_attempts")?, "max attempts")?,
                    enqueued_at: opt_time(row.try_get("enqueued_at")?)?,
                    files: Vec::new(),
                })
            })
            .collect()
    }

    /// The files of claimed jobs, in order, each with its code unless
    /// `engine` has a stored result for it.
    async fn claimed_files(
        connection: &mut D::Connection,
        jobs: &[(SnippetId, u32)],
        engine: &str,
    ) -> Result<HashMap<(SnippetId, u32), Vec<JobFile>>, StoreError> {
        let mut files: HashMap<(SnippetId, u32), Vec<JobFile>> = HashMap::new();
        for chunk in jobs.chunks(COMPLETION_CHUNK) {
            let sql = format!(
                "SELECT f.snippet_id, f.revision, f.name, f.language, f.hash, b.bytes, b.lines,
                        CASE WHEN h.hash IS NULL THEN b.code END AS code, h.html, h.rendered
                 FROM files f
                 JOIN blobs b ON b.hash = f.hash
                 LEFT JOIN highlights h
                   ON h.hash = f.hash AND h.language = f.language AND h.engine = $1
                 WHERE (f.snippet_id, f.revision) IN (
                     SELECT snippet_id, revision FROM ({}) AS claimed)
                 ORDER BY f.snippet_id, f.revision, f.position",
                D::rows_of(2, chunk.len(), &KEY_COLUMNS)
            );
            let keys: Vec<[Value<'_>; 2]> = chunk
                .iter()
                .map(|(id, revision)| [Value::Text(id.as_str()), Value::Int(i64::from(*revision))])
                .collect();
            let rows = Self::bind_rows(sqlx::query(&sql).bind(engine), &keys)
                .fetch_all(&mut *connection)
                .await?;
            for row in &rows {
                let key = (
                    parse_id(&row.try_get::<String, _>("snippet_id")?)?,
                    checked(row.try_get("revision")?, "revision")?,
                );
                files.entry(key).or_default().push(JobFile {
                    name: row.try_get("name")?,
                    language: row.try_get("language")?,
                    hash: row.try_get("hash")?,
                    bytes: checked(row.try_get("bytes")?, "bytes")?,
                    lines: checked(row.try_get("lines")?, "lines")?,
                    code: row.try_get("code")?,
                    cached_html: row.try_get("html")?,
                    cached_rendered: row.try_get("rendered")?,
                });
            }
        }
        Ok(files)
    }
}

#[async_trait]
impl<D> JobStore for SqlStore<D>
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
    async fn claim_jobs(
        &self,
        worker: &str,
        limit: u32,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        engine: &str,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        during("claiming jobs", async {
            if limit == 0 {
                return Ok(Vec::new());
            }
            // One statement, so a claim is atomic; the dialect's lock makes
            // sure two workers never claim the same row.
            let claim = sqlx::query(&self.claim)
                .bind(worker)
                .bind(millis(lease_until))
                .bind(millis(now))
                .bind(i64::from(limit));
            let turn = self.write_turn().await;
            let (mut jobs, mut files) = match D::QUEUE_SETTINGS {
                // Settings for the queue's work alone (`SET LOCAL`) need a
                // transaction of its own, which reads the files too.
                Some(settings) => {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query(settings).execute(&mut *tx).await?;
                    let jobs = Self::claimed_jobs(&claim.fetch_all(&mut *tx).await?, worker)?;
                    let files = Self::claimed_files(&mut tx, &keys_of(&jobs), engine).await?;
                    tx.commit().await?;
                    (jobs, files)
                }
                None => {
                    let jobs = Self::claimed_jobs(&claim.fetch_all(&self.pool).await?, worker)?;
                    drop(turn);
                    // An idle queue's claims find nothing: no connection
                    // for their files.
                    if jobs.is_empty() {
                        return Ok(jobs);
                    }
                    let mut connection = self.pool.acquire().await?;
                    let files =
                        Self::claimed_files(&mut connection, &keys_of(&jobs), engine).await?;
                    (jobs, files)
                }
            };
            for job in &mut jobs {
                job.files = files
                    .remove(&(job.lease.snippet_id.clone(), job.lease.revision))
                    .unwrap_or_default();
            }
            Ok(jobs)
        })
        .await
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        during("renewing a lease", async {
            let sql = fenced_update("lease_until = $5, updated_at = $6");
            let _turn = self.write_turn().await;
            let done = Self::fenced(&sql, lease)
                .bind(millis(lease_until))
                .bind(millis(now))
                .execute(&self.pool)
                .await?;
            Ok(D::rows_affected(&done) == 1)
        })
        .await
    }

    async fn save_progress(&self, lease: &Lease, progress: Progress) -> Result<bool, StoreError> {
        during("saving progress", async {
            let sql = fenced_update("progress_done = $5, progress_total = $6");
            let _turn = self.write_turn().await;
            let done = Self::fenced(&sql, lease)
                .bind(i64::from(progress.done))
                .bind(i64::from(progress.total))
                .execute(&self.pool)
                .await?;
            Ok(D::rows_affected(&done) == 1)
        })
        .await
    }

    async fn complete_jobs(
        &self,
        done: &[Completed<'_>],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError> {
        during("storing results", async {
            let mut stored = vec![false; done.len()];
            if done.is_empty() {
                return Ok(stored);
            }
            let mut notices = Vec::new();
            let _turn = self.write_turn().await;
            let mut tx = self.pool.begin().await?;
            if let Some(settings) = D::QUEUE_SETTINGS {
                sqlx::query(settings).execute(&mut *tx).await?;
            }
            for chunk in completion_chunks(done) {
                let jobs = &done[chunk.clone()];
                for index in Self::complete_chunk(&mut tx, jobs, now).await? {
                    stored[chunk.start + index] = true;
                    notices.extend(jobs[index].notice);
                }
            }
            let landed = done.iter().zip(&stored).filter(|(_, landed)| **landed);
            Self::store_results(&mut tx, landed.map(|(job, _)| job)).await?;
            // Sent at commit, and only for results that are stored.
            if let Some(notify) = D::NOTIFY {
                for payload in pack_notices(&notices) {
                    sqlx::query(notify)
                        .bind(NOTICE_CHANNEL)
                        .bind(payload)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(stored)
        })
        .await
    }

    async fn retry_job(
        &self,
        lease: &Lease,
        error: &str,
        run_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        during("scheduling a retry", async {
            let _turn = self.write_turn().await;
            let ended = self
                .end_attempt(
                    lease,
                    "retrying",
                    Some(error),
                    "state = 'retrying', locked_by = NULL, lease_until = NULL, run_at = $5,
                     updated_at = $6, progress_done = NULL, progress_total = NULL, last_error = $7",
                    &[millis(run_at), millis(now)],
                    now,
                )
                .await?;
            let Some(tx) = ended else { return Ok(false) };
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn fail_job(
        &self,
        lease: &Lease,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        during("failing a job", async {
            let _turn = self.write_turn().await;
            let ended = self
                .end_attempt(
                    lease,
                    "failed",
                    Some(error),
                    "state = 'failed', locked_by = NULL, lease_until = NULL, progress_done = NULL,
                     progress_total = NULL, updated_at = $5, finished_at = $5, last_error = $6",
                    &[millis(now)],
                    now,
                )
                .await?;
            let Some(mut tx) = ended else {
                return Ok(false);
            };
            sqlx::query("UPDATE revisions SET error = $1 WHERE snippet_id = $2 AND number = $3")
                .bind(error)
                .bind(lease.snippet_id.as_str())
                .bind(i64::from(lease.revision))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn release_job(&self, lease: &Lease, now: DateTime<Utc>) -> Result<bool, StoreError> {
        during("releasing a job", async {
            let _turn = self.write_turn().await;
            let ended = self
                .end_attempt(
                    lease,
                    "released",
                    None,
                    "state = 'queued', locked_by = NULL, lease_until = NULL, attempts = attempts - 1,
                     run_at = $5, progress_done = NULL, progress_total = NULL, updated_at = $5",
                    &[millis(now)],
                    now,
                )
                .await?;
            let Some(tx) = ended else { return Ok(false) };
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn rescue_expired(&self, now: DateTime<Utc>) -> Result<Vec<Rescued>, StoreError> {
        during("rescuing expired leases", async {
            let _turn = self.write_turn().await;
            let mut tx = self.pool.begin().await?;
            // Their holders stopped answering: the attempts are recorded as
            // abandoned, then the jobs are failed or queued again.
            sqlx::query(
                "INSERT INTO job_attempts (snippet_id, revision, attempt, holder, started_at,
                                           finished_at, outcome, error)
                 SELECT snippet_id, revision, attempts, COALESCE(locked_by, ''),
                        COALESCE(attempt_started_at, $1), $1,
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
                 RETURNING snippet_id, revision, attempts",
            )
            .bind(ABANDONED)
            .bind(millis(now))
            .fetch_all(&mut *tx)
            .await?;
            let mut rescued = Vec::new();
            for row in &failed {
                let id = parse_id(&row.try_get::<String, _>("snippet_id")?)?;
                let revision: u32 = checked(row.try_get("revision")?, "revision")?;
                sqlx::query(
                    "UPDATE revisions SET error = $1 WHERE snippet_id = $2 AND number = $3",
                )
                .bind(ABANDONED)
                .bind(id.as_str())
                .bind(i64::from(revision))
                .execute(&mut *tx)
                .await?;
                let attempts = checked(row.try_get("attempts")?, "attempts")?;
                rescued.push(Rescued::Failed(
                    id,
                    Failed {
                        error: ABANDONED.to_owned(),
                        attempts,
                        revision,
                    },
                ));
            }
            let requeued = sqlx::query(
                "UPDATE jobs
                 SET state = 'queued', locked_by = NULL, lease_until = NULL, run_at = $1,
                     progress_done = NULL, progress_total = NULL, updated_at = $1
                 WHERE state = 'processing' AND lease_until < $1
                 RETURNING snippet_id, revision",
            )
            .bind(millis(now))
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            for row in &requeued {
                rescued.push(Rescued::Requeued(
                    parse_id(&row.try_get::<String, _>("snippet_id")?)?,
                    checked(row.try_get("revision")?, "revision")?,
                ));
            }
            Ok(rescued)
        })
        .await
    }

    async fn prune_finished_jobs(
        &self,
        succeeded_before: DateTime<Utc>,
        failed_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        during("pruning finished jobs", async {
            let _turn = self.write_turn().await;
            let done = sqlx::query(PRUNE_JOBS)
                .bind(millis(succeeded_before))
                .bind(millis(failed_before))
                .execute(&self.pool)
                .await?;
            Ok(D::rows_affected(&done))
        })
        .await
    }

    async fn sweep_expired(&self, now: DateTime<Utc>) -> Result<Vec<SnippetId>, StoreError> {
        during("sweeping expired snippets", async {
            let _turn = self.write_turn().await;
            let mut tx = self.pool.begin().await?;
            let gone = sqlx::query(
                "INSERT INTO tombstones (id, gone_at, reason)
                 SELECT id, expires_at, 'expired' FROM snippets WHERE expires_at <= $1
                 ON CONFLICT (id) DO NOTHING
                 RETURNING id",
            )
            .bind(millis(now))
            .fetch_all(&mut *tx)
            .await?;
            let ids = Self::ids_of(&gone, "id")?;
            Self::delete_in(&mut tx, &ids).await?;
            tx.commit().await?;
            Ok(ids)
        })
        .await
    }

    async fn unfinished_jobs(&self) -> Result<u64, StoreError> {
        during("counting unfinished jobs", async {
            // Counted on the partial indexes of due and of leased jobs
            // (their conditions written as the indexes' own), which hold
            // only unfinished jobs: the table also holds every finished
            // job until it is pruned, and a count over it all, polled
            // while a queue drains, competed with the queue's own work.
            let row = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'retrying'))
                      + (SELECT COUNT(*) FROM jobs WHERE state = 'processing') AS n",
            )
            .fetch_one(&self.pool)
            .await?;
            Self::count_of(&row)
        })
        .await
    }
}

/// Each job's key: its snippet and revision.
fn keys_of(jobs: &[ClaimedJob]) -> Vec<(SnippetId, u32)> {
    jobs.iter()
        .map(|job| (job.lease.snippet_id.clone(), job.lease.revision))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SnippetId;
    use crate::server::store::{Completed, Lease};

    fn lease(snippet_id: &SnippetId, n: usize) -> Lease {
        Lease {
            snippet_id: snippet_id.clone(),
            revision: 1,
            worker: format!("w/{n}"),
            attempt: 1,
        }
    }

    fn completed(leases: &[Lease]) -> Vec<Completed<'_>> {
        leases
            .iter()
            .map(|lease| Completed {
                lease,
                files: &[],
                engine: "test",
                highlighted_in_ms: 0,
                notice: None,
            })
            .collect()
    }

    #[test]
    fn completion_chunks_are_bounded_and_never_name_a_job_twice() {
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
    fn batch_rows_number_their_parameters_from_the_first_given() {
        let columns = [("a", Cell::Text), ("b", Cell::Bigint)];
        assert_eq!(
            <sqlx::Postgres as Dialect>::rows_of(2, 2, &columns),
            "SELECT * FROM (VALUES ($2, CAST($3 AS BIGINT)), ($4, CAST($5 AS BIGINT))) \
             AS batch_rows (a, b)"
        );
        // One parameter, whatever the count: the text never changes.
        let sqlite = <sqlx::Sqlite as Dialect>::rows_of(2, 2, &columns);
        assert_eq!(
            sqlite,
            "SELECT json_extract(value, '$[0]') AS a, json_extract(value, '$[1]') AS b \
             FROM json_each($2)"
        );
        assert_eq!(<sqlx::Sqlite as Dialect>::rows_of(2, 500, &columns), sqlite);
    }
}
