//! Every example in the README, run as written against live servers: the
//! curl lines, the operators' example, the command line's lines, and the
//! several-node lines. Only what a reader would change is changed: the
//! port, the `<id>` and `<owner_token>` placeholders (from what the lines
//! before answered), a temporary path, and local addresses for the
//! several-node placeholders.

mod common;

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{TestApp, pg::PgDatabase};

const BIN: &str = env!("CARGO_BIN_EXE_highlighter");
const ADMIN_TOKEN: &str = "readme-admin-token-0123456789";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The README's `sh` blocks, each as its commands (continuation lines
/// joined, comments kept: bash ignores them).
fn blocks() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    let mut pending = String::new();
    for line in readme.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(commands), text) => {
                if let Some(start) = text.strip_suffix('\\') {
                    pending.push_str(start);
                    continue;
                }
                pending.push_str(text);
                if !pending.trim().is_empty() {
                    commands.push(std::mem::take(&mut pending));
                }
                pending.clear();
            }
            _ => {}
        }
    }
    blocks
}

/// The block whose first command contains `marker`.
fn block(blocks: &[Vec<String>], marker: &str) -> Vec<String> {
    blocks
        .iter()
        .find(|b| b.iter().any(|c| c.contains(marker)))
        .unwrap_or_else(|| panic!("a README block with {marker:?}"))
        .clone()
}

/// What the lines before answered: the placeholders' values.
#[derive(Default)]
struct Seen {
    id: Option<String>,
    token: Option<String>,
}

impl Seen {
    fn learn(&mut self, output: &str) {
        for line in output.lines() {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(line.trim()) {
                if let Some(id) = value["id"].as_str() {
                    self.id = Some(id.to_owned());
                }
                if let Some(token) = value["owner_token"].as_str() {
                    self.token = Some(token.to_owned());
                }
            }
            if let Some((_, id)) = line.trim().rsplit_once("/s/") {
                let id: String = id.chars().take_while(char::is_ascii_alphanumeric).collect();
                if id.len() == 12 {
                    self.id = Some(id);
                }
            }
        }
    }

    fn fill(&self, command: &str) -> String {
        let mut command = command.to_owned();
        if command.contains("<id>") {
            command = command.replace("<id>", self.id.as_deref().expect("an id seen before"));
        }
        if command.contains("<owner_token>") {
            command = command.replace(
                "<owner_token>",
                self.token.as_deref().expect("a token seen before"),
            );
        }
        command
    }
}

