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
        claim_sql, derived_state, fenced_update, impl_store, job_state, opt_time, parse_id,
        placeholders, progress, to_u32, visibility,
    },
};
use crate::{
    domain::{
        GoneReason, Highlighted, JobState, SnippetEvent, SnippetId, SnippetSummary, SnippetView,
        StateChanged, source::preview,
    },
    server::{
        events::{CHANNEL, encode_notice},
        owner::OwnerHash,
    },
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
            None,
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
super::ops::impl_operations!(PgStore, PgRow);
