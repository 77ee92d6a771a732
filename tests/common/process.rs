//! The real server binary as a child process: for crash and shutdown tests.

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    lines: mpsc::Receiver<String>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl ServerProcess {
    /// Starts the binary on a free port with `db` and extra settings, and
    /// returns once it logs that it is listening.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> ServerProcess {
        let (mut child, base) = Self::spawn(dir, env);
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[server] {line}");
                let _ = tx.send(line);
            }
        });
        let server = ServerProcess { child, base, lines };
        server.wait_for_log("listening", Duration::from_secs(60));
        server
    }

    /// Starts the binary with its stderr on a pipe, reads until it listens,
    /// then closes the pipe's reading end: every later log line fails to be
    /// written (EPIPE), as when a supervisor holding the pipe has died.
    pub fn start_then_close_stderr(dir: &Path, env: &[(&str, &str)]) -> ServerProcess {
        let (mut child, base) = Self::spawn(dir, env);
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while stderr.read_line(&mut line).unwrap_or(0) > 0 && !line.contains("listening") {
            line.clear();
        }
        assert!(line.contains("listening"), "the server did not start");
        drop(stderr);
        let (_, lines) = mpsc::channel();
        ServerProcess { child, base, lines }
    }

    fn spawn(dir: &Path, env: &[(&str, &str)]) -> (Child, String) {
        let port = free_port();
        let config = dir.join("empty.toml");
        std::fs::write(&config, "").unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_highlighter"));
        command
            .env("HIGHLIGHTER_CONFIG", &config)
            .env("HIGHLIGHTER_ADDR", format!("127.0.0.1:{port}"))
            .env(
                "HIGHLIGHTER_DATABASE_URL",
                format!("sqlite://{}", dir.join("server.db").display()),
            )
            .env("NO_COLOR", "1")
            // Every test client is 127.0.0.1: per-client limits off.
            .env("HIGHLIGHTER_SUBMIT_PER_MINUTE", "0")
            .env("HIGHLIGHTER_STREAMS_PER_CLIENT", "0")
            .env("RUST_LOG", "info,sqlx=warn,tower_http=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("server binary starts");
        (child, format!("http://127.0.0.1:{port}"))
    }

    pub fn wait_for_log(&self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(_) => panic!("the server did not log {needle:?} within {limit:?}"),
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn sigkill(&mut self) {
        self.child.kill().expect("SIGKILL sent");
        self.child.wait().expect("reaped");
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit, up to `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
