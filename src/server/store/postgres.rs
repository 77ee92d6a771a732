//! The PostgreSQL store: for several nodes on one database.
//!
//! Workers on every node claim from the same queue; `FOR UPDATE SKIP
//! LOCKED` lets each claim pass over rows another node is claiming at the
//! same moment instead of waiting for them, so claims never block each
//! other and never hand one job to two workers.

use std::time::Duration;

use sqlx::{Postgres, postgres::PgPoolOptions};

use super::{Cell, Dialect, SqlStore, StoreError};

pub type PgStore = SqlStore<Postgres>;

impl Dialect for Postgres {
    /// SKIP LOCKED: a claim passes over rows another node is claiming.
    const CLAIM_LOCK: &'static str = "FOR UPDATE SKIP LOCKED";
    /// The queue's transactions:
    ///
    /// - need not wait for the disk. A crash may lose the last of them,
    ///   and that only means a job runs again (see
    ///   [`JobState`](crate::domain::JobState)); snippets themselves are
    ///   always committed durably.
    /// - run the plans they are written for, index lookups of the few
    ///   rows they name, whatever the statistics say. A table that filled
    ///   faster than autovacuum analyses it (a burst, a fresh database)
    ///   has none, and the planner then guesses from its size: draining
    ///   10,000 jobs, it claimed through a bitmap scan that read and
    ///   sorted every due job to lock the first few (5.1 ms for 40 of
    ///   10,000, against 0.7 ms by the ordered index that stops at the
    ///   limit), and stored each batch's outcomes by reading every
    ///   revision (`auto_explain`, `bench/PROFILE.md` round 22).
    ///
    /// One statement, so the settings cost no round trip of their own.
    const QUEUE_SETTINGS: Option<&'static str> = Some(
        "SELECT set_config('synchronous_commit', 'off', true), \
         set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)",
    );
    /// Delivered to every node's relay at commit, and only then.
    const NOTIFY: Option<&'static str> = Some("SELECT pg_notify($1, $2)");
    /// Rows are locked one by one: writers run side by side.
    const ONE_WRITER: bool = false;

    fn rows_affected(result: &sqlx::postgres::PgQueryResult) -> u64 {
        result.rows_affected()
    }

    /// A parameter per cell: the planner counts a `VALUES` list's rows.
    /// It guesses a hundred for a JSON array's, and then, on a queue
    /// filled faster than it is analysed, it joined each batch against
    /// every file and revision in the table (the drain fell from about
    /// 6,200 jobs/s to 4,000-4,500; `bench/PROFILE.md`, round 24).
    const ROWS_AS_JSON: bool = false;

    fn rows_of(first: usize, count: usize, columns: &[(&str, Cell)]) -> String {
        let rows: Vec<String> = (0..count)
            .map(|row| {
                let cells: Vec<String> = columns
                    .iter()
                    .enumerate()
                    .map(|(column, (_, cell))| {
                        let n = first + row * columns.len() + column;
                        match cell {
                            Cell::Text => format!("${n}"),
                            Cell::Bigint => format!("CAST(${n} AS BIGINT)"),
                        }
                    })
                    .collect();
                format!("({})", cells.join(", "))
            })
            .collect();
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        format!(
            "SELECT * FROM (VALUES {}) AS batch_rows ({})",
            rows.join(", "),
            names.join(", ")
        )
    }
}

impl SqlStore<Postgres> {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| StoreError::from(e).during("connecting to PostgreSQL"))?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(SqlStore::new(pool))
    }
}
