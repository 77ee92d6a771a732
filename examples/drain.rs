//! Queue drain: how fast the job engine empties a queue of small snippets.
//!
//! Enqueues `--jobs` snippets (one line of code each) straight into a fresh
//! database, then starts the real application with `--workers` slots and
//! times until no job is left unfinished. Runs against a temporary SQLite
//! file, or a fresh database on the PostgreSQL server at `--postgres`.
//!
//! ```sh
//! cargo run --release --features ssr --example drain -- --jobs 10000 --workers 2
//! cargo run --release --features ssr --example drain -- --jobs 10000 --workers 2 \
//!     --postgres postgres://postgres@127.0.0.1:5432/postgres
//! ```

use std::time::{Duration, Instant};

use chrono::Utc;
use highlighter::{
    domain::{SnippetId, SourceCode},
    server::{
        settings::{Settings, SettingsLayer},
        startup::Application,
        store::{self, NewSnippet},
    },
};
use tokio_util::sync::CancellationToken;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() {
    let jobs: usize = arg("--jobs").map_or(10_000, |n| n.parse().expect("--jobs N"));
    let workers: usize = arg("--workers").map_or(2, |n| n.parse().expect("--workers N"));
    let dir = tempfile::tempdir().unwrap();
    let (url, cleanup) = match arg("--postgres") {
        None => (
            format!("sqlite://{}", dir.path().join("drain.db").display()),
            None,
        ),
        Some(admin) => {
            use sqlx::{Connection, Executor};
            let name = format!(
                "highlighter_drain_{}",
                SnippetId::random().as_str().to_lowercase()
            );
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            conn.execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .unwrap();
            let base = admin.rsplit_once('/').unwrap().0.to_owned();
            (format!("{base}/{name}"), Some((admin, name)))
        }
    };

    let (store, _) = store::connect(&url).await.unwrap();
    let enqueue = Instant::now();
    for i in 0..jobs {
        store
            .create_snippet(&NewSnippet {
                id: SnippetId::random(),
                code: SourceCode::parse(format!("let x{i} = {i};\n"), 1024).unwrap(),
                language: "Rust".into(),
                filename: None,
                max_attempts: 5,
                created_at: Utc::now(),
                expires_at: None,
            })
            .await
            .unwrap();
    }
    let enqueued_in = enqueue.elapsed();

    let config = dir.path().join("empty.toml");
    std::fs::write(&config, "").unwrap();
    let settings = Settings::from_layer(SettingsLayer {
        config: Some(config),
        addr: Some("127.0.0.1:0".parse().unwrap()),
        database_url: Some(url.clone()),
        workers: Some(workers),
        ..Default::default()
    })
    .unwrap();
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let app = Application::build(settings, shutdown.clone())
        .await
        .unwrap();
    let server = tokio::spawn(app.run_until_stopped());
    loop {
        if store.unfinished_jobs().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained_in = started.elapsed();
    shutdown.cancel();
    let _ = server.await;
    let driver = if url.starts_with("sqlite") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    println!(
        "{driver}: {jobs} jobs, {workers} workers: enqueued in {:.2} s, drained in {:.2} s = {:.0} jobs/s",
        enqueued_in.as_secs_f64(),
        drained_in.as_secs_f64(),
        jobs as f64 / drained_in.as_secs_f64()
    );
    if let Some((admin, name)) = cleanup {
        use sqlx::{Connection, Executor};
        drop(store);
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        let _ = conn
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await;
    }
}
