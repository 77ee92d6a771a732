//! The embedded SQLite store: the single-node default.
//!
//! SQLite allows one writer at a time, so every write transaction in
//! `sql/` starts with a write (never read-then-write), which lets the busy
//! timeout queue writers instead of failing them with SQLITE_BUSY. WAL
//! mode lets readers (pages, streams) go on while a worker writes.

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    Sqlite,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use super::{Dialect, SqlStore, StoreError};

pub type SqliteStore = SqlStore<Sqlite>;

impl Dialect for Sqlite {
    /// SQLite runs the whole statement under its single write lock, so two
    /// workers can never claim the same row.
    const CLAIM_LOCK: &'static str = "";
    /// Every commit is already lazy: in WAL mode with `synchronous =
    /// NORMAL` a commit does not wait for the disk (a power cut may lose
    /// the last ones; the database stays whole).
    const LAZY_COMMIT: Option<&'static str> = None;
    /// One node: there is nobody to notify (its bus hands it no notices).
    const NOTIFY: Option<&'static str> = None;

    fn rows_affected(result: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}

impl SqlStore<Sqlite> {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::from(e).during("reading the database URL"))?
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
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::from(sqlx::Error::Io(e)).during("creating the database's directory")
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::from(e).during("opening the database"))?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(SqlStore::new(pool))
    }
}
