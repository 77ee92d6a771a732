//! Crash and shutdown, with the real server binary: SIGKILL in the middle
//! of ~200 jobs, then a restart on the same database; SIGTERM with jobs in
//! flight.

mod common;

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use common::{SseClient, html_text, process::ServerProcess, submit_to};
use highlighter::{
    domain::{JobState, SnippetId},
    server::store::{DynStore, SqliteStore},
};
use serde_json::Value;

fn corpus_text() -> String {
    let dir = std::env::var_os("HIGHLIGHTER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    std::fs::read_to_string(dir.join("large/concat-c.c")).expect("the corpus is available")
}

/// `count` different snippets of about `bytes` each, cut at line ends.
fn snippets(count: usize, bytes: usize) -> Vec<String> {
    let text = corpus_text();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = Vec::new();
    let mut at = 0;
    while out.len() < count {
        let mut s = format!("/* snippet {} */\n", out.len());
        while s.len() < bytes {
            s.push_str(lines[at % lines.len()]);
            at += 1;
        }
        out.push(s);
    }
    out
}

async fn submit_all(client: &reqwest::Client, base: &str, codes: &[String]) -> Vec<String> {
    let mut ids = Vec::new();
    for code in codes {
        ids.push(submit_to(client, base, code, Some("c")).await);
    }
    ids
}

async fn open_store(dir: &std::path::Path) -> DynStore {
    let url = format!("sqlite://{}", dir.join("server.db").display());
    Arc::new(SqliteStore::connect(&url).await.unwrap())
}

async fn states(store: &DynStore, ids: &[String]) -> Vec<JobState> {
    let mut out = Vec::new();
    for id in ids {
        let view = store
            .snippet(&SnippetId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap()
            .view;
        out.push(view.state);
    }
    out
}

async fn wait_highlighted(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    limit: Duration,
) -> Value {
    let mut stream = SseClient::connect(client, &format!("{base}/api/snippets/{id}/events")).await;
    loop {
        let event = tokio::time::timeout(limit, stream.next())
            .await
            .unwrap_or_else(|_| panic!("{id} not finished within {limit:?}"))
            .unwrap_or_else(|| panic!("stream for {id} ended without a result"));
        match event.event.as_str() {
            "highlighted" => return event.json(),
            "failed" => panic!("{id} failed: {}", event.data),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_then_restart_every_snippet_ends_highlighted_once() {
    let dir = tempfile::tempdir().unwrap();
    // 200 snippets; every twentieth is big (2 MiB of C, most of a second
    // in the engine), so that the kill can be timed to land while a job
    // is surely mid-engine.
    let mut codes = snippets(200, 24 * 1024);
    let big: Vec<usize> = (10..200).step_by(20).collect();
    let big_code = snippets(1, 2 * 1024 * 1024).remove(0);
    for &at in &big {
        codes[at] = format!("/* big {at} */\n{big_code}");
    }
    let max_bytes = ("HIGHLIGHTER_MAX_SNIPPET_BYTES", "4194304");
    let client = common::client();
    // Everything is queued first, by a node that runs no workers: a fast
    // machine highlighted all 200 while they were still being submitted,
    // and the kill then found nothing left to interrupt.
    let mut queueing = ServerProcess::start(dir.path(), &[("HIGHLIGHTER_ROLE", "web"), max_bytes]);
    let ids = submit_all(&client, &queueing.base, &codes).await;
    queueing.sigterm();
    queueing
        .wait_exit(Duration::from_secs(15))
        .expect("the web node stops");
    // Claims only for free slots: every job claimed is a job running, so
    // the jobs in flight at the kill are exactly those that ran. Default
    // lease, heartbeat and rescue period: the measured rescue time is the
    // one users get.
    let mut server = ServerProcess::start(
        dir.path(),
        &[
            ("HIGHLIGHTER_WORKERS", "2"),
            ("HIGHLIGHTER_CLAIM_AHEAD", "0"),
            max_bytes,
        ],
    );
    let big_ids: Vec<String> = big.iter().map(|&at| ids[at].clone()).collect();
    let mid_engine = common::first_running(&client, &server.base, &big_ids).await;
    server.sigkill();
    let killed_at = Instant::now();

    let store = open_store(dir.path()).await;
    let at_kill = states(&store, &ids).await;
    let running: Vec<_> = ids
        .iter()
        .zip(&at_kill)
        .filter(|(_, s)| **s == JobState::Processing)
        .map(|(id, _)| id.clone())
        .collect();
    let done_at_kill = at_kill
        .iter()
        .filter(|s| **s == JobState::Succeeded)
        .count();
    eprintln!(
        "at SIGKILL: {done_at_kill} succeeded, {} processing, {} queued",
        running.len(),
        at_kill.iter().filter(|s| **s == JobState::Queued).count()
    );
    assert!(
        running.contains(&mid_engine),
        "the job seen running its engine was still running at the kill"
    );
    // Nothing was claimed ahead (`claim_ahead = 0`): each of them ran its
    // engine, or had run it and waited for its result to be stored.
    assert!(
        done_at_kill < ids.len(),
        "the kill must land while jobs are left"
    );

    let server = ServerProcess::start(dir.path(), &[("HIGHLIGHTER_WORKERS", "2"), max_bytes]);
    for id in &running {
        wait_highlighted(&client, &server.base, id, Duration::from_secs(90)).await;
    }
    let rescue_time = killed_at.elapsed();
    eprintln!(
        "rescue: the {} jobs running at SIGKILL were highlighted {:.1} s after the kill",
        running.len(),
        rescue_time.as_secs_f64()
    );
    assert!(
        rescue_time < Duration::from_secs(60),
        "rescued within a minute"
    );

    for (id, code) in ids.iter().zip(&codes) {
        let result = wait_highlighted(&client, &server.base, id, Duration::from_secs(120)).await;
        assert_eq!(&html_text(result["html"].as_str().unwrap()), code, "{id}");
    }
    // Exactly one visible result each, and exactly the jobs running at the
    // kill ran twice: once before it, once after.
    assert_eq!(
        states(&store, &ids).await,
        vec![JobState::Succeeded; ids.len()]
    );
    for id in &ids {
        let view = store
            .snippet(&SnippetId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap()
            .view;
        let expected = if running.contains(id) { 2 } else { 1 };
        assert_eq!(view.attempts, expected, "{id}: attempts");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_jobs_in_flight_exits_zero_within_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let codes = snippets(60, 200 * 1024);
    let settings = [
        ("HIGHLIGHTER_WORKERS", "2"),
        ("HIGHLIGHTER_SHUTDOWN_GRACE_SECS", "2"),
    ];
    let mut server = ServerProcess::start(dir.path(), &settings);
    let client = common::client();
    let ids = submit_all(&client, &server.base, &codes).await;
    // A stream that is open at shutdown must end cleanly, not hang.
    let mut open_stream = SseClient::connect(
        &client,
        &format!("{}/api/snippets/{}/events", server.base, ids[59]),
    )
    .await;
    server.wait_for_log("snippet queued", Duration::from_secs(5));

    let asked = Instant::now();
    server.sigterm();
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("the server exits");
    let took = asked.elapsed();
    eprintln!(
        "shutdown under load: exited {status} {:.2} s after SIGTERM",
        took.as_secs_f64()
    );
    assert!(status.success(), "exit code 0, got {status}");
    assert!(
        took < Duration::from_secs(2 + 3),
        "within the grace period (+ margin): {took:?}"
    );
    // The open stream was ended by the server.
    tokio::time::timeout(Duration::from_secs(5), async {
        while open_stream.next().await.is_some() {}
    })
    .await
    .expect("open streams end at shutdown");

    let store = open_store(dir.path()).await;
    let after = states(&store, &ids).await;
    assert!(
        !after.contains(&JobState::Processing),
        "no job is left claimed: in-flight jobs finished or were released"
    );
    let server = ServerProcess::start(dir.path(), &settings);
    for (id, code) in ids.iter().zip(&codes) {
        let result = wait_highlighted(&client, &server.base, id, Duration::from_secs(120)).await;
        assert_eq!(&html_text(result["html"].as_str().unwrap()), code);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_stops_when_told_even_after_its_log_reader_died() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start_then_close_stderr(dir.path(), &[]);
    let client = common::client();
    // Work that logs, now that every log line fails to be written.
    for i in 0..5 {
        submit_to(&client, &server.base, &format!("x = {i}\n"), Some("python")).await;
    }
    let health = client
        .get(format!("{}/api/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "still serving");
    let asked = Instant::now();
    server.sigterm();
    let status = server
        .wait_exit(Duration::from_secs(15))
        .expect("the server exits on SIGTERM although it cannot log");
    eprintln!(
        "exited {status} {:.2} s after SIGTERM",
        asked.elapsed().as_secs_f64()
    );
    assert!(status.success(), "exit code 0, got {status}");
}
