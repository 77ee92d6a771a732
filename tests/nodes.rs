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
    let client = common::client();
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
    let max_bytes = ("HIGHLIGHTER_MAX_SNIPPET_BYTES", "4194304");
    let fast_rescue = [
        ("HIGHLIGHTER_WORKERS", "2"),
        ("HIGHLIGHTER_LEASE_SECS", "3"),
        ("HIGHLIGHTER_HEARTBEAT_SECS", "1"),
        ("HIGHLIGHTER_RESCUE_SECS", "1"),
        max_bytes,
    ];
    let web = node(dir.path(), &db, "web", &[max_bytes]);
    let client = common::client();
    // Every twentieth is big (about 2 MB, most of a second in the
    // engine): the kill is timed to land while one surely runs.
    let codes: Vec<String> = (0..100)
        .map(|i| {
            let lines = if i % 20 == 10 { 60_000 } else { 400 };
            let body: String = (0..lines)
                .map(|l| format!("int f{i}_{l}(int x) {{ return x * {l}; }}\n"))
                .collect();
            format!("/* {i} */\n{body}")
        })
        .collect();
    let mut ids = Vec::new();
    for code in &codes {
        ids.push(submit_to(&client, &web.base, code, Some("c")).await);
    }
    // Claims only for free slots: the jobs in flight at the kill are
    // exactly those that were running.
    let mut claiming_exactly = fast_rescue.to_vec();
    claiming_exactly.push(("HIGHLIGHTER_CLAIM_AHEAD", "0"));
    let mut worker = node(dir.path(), &db, "worker", &claiming_exactly);
    let big: Vec<String> = (10..100).step_by(20).map(|i| ids[i].clone()).collect();
    let mid_engine = common::first_running(&client, &web.base, &big).await;
    worker.sigkill();
    let killed = Instant::now();
    let mut running = Vec::new();
    let mut unfinished = 0;
    for id in &ids {
        let view = snippet_json(&client, &web.base, id).await;
        if view["state"] != "succeeded" {
            unfinished += 1;
        }
        if view["state"] == "processing" {
            running.push(id.clone());
        }
    }
    eprintln!(
        "at SIGKILL of the worker node: {unfinished} of 100 jobs unfinished, {} running",
        running.len()
    );
    assert!(
        running.contains(&mid_engine),
        "the job seen running its engine was still running at the kill"
    );
    // Nothing was claimed ahead (`claim_ahead = 0`): each of them ran its
    // engine, or had run it and waited for its result to be stored.

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
    // Exactly the jobs running at the kill ran twice.
    for id in &ids {
        let view = snippet_json(&client, &web.base, id).await;
        assert_eq!(view["state"], "succeeded");
        let expected = if running.contains(id) { 2 } else { 1 };
        assert_eq!(view["attempts"], expected, "{id}: attempts");
    }
}

/// The dashboard's stats, as node `base` sees the cluster.
async fn admin_stats(client: &reqwest::Client, base: &str) -> Value {
    let response = client
        .get(format!("{base}/api/admin/stats"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

const ADMIN_TOKEN: &str = "cluster-admin-token-0123456789";

/// Polls `check` on the stats of `base` until it holds.
async fn wait_for_stats(
    client: &reqwest::Client,
    base: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = admin_stats(client, base).await;
        if check(&stats) {
            return stats;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: never happened; last stats {stats}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_holds_on_every_node_and_a_killed_node_shows_as_gone() {
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let beats = [
        ("HIGHLIGHTER_HEARTBEAT_SECS", "0.3"),
        ("HIGHLIGHTER_LEASE_SECS", "3"),
        ("HIGHLIGHTER_ADMIN_TOKEN", ADMIN_TOKEN),
    ];
    let web = node(dir.path(), &db, "web", &beats);
    let mut worker_a = node(dir.path(), &db, "worker", &beats);
    let worker_b = node(dir.path(), &db, "worker", &beats);
    let client = common::client();

    // Every process is listed by every node, with its role and slots.
    let stats = wait_for_stats(&client, &web.base, "three nodes listed", |s| {
        s["nodes"].as_array().unwrap().len() == 3
    })
    .await;
    let roles: Vec<&str> = stats["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles.iter().filter(|r| **r == "worker").count(),
        2,
        "{stats}"
    );
    assert!(
        stats["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["gone"] == false)
    );

    // Paused through the web node: neither worker claims anything.
    let paused = client
        .post(format!("{}/api/admin/pause", web.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), 200);
    // Each node says, at its next heartbeat (0.3 s), that it has seen the
    // pause: from then on it claims nothing.
    wait_for_stats(&client, &web.base, "every node paused", |s| {
        s["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["paused"] == true)
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(submit_to(&client, &web.base, &format!("x = {i}\n"), Some("python")).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stats = admin_stats(&client, &web.base).await;
    assert_eq!(stats["paused"], true);
    assert_eq!(
        stats["jobs"]["queued"], 4,
        "nothing claimed while paused: {stats}"
    );

    // Resumed: the jobs run.
    let resumed = client
        .post(format!("{}/api/admin/resume", web.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), 200);
    for id in &ids {
        let mut stream = open(&client, &web.base, id).await;
        wait_highlighted(&mut stream, Duration::from_secs(30)).await;
    }

    // A killed worker stops beating and is shown as gone; a stopped one
    // says goodbye and is not listed at all.
    let killed_pid = worker_a.pid();
    worker_a.sigkill();
    let stats = wait_for_stats(&client, &web.base, "the killed node shown as gone", |s| {
        s["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["gone"] == true)
    })
    .await;
    let gone: Vec<&Value> = stats["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["gone"] == true)
        .collect();
    assert_eq!(gone.len(), 1, "{stats}");
    assert!(
        gone[0]["id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{killed_pid}-")),
        "{stats}"
    );
    worker_b.sigterm();
    wait_for_stats(&client, &web.base, "the stopped node removed", |s| {
        s["nodes"].as_array().unwrap().len() == 2
    })
    .await;
}
