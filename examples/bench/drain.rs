//! Queue drain: how fast the job engine empties a queue of small snippets,
//! on SQLite and on PostgreSQL.
//!
//! Each run enqueues `jobs` one-line snippets straight into a fresh
//! database, then starts the real application (in this process, with its
//! default number of workers and engine, whose highlighting children are
//! the release server binary) and times until no job is left unfinished.

use std::time::{Duration, Instant};

use chrono::Utc;
use highlighter::{
    domain::SnippetId,
    server::{
        settings::{Settings, SettingsLayer},
        startup::Application,
        store::{self, NewSnippet},
    },
};
use tokio_util::sync::CancellationToken;

use crate::report::{Row, Section, median};

const GOAL_JOBS_PER_S: f64 = 5000.0;

pub async fn run(
    jobs: usize,
    runs: usize,
    postgres_admin: &str,
    server_bin: &std::path::Path,
) -> Section {
    let mut rows = Vec::new();
    let mut detail = String::from(
        "| database | run | enqueued in (s) | drained in (s) | jobs/s |\n|---|---:|---:|---:|---:|\n",
    );
    let workers = Settings::from_layer(SettingsLayer {
        config: Some(empty_config().path().to_owned()),
        ..Default::default()
    })
    .expect("default settings")
    .workers;
    for driver in ["SQLite", "PostgreSQL"] {
        let mut rates = Vec::new();
        for run in 1..=runs {
            let database = match driver {
                "SQLite" => Database::sqlite(),
                _ => Database::postgres(postgres_admin).await,
            };
            let (enqueued_in, drained_in) = drain_once(&database.url, jobs, server_bin).await;
            database.drop().await;
            let rate = jobs as f64 / drained_in.as_secs_f64();
            eprintln!("drain {driver} run {run}: {rate:.0} jobs/s");
            detail.push_str(&format!(
                "| {driver} | {run} | {:.2} | {:.2} | {rate:.0} |\n",
                enqueued_in.as_secs_f64(),
                drained_in.as_secs_f64()
            ));
            rates.push(rate);
        }
        let rate = median(&mut rates);
        rows.push(Row {
            measure: format!("queue drain, {driver}"),
            result: format!("{rate:.0} jobs/s"),
            goal: format!(">= {GOAL_JOBS_PER_S:.0} jobs/s"),
            score: rate / GOAL_JOBS_PER_S,
        });
    }
    Section {
        title: "Queue drain".into(),
        how: format!(
            "{jobs} one-line snippets enqueued into a fresh database, then the application \
             started with its default {workers} workers (one per core); timed from start until \
             no job is unfinished. {runs} runs per database."
        ),
        rows,
        detail,
    }
}

fn empty_config() -> tempfile::NamedTempFile {
    tempfile::NamedTempFile::new().expect("a temporary file")
}

async fn drain_once(url: &str, jobs: usize, server_bin: &std::path::Path) -> (Duration, Duration) {
    let store::Connected {
        snippets,
        jobs: queue,
        ..
    } = store::connect(url).await.expect("the database connects");
    let enqueue = Instant::now();
    for i in 0..jobs {
        snippets
            .create_snippet(&NewSnippet {
                id: SnippetId::random(),
                files: vec![store::NewFile::new(
                    "file1".into(),
                    false,
                    "Rust".into(),
                    format!("let x{i} = {i};\n"),
                )],
                max_attempts: 5,
                created_at: Utc::now(),
                expires_at: None,
                owner: None,
                visibility: highlighter::domain::Visibility::Unlisted,
                burn_after_reading: false,
                forked_from: None,
            })
            .await
            .expect("enqueued");
    }
    let enqueued_in = enqueue.elapsed();

    let config = empty_config();
    let settings = Settings::from_layer(SettingsLayer {
        config: Some(config.path().to_owned()),
        addr: Some("127.0.0.1:0".parse().unwrap()),
        database_url: Some(url.to_owned()),
        // The children that run tree-sitter are the server binary (this
        // one cannot be one).
        engine_program: Some(server_bin.to_owned()),
        ..Default::default()
    })
    .expect("settings");
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let app = Application::build(settings, shutdown.clone())
        .await
        .expect("the application starts");
    let server = tokio::spawn(app.run_until_stopped());
    while queue.unfinished_jobs().await.expect("counted") > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let drained_in = started.elapsed();
    shutdown.cancel();
    let _ = server.await;
    (enqueued_in, drained_in)
}

/// A fresh database for one run, removed afterwards.
struct Database {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin: String, name: String },
}

impl Database {
    fn sqlite() -> Database {
        let dir = tempfile::tempdir().expect("a temporary directory");
        Database {
            url: format!("sqlite://{}", dir.path().join("drain.db").display()),
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    async fn postgres(admin: &str) -> Database {
        use sqlx::{Connection, Executor};
        let name = format!(
            "highlighter_bench_{}",
            SnippetId::random().as_str().to_lowercase()
        );
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin}: {e}"));
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("database created");
        let base = admin.rsplit_once('/').expect("a database URL").0;
        Database {
            url: format!("{base}/{name}"),
            cleanup: Cleanup::Postgres {
                admin: admin.to_owned(),
                name,
            },
        }
    }

    async fn drop(self) {
        if let Cleanup::Postgres { admin, name } = self.cleanup {
            use sqlx::{Connection, Executor};
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                let _ = conn
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
            }
        }
    }
}
