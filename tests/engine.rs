//! The default engine, through the real app: tree-sitter (in its child
//! processes) for the languages it serves, syntect for the rest, one class
//! vocabulary for both; no paste can take the server down, and every
//! pathological paste ends, highlighted, in time.

mod common;

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use common::{TestApp, html_text};
use highlighter::server::{
    highlight::{
        IsolatedTreeSitter, Languages, NativeEngine, SyntectEngine,
        isolate::{CRASH_ON_ENV, HANG_ON_ENV},
    },
    settings::SettingsLayer,
};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// The samples of `tests/fixtures/quality.txt`, by catalogue name.
fn samples() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/quality.txt"
    ))
    .unwrap();
    text.split("\n== ")
        .skip(1)
        .map(|section| {
            let (language, code) = section.split_once('\n').unwrap();
            (language.trim().to_owned(), code.to_owned())
        })
        .collect()
}

/// The classes a sample must show: a keyword, a string, a comment and a
/// number, or what the language has instead.
fn expected_classes(language: &str) -> &'static [&'static str] {
    match language {
        // Markup: tags, attribute names, values, comments.
        "HTML" => &["tg", "at", "s", "c"],
        // Headings, emphasis, inline code, links.
        "Markdown" => &["h", "em", "s", "u"],
        // Data: keys (tags, as Pygments colours them), strings, numbers,
        // literals; no keywords, no comments.
        "JSON" => &["tg", "s", "n", "co"],
        "YAML" => &["pr", "s", "n", "c"],
        _ => &["k", "s", "c", "n"],
    }
}

