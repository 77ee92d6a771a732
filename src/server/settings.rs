//! The server's runtime settings: defaults, then `Leptos.toml`, then
//! `HIGHLIGHTER_*` environment variables, then command-line flags, each
//! layer overriding the one before. `highlighter --help` lists them all.
//!
//! (cargo-leptos reads its *build* settings from `Cargo.toml`; this file
//! is ours alone.)

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use clap::Parser;
use serde::Deserialize;

use crate::domain::source::DEFAULT_MAX_SNIPPET_BYTES;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("settings file {path} is not valid")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("setting `{name}` {problem}")]
    Invalid { name: &'static str, problem: String },
}

/// Which parts of the program this process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Pages, API, streams and workers.
    All,
    /// Pages, API and streams; no jobs run here.
    Web,
    /// Jobs only; serves just `/api/health`.
    Worker,
}

impl Role {
    pub fn runs_web(self) -> bool {
        matches!(self, Role::All | Role::Web)
    }
    pub fn runs_workers(self) -> bool {
        matches!(self, Role::All | Role::Worker)
    }
}

/// One layer of settings. Every field is optional so layers can be merged;
/// the same struct is the command line (with its environment variables)
/// and the shape of `Leptos.toml`.
#[derive(Debug, Default, Deserialize, Parser)]
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

    /// Jobs run at once by this process [default: one per core].
    #[arg(long, env = "HIGHLIGHTER_WORKERS", value_name = "N")]
    pub workers: Option<usize>,

    /// Largest snippet accepted, in bytes [default: 524288].
    #[arg(long, env = "HIGHLIGHTER_MAX_SNIPPET_BYTES", value_name = "BYTES")]
    pub max_snippet_bytes: Option<usize>,

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
}

macro_rules! merge_fields {
    ($high:ident, $low:ident, $($field:ident),+ $(,)?) => {
        SettingsLayer { $($field: $high.$field.or($low.$field)),+ }
    };
}

impl SettingsLayer {
    /// `self` wins where both layers say something.
    fn over(self, low: SettingsLayer) -> SettingsLayer {
        let high = self;
        merge_fields!(
            high,
            low,
            config,
            addr,
            database_url,
            role,
            workers,
            max_snippet_bytes,
            max_attempts,
            lease_secs,
            heartbeat_secs,
            job_timeout_secs,
            retry_base_secs,
            retry_cap_secs,
            poll_secs,
            rescue_secs,
            shutdown_grace_secs,
            succeeded_retention_secs,
            failed_retention_secs,
            prune_secs,
            sweep_secs,
            engine,
            engine_program,
            remote_url,
            site_root,
            public_url,
            submit_per_minute,
            submit_burst,
            trusted_proxies,
            streams_per_client,
            max_streams,
            header_timeout_secs,
            stream_buffer_bytes,
            page_cache_bytes,
            remote_max_response_bytes,
            admin_token,
            admin_readonly_token,
        )
    }

    fn from_file(path: &std::path::Path, required: bool) -> Result<SettingsLayer, SettingsError> {
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

/// The settings in force, every one decided.
#[derive(Clone, Debug)]
pub struct Settings {
    pub addr: SocketAddr,
    pub database_url: String,
    pub role: Role,
    pub workers: usize,
    pub max_snippet_bytes: usize,
    pub jobs: JobSettings,
    pub engine: EngineSettings,
    pub site_root: PathBuf,
    /// `scheme://host[:port]` of the site, when configured.
    pub public_origin: Option<String>,
    pub limits: Limits,
    pub admin: AdminTokens,
}

/// Who may use the operators' dashboard. With neither token set, only
/// this machine may (see `http::admin::access`).
#[derive(Clone, Default)]
pub struct AdminTokens {
    pub full: Option<String>,
    pub read_only: Option<String>,
}

impl AdminTokens {
    pub fn any(&self) -> bool {
        self.full.is_some() || self.read_only.is_some()
    }
}

/// Tokens never reach a log.
impl std::fmt::Debug for AdminTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |t: &Option<String>| if t.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("AdminTokens")
            .field("full", &shown(&self.full))
            .field("read_only", &shown(&self.read_only))
            .finish()
    }
}

/// Shorter tokens can be guessed by a patient attacker.
const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// The limits that keep one client (or a flood of them) from exhausting
/// the server. A limit of 0 is off.
#[derive(Clone, Debug)]
pub struct Limits {
    pub submit_per_minute: u32,
    pub submit_burst: u32,
    pub trusted_proxies: Vec<Cidr>,
    pub streams_per_client: u32,
    pub max_streams: u32,
    /// `None`: no timeout.
    pub header_timeout: Option<Duration>,
    pub stream_buffer_bytes: usize,
    /// The page cache's budget; 0: no cache.
    pub page_cache_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            submit_per_minute: 30,
            submit_burst: 10,
            trusted_proxies: Vec::new(),
            streams_per_client: 16,
            max_streams: 20_000,
            header_timeout: Some(Duration::from_secs(10)),
            stream_buffer_bytes: 1024 * 1024,
            page_cache_bytes: 64 * 1024 * 1024,
        }
    }
}

