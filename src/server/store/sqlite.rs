//! The embedded SQLite store: the single-node default.
//!
//! SQLite allows one writer at a time, so every write transaction here
//! starts with a write (never read-then-write), which lets the busy timeout
//! queue writers instead of failing them with SQLITE_BUSY. WAL mode lets
//! readers (pages, streams) go on while a worker writes.

use std::{path::Path, str::FromStr, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{
    Row,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
        SqliteSynchronous,
    },
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

/// SQLite runs the whole statement under its single write lock, so two
/// workers can never claim the same row.
const CLAIM: &str = claim_sql!("");

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses no committed transaction on a process
            // crash (only on power loss), at a fraction of FULL's fsyncs.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if let Some(dir) = Path::new(options.get_filename()).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(e.into()))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

impl SqliteStore {
    /// Every commit is already lazy: in WAL mode with `synchronous =
    /// NORMAL` a commit does not wait for the disk (a power cut may lose
    /// the last ones; the database stays whole).
    const LAZY_COMMIT: Option<&'static str> = None;
    /// One node: there is nobody to notify (its bus hands it no notices).
    const NOTIFY: Option<&'static str> = None;
}

impl_store!(SqliteStore, SqliteRow, CLAIM);
super::ops::impl_operations!(SqliteStore, SqliteRow);
