//! Logging: human-readable lines on stderr, filtered by `RUST_LOG`
//! (default `info`, with sqlx's per-query lines kept at warn).
//!
//! Logging must never take a task down. When stderr is a pipe whose
//! reader has gone (a supervisor or `cargo leptos serve` killed), a write
//! fails with EPIPE; tracing-subscriber would report that with
//! `eprintln!`, which panics on the same broken pipe, inside whatever task
//! was logging (the one that handles SIGTERM, say). So internal errors are
//! not reported, and failed writes are dropped.

use tracing_subscriber::{EnvFilter, fmt};

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    // A second init (tests start several apps) is harmless: keep the first.
    let _ = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false)
        .try_init();
}
