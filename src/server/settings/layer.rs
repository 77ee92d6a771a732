//! One layer of settings, and how layers stack: the defaults, then the
//! settings file (`Leptos.toml`, TOML), then `HIGHLIGHTER_*` environment
//! variables, then command-line flags. One struct is all three shapes: the
//! file's (serde) and the environment's and flags' (clap).
//!
//! Layers merge field by field through their serde form, so a setting is
//! named once, in [`SettingsLayer`], and once where it is decided
//! (`Settings::decide`).

use std::{net::SocketAddr, path::PathBuf};

use clap::Parser;
use serde::{Deserialize, Serialize};

use super::{EngineKind, Role, SettingsError};

/// One layer of settings. Every field is optional so layers can be merged;
/// the same struct is the command line (with its environment variables)
/// and the shape of `Leptos.toml`.
#[derive(Debug, Default, Deserialize, Serialize, Parser)]
#[serde(deny_unknown_fields)]
#[command(
    name = "highlighter",
    version,
    about = "Highlighter: paste code, get it highlighted, pushed live to every page.",
    after_help = "Settings are read from defaults, then the settings file, then \
                  HIGHLIGHTER_* environment variables, then these flags."
)]
pub struct SettingsLayer {
    /// The settings file (TOML). Missing is fine: defaults apply.
    #[arg(long, env = "HIGHLIGHTER_CONFIG", value_name = "PATH")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Address to listen on [default: the Leptos site address, else 127.0.0.1:3000].
    #[arg(long, env = "HIGHLIGHTER_ADDR", value_name = "IP:PORT")]
    pub addr: Option<SocketAddr>,

    /// Database URL: sqlite://path.db or postgres://... [default: sqlite://data/highlighter.db].
    #[arg(long, env = "HIGHLIGHTER_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,

    /// Which parts to run: all, web or worker [default: all].
    #[arg(long, env = "HIGHLIGHTER_ROLE", value_enum)]
    pub role: Option<Role>,

    /// Jobs run at once by this process [default: four per core].
    #[arg(long, env = "HIGHLIGHTER_WORKERS", value_name = "N")]
    pub workers: Option<usize>,

    /// Largest snippet accepted (all its files together), in bytes [default: 524288].
    #[arg(long, env = "HIGHLIGHTER_MAX_SNIPPET_BYTES", value_name = "BYTES")]
    pub max_snippet_bytes: Option<usize>,

    /// Files one snippet may hold [default: 20].
    #[arg(long, env = "HIGHLIGHTER_MAX_FILES", value_name = "N")]
    pub max_files: Option<usize>,

    /// Revisions one snippet keeps: saving one more prunes the oldest [default: 100].
    #[arg(long, env = "HIGHLIGHTER_MAX_REVISIONS", value_name = "N")]
    pub max_revisions: Option<u32>,

    /// Attempts per job before it fails for good [default: 5].
    #[arg(long, env = "HIGHLIGHTER_MAX_ATTEMPTS", value_name = "N")]
    pub max_attempts: Option<u32>,

    /// How long a claimed job's lease lasts, in seconds [default: 30].
    #[arg(long, env = "HIGHLIGHTER_LEASE_SECS", value_name = "SECS")]
    pub lease_secs: Option<f64>,

    /// How often a worker renews its lease, in seconds [default: 10].
    #[arg(long, env = "HIGHLIGHTER_HEARTBEAT_SECS", value_name = "SECS")]
    pub heartbeat_secs: Option<f64>,

    /// Time limit of one attempt, in seconds [default: 10].
    #[arg(long, env = "HIGHLIGHTER_JOB_TIMEOUT_SECS", value_name = "SECS")]
    pub job_timeout_secs: Option<f64>,

    /// First retry delay, in seconds; doubles per attempt, with full jitter [default: 1].
    #[arg(long, env = "HIGHLIGHTER_RETRY_BASE_SECS", value_name = "SECS")]
    pub retry_base_secs: Option<f64>,

    /// Longest retry delay, in seconds [default: 300].
    #[arg(long, env = "HIGHLIGHTER_RETRY_CAP_SECS", value_name = "SECS")]
    pub retry_cap_secs: Option<f64>,

    /// How often workers look for due jobs when nothing woke them, in seconds [default: 2].
    #[arg(long, env = "HIGHLIGHTER_POLL_SECS", value_name = "SECS")]
    pub poll_secs: Option<f64>,

    /// Jobs each slot claims ahead while jobs are short (a claim is a commit: one serves several); 0 claims only for free slots [default: 8].
    #[arg(long, env = "HIGHLIGHTER_CLAIM_AHEAD", value_name = "N")]
    pub claim_ahead: Option<usize>,

    /// How often the rescuer looks for expired leases, in seconds [default: 15].
    #[arg(long, env = "HIGHLIGHTER_RESCUE_SECS", value_name = "SECS")]
    pub rescue_secs: Option<f64>,

