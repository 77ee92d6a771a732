//! Several real server processes on one fresh PostgreSQL database: jobs
//! shared through SKIP LOCKED, events across nodes through LISTEN/NOTIFY.

mod common;

use std::time::{Duration, Instant};

use common::{SseClient, html_text, pg::PgDatabase, process::ServerProcess, submit_to};
use serde_json::Value;

fn node(
    dir: &std::path::Path,
    db: &PgDatabase,
    role: &str,
    extra: &[(&str, &str)],
) -> ServerProcess {
    let mut env = vec![
        ("HIGHLIGHTER_DATABASE_URL", db.url.as_str()),
        ("HIGHLIGHTER_ROLE", role),
    ];
    env.extend_from_slice(extra);
    ServerProcess::start(dir, &env)
}

async fn wait_highlighted(stream: &mut SseClient, limit: Duration) -> Value {
    loop {
        let event = tokio::time::timeout(limit, stream.next())
            .await
            .expect("a result within the limit")
            .expect("the stream ended without a result");
        match event.event.as_str() {
            "highlighted" => return event.json(),
            "failed" => panic!("failed: {}", event.data),
            _ => {}
        }
    }
}

async fn snippet_json(client: &reqwest::Client, base: &str, id: &str) -> Value {
    client
        .get(format!("{base}/api/snippets/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn open(client: &reqwest::Client, base: &str, id: &str) -> SseClient {
    SseClient::connect(client, &format!("{base}/api/snippets/{id}/events")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_one_node_gets_the_result_of_a_job_another_node_ran() {
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let streams_node = node(dir.path(), &db, "web", &[]);
    let submit_node = node(dir.path(), &db, "web", &[]);
    let client = reqwest::Client::new();
    let code = "int main(void) { return 0; }\n";
    let id = submit_to(&client, &submit_node.base, code, Some("c")).await;

    let mut stream = open(&client, &streams_node.base, &id).await;
    let first = stream.next().await.unwrap();
    assert_eq!(first.json()["state"], "queued", "no node runs workers yet");

    // Only now does a node with workers appear; it is woken by NOTIFY or
    // finds the job at its first poll.
    let _worker_node = node(dir.path(), &db, "worker", &[("HIGHLIGHTER_WORKERS", "2")]);
    let result = wait_highlighted(&mut stream, Duration::from_secs(30)).await;
    assert_eq!(html_text(result["html"].as_str().unwrap()), code);

    // The worker node serves health only.
    let page = client
        .get(format!("{}/", _worker_node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    let health = client
        .get(format!("{}/api/health", _worker_node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_only_worker_node_loses_no_job() {
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let fast_rescue = [
        ("HIGHLIGHTER_WORKERS", "2"),
        ("HIGHLIGHTER_LEASE_SECS", "3"),
        ("HIGHLIGHTER_HEARTBEAT_SECS", "1"),
        ("HIGHLIGHTER_RESCUE_SECS", "1"),
    ];
    let web = node(dir.path(), &db, "web", &[]);
    let client = reqwest::Client::new();
    let codes: Vec<String> = (0..100)
        .map(|i| {
            let body: String = (0..400)
                .map(|l| format!("int f{i}_{l}(int x) {{ return x * {l}; }}\n"))
                .collect();
            format!("/* {i} */\n{body}")
        })
        .collect();
    let mut ids = Vec::new();
    for code in &codes {
        ids.push(submit_to(&client, &web.base, code, Some("c")).await);
    }
    let mut worker = node(dir.path(), &db, "worker", &fast_rescue);
    let mut early = open(&client, &web.base, &ids[4]).await;
    wait_highlighted(&mut early, Duration::from_secs(60)).await;
    worker.sigkill();
    let killed = Instant::now();
    let mut unfinished = 0;
    for id in &ids {
        let view = snippet_json(&client, &web.base, id).await;
        if view["state"] != "succeeded" {
            unfinished += 1;
        }
    }
    eprintln!("at SIGKILL of the worker node: {unfinished} of 100 jobs unfinished");
    assert!(unfinished > 0, "the kill must land while jobs are left");

    let _replacement = node(dir.path(), &db, "worker", &fast_rescue);
    for (id, code) in ids.iter().zip(&codes) {
        let mut stream = open(&client, &web.base, id).await;
        let result = wait_highlighted(&mut stream, Duration::from_secs(60)).await;
        assert_eq!(&html_text(result["html"].as_str().unwrap()), code, "{id}");
    }
    eprintln!(
        "all 100 jobs done {:.1} s after the worker node was killed",
        killed.elapsed().as_secs_f64()
    );
    for id in &ids {
        let view = snippet_json(&client, &web.base, id).await;
        assert_eq!(view["state"], "succeeded");
        assert!(
            view["attempts"].as_u64().unwrap() <= 2,
            "{id} ran {} times",
            view["attempts"]
        );
    }
}
