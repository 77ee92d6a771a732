//! The job engine through the real app: retries, permanent failures,
//! panics, time limits, "Try again", pathological inputs.

mod common;

use std::{sync::atomic::Ordering, time::Duration};

use common::{
    TestApp,
    engines::{FlakyEngine, PanickingEngine, SpinningEngine},
    html_text,
};
use highlighter::server::settings::SettingsLayer;
use serde_json::{Value, json};

fn fast_retries(s: &mut SettingsLayer) {
    s.retry_base_secs = Some(0.02);
    s.retry_cap_secs = Some(0.1);
    s.poll_secs = Some(0.05);
}

fn names(events: &[common::SseEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

/// How each attempt ended, in order.
fn outcomes(events: &[common::SseEvent]) -> Vec<&str> {
    names(events)
        .into_iter()
        .filter(|n| matches!(*n, "retrying" | "highlighted" | "failed"))
        .collect()
}

#[tokio::test]
async fn a_job_that_fails_twice_then_succeeds_ends_succeeded_after_three_attempts() {
    let engine = FlakyEngine::gated(2);
    let app = TestApp::spawn_with(fast_retries, Some(engine.clone())).await;
    let id = app.submit("let x = 1;\n", Some("rust")).await;
    // Subscribe before any attempt runs, so no event can be missed.
    let mut stream = app.events(&id).await;
    engine.open();
    let events = stream.collect_until_end(Duration::from_secs(30)).await;
    let kinds = outcomes(&events);
    assert_eq!(kinds, ["retrying", "retrying", "highlighted"], "{events:?}");
    let first_retry = events
        .iter()
        .find(|e| e.event == "retrying")
        .unwrap()
        .json();
    assert_eq!(first_retry["attempt"], 1);
    assert!(
        first_retry["error"]
            .as_str()
            .unwrap()
            .contains("unavailable")
    );
    assert!(first_retry["next_attempt_at"].is_string());
    let snippet = app.snippet(&id).await;
    assert_eq!(snippet["state"], "succeeded");
    assert_eq!(snippet["attempts"], 3);
    app.stop().await;
}

#[tokio::test]
async fn transient_failures_end_failed_after_the_last_attempt_and_the_page_learns_it() {
    let engine = FlakyEngine::gated(100);
    let app = TestApp::spawn_with(
        |s| {
            fast_retries(s);
            s.max_attempts = Some(3);
        },
        Some(engine.clone()),
    )
    .await;
    let id = app.submit("x\n", None).await;
    let mut stream = app.events(&id).await;
    engine.open();
    let events = stream.collect_until_end(Duration::from_secs(30)).await;
    let kinds = outcomes(&events);
    assert_eq!(kinds, ["retrying", "retrying", "failed"]);
    let failed = events.last().unwrap().json();
    assert_eq!(failed["attempts"], 3);
    let poll = app.get(&format!("/api/snippets/{id}/highlighted")).await;
    assert_eq!(poll.status(), 422);
    assert!(
        poll.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("unavailable")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_permanent_error_fails_at_once_and_try_again_queues_it_anew() {
    let engine = FlakyEngine::new(0);
    engine.fail_permanently(true);
    let app = TestApp::spawn_with(fast_retries, Some(engine.clone())).await;
    let owned = app.submit_owned(json!({ "code": "x\n" })).await;
    let id = owned.id.clone();
    let event = app.wait_final(&id).await;
    assert_eq!(event.event, "failed");
    assert_eq!(
        event.json()["attempts"],
        1,
        "permanent errors are not retried"
    );

    // The page's "Try again" (a server function; the same service as this).
    engine.fail_permanently(false);
    let path = format!("/api/snippets/{id}/retry");
    let retry = app
        .as_owner(reqwest::Method::POST, &path, &owned.token)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 202);
    let event = app.wait_final(&id).await;
    assert_eq!(event.event, "highlighted");
    // Only failed snippets can be tried again.
    let again = app
        .as_owner(reqwest::Method::POST, &path, &owned.token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    app.stop().await;
}

#[tokio::test]
async fn a_panicking_engine_fails_the_job_and_the_next_job_runs() {
    let app = TestApp::spawn_with(|s| s.workers = Some(1), Some(PanickingEngine::new())).await;
    let bad = app.submit("PANIC\n", None).await;
    let event = app.wait_final(&bad).await;
    assert_eq!(event.event, "failed");
    assert!(event.json()["error"].as_str().unwrap().contains("crashed"));
    let good = app.submit("fine\n", None).await;
    assert_eq!(app.wait_final(&good).await.event, "highlighted");
    app.stop().await;
}

#[tokio::test]
async fn a_job_past_its_time_limit_fails_and_its_thread_stops() {
    let engine = SpinningEngine::new();
    let _spin_guard = engine.guard();
    let app = TestApp::spawn_with(
        |s| {
            s.workers = Some(1);
            s.job_timeout_secs = Some(0.5);
        },
        Some(engine.clone()),
    )
    .await;
    let id = app.submit("loop forever\n", None).await;
    let event = app.wait_final(&id).await;
    assert_eq!(event.event, "failed");
    assert!(
        event.json()["error"]
            .as_str()
            .unwrap()
            .contains("timed out")
    );
    assert_eq!(
        event.json()["attempts"],
        1,
        "an engine time-out is permanent"
    );
    // The spinning thread noticed the cancellation.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !engine.stopped.load(Ordering::SeqCst) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the engine thread is still spinning"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn pathological_inputs_end_in_time_and_a_normal_job_after_them_is_quick() {
    let app = TestApp::spawn_with(|s| s.workers = Some(1), None).await;
    let long_line = format!("let s = \"{}\";\n", "a".repeat(100_000));
    let brackets = "[".repeat(100_000);
    let nested_lines: String = (0..20_000).map(|_| "[\n").collect();
    let nested_one_line = format!("{}{}", "(".repeat(8_000), ")".repeat(8_000));
    let inputs = [
        (long_line.as_str(), "rust"),
        (brackets.as_str(), "javascript"),
        (nested_lines.as_str(), "json"),
        (nested_one_line.as_str(), "lisp"),
    ];
    for (code, language) in inputs {
        let id = app.submit(code, Some(language)).await;
        let event = app.wait_final(&id).await;
        // Ending is the requirement; highlighted is what we expect.
        assert_eq!(
            event.event,
            "highlighted",
            "{language}: {}",
            &event.data[..200.min(event.data.len())]
        );
        assert_eq!(html_text(event.json()["html"].as_str().unwrap()), code);
    }
    let id = app
        .submit("fn main() {\n    println!(\"hi\");\n}\n", Some("rust"))
        .await;
    let event = app.wait_final(&id).await;
    assert_eq!(event.event, "highlighted");
    let ms = event.json()["highlighted_in_ms"].as_u64().unwrap();
    assert!(
        ms < 1000,
        "a normal job took {ms} ms after the pathological ones"
    );
    app.stop().await;
}

#[tokio::test]
async fn lines_longer_than_16_kib_are_shown_plain() {
    let app = TestApp::spawn().await;
    let code = format!(
        "fn a() {{}}\nlet x = \"{}\";\nfn b() {{}}\n",
        "z".repeat(20_000)
    );
    let id = app.submit(&code, Some("rust")).await;
    let html = app.wait_final(&id).await.json()["html"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(html_text(&html), code);
    let long_start = html.find("zzzz").unwrap();
    let long_end = html.rfind("zzzz").unwrap();
    assert!(
        !html[long_start..long_end].contains('<'),
        "the long line carries no markup"
    );
    assert!(
        html.contains("<x-k>fn</x-k>"),
        "the other lines are highlighted"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_worker_whose_lease_was_taken_stops_at_its_next_progress_save() {
    let engine = SpinningEngine::new();
    let _spin_guard = engine.guard();
    // A long time limit and heartbeat: only the progress save can notice.
    let app = TestApp::spawn_with(
        |s| {
            s.job_timeout_secs = Some(60.0);
            s.lease_secs = Some(60.0);
            s.heartbeat_secs = Some(30.0);
            s.shutdown_grace_secs = Some(0.5);
        },
        Some(engine.clone()),
    )
    .await;
    let owned = app
        .submit_owned(json!({ "code": "x\n", "language": "text" }))
        .await;
    assert!(
        engine.spinning_within(Duration::from_secs(30)).await,
        "the job never started"
    );
    // Another language: a fresh job, and the running attempt's lease is void.
    let changed = app
        .as_owner(
            reqwest::Method::POST,
            &format!("/api/snippets/{}/language", owned.id),
            &owned.token,
        )
        .json(&json!({ "language": "python" }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 202);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !engine.stopped.load(Ordering::SeqCst) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stopped = engine.stopped.load(Ordering::SeqCst);
    // Stopping the app cancels whatever still spins; the guard stops it
    // too if the test fails before this.
    app.stop().await;
    assert!(stopped, "the fenced-out attempt kept running");
}

#[tokio::test]
async fn an_attempt_dropped_unfinished_stops_its_engine() {
    let engine = SpinningEngine::new();
    let _spin_guard = engine.guard();
    let app = TestApp::spawn_with(
        |s| {
            s.job_timeout_secs = Some(60.0);
            s.shutdown_grace_secs = Some(60.0);
        },
        Some(engine.clone()),
    )
    .await;
    app.submit_owned(json!({ "code": "x\n", "language": "text" }))
        .await;
    assert!(
        engine.spinning_within(Duration::from_secs(30)).await,
        "the job never started"
    );
    assert!(
        !engine.stopped.load(Ordering::SeqCst),
        "the engine is running"
    );
    // No shutdown, no grace period, no release: the attempt's future is
    // simply dropped with the worker pool that ran it.
    app.abort().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !engine.stopped.load(Ordering::SeqCst) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        engine.stopped.load(Ordering::SeqCst),
        "the engine of a dropped attempt kept running"
    );
}
