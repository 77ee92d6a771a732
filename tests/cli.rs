//! The command line against a real server: `paste --follow` (link,
//! progress, exit status), its one-line failures, `edit` and `delete` with
//! the kept token, `check`, `backup` under load, and the server's logs
//! (no colour codes in a file, JSON when asked).

mod common;

use std::{
    path::Path,
    process::{Command, Output, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use common::{
    TestApp,
    engines::{FlakyEngine, GatedEngine},
};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_highlighter");

/// Runs the binary with a config directory of its own (where tokens go).
fn highlighter(config: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("XDG_CONFIG_HOME", config)
        .env("HOME", config)
        .env_remove("HIGHLIGHTER_SERVER")
        .env_remove("HIGHLIGHTER_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

/// `highlighter` in a blocking task: the test's server keeps running.
async fn run(config: &Path, args: &[&str]) -> Output {
    let config = config.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        highlighter(&config, &args)
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn paste_follow_prints_the_link_shows_progress_and_exits_0_once_highlighted() {
    // Each file waits for the gate: the command's stream is open before
    // anything is highlighted, so it sees the job go.
    let engine = GatedEngine::new();
    let app = TestApp::spawn_with(|_| {}, Some(engine.clone())).await;
    let config = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.rs");
    std::fs::write(&main, "fn main() {\n    println!(\"from the cli\");\n}\n").unwrap();
    let toml = dir.path().join("Cargo.toml");
    std::fs::write(&toml, "[package]\nname = \"cli\"\n").unwrap();
    let mut child = Command::new(BIN)
        .args([
            "paste",
            "--server",
            &app.base,
            "--follow",
            main.to_str().unwrap(),
            toml.to_str().unwrap(),
        ])
        .env("XDG_CONFIG_HOME", config.path())
        .env("HOME", config.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let link = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        line.trim().to_owned()
    })
    .await
    .unwrap();
    let id = link
        .strip_prefix(&format!("{}/s/", app.base))
        .unwrap_or_else(|| panic!("an absolute link: {link}"))
        .to_owned();
    let snippet_id = highlighter::domain::SnippetId::parse(&id).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !app.state.hub.follows(&snippet_id) {
        assert!(
            Instant::now() < deadline,
            "the command never followed the snippet"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    engine.open(2);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Progress was shown (lines: stderr is not a terminal), file by file,
    // then the end.
    assert!(stderr.lines().any(|l| l == "highlighting"), "{stderr}");
    assert!(stderr.contains("highlighting Cargo.toml"), "{stderr}");
    assert!(
        stderr.lines().last().unwrap().starts_with("highlighted in"),
        "{stderr}"
    );
    let id = id.as_str();
    let snippet = app.snippet(id).await;
    assert_eq!(snippet["state"], "succeeded");
    let names: Vec<&str> = snippet["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["main.rs", "Cargo.toml"]);

    // The kept token edits and deletes it.
    std::fs::write(&main, "fn main() {}\n").unwrap();
    let out = run(
        config.path(),
        &["edit", "--server", &app.base, id, main.to_str().unwrap()],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("(revision 2)"));
    let snippet = app.snippet(id).await;
    assert_eq!(snippet["revision"], 2);
    assert_eq!(snippet["files"][0]["code"], "fn main() {}\n");
    let out = run(config.path(), &["delete", "--server", &app.base, id]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(app.get(&format!("/api/snippets/{id}")).await.status(), 410);
    // Another account has no token for it: one clear line.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = run(elsewhere.path(), &["delete", "--server", &app.base, id]).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no owner token"), "{stderr}");
    app.stop().await;
}

#[tokio::test]
async fn a_failed_job_exits_non_zero_with_its_reason() {
    let engine = FlakyEngine::new(0);
    engine.fail_permanently(true);
    let app = TestApp::spawn_with(|s| s.max_attempts = Some(1), Some(engine)).await;
    let config = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.py");
    std::fs::write(&file, "x = 1\n").unwrap();
    let out = run(
        config.path(),
        &[
            "paste",
            "--server",
            &app.base,
            "--follow",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("highlighting failed: the engine refuses this input"),
        "{stderr}"
    );
    // The link was printed all the same: the snippet exists.
    assert!(text(&out.stdout).starts_with(&format!("{}/s/", app.base)));
    app.stop().await;
}

#[tokio::test]
async fn refusals_and_an_unreachable_server_are_one_line_each() {
    let app = TestApp::spawn_with(
        |s| {
            s.submit_per_minute = Some(1);
            s.submit_burst = Some(1);
            s.max_snippet_bytes = Some(100);
        },
        None,
    )
    .await;
    let config = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.txt");
    std::fs::write(&big, "y".repeat(500)).unwrap();
    let small = dir.path().join("small.txt");
    std::fs::write(&small, "ok\n").unwrap();

    let too_large = run(
        config.path(),
        &["paste", "--server", &app.base, big.to_str().unwrap()],
    )
    .await;
    assert_eq!(too_large.status.code(), Some(1));
    let stderr = text(&too_large.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("100"), "the limit is named: {stderr}");

    // The first paste uses the burst; the second is over the limit.
    let mut limited = None;
    for _ in 0..3 {
        let out = run(
            config.path(),
            &["paste", "--server", &app.base, small.to_str().unwrap()],
        )
        .await;
        if !out.status.success() {
            limited = Some(out);
            break;
        }
    }
    let limited = limited.expect("a paste over the limit is refused");
    let stderr = text(&limited.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("try again in"), "{stderr}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = format!("http://127.0.0.1:{port}");
    let out = run(
        config.path(),
        &["paste", "--server", &nowhere, small.to_str().unwrap()],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot reach {nowhere}")),
        "{stderr}"
    );
    app.stop().await;
}

#[test]
fn check_says_what_is_wrong_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("settings.toml");
    std::fs::write(&config, "lease_secs = -3\n").unwrap();
    let out = highlighter(dir.path(), &["check", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("lease_secs"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(&config, "max_files = 5\n").unwrap();
    let out = highlighter(dir.path(), &["check", "--config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("5 files"));
}

/// A backup taken while snippets keep coming holds every snippet that was
/// acknowledged before it began, and a server runs on it.
#[tokio::test]
async fn a_backup_during_submits_holds_everything_acknowledged_before_it() {
    let app = TestApp::spawn().await;
    let database = app.database_path();
    let keep_submitting = tokio_util::sync::CancellationToken::new();
    let acknowledged_so_far = Arc::new(AtomicUsize::new(0));
    let submitter = {
        let client = app.client.clone();
        let base = app.base.clone();
        let stop = keep_submitting.clone();
        let counter = Arc::clone(&acknowledged_so_far);
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut n = 0;
            while !stop.is_cancelled() {
                n += 1;
                let response = client
                    .post(format!("{base}/api/snippets"))
                    .json(&json!({ "code": format!("snippet_{n} = {n}\n") }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 201);
                let body: Value = response.json().await.unwrap();
                acknowledged.push((Instant::now(), body["id"].as_str().unwrap().to_owned()));
                counter.fetch_add(1, Ordering::SeqCst);
            }
            acknowledged
        })
    };
    // Some snippets land before the backup begins.
    let waited = Instant::now();
    while acknowledged_so_far.load(Ordering::SeqCst) < 3 {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "three submits were acknowledged within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = copy_dir.path().join("backup.db");
    let began = Instant::now();
    let out = run(
        copy_dir.path(),
        &[
            "backup",
            copy.to_str().unwrap(),
            "--database-url",
            &format!("sqlite://{}", database.display()),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    keep_submitting.cancel();
    let acknowledged = submitter.await.unwrap();
    let before: Vec<&String> = acknowledged
        .iter()
        .filter(|(at, _)| *at < began)
        .map(|(_, id)| id)
        .collect();
    assert!(
        before.len() >= 3,
        "snippets were acknowledged before the backup"
    );
    assert!(
        acknowledged.len() > before.len(),
        "and submits went on while it ran"
    );
    app.stop().await;

    let restored = TestApp::spawn_with(
        |s| s.database_url = Some(format!("sqlite://{}", copy.display())),
        None,
    )
    .await;
    for id in before {
        let answer = restored.get(&format!("/api/snippets/{id}")).await;
        assert_eq!(answer.status(), 200, "{id} is in the backup");
    }
    // A second backup to the same place is refused, the first kept.
    let again = run(
        copy_dir.path(),
        &[
            "backup",
            copy.to_str().unwrap(),
            "--database-url",
            &format!("sqlite://{}", restored.database_path().display()),
        ],
    )
    .await;
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("exists already"));
    restored.stop().await;
}

/// Starts the server binary with `env`, waits until it answers, stops it,
/// and returns what it wrote on stderr (a file, not a terminal).
async fn server_log(env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.path().join("server.log");
    std::fs::write(dir.path().join("empty.toml"), "").unwrap();
    let mut command = Command::new(BIN);
    command
        .env("HIGHLIGHTER_CONFIG", dir.path().join("empty.toml"))
        .env("HIGHLIGHTER_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "HIGHLIGHTER_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("db.sqlite").display()),
        )
        .env("HIGHLIGHTER_ENGINE", "syntect")
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let up = client
            .get(format!("http://127.0.0.1:{port}/api/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = client
        .get(format!(
            "http://127.0.0.1:{port}/api/snippets/nosuchsnippet"
        ))
        .send()
        .await;
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    std::fs::read_to_string(log).unwrap()
}

#[tokio::test]
async fn logs_in_a_file_have_no_colour_codes_and_json_is_one_object_a_line() {
    let text_log = server_log(&[]).await;
    assert!(text_log.contains("listening"), "{text_log}");
    assert!(
        !text_log.contains('\u{1b}'),
        "escape codes in a file: {text_log:?}"
    );
    let json_log = server_log(&[("HIGHLIGHTER_LOG_FORMAT", "json")]).await;
    let lines: Vec<&str> = json_log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "{json_log}");
    for line in &lines {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(
            value["level"].is_string() && value["fields"].is_object(),
            "{line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"message\":\"listening\"")),
        "{json_log}"
    );
}