/// Runs one command line with bash in the repository, as a reader would.
fn run(command: &str, env: &[(&str, String)]) -> (bool, String, String) {
    let mut bash = Command::new("bash");
    bash.arg("-c")
        .arg(command)
        .current_dir(repo())
        .stdin(Stdio::null());
    for (key, value) in env {
        bash.env(key, value);
    }
    let out = bash.output().expect("bash runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `highlighter` where a command starts (alone, or after a pipe) is the
/// binary just built.
fn with_binary(command: &str) -> String {
    let mut out = String::new();
    for (n, part) in command.split(" | ").enumerate() {
        if n > 0 {
            out.push_str(" | ");
        }
        match part.strip_prefix("highlighter ") {
            Some(rest) => {
                out.push_str(BIN);
                out.push(' ');
                out.push_str(rest);
            }
            None => out.push_str(part),
        }
    }
    out
}

#[tokio::test]
async fn the_api_operator_and_command_line_examples_run_as_written() {
    let app = TestApp::spawn_with(|s| s.admin_token = Some(ADMIN_TOKEN.to_owned()), None).await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let config = tempfile::tempdir().unwrap();
    let backup = config.path().join("backup.db");
    let env = vec![
        ("HIGHLIGHTER_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("HIGHLIGHTER_SERVER", app.base.clone()),
        ("XDG_CONFIG_HOME", config.path().display().to_string()),
        (
            "HIGHLIGHTER_DATABASE_URL",
            format!("sqlite://{}", app.database_path().display()),
        ),
    ];
    let blocks = blocks();
    let mut seen = Seen::default();
    let mut ran = 0;
    let examples = [
        block(&blocks, "localhost:3000/api/snippets?filename=main.rs"),
        block(&blocks, "/api/admin/jobs/retry"),
        block(&blocks, "highlighter paste"),
    ];
    for command in examples.iter().flatten() {
        let command = with_binary(
            &seen
                .fill(command)
                .replace("localhost:3000", &format!("127.0.0.1:{port}"))
                .replace("/tmp/highlighter-backup.db", backup.to_str().unwrap()),
        );
        let runs = {
            let command = command.clone();
            let env = env.clone();
            tokio::task::spawn_blocking(move || run(&command, &env))
        };
        let (ok, stdout, stderr) = tokio::time::timeout(Duration::from_secs(60), runs)
            .await
            .unwrap_or_else(|_| panic!("{command} did not end"))
            .unwrap();
        assert!(ok, "{command}\nstdout: {stdout}\nstderr: {stderr}");
        assert!(
            !stdout.contains("\"error\""),
            "{command} was refused: {stdout}"
        );
        seen.learn(&stdout);
        ran += 1;
    }
    assert!(ran >= 10, "every example ran ({ran})");
    // What they did: a snippet of two files got revision 2 (curl), the
    // command line's snippet was edited then deleted, and the backup is
    // a database.
    assert!(std::fs::metadata(&backup).unwrap().len() > 0);
    app.stop().await;
}

/// Waits for `/api/health` on `port`.
async fn healthy(port: u16, limit: Duration) -> bool {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let answer = client
            .get(format!("http://127.0.0.1:{port}/api/health"))
            .send()
            .await;
        if answer.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_several_node_lines_start_nodes_on_one_postgres() {
    let database = PgDatabase::create().await;
    let blocks = blocks();
    let lines = block(&blocks, "HIGHLIGHTER_ROLE=worker");
    // The placeholder database, made a local one.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("export HIGHLIGHTER_DATABASE_URL=postgres://")),
        "the database line"
    );
    let export = format!("export HIGHLIGHTER_DATABASE_URL={}", database.url);
    let site = tempfile::tempdir().unwrap();
    let config = site.path().join("empty.toml");
    std::fs::write(&config, "").unwrap();
    let mut nodes = Vec::new();
    for line in lines.iter().filter(|l| l.contains("./highlighter")) {
        let port = free_port();
        let command = line
            .replace("./highlighter", BIN)
            .replace("0.0.0.0:3000", &format!("127.0.0.1:{port}"))
            .replace("0.0.0.0:3001", &format!("127.0.0.1:{port}"));
        let mut bash = Command::new("bash");
        // A group of its own: stopping it stops the node bash started.
        std::os::unix::process::CommandExt::process_group(&mut bash, 0);
        let child = bash
            .arg("-c")
            .arg(format!("{export}\n{command}"))
            .env("HIGHLIGHTER_CONFIG", &config)
            .env("HIGHLIGHTER_ENGINE", "syntect")
            .current_dir(repo())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        nodes.push((line.clone(), port, child));
    }
    assert_eq!(nodes.len(), 3, "three node lines");
    for (line, port, _) in &nodes {
        assert!(
            healthy(*port, Duration::from_secs(60)).await,
            "{line} did not serve /api/health"
        );
    }
    // The web node stores; the worker node highlights.
    let client = reqwest::Client::new();
    let web = nodes
        .iter()
        .find(|(l, _, _)| l.contains("ROLE=web"))
        .unwrap()
        .1;
    let created: serde_json::Value = client
        .post(format!("http://127.0.0.1:{web}/api/snippets"))
        .json(&serde_json::json!({ "code": "x = 1\n", "language": "python" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let snippet: serde_json::Value = client
            .get(format!("http://127.0.0.1:{web}/api/snippets/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if snippet["state"] == "succeeded" {
            break;
        }
        assert!(Instant::now() < deadline, "highlighted by the workers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (_, _, mut child) in nodes {
        unsafe { libc::kill(-(child.id() as i32), libc::SIGTERM) };
        let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    }
}
