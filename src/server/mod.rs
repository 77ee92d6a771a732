//! Everything that runs only on the server (`ssr` feature).
//!
//! - `settings.rs`: `Leptos.toml` + `HIGHLIGHTER_*` + flags.
//! - `telemetry.rs`: logging.
//! - `startup.rs`: settings -> store -> workers -> hub -> router; the
//!   [`Application`](startup::Application) tests spawn on port 0.
//! - `service.rs`: shared state and the operations both front doors use
//!   (submit, read, change, delete), with one error type for both.
//! - `diff.rs`: what changed between two revisions, file by file.
//! - `owner.rs`: owner secrets, their hashes, the owner cookie;
//!   `cookie.rs`: reading one cookie from a request.
//! - `store/`: the store by area ([`SnippetStore`](store::SnippetStore),
//!   [`JobStore`](store::JobStore), [`Operations`](store::Operations)),
//!   one generic body of SQL, and the SQLite and PostgreSQL dialects.
//! - `jobs/`: workers and maintenance loops.
//! - `highlight/`: engines, languages, the theme stylesheet.
//! - `events/`: the in-process hub, and the bus and relay that carry
//!   events between nodes.
//! - `http/`: the accept loop, the security and limit layers, REST, SSE,
//!   health, the dashboard's API and access (`http/admin/`), and the
//!   OpenAPI document.
//! - `limits.rs`: submits and open streams per client and per node (the
//!   HTTP refusals are `http/limits.rs`).
//! - `page_cache.rs`: finished snippet pages kept rendered (served by
//!   `http/page_cache.rs`).
//! - `node.rs`: this process as the cluster sees it (its row in `nodes`,
//!   its heartbeat, the cluster-wide pause).
//! - `periodic.rs`: one pass every period until shutdown, the shape of
//!   the heartbeat and of every maintenance loop.
//! - `supervisor.rs`: the node's background tasks, named and watched: one
//!   that ends while the node runs stops the node.
//! - `board.rs`: the queue as the operators' dashboard sees and steers it
//!   (stats, the jobs table, a job's attempts, bulk retry and delete,
//!   pause), for every door: its JSON API, its page, `/metrics`.
//! - `metrics.rs`: the Prometheus recorder behind `GET /metrics`.

pub mod board;
pub mod cookie;
pub mod diff;
pub mod events;
pub mod highlight;
pub mod http;
pub mod jobs;
pub mod limits;
pub mod metrics;
pub mod node;
pub mod owner;
pub mod page_cache;
pub mod periodic;
pub mod service;
pub mod settings;
pub mod startup;
pub mod store;
pub mod supervisor;
pub mod telemetry;

pub use service::AppState;

/// Bytes as lower-case hex: how digests are written as text (owner hashes,
/// dashboard session tags, page validators).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    hex
}

/// The inverse of [`hex`]: `None` for anything that is not pairs of hex
/// digits.
pub(crate) fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}
