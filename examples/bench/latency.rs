//! Submit -> pushed result, under load: while `streams` pages hold the
//! home page's live stream open, snippets of `lines` lines are submitted at
//! `rate` per second for `seconds`; each submitter opens its snippet's
//! stream as a browser does after the redirect, and the time from sending
//! the submit to receiving `highlighted` on that stream is one sample.
//!
//! Lost means a submit that got no `highlighted` within the limit, or a
//! home-page stream that missed a `created` event.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{StreamExt, stream};
use tokio_util::sync::CancellationToken;

use crate::{
    corpus::Corpus,
    report::{Row, Section, median, percentile},
    server::{CpuTime, Server, ServerFiles, submit},
    sse,
};

const GOAL_P50_MS: f64 = 15.0;
const GOAL_P99_MS: f64 = 60.0;
/// A submit whose result takes longer than this counts as lost.
const LOST_AFTER: Duration = Duration::from_secs(15);

/// One submit's way to its pushed result, by phase, in milliseconds: where
/// a slow sample lost its time says what to profile next.
#[derive(Clone, Copy, Default)]
struct Sample {
    /// Seconds from the run's first submit to this one's.
    at: f64,
    /// The load client's ticker fell this far behind when it sent: the
    /// client, not the server, was slow.
    late: f64,
    /// Sending `POST /api/snippets` -> its answer.
    submit: f64,
    /// The answer -> the snippet stream's response headers.
    open: f64,
    /// The headers -> `highlighted` on the stream.
    push: f64,
    /// The engine's own time for the job (`highlighted_in_ms`).
    engine: f64,
}

impl Sample {
    fn total(&self) -> f64 {
        self.submit + self.open + self.push
    }
}

/// The median of each phase over the slowest 1% of samples (at least one).
fn slowest_percent(samples: &[Sample]) -> String {
    let mut by_total = samples.to_vec();
    by_total.sort_by(|a, b| b.total().total_cmp(&a.total()));
    let slow = &by_total[..samples.len().div_ceil(100)];
    let phase = |f: fn(&Sample) -> f64| median(&mut slow.iter().map(f).collect::<Vec<_>>());
    format!(
        "{} slowest: sent at {:.1} s, client late {:.1}, submit {:.1}, stream open {:.1}, open -> highlighted {:.1} (engine {:.1})",
        slow.len(),
        phase(|s| s.at),
        phase(|s| s.late),
        phase(|s| s.submit),
        phase(|s| s.open),
        phase(|s| s.push),
        phase(|s| s.engine),
    )
}

pub struct Load {
    pub streams: usize,
    pub rate: u32,
    pub seconds: u64,
    pub lines: usize,
}

struct RunResult {
    samples: Vec<Sample>,
    /// The server's CPU time over the submits (opening the home streams
    /// and start-up excluded).
    cpu: Option<CpuTime>,
    submits: usize,
    lost: usize,
    home_missed: usize,
}

pub async fn run(files: &ServerFiles, corpus: &Corpus, load: &Load, runs: usize) -> Section {
    let snippets = Arc::new(corpus.snippets(load.lines));
    let mut detail = String::from(
        "| run | submits | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | lost | missed on home streams | CPU per submit (ms): server, children | where the slowest 1% waited (medians, ms) |\n|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n",
    );
    let (mut p50s, mut p99s, mut lost, mut missed, mut submits) = (vec![], vec![], 0, 0, 0);
    for run in 1..=runs {
        let result = run_once(files, &snippets, load).await;
        let l = &mut result.samples.iter().map(Sample::total).collect::<Vec<_>>();
        let (p50, p90, p99, slowest) = if l.is_empty() {
            (f64::NAN, f64::NAN, f64::NAN, String::new())
        } else {
            (
                percentile(l, 50.0),
                percentile(l, 90.0),
                percentile(l, 99.0),
                slowest_percent(&result.samples),
            )
        };
        let max = l.iter().copied().fold(f64::NAN, f64::max);
        // What each submit cost the machine: the rate it can sustain, and
        // a figure that load noise moves far less than a percentile.
        let per_submit = |t: Duration| t.as_secs_f64() * 1e3 / result.submits.max(1) as f64;
        let cpu = result.cpu.map_or_else(
            || "not measured (profiler)".to_owned(),
            |c| format!("{:.2}, {:.2}", per_submit(c.server), per_submit(c.children)),
        );
        eprintln!(
            "latency run {run}: p50 {p50:.1} ms, p99 {p99:.1} ms, lost {}; CPU per submit (ms): server, children {cpu}; {slowest}",
            result.lost
        );
        detail.push_str(&format!(
            "| {run} | {} | {p50:.1} | {p90:.1} | {p99:.1} | {max:.1} | {} | {} | {cpu} | {slowest} |\n",
            result.submits, result.lost, result.home_missed
        ));
        p50s.push(p50);
        p99s.push(p99);
        lost += result.lost;
        missed += result.home_missed;
        submits += result.submits;
    }
    let (p50, p99) = (median(&mut p50s), median(&mut p99s));
    let rows = vec![
        Row {
            measure: "submit -> pushed result, p50".into(),
            result: format!("{p50:.1} ms"),
            goal: format!("<= {GOAL_P50_MS} ms"),
            score: GOAL_P50_MS / p50,
        },
        Row {
            measure: "submit -> pushed result, p99".into(),
            result: format!("{p99:.1} ms"),
            goal: format!("<= {GOAL_P99_MS} ms"),
            score: GOAL_P99_MS / p99,
        },
        Row {
            measure: "submit -> pushed result, lost".into(),
            result: format!("{lost} of {submits} submits; {missed} events missed by home streams"),
            goal: "0".into(),
            score: if lost + missed == 0 { 1.0 } else { 0.0 },
        },
    ];
    Section {
        title: "Submit -> pushed result".into(),
        how: format!(
            "One server (release build, embedded SQLite, default workers). {streams} pages hold \
             `/api/events` open; {rate} submits/s of {lines}-line snippets cut from the corpus \
             for {seconds} s. Each sample: from sending `POST /api/snippets` to receiving \
             `highlighted` on `/api/snippets/{{id}}/events`, opened right after the submit \
             answered. {runs} runs; the row is the median of the runs' percentiles.",
            streams = load.streams,
            rate = load.rate,
            lines = load.lines,
            seconds = load.seconds,
        ),
        rows,
        detail,
    }
}

