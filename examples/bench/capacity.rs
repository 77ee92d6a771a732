//! Stream capacity: `streams` idle pages on one node, each holding the
//! home page's live stream, and what one more event costs to deliver.
//!
//! Memory per stream is the server's resident set after opening them all
//! (and letting it settle) less the resident set before, over the count.
//! The push is one submit: the time from sending it until every stream has
//! received its `created` event.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{StreamExt, stream};
use tokio::sync::Barrier;

use crate::{
    report::{Row, Section, median},
    server::{Server, ServerFiles, submit},
    sse,
};

const GOAL_BYTES_PER_STREAM: f64 = 16.0 * 1024.0;

pub async fn run(files: &ServerFiles, streams: usize, runs: usize) -> Section {
    let mut detail = String::from(
        "| run | streams | RSS before (MiB) | RSS with streams (MiB) | per stream (KiB) | push to all: median (ms) | push to all: last (ms) | missed |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let (mut per_stream, mut last_ms, mut missed_total) = (vec![], vec![], 0);
    for run in 1..=runs {
        let r = run_once(files, streams).await;
        eprintln!(
            "capacity run {run}: {:.1} KiB per stream, push to all in {:.0} ms",
            r.per_stream / 1024.0,
            r.last_ms
        );
        detail.push_str(&format!(
            "| {run} | {streams} | {:.1} | {:.1} | {:.1} | {:.0} | {:.0} | {} |\n",
            r.before as f64 / 1048576.0,
            r.after as f64 / 1048576.0,
            r.per_stream / 1024.0,
            r.median_ms,
            r.last_ms,
            r.missed
        ));
        per_stream.push(r.per_stream);
        last_ms.push(r.last_ms);
        missed_total += r.missed;
    }
    let per_stream = median(&mut per_stream);
    let last_ms = median(&mut last_ms);
    Section {
        title: "Stream capacity".into(),
        how: format!(
            "One server (release build, embedded SQLite). {streams} `/api/events` streams \
             opened (200 at a time) and held idle; the server's RSS from `/proc/<pid>/status` \
             before and 2 s after. Then one submit; \"push to all\" is from sending it until \
             the last stream received `created`. {runs} runs, a fresh server each."
        ),
        rows: vec![
            Row {
                measure: format!("stream capacity, memory per idle stream ({streams} streams)"),
                result: format!("{:.1} KiB", per_stream / 1024.0),
                goal: "<= 16 KiB".into(),
                score: GOAL_BYTES_PER_STREAM / per_stream,
            },
            Row {
                measure: format!("stream capacity, one event pushed to all {streams}"),
                result: format!("{last_ms:.0} ms, {missed_total} missed"),
                goal: "every stream receives it".into(),
                score: if missed_total == 0 { 1.0 } else { 0.0 },
            },
        ],
        detail,
    }
}

struct RunResult {
    before: u64,
    after: u64,
    per_stream: f64,
    median_ms: f64,
    last_ms: f64,
    missed: usize,
}

async fn run_once(files: &ServerFiles, streams: usize) -> RunResult {
    let server = Server::start(files, &[]).await;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let url = format!("{base}/api/events");

    // Warm the server's lazy parts (thread pools, first allocations) with
    // a few streams opened and closed, so "before" is a server at work.
    for _ in 0..20 {
        drop(sse::open(&client, &url).await.expect("a stream opens"));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.rss_bytes();

    let opened: Vec<sse::EventStream> = stream::iter(0..streams)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            async move { sse::open(&client, &url).await }
        })
        .buffer_unordered(200)
        .map(|opened| opened.expect("a stream opens (is the file limit raised?)"))
        .collect()
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.rss_bytes();

    // Every stream waits for its `created`; the barrier makes sure all are
    // listening before the clock starts.
    let ready = Arc::new(Barrier::new(streams + 1));
    let listeners: Vec<_> = opened
        .into_iter()
        .map(|mut stream| {
            let ready = Arc::clone(&ready);
            tokio::spawn(async move {
                ready.wait().await;
                let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
                loop {
                    match tokio::time::timeout_at(deadline, stream.next()).await {
                        Ok(Some(e)) if e.name == "created" => return Some(Instant::now()),
                        Ok(Some(_)) => continue,
                        _ => return None,
                    }
                }
            })
        })
        .collect();
    ready.wait().await;
    let sent = Instant::now();
    submit(&client, &base, "fn main() {}\n", Some("main.rs"))
        .await
        .expect("the push submit is accepted");
    let mut delays = Vec::with_capacity(streams);
    let mut missed = 0;
    for listener in listeners {
        match listener.await.expect("listener task") {
            Some(at) => delays.push(at.duration_since(sent).as_secs_f64() * 1e3),
            None => missed += 1,
        }
    }
    let last_ms = delays.iter().copied().fold(0.0, f64::max);
    RunResult {
        before,
        after,
        per_stream: after.saturating_sub(before) as f64 / streams as f64,
        median_ms: if delays.is_empty() {
            f64::NAN
        } else {
            median(&mut delays)
        },
        last_ms,
        missed,
    }
}
