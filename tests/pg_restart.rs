//! PostgreSQL restarts while streams wait: every stream still gets its
//! result, and submissions work again within seconds. Its own test binary,
//! because restarting the shared server would upset tests running beside it
//! (cargo runs test binaries one after another).

mod common;

use std::{
    process::Command,
    time::{Duration, Instant},
};

use common::{SseClient, html_text, pg::PgDatabase, process::ServerProcess};
use serde_json::{Value, json};

fn restart_postgres() {
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("PostgreSQL is installed")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .max()
        .unwrap();
    let status = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, "main", "restart"])
        .status()
        .expect("pg_ctlcluster runs");
    assert!(status.success(), "PostgreSQL restarted");
}

async fn try_submit(client: &reqwest::Client, base: &str, code: &str) -> Option<String> {
    let response = client
        .post(format!("{base}/api/snippets"))
        .json(&json!({ "code": code, "language": "python" }))
        .send()
        .await
        .ok()?;
    if response.status() != 201 {
        return None;
    }
    Some(
        response.json::<Value>().await.ok()?["id"]
            .as_str()?
            .to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_survive_a_postgres_restart_and_submissions_resume() {
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let web = ServerProcess::start(
        dir.path(),
        &[
            ("HIGHLIGHTER_DATABASE_URL", db.url.as_str()),
            ("HIGHLIGHTER_ROLE", "web"),
        ],
    );
    let client = common::client();
    let mut waiting = Vec::new();
    for i in 0..5 {
        let code = format!("print({i})\n");
        let id = try_submit(&client, &web.base, &code)
            .await
            .expect("submit before restart");
        let mut stream =
            SseClient::connect(&client, &format!("{}/api/snippets/{id}/events", web.base)).await;
        assert_eq!(stream.next().await.unwrap().json()["state"], "queued");
        waiting.push((code, stream));
    }

    restart_postgres();
    let restarted = Instant::now();
    let id = loop {
        if let Some(id) = try_submit(&client, &web.base, "print('after')\n").await {
            break id;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(15),
            "submissions did not resume"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "submissions resumed {:.2} s after the restart",
        restarted.elapsed().as_secs_f64()
    );
    let after =
        SseClient::connect(&client, &format!("{}/api/snippets/{id}/events", web.base)).await;
    waiting.push(("print('after')\n".to_owned(), after));

    // Workers come up only now: every result must cross from their node to
    // the streams through the (reconnected) LISTEN connection.
    let _worker = ServerProcess::start(
        dir.path(),
        &[
            ("HIGHLIGHTER_DATABASE_URL", db.url.as_str()),
            ("HIGHLIGHTER_ROLE", "worker"),
        ],
    );
    for (code, mut stream) in waiting {
        let result = loop {
            let event = tokio::time::timeout(Duration::from_secs(30), stream.next())
                .await
                .expect("a result within 30 s")
                .expect("the stream ended without a result");
            if event.event == "highlighted" {
                break event.json();
            }
        };
        assert_eq!(html_text(result["html"].as_str().unwrap()), code);
    }
}
