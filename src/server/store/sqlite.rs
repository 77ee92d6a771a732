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

use super::{Cell, Dialect, SqlStore, StoreError};

pub type SqliteStore = SqlStore<Sqlite>;

impl Dialect for Sqlite {
    /// SQLite runs the whole statement under its single write lock, so two
    /// workers can never claim the same row.
    const CLAIM_LOCK: &'static str = "";
    /// Every commit is already lazy: in WAL mode with `synchronous =
    /// NORMAL` a commit does not wait for the disk (a power cut may lose
    /// the last ones; the database stays whole). The queue's statements
    /// take their indexes without being told.
    const QUEUE_SETTINGS: Option<&'static str> = None;
    /// One node: there is nobody to notify (its bus hands it no notices).
    const NOTIFY: Option<&'static str> = None;
    /// SQLite has one write lock for the whole database.
    const ONE_WRITER: bool = true;

    fn rows_affected(result: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    /// One parameter, so that a statement's text is the same whatever
    /// the batch's size: SQLite compiles it once per connection, where a
    /// `VALUES` list of n rows was a new statement to compile for every
    /// n (the drain 10% to 28% faster in alternated pairs;
    /// `bench/PROFILE.md`, round 24).
    const ROWS_AS_JSON: bool = true;

    /// `json_extract` gives JSON's numbers as integers and its strings as
    /// text, the columns' own types.
    fn rows_of(first: usize, _count: usize, columns: &[(&str, Cell)]) -> String {
        let cells: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(at, (name, _))| format!("json_extract(value, '$[{at}]') AS {name}"))
            .collect();
        format!("SELECT {} FROM json_each(${first})", cells.join(", "))
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
        rehash_legacy_blobs(&pool).await?;
        Ok(SqlStore::new(pool))
    }
}

/// Gives the code the revisions migration stored under a provisional
/// hash (`legacy:{id}`: SQLite has no SHA-256 of its own) its SHA-256,
/// as every blob written since has. Files and results are moved to it;
/// code two snippets share is kept once. Runs at every start and finds
/// nothing to do after the first.
pub async fn rehash_legacy_blobs(pool: &sqlx::SqlitePool) -> Result<(), StoreError> {
    let legacy: Vec<(String, String)> =
        sqlx::query_as("SELECT hash, code FROM blobs WHERE hash LIKE 'legacy:%'")
            .fetch_all(pool)
            .await
            .map_err(|e| StoreError::from(e).during("finding code to rehash"))?;
    if legacy.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    for (old, code) in &legacy {
        let new = super::content_hash(code);
        sqlx::query(
            "INSERT INTO blobs (hash, bytes, lines, code) \
             SELECT ?, bytes, lines, code FROM blobs WHERE hash = ? \
             ON CONFLICT (hash) DO NOTHING",
        )
        .bind(&new)
        .bind(old)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO highlights (hash, language, engine, highlighted_in_ms, html, rendered) \
             SELECT ?, language, engine, highlighted_in_ms, html, rendered FROM highlights WHERE hash = ? \
             ON CONFLICT (hash, language, engine) DO NOTHING",
        )
        .bind(&new)
        .bind(old)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE files SET hash = ? WHERE hash = ?")
            .bind(&new)
            .bind(old)
            .execute(&mut *tx)
            .await?;
        // Its results go with it (ON DELETE CASCADE).
        sqlx::query("DELETE FROM blobs WHERE hash = ?")
            .bind(old)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    tracing::info!(blobs = legacy.len(), "code from before revisions rehashed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Utc;

    use super::*;
    use crate::{
        domain::{SnippetId, Visibility},
        server::store::{NewFile, NewSnippet, SnippetStore},
    };

    /// This process's writes take turns before they reach SQLite
    /// (`SqlStore::write_turn`), so none of them needs SQLite's busy wait:
    /// with it switched off, writes started all at once on every
    /// connection of the pool still all land. Without the turns, the
    /// writers that find the lock taken fail at once ("database is
    /// locked").
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn writes_from_this_process_take_turns_without_sqlites_busy_wait() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("turns.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::ZERO);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .unwrap();
        let store = Arc::new(SqliteStore::new(pool));
        let writes: Vec<_> = (0..64)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    store
                        .create_snippet(&NewSnippet {
                            id: SnippetId::random(),
                            files: vec![NewFile::new(
                                "a.rs".into(),
                                true,
                                "Rust".into(),
                                format!("let x = {i};\n"),
                            )],
                            max_attempts: 3,
                            created_at: Utc::now(),
                            expires_at: None,
                            owner: None,
                            visibility: Visibility::Unlisted,
                            burn_after_reading: false,
                            forked_from: None,
                        })
                        .await
                })
            })
            .collect();
        for write in writes {
            write.await.unwrap().expect("every write lands");
        }
    }
}
