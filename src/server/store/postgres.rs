//! The PostgreSQL store: for several nodes on one database.
//!
//! Workers on every node claim from the same queue; `FOR UPDATE SKIP
//! LOCKED` lets each claim pass over rows another node is claiming at the
//! same moment instead of waiting for them, so claims never block each
//! other and never hand one job to two workers.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{
    Row,
    postgres::{PgPool, PgPoolOptions, PgRow},
};

use super::{
    ClaimedJob, Lease, NewSnippet, Rescued, Store, StoreError, count_lines, from_millis, millis,
    preview,
    sql::{
        PRUNE_JOBS, REQUEUE_JOB, SUMMARY_SELECT, derived_state, impl_store, job_state, opt_time,
        progress,
    },
};
use crate::{
    domain::{Highlighted, JobState, SnippetEvent, SnippetId, SnippetSummary, SnippetView},
    server::events::{CHANNEL, encode_notice},
};

const CLAIM: &str = "
    UPDATE jobs
    SET state = 'processing', locked_by = $1, lease_until = $2, attempts = attempts + 1,
        progress_done = NULL, progress_total = NULL, updated_at = $3
    WHERE snippet_id IN (
        SELECT snippet_id FROM jobs
        WHERE state IN ('queued', 'retrying') AND run_at <= $3
        ORDER BY run_at
        LIMIT $4
        FOR UPDATE SKIP LOCKED)
    RETURNING snippet_id, attempts, max_attempts";

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl PgStore {
    /// NOTIFY, inside the completing transaction: PostgreSQL delivers it
    /// at commit, to every node's relay, and never for a rolled-back result.
    async fn notify_completed(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        id: &SnippetId,
        highlighted_in_ms: u64,
    ) -> Result<(), StoreError> {
        let notice = encode_notice(
            id,
            &SnippetEvent::Highlighted(Highlighted {
                html: String::new(),
                language: String::new(),
                highlighted_in_ms,
            }),
        );
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(notice)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

impl_store!(PgStore, PgRow, CLAIM);
