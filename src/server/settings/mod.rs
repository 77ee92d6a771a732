//! The server's runtime settings: defaults, then `Leptos.toml`, then
//! `HIGHLIGHTER_*` environment variables, then command-line flags, each
//! layer overriding the one before. `highlighter --help` lists them all.
//!
//! (How the site is built lives in `xtask/`; this file is the server's
//! alone.)
//!
//! - `layer.rs`: one layer ([`SettingsLayer`]) and how layers stack;
//! - here: [`Settings`], every setting decided and checked, in the groups
//!   the rooms that use them take;
//! - `cidr.rs`: address blocks, as `trusted_proxies` names them.

mod cidr;
mod layer;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Parser;
use serde::{Deserialize, Serialize};

pub use cidr::Cidr;
pub use layer::SettingsLayer;

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
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

/// Jobs run at once per core, by default. A small job spends most of its
/// time waiting on the database (its claim, its commit), not on a core:
/// with one job per core the cores idled while jobs waited, and the queue
/// drained at about 3,500 jobs a second on two cores. Highlighting itself
/// stays at one child per core ([`Settings::highlighting_children`]).
pub const JOBS_PER_CORE: usize = 4;

/// The settings in force, every one decided.
#[derive(Clone, Debug)]
pub struct Settings {
    pub addr: SocketAddr,
    pub database_url: String,
    pub role: Role,
    /// Jobs run at once.
    pub workers: usize,
    /// Highlighting children (the tree-sitter engine): one per core, or
    /// fewer when fewer jobs run at once. Jobs beyond them wait for one.
    pub highlighting_children: usize,
    pub max_snippet_bytes: usize,
    pub max_files: usize,
    pub max_revisions: u32,
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
    /// Host names answered besides IP literals, `localhost` and the public
    /// URL's host, lower-cased, without a trailing dot.
    pub allowed_hosts: Vec<String>,
    /// How a request body must keep coming; `None`: as slowly as it likes.
    pub body_pace: Option<BodyPace>,
    pub max_connections: u32,
    pub connections_per_peer: u32,
    /// Unknown ids one client may ask for a minute; 0: no limit.
    pub misses_per_minute: u32,
    /// Dashboard sign-ins one client may try a minute; 0: no limit.
    pub sign_ins_per_minute: u32,
}

/// The pace a request body must keep: after `grace`, at least
/// `min_bytes_per_sec` on average since its request began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyPace {
    pub grace: Duration,
    pub min_bytes_per_sec: u64,
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
            allowed_hosts: Vec::new(),
            body_pace: Some(BodyPace {
                grace: Duration::from_secs(10),
                min_bytes_per_sec: 1024,
            }),
            max_connections: 10_000,
            connections_per_peer: 256,
            misses_per_minute: 120,
            sign_ins_per_minute: 10,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
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
    /// Jobs each slot claims ahead while jobs are short.
    pub claim_ahead: usize,
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
            claim_ahead: 8,
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
    /// What one revision may hold.
    pub fn file_limits(&self) -> crate::domain::submission::Limits {
        crate::domain::submission::Limits {
            max_bytes: self.max_snippet_bytes,
            max_files: self.max_files,
        }
    }

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
            claim_ahead: layer.claim_ahead.unwrap_or(defaults.claim_ahead),
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
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = match layer.workers {
            None | Some(0) => cores * JOBS_PER_CORE,
            Some(n) => n,
        };
        let max_snippet_bytes = layer.max_snippet_bytes.unwrap_or(DEFAULT_MAX_SNIPPET_BYTES);
        if max_snippet_bytes == 0 {
            return Err(SettingsError::Invalid {
                name: "max_snippet_bytes",
                problem: "must be at least 1".into(),
            });
        }
        let max_files = layer
            .max_files
            .unwrap_or(crate::domain::files::DEFAULT_MAX_FILES);
        let max_revisions = layer
            .max_revisions
            .unwrap_or(crate::domain::files::DEFAULT_MAX_REVISIONS);
        if max_files == 0 || max_revisions == 0 {
            return Err(SettingsError::Invalid {
                name: if max_files == 0 {
                    "max_files"
                } else {
                    "max_revisions"
                },
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
        let body_pace = match (layer.body_timeout_secs, layer.min_body_bytes_per_sec) {
            (Some(0.0), _) | (_, Some(0)) => None,
            (grace, pace) => {
                let default = defaults.body_pace.expect("the default paces bodies");
                Some(BodyPace {
                    grace: secs("body_timeout_secs", grace, default.grace)?,
                    min_bytes_per_sec: pace.unwrap_or(default.min_bytes_per_sec),
                })
            }
        };
        let allowed_hosts = layer
            .allowed_hosts
            .unwrap_or_default()
            .iter()
            .map(|raw| raw.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|host| !host.is_empty())
            .map(|host| {
                let plain = host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
                if plain {
                    Ok(host)
                } else {
                    Err(SettingsError::Invalid {
                        name: "allowed_hosts",
                        problem: format!(
                            "`{host}` is not a host name (letters, digits, `-` and `.`; no port)"
                        ),
                    })
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let limits = Limits {
            allowed_hosts,
            body_pace,
            max_connections: layer.max_connections.unwrap_or(defaults.max_connections),
            connections_per_peer: layer
                .connections_per_peer
                .unwrap_or(defaults.connections_per_peer),
            misses_per_minute: layer
                .misses_per_minute
                .unwrap_or(defaults.misses_per_minute),
            sign_ins_per_minute: layer
                .sign_ins_per_minute
                .unwrap_or(defaults.sign_ins_per_minute),
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
            highlighting_children: workers.min(cores),
            max_snippet_bytes,
            max_files,
            max_revisions,
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
    fn trusted_proxies_and_allowed_hosts_are_checked() {
        let layer = SettingsLayer {
            trusted_proxies: Some(vec!["nonsense".into()]),
            ..Default::default()
        };
        assert!(Settings::decide(layer).is_err());
        let layer = SettingsLayer {
            allowed_hosts: Some(vec!["Paste.Example.".into(), " ".into()]),
            ..Default::default()
        };
        assert_eq!(
            Settings::decide(layer).unwrap().limits.allowed_hosts,
            vec!["paste.example".to_owned()]
        );
        let layer = SettingsLayer {
            allowed_hosts: Some(vec!["paste.example:443".into()]),
            ..Default::default()
        };
        assert!(Settings::decide(layer).is_err());
    }

    #[test]
    fn bodies_are_paced_unless_either_pace_setting_is_zero() {
        let settings = Settings::decide(SettingsLayer::default()).unwrap();
        assert_eq!(
            settings.limits.body_pace,
            Some(BodyPace {
                grace: Duration::from_secs(10),
                min_bytes_per_sec: 1024
            })
        );
        for layer in [
            SettingsLayer {
                body_timeout_secs: Some(0.0),
                ..Default::default()
            },
            SettingsLayer {
                min_body_bytes_per_sec: Some(0),
                ..Default::default()
            },
        ] {
            assert_eq!(Settings::decide(layer).unwrap().limits.body_pace, None);
        }
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