#[tokio::test]
async fn every_quality_language_gets_keyword_string_comment_and_number() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for (language, code) in samples() {
        let response = app
            .post_json(&json!({ "code": code, "language": language }))
            .await;
        assert_eq!(response.status(), 201, "{language}");
        let id = response.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        ids.push((language, code, id));
    }
    assert_eq!(ids.len(), 20);
    let mut failures = Vec::new();
    for (language, code, id) in ids {
        let event = app.wait_final(&id).await;
        assert_eq!(event.event, "highlighted", "{language}");
        let html = event.json()["html"].as_str().unwrap().to_owned();
        assert_eq!(html_text(&html), code, "{language}: the text round-trips");
        for class in expected_classes(&language) {
            if !html.contains(&format!("<x-{class}>")) {
                failures.push(format!("{language} lacks {class}: {html}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    app.stop().await;
}

fn server_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_highlighter"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_child_takes_no_one_down_and_its_snippet_still_succeeds() {
    // The children crash, with a real SIGSEGV, on any snippet holding the
    // marker: what a grammar with a bad scanner would do.
    let shutdown = CancellationToken::new();
    let pool = Arc::new(IsolatedTreeSitter::start_with_env(
        server_binary(),
        1,
        shutdown.clone(),
        vec![(CRASH_ON_ENV.to_owned(), "CRASH_ME".to_owned())],
    ));
    assert!(pool.wait_ready(1, Duration::from_secs(60)).await);
    let languages = Languages::load();
    let engine = Arc::new(NativeEngine::new(
        SyntectEngine::new(languages.clone()),
        Some(Arc::clone(&pool)),
    ));
    let app = TestApp::spawn_with(|s| s.workers = Some(1), Some(engine)).await;
    // A normal snippet goes through the child, and one other keeps a
    // stream open while the crash happens.
    let before = app
        .submit("fn main() { let n = 42; }\n", Some("rust"))
        .await;
    assert_eq!(app.wait_final(&before).await.event, "highlighted");
    let mut bystander = app.events(&before).await;
    let code = "def f():\n    return 'CRASH_ME'  # a grammar's worst nightmare\n";
    let id = app.submit(code, Some("python")).await;
    let event = app.wait_final(&id).await;
    assert_eq!(event.event, "highlighted", "syntect took the snippet over");
    let html = event.json()["html"].as_str().unwrap().to_owned();
    assert_eq!(html_text(&html), code);
    assert!(html.contains("<x-k>def</x-k>"), "still highlighted: {html}");
    assert_eq!(
        app.get("/api/health").await.status(),
        200,
        "the server is up"
    );
    assert!(
        bystander
            .next_within(Duration::from_secs(5))
            .await
            .is_some(),
        "open streams are untouched"
    );
    // The child is replaced, and the next snippet is tree-sitter's again.
    assert!(pool.wait_ready(1, Duration::from_secs(60)).await);
    assert_eq!(pool.restarts(), 1);
    let next = app.submit("fn main() { let n = 7; }\n", Some("rust")).await;
    assert_eq!(app.wait_final(&next).await.event, "highlighted");
    assert_eq!(pool.restarts(), 1, "no crash since");
    app.stop().await;
    shutdown.cancel();
}

/// The real time-limit path, with a real child: a grammar caught in a loop
/// (deaf to its budget, as C code can be) is killed once its share of the
/// budget and the grace are spent, the pool replaces it, and syntect
/// finishes the snippet in the time left: highlighted, within the job's
/// limit, never failed for time (see `highlight::native` and the time-out
/// end in `jobs::worker`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_child_is_killed_and_replaced_and_its_snippet_still_succeeds_in_time() {
    let shutdown = CancellationToken::new();
    let pool = Arc::new(IsolatedTreeSitter::start_with_env(
        server_binary(),
        1,
        shutdown.clone(),
        vec![(HANG_ON_ENV.to_owned(), "HANG_ME".to_owned())],
    ));
    assert!(pool.wait_ready(1, Duration::from_secs(60)).await);
    let languages = Languages::load();
    let engine = Arc::new(NativeEngine::new(
        SyntectEngine::new(languages.clone()),
        Some(Arc::clone(&pool)),
    ));
    let limit = Duration::from_secs(4);
    let app = TestApp::spawn_with(
        |s| {
            s.workers = Some(1);
            s.job_timeout_secs = Some(limit.as_secs_f64());
        },
        Some(engine),
    )
    .await;
    let code = "def f():\n    return 'HANG_ME'  # a grammar caught in a loop\n";
    let submitted = Instant::now();
    let id = app.submit(code, Some("python")).await;
    let event = app.wait_final(&id).await;
    let took = submitted.elapsed();
    assert_eq!(event.event, "highlighted", "{:?}", event.data);
    let html = event.json()["html"].as_str().unwrap().to_owned();
    assert_eq!(html_text(&html), code);
    assert!(html.contains("<x-k>def</x-k>"), "syntect's colours: {html}");
    assert!(took < limit, "within the job's limit: {took:?}");
    assert_eq!(
        event.json()["highlighted_in_ms"]
            .as_u64()
            .map(|ms| ms >= 500),
        Some(true),
        "the child really held the snippet until it was killed"
    );
    assert_eq!(
        app.snippet(&id).await["attempts"],
        1,
        "one attempt, not a retry"
    );
    // The hung child was killed and replaced; the next snippet is
    // tree-sitter's again.
    assert!(pool.wait_ready(1, Duration::from_secs(60)).await);
    assert_eq!(pool.restarts(), 1, "the hung child was replaced");
    let next = app.submit("fn main() { let n = 7; }\n", Some("rust")).await;
    assert_eq!(app.wait_final(&next).await.event, "highlighted");
    assert_eq!(pool.restarts(), 1, "no hang since");
    assert_eq!(app.get("/api/health").await.status(), 200);
    app.stop().await;
    shutdown.cancel();
}

#[tokio::test]
async fn a_php_heredoc_highlights_and_the_server_stays_up() {
    let app = TestApp::spawn().await;
    let code = "<?php\necho <<<EOF\nTest\nEOF;\n";
    let id = app.submit(code, Some("php")).await;
    let event = app.wait_final(&id).await;
    assert_eq!(event.event, "highlighted", "{}", event.data);
    assert_eq!(html_text(event.json()["html"].as_str().unwrap()), code);
    assert_eq!(app.get("/api/health").await.status(), 200);
    app.stop().await;
}

fn pathological_settings(s: &mut SettingsLayer) {
    s.workers = Some(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pathological_pastes_all_end_highlighted_in_time_while_other_jobs_flow() {
    let app = TestApp::spawn_with(pathological_settings, None).await;
    let long_expression = format!("x = {}a;\n", "a+".repeat(200_000));
    let nested_python = format!("x = {}1{}\n", "(".repeat(20_000), ")".repeat(20_000));
    let one_line_json = format!(
        "[{}]",
        (0..50_000)
            .map(|i| format!("{{\"k\":{i}}}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let ruby_lines = "x = 1\n".repeat(50_000);
    let pastes = [
        ("javascript", long_expression),
        ("python", nested_python),
        (
            "json",
            one_line_json[..500_000.min(one_line_json.len())].to_owned(),
        ),
        ("ruby", ruby_lines),
    ];
    for (language, code) in &pastes {
        let started = Instant::now();
        let id = app.submit(code, Some(language)).await;
        // A normal job submitted behind it is not held up for long.
        let normal = app.submit("print('still here')\n", Some("python")).await;
        let event = app.wait_final(&id).await;
        let took = started.elapsed();
        assert_eq!(
            event.event,
            "highlighted",
            "{language}: {}",
            &event.data[..200.min(event.data.len())]
        );
        assert_eq!(
            html_text(event.json()["html"].as_str().unwrap()),
            *code,
            "{language}"
        );
        assert!(took < Duration::from_secs(10), "{language} took {took:?}");
        assert_eq!(app.wait_final(&normal).await.event, "highlighted");
        eprintln!("{language}: {} bytes highlighted in {took:?}", code.len());
    }
    app.stop().await;
}

/// A stand-in child that says it is ready and then only reads its jobs:
/// one whose grammars never finish compiling.
fn never_warm_child(dir: &std::path::Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("never-warm-child");
    std::fs::write(
        &path,
        "#!/bin/sh\nprintf 'R\\000\\000\\000\\000'\nexec cat > /dev/null\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A node runs more jobs at once than it has children: a job that finds
/// every child at work waits for one (and still honours a cancel meanwhile)
/// rather than leave the snippet to syntect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_finds_every_child_at_work_waits_for_one() {
    use highlighter::server::highlight::{CancelFlag, ProgressSink, isolate::IsolatedError};
    let shutdown = CancellationToken::new();
    let pool = Arc::new(IsolatedTreeSitter::start(
        server_binary(),
        1,
        shutdown.clone(),
    ));
    assert!(pool.wait_ready(1, Duration::from_secs(60)).await);
    // Seconds of work for the one child.
    let long = "x = [1, 2, 3]\n".repeat(200_000);
    let first = tokio::spawn({
        let pool = Arc::clone(&pool);
        async move {
            let (sink, _) = ProgressSink::new();
            pool.highlight(
                &long,
                "Python",
                &sink,
                &CancelFlag::default(),
                Duration::from_secs(60),
            )
            .await
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while pool.busy_child_pids().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the child never started the long job"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    let cancelled = CancelFlag::default();
    cancelled.cancel();
    let (sink, _) = ProgressSink::new();
    let gave_up = pool
        .highlight(
            "fn f() {}\n",
            "Rust",
            &sink,
            &cancelled,
            Duration::from_secs(60),
        )
        .await;
    assert!(
        matches!(gave_up, Err(IsolatedError::Cancelled)),
        "a cancelled job stops waiting: {gave_up:?}"
    );

    assert!(!first.is_finished(), "the long job is still in the child");
    let (sink, _) = ProgressSink::new();
    let waited = pool
        .highlight(
            "fn f() {}\n",
            "Rust",
            &sink,
            &CancelFlag::default(),
            Duration::from_secs(60),
        )
        .await
        .expect("the short job waits for the child, then gets it");
    assert!(waited.contains("<x-k>fn</x-k>"), "{waited}");
    assert!(
        first.is_finished(),
        "the short job ran after the long one, in the same child"
    );
    let long_result = first.await.unwrap();
    assert!(long_result.is_ok(), "{:?}", long_result.err());
    assert_eq!(pool.restarts(), 0, "no child was killed");
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_is_warm_once_every_child_has_compiled_its_grammars() {
    let shutdown = CancellationToken::new();
    let pool = IsolatedTreeSitter::start(server_binary(), 2, shutdown.clone());
    assert!(pool.wait_warm(Duration::from_secs(60)).await);
    assert!(pool.warmed());
    assert_eq!(pool.ready_children(), 2, "warm children are idle");

    let dir = tempfile::tempdir().unwrap();
    let cold = IsolatedTreeSitter::start(never_warm_child(dir.path()), 1, shutdown.clone());
    assert!(cold.wait_ready(1, Duration::from_secs(60)).await);
    assert!(
        !cold.wait_warm(Duration::from_millis(500)).await,
        "ready is not warm"
    );
    assert!(!cold.warmed());
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_asks_for_traffic_only_once_its_engine_is_warm() {
    // Children that never warm: the node serves (health), but says it is
    // starting (readiness).
    let dir = tempfile::tempdir().unwrap();
    let child = never_warm_child(dir.path());
    let cold = TestApp::spawn_with(|s| s.engine_program = Some(child), None).await;
    assert_eq!(cold.get("/api/health").await.status(), 200);
    let ready = cold.get("/api/ready").await;
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "starting", "{body}");
    cold.stop().await;

    // The real children warm within seconds, and the node says so.
    let app = TestApp::spawn().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = app.get("/api/ready").await;
        if ready.status() == 200 {
            let body: serde_json::Value = ready.json().await.unwrap();
            assert_eq!(body["status"], "ok", "{body}");
            break;
        }
        assert_eq!(ready.status(), 503);
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;

    // An engine with nothing to warm is ready at once.
    let languages = Languages::load();
    let syntect = Arc::new(SyntectEngine::new(languages.clone()));
    let plain = TestApp::spawn_with(|_| {}, Some(syntect)).await;
    assert_eq!(plain.get("/api/ready").await.status(), 200);
    plain.stop().await;
}