    /// On shutdown, how long in-flight jobs may run before they are released, in seconds [default: 10].
    #[arg(long, env = "HIGHLIGHTER_SHUTDOWN_GRACE_SECS", value_name = "SECS")]
    pub shutdown_grace_secs: Option<f64>,

    /// How long succeeded job records are kept, in seconds (snippets stay) [default: 86400].
    #[arg(
        long,
        env = "HIGHLIGHTER_SUCCEEDED_RETENTION_SECS",
        value_name = "SECS"
    )]
    pub succeeded_retention_secs: Option<f64>,

    /// How long failed job records are kept, in seconds [default: 604800].
    #[arg(long, env = "HIGHLIGHTER_FAILED_RETENTION_SECS", value_name = "SECS")]
    pub failed_retention_secs: Option<f64>,

    /// How often the pruner runs, in seconds [default: 300].
    #[arg(long, env = "HIGHLIGHTER_PRUNE_SECS", value_name = "SECS")]
    pub prune_secs: Option<f64>,

    /// How often expired snippets are deleted, in seconds [default: 60].
    #[arg(long, env = "HIGHLIGHTER_SWEEP_SECS", value_name = "SECS")]
    pub sweep_secs: Option<f64>,

    /// The highlighting engine: auto (tree-sitter where it serves the language, syntect elsewhere), syntect (syntect alone) or remote (a hilite.me-compatible service) [default: auto].
    #[arg(long, env = "HIGHLIGHTER_ENGINE", value_enum)]
    pub engine: Option<EngineKind>,

    /// The program the tree-sitter engine runs as its child processes [default: this server's own binary].
    #[arg(long, env = "HIGHLIGHTER_ENGINE_PROGRAM", value_name = "PATH")]
    pub engine_program: Option<PathBuf>,

    /// The remote engine's URL, e.g. http://127.0.0.1:8090/api (with engine = remote).
    #[arg(long, env = "HIGHLIGHTER_REMOTE_URL", value_name = "URL")]
    pub remote_url: Option<String>,

    /// The built site (JS, WASM, CSS) [default: LEPTOS_SITE_ROOT, else target/site].
    #[arg(long, env = "HIGHLIGHTER_SITE_ROOT", value_name = "DIR")]
    pub site_root: Option<PathBuf>,

    /// The site's public origin, e.g. https://paste.example.com: state-changing requests from any other origin are refused, and the owner cookie is Secure when it is https [default: none; the Host a request was sent to counts as the site].
    #[arg(long, env = "HIGHLIGHTER_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Snippets one client may submit per minute, on average; 0 turns the limit off [default: 30].
    #[arg(long, env = "HIGHLIGHTER_SUBMIT_PER_MINUTE", value_name = "N")]
    pub submit_per_minute: Option<u32>,

    /// Snippets one client may submit at once before the per-minute rate applies [default: 10].
    #[arg(long, env = "HIGHLIGHTER_SUBMIT_BURST", value_name = "N")]
    pub submit_burst: Option<u32>,

    /// Proxies whose X-Forwarded-For is believed, as addresses or CIDR blocks, comma-separated [default: none].
    #[arg(
        long,
        env = "HIGHLIGHTER_TRUSTED_PROXIES",
        value_name = "CIDR,...",
        value_delimiter = ','
    )]
    pub trusted_proxies: Option<Vec<String>>,

    /// Event streams one client may hold open at once; 0 turns the limit off [default: 16].
    #[arg(long, env = "HIGHLIGHTER_STREAMS_PER_CLIENT", value_name = "N")]
    pub streams_per_client: Option<u32>,

    /// Event streams this node holds open at once; 0 turns the limit off [default: 20000].
    #[arg(long, env = "HIGHLIGHTER_MAX_STREAMS", value_name = "N")]
    pub max_streams: Option<u32>,

    /// Seconds a connection may take to send its request headers, and may stay idle between requests; 0 turns it off [default: 10].
    #[arg(long, env = "HIGHLIGHTER_HEADER_TIMEOUT_SECS", value_name = "SECS")]
    pub header_timeout_secs: Option<f64>,

    /// Bytes an event stream may have waiting for a slow client before it is told to resync and closed [default: 1048576].
    #[arg(long, env = "HIGHLIGHTER_STREAM_BUFFER_BYTES", value_name = "BYTES")]
    pub stream_buffer_bytes: Option<usize>,

    /// Bytes of finished snippet pages kept rendered in memory; 0 turns the page cache off [default: 67108864].
    #[arg(long, env = "HIGHLIGHTER_PAGE_CACHE_BYTES", value_name = "BYTES")]
    pub page_cache_bytes: Option<usize>,

    /// Largest answer read from the remote engine, in bytes [default: 33554432].
    #[arg(
        long,
        env = "HIGHLIGHTER_REMOTE_MAX_RESPONSE_BYTES",
        value_name = "BYTES"
    )]
    pub remote_max_response_bytes: Option<usize>,

    /// Token for the operators' dashboard (`/admin`, `/api/admin/*`, `/metrics`): full access. Unset (with no read-only token either): the dashboard answers only loopback requests that came through no proxy.
    #[arg(
        long,
        env = "HIGHLIGHTER_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,

    /// Token for the dashboard that sees everything and changes nothing.
    #[arg(
        long,
        env = "HIGHLIGHTER_ADMIN_READONLY_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub admin_readonly_token: Option<String>,

    /// Host names this server answers besides IP literals, `localhost` and the host of `public_url`, comma-separated; any other `Host` gets 421 (DNS rebinding defence) [default: none].
    #[arg(
        long,
        env = "HIGHLIGHTER_ALLOWED_HOSTS",
        value_name = "HOST,...",
        value_delimiter = ','
    )]
    pub allowed_hosts: Option<Vec<String>>,

    /// Seconds a request body may take before it must keep up `min_body_bytes_per_sec` on average; 0 turns the check off [default: 10].
    #[arg(long, env = "HIGHLIGHTER_BODY_TIMEOUT_SECS", value_name = "SECS")]
    pub body_timeout_secs: Option<f64>,

    /// The slowest average pace, in bytes a second, a request body may arrive at once past `body_timeout_secs` [default: 1024].
    #[arg(long, env = "HIGHLIGHTER_MIN_BODY_BYTES_PER_SEC", value_name = "BYTES")]
    pub min_body_bytes_per_sec: Option<u64>,

    /// Connections this node holds open at once; more are refused at once (503); 0 turns the limit off [default: 10000].
    #[arg(long, env = "HIGHLIGHTER_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<u32>,

    /// Connections one peer address (an IPv6 /64) may hold open at once, trusted proxies aside; more are refused at once (429); 0 turns the limit off [default: 256].
    #[arg(long, env = "HIGHLIGHTER_CONNECTIONS_PER_PEER", value_name = "N")]
    pub connections_per_peer: Option<u32>,

    /// Unknown snippet ids one client may ask for per minute (404s, and unknown ids in a list stream) before its lookups get 429; 0 turns the limit off [default: 120].
    #[arg(long, env = "HIGHLIGHTER_MISSES_PER_MINUTE", value_name = "N")]
    pub misses_per_minute: Option<u32>,

    /// Dashboard sign-in attempts one client may make per minute (half of them at once); 0 turns the limit off [default: 10].
    #[arg(long, env = "HIGHLIGHTER_SIGN_INS_PER_MINUTE", value_name = "N")]
    pub sign_ins_per_minute: Option<u32>,
}

