//! The benchmark suite: where Highlighter stands against its goals, measured
//! side by side in one run and written to `bench/RESULTS.md`.
//!
//! `bash scripts/bench.sh` builds what is measured and runs this; the
//! README's "Performance" section explains it. Each measure is one module:
//!
//! - [`throughput`]: the engine alone vs Pygments on the shared corpus;
//! - [`drain`]: 10,000 queued jobs emptied, on SQLite and PostgreSQL;
//! - [`latency`]: submit -> pushed result with 1,000 streams open;
//! - [`capacity`]: 10,000 idle streams, memory each, one push to all;
//! - [`revision`]: one line of a 20-file gist saved -> pushed to open pages;
//! - [`ssr`]: a snippet page under `wrk` vs a bare axum handler;
//! - [`wasm`]: the gzipped size of the release client;
//! - [`binary`]: the release server's size and what it holds;
//! - [`examples`]: Pygments' example files pasted by name: colour, round
//!   trip and the language named.
//!
//! The server under test runs as its own process ([`server`]) so that the
//! load client ([`sse`]) never shares its memory or runtime. Machines are
//! shared and noisy: every figure is the median of `--runs` runs, and each
//! comparison's baseline runs in the same command.

mod binary;
mod capacity;
mod corpus;
mod drain;
mod examples;
mod latency;
mod report;
mod revision;
mod server;
mod sse;
mod ssr;
mod throughput;
mod wasm;

use std::{path::PathBuf, time::Instant};

use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Measure {
    Throughput,
    Drain,
    Latency,
    Capacity,
    Revision,
    Ssr,
    Wasm,
    Binary,
    Examples,
}

#[derive(Parser, Debug)]
#[command(about = "Highlighter's benchmark suite; writes bench/RESULTS.md")]
struct Args {
    /// Measures to run, comma-separated [default: all].
    #[arg(long, value_delimiter = ',')]
    only: Vec<Measure>,
    /// Runs per measure; the report gives their median.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The release server binary (`bash scripts/bench.sh` builds it, as `scripts/run.sh` does).
    #[arg(long)]
    server_bin: PathBuf,
    /// A profiler to run the server under, e.g. `--server-wrapper "heaptrack -o /tmp/ht"`.
    #[arg(long, default_value = "")]
    server_wrapper: String,
    /// The site root holding `pkg/` (the client's `.wasm`).
    #[arg(long, default_value = "target/site")]
    site_root: PathBuf,
    /// The shared corpus.
    #[arg(
        long,
        env = "HIGHLIGHTER_CORPUS",
        default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")
    )]
    corpus: PathBuf,
    /// An admin URL of a PostgreSQL server; each run makes its own database there.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
    /// Jobs per drain run.
    #[arg(long, default_value_t = 10_000)]
    jobs: usize,
    /// Open home-page streams during the latency runs.
    #[arg(long, default_value_t = 1_000)]
    latency_streams: usize,
    /// Submits per second during the latency runs.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Seconds of submitting per latency run.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Open pages during the revision runs.
    #[arg(long, default_value_t = 100)]
    revision_pages: usize,
    /// Saves per revision run.
    #[arg(long, default_value_t = 20)]
    revision_edits: usize,
    /// Idle streams per capacity run.
    #[arg(long, default_value_t = 10_000)]
    idle_streams: usize,
    /// Seconds per wrk run.
    #[arg(long, default_value_t = 10)]
    wrk_seconds: u64,
    /// Where the report goes.
    #[arg(long, default_value = "bench/RESULTS.md")]
    out: PathBuf,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    highlighter::server::telemetry::init();
    let wanted = |m: Measure| args.only.is_empty() || args.only.contains(&m);
    let files = server::ServerFiles {
        binary: args.server_bin.clone(),
        site_root: args.site_root.clone(),
        wrapper: args
            .server_wrapper
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    };
    server::require(
        &files.binary,
        "build it with `bash scripts/bench.sh` or `bash scripts/run.sh`",
    );
    let started_at = chrono::Utc::now();
    let started = Instant::now();
    let corpus = corpus::Corpus::load(&args.corpus);
    let mut sections = Vec::new();

    if wanted(Measure::Wasm) {
        sections.push(wasm::run(&args.site_root, &args.server_bin));
    }
    if wanted(Measure::Binary) {
        sections.push(binary::run(&args.server_bin));
    }
    if wanted(Measure::Throughput) {
        eprintln!("==> highlight throughput");
        sections.push(throughput::run(&corpus, args.runs, &args.server_bin).await);
    }
    if wanted(Measure::Examples) {
        eprintln!("==> Pygments' example files");
        sections.push(examples::run(&files).await);
    }
    if wanted(Measure::Drain) {
        eprintln!("==> queue drain");
        sections.push(drain::run(args.jobs, args.runs, &args.postgres, &args.server_bin).await);
    }
    if wanted(Measure::Latency) {
        eprintln!("==> submit -> pushed result");
        let load = latency::Load {
            streams: args.latency_streams,
            rate: args.rate,
            seconds: args.seconds,
            lines: 100,
        };
        sections.push(latency::run(&files, &corpus, &load, args.runs).await);
    }
    if wanted(Measure::Capacity) {
        eprintln!("==> stream capacity");
        sections.push(capacity::run(&files, args.idle_streams, args.runs).await);
    }
    if wanted(Measure::Revision) {
        eprintln!("==> a revision pushed to open pages");
        sections.push(
            revision::run(
                &files,
                &corpus,
                args.revision_pages,
                args.revision_edits,
                args.runs,
            )
            .await,
        );
    }
    if wanted(Measure::Ssr) {
        eprintln!("==> server-side rendering");
        sections.push(ssr::run(&files, &corpus, args.wrk_seconds, args.runs).await);
    }

    let command = std::iter::once("bash scripts/bench.sh".to_owned())
        .chain(
            std::env::args()
                .skip(1)
                .filter(|a| !a.starts_with("--server-bin") && !a.starts_with("--site-root")),
        )
        .collect::<Vec<_>>()
        .join(" ");
    report::write(
        &args.out,
        &command,
        args.runs,
        started_at,
        started.elapsed(),
        &sections,
    );
    eprintln!("==> wrote {}", args.out.display());
    for row in sections.iter().flat_map(|s| &s.rows) {
        let met = if row.score >= 1.0 { "met" } else { "NOT MET" };
        eprintln!(
            "{:<55} {:<60} goal {:<22} {met}",
            row.measure, row.result, row.goal
        );
    }
}
