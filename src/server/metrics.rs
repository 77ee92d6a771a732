//! Metrics in the Prometheus text format, served at `GET /metrics` under
//! the dashboard's access rules.
//!
//! Code records through the `metrics` facade (a counter here, a histogram
//! there); the Prometheus recorder from `metrics-exporter-prometheus`
//! keeps them and writes the text. The recorder is global to the process
//! (the facade has one slot), so it is installed once and shared by every
//! app a test process builds.
//!
//! What is counted where:
//! - jobs by state, queue age, paused, nodes: read from the database at
//!   each scrape (cluster-wide; every node reports the same numbers);
//! - open event streams: this node, at each scrape;
//! - attempts by outcome with their duration, submit -> done latency,
//!   engine time per language: by the workers of this node, as they end;
//! - HTTP requests by route and status: by [`track_requests`], with the
//!   route's pattern from [`NoteRoute`].

use std::{
    convert::Infallible,
    sync::OnceLock,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use chrono::{DateTime, Utc};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::operations::{ALL_STATES, JobCounts, NodeRow};

/// What is true of the queue right now, cluster-wide: the gauges exported
/// here, and the dashboard's counts (`board::gauges` reads them).
pub struct Gauges {
    pub jobs: JobCounts,
    pub paused: bool,
    pub nodes: Vec<NodeRow>,
    pub queue_age_secs: Option<u64>,
}

/// Seconds, from a millisecond to a few minutes: the range of an attempt,
/// an engine run, a job's wait and an HTTP request.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// How an attempt ended, as recorded in `job_attempts` too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Failed; it will be tried again.
    Retrying,
    /// Failed for good.
    Failed,
    /// Given back on shutdown.
    Released,
    /// Its node vanished; the rescuer took the job back.
    Abandoned,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Retrying => "retrying",
            Outcome::Failed => "failed",
            Outcome::Released => "released",
            Outcome::Abandoned => "abandoned",
        }
    }
}

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder (once) and returns its handle; `None`
/// if something else installed a recorder first.
pub fn install() -> Option<PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => {
                    describe();
                    Some(handle)
                }
                Err(_) => {
                    tracing::warn!("another metrics recorder is installed; /metrics stays empty");
                    None
                }
            }
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_gauge!("highlighter_jobs", "Jobs by state, cluster-wide.");
    describe_gauge!(
        "highlighter_queue_age_seconds",
        "How long the longest-waiting due job has waited."
    );
    describe_gauge!(
        "highlighter_paused",
        "1 while claiming is paused cluster-wide."
    );
    describe_gauge!("highlighter_nodes", "Nodes by whether they still beat.");
    describe_gauge!(
        "highlighter_event_streams_open",
        "Event streams open on this node."
    );
    describe_counter!(
        "highlighter_job_attempts_total",
        "Attempts this node ended, by outcome."
    );
    describe_histogram!(
        "highlighter_job_attempt_duration_seconds",
        "How long attempts ran, by outcome."
    );
    describe_histogram!(
        "highlighter_job_latency_seconds",
        "Submit -> done: from being queued to the final outcome."
    );
    describe_histogram!(
        "highlighter_engine_seconds",
        "Time in the highlighting engine, by language."
    );
    describe_counter!(
        "highlighter_http_requests_total",
        "HTTP requests by route, method and status."
    );
    describe_histogram!(
        "highlighter_http_request_duration_seconds",
        "Time to the response's head, by route."
    );
    describe_counter!(
        "highlighter_background_task_failures_total",
        "Background tasks (worker pool, completer, relay, maintenance loops) that ended while the node ran, by task."
    );
    describe_counter!(
        "highlighter_event_streams_cut_total",
        "Event streams closed because their client fell behind (told to resync)."
    );
    describe_counter!(
        "highlighter_stream_snapshot_failures_total",
        "Snapshot reads of event streams that failed (each is tried again, a few times, before the stream closes)."
    );
    describe_counter!(
        "highlighter_notices_dropped_total",
        "Event notices for other nodes that could not be sent, by why."
    );
}

/// A background task ended before the node was asked to stop.
pub fn background_task_failed(task: &'static str) {
    metrics::counter!("highlighter_background_task_failures_total", "task" => task).increment(1);
}

/// An event stream's client fell behind and was told to resync.
pub fn event_stream_cut() {
    metrics::counter!("highlighter_event_streams_cut_total").increment(1);
}

/// An event stream's snapshot read failed (the database did not answer).
pub fn stream_snapshot_failed() {
    metrics::counter!("highlighter_stream_snapshot_failures_total").increment(1);
}