impl SettingsLayer {
    /// `self` wins where both layers say something; the file a layer
    /// names is not a setting and is kept from the upper one.
    pub(super) fn over(self, low: SettingsLayer) -> SettingsLayer {
        let config = self.config.clone().or_else(|| low.config.clone());
        let as_map = |layer: &SettingsLayer| match serde_json::to_value(layer) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => unreachable!("a settings layer is a struct of plain values"),
        };
        let mut merged = as_map(&low);
        for (name, value) in as_map(&self) {
            if !value.is_null() {
                merged.insert(name, value);
            }
        }
        let mut layer: SettingsLayer = serde_json::from_value(serde_json::Value::Object(merged))
            .expect("a merge of two layers reads back as a layer");
        layer.config = config;
        layer
    }

    pub(super) fn from_file(
        path: &std::path::Path,
        required: bool,
    ) -> Result<SettingsLayer, SettingsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|source| SettingsError::Parse {
                path: path.to_owned(),
                source: Box::new(source),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(SettingsLayer::default())
            }
            Err(source) => Err(SettingsError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upper_layer_wins_field_by_field_and_silence_keeps_the_lower() {
        let file: SettingsLayer = toml::from_str(
            "workers = 3\nmax_snippet_bytes = 100\nrole = \"web\"\ntrusted_proxies = [\"10.0.0.0/8\"]",
        )
        .unwrap();
        let flags = SettingsLayer {
            workers: Some(7),
            config: Some("other.toml".into()),
            ..Default::default()
        };
        let merged = flags.over(file);
        assert_eq!(merged.workers, Some(7));
        assert_eq!(merged.max_snippet_bytes, Some(100));
        assert_eq!(merged.role, Some(Role::Web));
        assert_eq!(merged.trusted_proxies, Some(vec!["10.0.0.0/8".to_owned()]));
        assert_eq!(merged.config, Some(PathBuf::from("other.toml")));
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        assert!(toml::from_str::<SettingsLayer>("wrokers = 3").is_err());
    }
}