async fn run_once(
    files: &ServerFiles,
    snippets: &Arc<Vec<(String, String)>>,
    load: &Load,
) -> RunResult {
    let server = Server::start(files, &[]).await;
    let base = server.base.clone();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("a client");

    // The home pages: each counts the `created` events it receives.
    let stop = CancellationToken::new();
    let home_streams: Vec<reqwest::Response> = stream::iter(0..load.streams)
        .map(|_| {
            let (client, url) = (client.clone(), format!("{base}/api/events"));
            async move { sse::open_raw(&client, &url).await }
        })
        .buffer_unordered(200)
        .map(|opened| opened.expect("a home stream opens"))
        .collect()
        .await;
    let homes: Vec<_> = home_streams
        .into_iter()
        .map(|stream| tokio::spawn(sse::count_events(stream, "created", stop.clone())))
        .collect();

    let total = load.rate as usize * load.seconds as usize;
    let cpu_before = server.cpu();
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / load.rate);
    let mut submitters = Vec::with_capacity(total);
    let first = Instant::now();
    for i in 0..total {
        let due = ticker.tick().await;
        let (client, base, snippets) = (client.clone(), base.clone(), Arc::clone(snippets));
        submitters.push(tokio::spawn(async move {
            let (code, filename) = &snippets[i % snippets.len()];
            let sent = Instant::now();
            let ms = |from: Instant, to: Instant| (to - from).as_secs_f64() * 1e3;
            let outcome = tokio::time::timeout(LOST_AFTER, async {
                let id = submit(&client, &base, code, Some(filename)).await?;
                let submitted = Instant::now();
                let url = format!("{base}/api/snippets/{id}/events");
                let mut events = sse::open(&client, &url).await?;
                let opened = Instant::now();
                while let Some(event) = events.next().await {
                    match event.name.as_str() {
                        "highlighted" => {
                            let engine = serde_json::from_str::<serde_json::Value>(&event.data)
                                .ok()
                                .and_then(|data| data["highlighted_in_ms"].as_f64())
                                .unwrap_or(f64::NAN);
                            let now = Instant::now();
                            return Ok(Sample {
                                at: (sent - first).as_secs_f64(),
                                late: ms(due.into_std(), sent),
                                submit: ms(sent, submitted),
                                open: ms(submitted, opened),
                                push: ms(opened, now),
                                engine,
                            });
                        }
                        "failed" => return Err(format!("{id} failed: {}", event.data)),
                        _ => {}
                    }
                }
                Err(format!("the stream of {id} ended without a result"))
            })
            .await;
            match outcome {
                Ok(Ok(took)) => Ok(took),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(format!("no result within {LOST_AFTER:?}")),
            }
        }));
    }
    let mut samples = Vec::with_capacity(total);
    let mut lost = 0;
    for submitter in submitters {
        match submitter.await.expect("the submitter did not panic") {
            Ok(sample) => samples.push(sample),
            Err(e) => {
                lost += 1;
                if lost <= 5 {
                    eprintln!("lost: {e}");
                }
            }
        }
    }
    let cpu = server
        .cpu()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    // Every home stream should have seen every submit's `created`.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.cancel();
    let mut home_missed = 0;
    for home in homes {
        home_missed += total.saturating_sub(home.await.expect("home stream task"));
    }
    if lost > 0 || home_missed > 0 {
        eprintln!("server log: {}", server.log().display());
    }
    RunResult {
        samples,
        cpu,
        submits: total,
        lost,
        home_missed,
    }
}
