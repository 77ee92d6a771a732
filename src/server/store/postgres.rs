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
    ClaimedJob, Completed, Lease, NewSnippet, Rescued, Store, StoreError, StoredSnippet,
    from_millis, millis,
    sql::{
        PRUNE_JOBS, RECORD_ATTEMPT, REQUEUE_JOB, STATE_SELECT, SUMMARY_SELECT, VIEW_SELECT,
        claim_sql, completion_chunks, derived_state, fenced_update, impl_store, job_state,
        opt_time, parse_id, placeholders, progress, text_text_number_rows, to_u32, visibility,
    },
};
use crate::{
    domain::{
        GoneReason, JobState, SnippetId, SnippetSummary, SnippetView, StateChanged, source::preview,
    },
    server::owner::OwnerHash,
};

/// SKIP LOCKED: a claim passes over rows another node is claiming.
const CLAIM: &str = claim_sql!("FOR UPDATE SKIP LOCKED");

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
    /// Run first in the transactions that claim and complete jobs: their
    /// commits need not wait for the disk. A crash may lose the last of
    /// them, and that only means a job runs again (see
    /// [`JobState`](crate::domain::JobState)); snippets themselves are
    /// always committed durably.
    const LAZY_COMMIT: Option<&'static str> = Some("SET LOCAL synchronous_commit = off");
    /// How a transaction sends a notice to every node's relay.
    const NOTIFY: Option<&'static str> = Some("SELECT pg_notify($1, $2)");
}

impl_store!(PgStore, PgRow, CLAIM);
super::ops::impl_operations!(PgStore, PgRow);
