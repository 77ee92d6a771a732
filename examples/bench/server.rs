//! The server under test: the release binary as its own process, so the
//! load client's work and memory never mix with what is measured.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

pub struct Server {
    child: Child,
    /// The server is the process started (no profiler in between).
    wrapper_free: bool,
    binary: PathBuf,
    pub base: String,
    dir: tempfile::TempDir,
}

/// Where the binary and the site it serves live, from the command line.
#[derive(Clone, Debug)]
pub struct ServerFiles {
    pub binary: PathBuf,
    pub site_root: PathBuf,
    /// A profiler to run the server under (`perf record -g --`,
    /// `heaptrack`); memory figures are then the profiler's, not the server's.
    pub wrapper: Vec<String>,
}

impl Server {
    /// Starts the binary on a free 127.0.0.1 port with a fresh SQLite
    /// database and the defaults for everything else but `env`, and returns
    /// once it says it is ready for traffic, as a load balancer would wait.
    pub async fn start(files: &ServerFiles, env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let config = dir.path().join("empty.toml");
        std::fs::write(&config, "").expect("config written");
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let mut command = match files.wrapper.split_first() {
            Some((profiler, args)) => {
                let mut command = Command::new(profiler);
                command.args(args).arg(&files.binary);
                command
            }
            None => Command::new(&files.binary),
        };
        command
            .env("HIGHLIGHTER_CONFIG", &config)
            .env("HIGHLIGHTER_ADDR", format!("127.0.0.1:{port}"))
            .env(
                "HIGHLIGHTER_DATABASE_URL",
                format!("sqlite://{}", dir.path().join("bench.db").display()),
            )
            .env("LEPTOS_SITE_ROOT", &files.site_root)
            .env("RUST_LOG", "warn")
            // One load client stands for thousands of users: no per-client
            // limits, and room for every stream the suite opens.
            .env("HIGHLIGHTER_SUBMIT_PER_MINUTE", "0")
            .env("HIGHLIGHTER_STREAMS_PER_CLIENT", "0")
            .env("HIGHLIGHTER_MAX_STREAMS", "0")
            .env("HIGHLIGHTER_MAX_CONNECTIONS", "0")
            .env("HIGHLIGHTER_CONNECTIONS_PER_PEER", "0")
            .env("HIGHLIGHTER_MISSES_PER_MINUTE", "0")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (key, value) in env {
            command.env(key, value);
        }
        // Its own process group, so that stopping it reaches the server
        // under a profiler's wrapper script too.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", files.binary.display()));
        let server = Server {
            child,
            wrapper_free: files.wrapper.is_empty(),
            binary: files.binary.clone(),
            base: format!("http://127.0.0.1:{port}"),
            dir,
        };
        server.wait_ready(Duration::from_secs(60)).await;
        server
    }

    /// Waits for `/api/ready`, or for `/api/health` on a build from before
    /// readiness (builds are compared with one suite binary).
    async fn wait_ready(&self, limit: Duration) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + limit;
        let mut probe = "/api/ready";
        loop {
            let answer = client.get(format!("{}{probe}", self.base)).send().await;
            match &answer {
                Ok(r) if r.status().is_success() => return,
                Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => probe = "/api/health",
                _ => {}
            }
            assert!(
                Instant::now() < deadline,
                "the server did not become ready within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The resident set size of the server process, in bytes.
    pub fn rss_bytes(&self) -> u64 {
        resident_bytes(self.child.id())
    }

    /// CPU time the server has used so far: its own threads (runtime,
    /// SQLite) and, apart, its highlighting children, living and reaped.
    /// `None` under a profiler, whose process is not the server's.
    pub fn cpu(&self) -> Option<CpuTime> {
        if !self.wrapper_free {
            return None;
        }
        // SAFETY: sysconf only reads a system constant.
        let ticks = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok()?;
        let pid = self.child.id();
        let own = proc_stat(pid, ticks)?;
        let mut children = own.reaped;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(other) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(stat) = proc_stat(other, ticks).filter(|s| s.parent == pid) {
                children += stat.own;
            }
        }
        Some(CpuTime {
            server: own.own,
            children,
        })
    }

    /// The path of the log file, for when something goes wrong.
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM to the server alone (under a profiler, a child of the
        // wrapper): it shuts down cleanly, and the profiler, left running,
        // writes its data and exits.
        let _ = Command::new("pkill")
            .args(["-TERM", "-g", &self.child.id().to_string(), "-f"])
            .arg(&self.binary)
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

/// CPU time, user and system together.
#[derive(Clone, Copy, Debug)]
pub struct CpuTime {
    pub server: Duration,
    pub children: Duration,
}

impl std::ops::Sub for CpuTime {
    type Output = CpuTime;
    fn sub(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            server: self.server.saturating_sub(earlier.server),
            children: self.children.saturating_sub(earlier.children),
        }
    }
}

struct ProcStat {
    parent: u32,
    own: Duration,
    reaped: Duration,
}

/// A process's parent and CPU times from `/proc/<pid>/stat` (`man 5
/// proc`: fields 4, 14 + 15 and 16 + 17, in clock ticks of `ticks` a
/// second).
fn proc_stat(pid: u32, ticks: u64) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; it ends at the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    let time = |t: u64| Duration::from_secs_f64(t as f64 / ticks as f64);
    Some(ProcStat {
        parent: u32::try_from(field(4)?).ok()?,
        own: time(field(14)? + field(15)?),
        reaped: time(field(16)? + field(17)?),
    })
}

pub fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Submits `code` through the JSON API and returns the new snippet's id.
pub async fn submit(
    client: &reqwest::Client,
    base: &str,
    code: &str,
    filename: Option<&str>,
) -> Result<String, String> {
    let response = client
        .post(format!("{base}/api/snippets"))
        // Public, so that every home page hears of it (`created`).
        .json(&serde_json::json!({ "code": code, "filename": filename, "visibility": "public" }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != reqwest::StatusCode::CREATED {
        return Err(format!("submit answered {}", response.status()));
    }
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    body["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "no id in the submit answer".to_owned())
}

/// Waits until the snippet's result can be fetched.
pub async fn wait_highlighted(client: &reqwest::Client, base: &str, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = client
            .get(format!("{base}/api/snippets/{id}/highlighted"))
            .send()
            .await
            .expect("the server answers");
        if response.status() == reqwest::StatusCode::OK {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "snippet {id} was not highlighted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a `GET` of `url` answers, as JSON.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client
        .get(url)
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .unwrap_or_else(|e| panic!("{url} answers JSON: {e}"))
}

/// The snippet as the JSON API reads it (`GET /api/snippets/{id}`).
pub async fn snippet_json(client: &reqwest::Client, base: &str, id: &str) -> Value {
    get_json(client, &format!("{base}/api/snippets/{id}")).await
}

/// True when `path` exists: the binary must be built before the suite runs.
pub fn require(path: &Path, hint: &str) {
    assert!(path.exists(), "{} is missing: {hint}", path.display());
}