/// An address block such as `10.0.0.0/8` or `::1/128` (a bare address is
/// a block of one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(raw: &str) -> Option<Cidr> {
        let raw = raw.trim();
        let (addr, prefix) = match raw.split_once('/') {
            Some((addr, prefix)) => (
                addr.parse::<IpAddr>().ok()?,
                Some(prefix.parse::<u8>().ok()?),
            ),
            None => (raw.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr {
            network: addr,
            prefix,
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            let shift = u32::from(width - prefix);
            if shift >= 128 { 0 } else { bits >> shift }
        }
        // An IPv4 client seen through an IPv6 socket is the same client.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), self.prefix, 32)
                    == masked(u128::from(u32::from(ip)), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128)
                    == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// Which engine highlights, and where the remote one is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineSettings {
    /// tree-sitter (in child processes of `program`) where it serves the
    /// language, syntect elsewhere.
    Auto {
        program: PathBuf,
    },
    Syntect,
    Remote {
        url: String,
        /// Answers over this many bytes fail the job.
        max_response_bytes: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Auto,
    Syntect,
    Remote,
}

/// What the job engine and its maintenance loops need.
#[derive(Clone, Debug)]
pub struct JobSettings {
    pub max_attempts: u32,
    pub lease: Duration,
    pub heartbeat: Duration,
    pub timeout: Duration,
    pub retry_base: Duration,
    pub retry_cap: Duration,
    pub poll_interval: Duration,
    pub rescue_interval: Duration,
    pub shutdown_grace: Duration,
    pub succeeded_retention: Duration,
    pub failed_retention: Duration,
    pub prune_interval: Duration,
    pub sweep_interval: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            max_attempts: 5,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(1),
            retry_cap: Duration::from_secs(300),
            poll_interval: Duration::from_secs(2),
            rescue_interval: Duration::from_secs(15),
            shutdown_grace: Duration::from_secs(10),
            succeeded_retention: Duration::from_secs(24 * 3600),
            failed_retention: Duration::from_secs(7 * 24 * 3600),
            prune_interval: Duration::from_secs(300),
            sweep_interval: Duration::from_secs(60),
        }
    }
}

impl Settings {
    /// Reads the command line, the environment and the settings file.
    pub fn load() -> Result<Settings, SettingsError> {
        Settings::from_layer(SettingsLayer::parse())
    }

    /// Completes a layer (the command line, or a test's choices) with the
    /// settings file it names (default `Leptos.toml`) and the defaults.
    pub fn from_layer(top: SettingsLayer) -> Result<Settings, SettingsError> {
        let (path, required) = match &top.config {
            Some(path) => (path.clone(), true),
            None => (PathBuf::from("Leptos.toml"), false),
        };
        let merged = top.over(SettingsLayer::from_file(&path, required)?);
        Settings::decide(merged)
    }