/// A notice for other nodes was dropped (`why`: `closed`, the publisher is
/// gone; `too_large`, over NOTIFY's cap).
pub fn notice_dropped(why: &'static str, count: u64) {
    metrics::counter!("highlighter_notices_dropped_total", "why" => why).increment(count);
}

/// An attempt ended; `enqueued_at` is given when the job's life ended with
/// it (succeeded or failed for good), for the submit -> done latency.
pub fn attempt_ended(outcome: Outcome, ran_for: Duration, enqueued_at: Option<DateTime<Utc>>) {
    let label = outcome.label();
    metrics::counter!("highlighter_job_attempts_total", "outcome" => label).increment(1);
    metrics::histogram!("highlighter_job_attempt_duration_seconds", "outcome" => label)
        .record(ran_for.as_secs_f64());
    if let Some(enqueued_at) = enqueued_at {
        let waited = (Utc::now() - enqueued_at).to_std().unwrap_or_default();
        metrics::histogram!("highlighter_job_latency_seconds").record(waited.as_secs_f64());
    }
}

/// Attempts the rescuer took back from vanished nodes.
pub fn attempts_abandoned(count: usize) {
    metrics::counter!("highlighter_job_attempts_total", "outcome" => Outcome::Abandoned.label())
        .increment(count as u64);
}

/// The engine ran for `took` on a snippet in `language`.
pub fn engine_ran(language: &str, took: Duration) {
    metrics::histogram!("highlighter_engine_seconds", "language" => language.to_owned())
        .record(took.as_secs_f64());
}

/// Sets the gauges read at scrape time, then writes the text.
pub fn render(handle: &PrometheusHandle, stats: &Gauges, open_streams: u32) -> String {
    // The gauges are the process's: two scrapes at once (or two apps in
    // one test process) must not interleave their values with the text.
    static SCRAPE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = SCRAPE.lock().unwrap_or_else(|p| p.into_inner());
    for state in ALL_STATES {
        metrics::gauge!("highlighter_jobs", "state" => state.as_str())
            .set(stats.jobs.get(state) as f64);
    }
    metrics::gauge!("highlighter_queue_age_seconds").set(stats.queue_age_secs.unwrap_or(0) as f64);
    metrics::gauge!("highlighter_paused").set(if stats.paused { 1.0 } else { 0.0 });
    let gone = stats.nodes.iter().filter(|n| n.gone).count();
    metrics::gauge!("highlighter_nodes", "state" => "alive").set((stats.nodes.len() - gone) as f64);
    metrics::gauge!("highlighter_nodes", "state" => "gone").set(gone as f64);
    metrics::gauge!("highlighter_event_streams_open").set(f64::from(open_streams));
    handle.run_upkeep();
    handle.render()
}

/// The pattern of the route that answered, carried on its response.
#[derive(Clone)]
struct RoutePattern(MatchedPath);

/// A layer for every route (`Router::layer`): it puts the pattern the
/// request matched on the response. The middleware around the router
/// (`startup::router`) wraps it whole, outside its matching, so
/// [`track_requests`] learns the route from the response. It calls the
/// route without cloning it: nothing on top of axum's own per-request
/// clone of the route.
#[derive(Clone, Copy)]
pub struct NoteRoute;

impl<S> tower::Layer<S> for NoteRoute {
    type Service = NoteRouteService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        NoteRouteService { inner }
    }
}

#[derive(Clone)]
pub struct NoteRouteService<S> {
    inner: S,
}

impl<S> tower::Service<Request> for NoteRouteService<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures_util::future::BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let pattern = request.extensions().get::<MatchedPath>().cloned();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            if let Some(pattern) = pattern {
                response.extensions_mut().insert(RoutePattern(pattern));
            }
            Ok(response)
        })
    }
}

/// Middleware: counts every request by its route's pattern (never its raw
/// path, whose ids would make a series per snippet), method and status.
/// Static files and unknown paths share the route `fallback`.
pub async fn track_requests(request: Request, next: Next) -> Response {
    // Only the methods routes answer; anything else is one series.
    let method: &'static str = match *request.method() {
        axum::http::Method::GET => "GET",
        axum::http::Method::HEAD => "HEAD",
        axum::http::Method::POST => "POST",
        axum::http::Method::PUT => "PUT",
        axum::http::Method::PATCH => "PATCH",
        axum::http::Method::DELETE => "DELETE",
        axum::http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RoutePattern>()
        .map(|pattern| pattern.0.as_str().to_owned())
        .unwrap_or_else(|| "fallback".to_owned());
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "highlighter_http_requests_total",
        "route" => route.clone(),
        "method" => method,
        "status" => status
    )
    .increment(1);
    metrics::histogram!("highlighter_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