    fn decide(layer: SettingsLayer) -> Result<Settings, SettingsError> {
        let defaults = JobSettings::default();
        let secs = |name: &'static str, value: Option<f64>, default: Duration| match value {
            None => Ok(default),
            Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Duration::from_secs_f64(s)),
            Some(s) => Err(SettingsError::Invalid {
                name,
                problem: format!("must be a positive number of seconds, not {s}"),
            }),
        };
        let jobs = JobSettings {
            max_attempts: layer.max_attempts.unwrap_or(defaults.max_attempts),
            lease: secs("lease_secs", layer.lease_secs, defaults.lease)?,
            heartbeat: secs("heartbeat_secs", layer.heartbeat_secs, defaults.heartbeat)?,
            timeout: secs("job_timeout_secs", layer.job_timeout_secs, defaults.timeout)?,
            retry_base: secs(
                "retry_base_secs",
                layer.retry_base_secs,
                defaults.retry_base,
            )?,
            retry_cap: secs("retry_cap_secs", layer.retry_cap_secs, defaults.retry_cap)?,
            poll_interval: secs("poll_secs", layer.poll_secs, defaults.poll_interval)?,
            rescue_interval: secs("rescue_secs", layer.rescue_secs, defaults.rescue_interval)?,
            shutdown_grace: secs(
                "shutdown_grace_secs",
                layer.shutdown_grace_secs,
                defaults.shutdown_grace,
            )?,
            succeeded_retention: secs(
                "succeeded_retention_secs",
                layer.succeeded_retention_secs,
                defaults.succeeded_retention,
            )?,
            failed_retention: secs(
                "failed_retention_secs",
                layer.failed_retention_secs,
                defaults.failed_retention,
            )?,
            prune_interval: secs("prune_secs", layer.prune_secs, defaults.prune_interval)?,
            sweep_interval: secs("sweep_secs", layer.sweep_secs, defaults.sweep_interval)?,
        };
        if jobs.max_attempts == 0 {
            return Err(SettingsError::Invalid {
                name: "max_attempts",
                problem: "must be at least 1".into(),
            });
        }
        if jobs.heartbeat >= jobs.lease {
            return Err(SettingsError::Invalid {
                name: "heartbeat_secs",
                problem: "must be shorter than lease_secs, or leases expire while jobs run".into(),
            });
        }
        let workers = match layer.workers {
            None | Some(0) => std::thread::available_parallelism().map_or(1, |n| n.get()),
            Some(n) => n,
        };
        let max_snippet_bytes = layer.max_snippet_bytes.unwrap_or(DEFAULT_MAX_SNIPPET_BYTES);
        if max_snippet_bytes == 0 {
            return Err(SettingsError::Invalid {
                name: "max_snippet_bytes",
                problem: "must be at least 1".into(),
            });
        }
        let addr = match layer.addr {
            Some(addr) => addr,
            None => match std::env::var("LEPTOS_SITE_ADDR") {
                Ok(raw) => raw.parse().map_err(|_| SettingsError::Invalid {
                    name: "addr",
                    problem: format!("(from LEPTOS_SITE_ADDR) is not an address: {raw}"),
                })?,
                Err(_) => SocketAddr::from(([127, 0, 0, 1], 3000)),
            },
        };
        let engine = match (layer.engine.unwrap_or(EngineKind::Auto), layer.remote_url) {
            (EngineKind::Auto, _) => EngineSettings::Auto {
                program: match layer.engine_program {
                    Some(program) => program,
                    None => std::env::current_exe().map_err(|e| SettingsError::Invalid {
                        name: "engine_program",
                        problem: format!("is not set and this program's path is unknown ({e})"),
                    })?,
                },
            },
            (EngineKind::Syntect, _) => EngineSettings::Syntect,
            (EngineKind::Remote, Some(url))
                if url.starts_with("http://") || url.starts_with("https://") =>
            {
                EngineSettings::Remote {
                    url,
                    max_response_bytes: layer.remote_max_response_bytes.unwrap_or(32 << 20),
                }
            }
            (EngineKind::Remote, _) => {
                return Err(SettingsError::Invalid {
                    name: "remote_url",
                    problem: "must be an http:// or https:// URL when engine = remote".into(),
                });
            }
        };
        let public_origin = match layer.public_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => Some(origin_of(url).ok_or_else(|| SettingsError::Invalid {
                name: "public_url",
                problem: format!("must be an http:// or https:// URL, not {url}"),
            })?),
        };
        let defaults = Limits::default();
        let trusted_proxies = layer
            .trusted_proxies
            .unwrap_or_default()
            .iter()
            .filter(|raw| !raw.trim().is_empty())
            .map(|raw| {
                Cidr::parse(raw).ok_or_else(|| SettingsError::Invalid {
                    name: "trusted_proxies",
                    problem: format!("`{raw}` is not an address or a CIDR block"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let header_timeout = match layer.header_timeout_secs {
            Some(0.0) => None,
            other => Some(secs(
                "header_timeout_secs",
                other,
                defaults.header_timeout.unwrap_or_default(),
            )?),
        };
        let limits = Limits {
            submit_per_minute: layer
                .submit_per_minute
                .unwrap_or(defaults.submit_per_minute),
            submit_burst: layer.submit_burst.unwrap_or(defaults.submit_burst).max(1),
            trusted_proxies,
            streams_per_client: layer
                .streams_per_client
                .unwrap_or(defaults.streams_per_client),
            max_streams: layer.max_streams.unwrap_or(defaults.max_streams),
            header_timeout,
            stream_buffer_bytes: layer
                .stream_buffer_bytes
                .unwrap_or(defaults.stream_buffer_bytes)
                .max(4096),
            page_cache_bytes: layer.page_cache_bytes.unwrap_or(defaults.page_cache_bytes),
        };
        let site_root = layer
            .site_root
            .or_else(|| std::env::var_os("LEPTOS_SITE_ROOT").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("target/site"));
        let admin_token = |name: &'static str, value: Option<String>| match value
            .map(|t| t.trim().to_owned())
        {
            None => Ok(None),
            Some(t) if t.is_empty() => Ok(None),
            Some(t)
                if t.chars().count() < MIN_ADMIN_TOKEN_CHARS || t.contains(char::is_whitespace) =>
            {
                Err(SettingsError::Invalid {
                    name,
                    problem: format!(
                        "must be at least {MIN_ADMIN_TOKEN_CHARS} characters with no spaces"
                    ),
                })
            }
            Some(t) => Ok(Some(t)),
        };
        let admin = AdminTokens {
            full: admin_token("admin_token", layer.admin_token)?,
            read_only: admin_token("admin_readonly_token", layer.admin_readonly_token)?,
        };
        if admin.full.is_some() && admin.full == admin.read_only {
            return Err(SettingsError::Invalid {
                name: "admin_readonly_token",
                problem: "must differ from admin_token".into(),
            });
        }
        Ok(Settings {
            addr,
            database_url: layer
                .database_url
                .unwrap_or_else(|| "sqlite://data/highlighter.db".to_owned()),
            role: layer.role.unwrap_or(Role::All),
            workers,
            max_snippet_bytes,
            jobs,
            engine,
            site_root,
            public_origin,
            limits,
            admin,
        })
    }
}

/// `scheme://host[:port]` of an http(s) URL, lowercased, as browsers send
/// it in `Origin`.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_layer_wins_field_by_field() {
        let file: SettingsLayer = toml::from_str("workers = 3\nmax_snippet_bytes = 100").unwrap();
        let cli = SettingsLayer {
            workers: Some(7),
            ..Default::default()
        };
        let merged = Settings::decide(cli.over(file)).unwrap();
        assert_eq!(merged.workers, 7);
        assert_eq!(merged.max_snippet_bytes, 100);
        assert_eq!(merged.jobs.max_attempts, 5);
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        assert!(toml::from_str::<SettingsLayer>("wrokers = 3").is_err());
    }

    #[test]
    fn limits_default_and_turn_off_with_zero() {
        let settings = Settings::decide(SettingsLayer::default()).unwrap();
        assert_eq!(settings.limits.submit_per_minute, 30);
        assert_eq!(settings.limits.submit_burst, 10);
        assert_eq!(settings.limits.streams_per_client, 16);
        assert_eq!(settings.limits.max_streams, 20_000);
        assert_eq!(
            settings.limits.header_timeout,
            Some(Duration::from_secs(10))
        );
        let off = Settings::decide(SettingsLayer {
            header_timeout_secs: Some(0.0),
            submit_per_minute: Some(0),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(off.limits.header_timeout, None);
        assert_eq!(off.limits.submit_per_minute, 0);
    }

    #[test]
    fn trusted_proxies_are_cidr_blocks() {
        let block = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(block.contains("10.1.2.3".parse().unwrap()));
        assert!(!block.contains("11.0.0.1".parse().unwrap()));
        assert!(block.contains("::ffff:10.0.0.9".parse().unwrap()));
        let one = Cidr::parse("::1").unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!(!one.contains("::2".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("proxy.internal").is_none());
        let layer = SettingsLayer {
            trusted_proxies: Some(vec!["nonsense".into()]),
            ..Default::default()
        };
        assert!(Settings::decide(layer).is_err());
    }

    #[test]
    fn the_public_url_becomes_an_origin() {
        assert_eq!(
            origin_of("https://Paste.Example.com/some/path").as_deref(),
            Some("https://paste.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:3000").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(origin_of("ftp://x"), None);
        assert_eq!(origin_of("https://user@evil"), None);
    }

    #[test]
    fn admin_tokens_are_long_distinct_and_never_printed() {
        let layer = |full: &str, read_only: &str| SettingsLayer {
            admin_token: Some(full.into()),
            admin_readonly_token: Some(read_only.into()),
            ..Default::default()
        };
        assert!(Settings::decide(layer("short", "")).is_err());
        assert!(Settings::decide(layer("same-token-0123456789", "same-token-0123456789")).is_err());
        let settings =
            Settings::decide(layer("full-token-0123456789", "read-token-0123456789")).unwrap();
        assert_eq!(
            settings.admin.full.as_deref(),
            Some("full-token-0123456789")
        );
        let printed = format!("{settings:?}");
        assert!(!printed.contains("0123456789"), "{printed}");
        let none = Settings::decide(layer("", "  ")).unwrap();
        assert!(!none.admin.any());
    }

    #[test]
    fn nonsense_durations_are_refused() {
        let layer = SettingsLayer {
            lease_secs: Some(-1.0),
            ..Default::default()
        };
        assert!(Settings::decide(layer).is_err());
    }
}
