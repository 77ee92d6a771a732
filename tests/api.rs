//! The HTTP contract, driven against the real app on port 0 with a fresh
//! SQLite database per test.

mod common;

use std::time::Duration;

use common::{TestApp, engines::GatedEngine, html_text, without_comments};
use serde_json::{Value, json};

const RUST: &str = "fn main() {\n    println!(\"hello, <world> & friends\");\n}\n";

#[tokio::test]
async fn a_stream_opened_while_pending_receives_progress_and_the_result() {
    let engine = GatedEngine::new();
    let app = TestApp::spawn_with(|_| {}, Some(engine.clone())).await;
    let id = app.submit(RUST, Some("rust")).await;

    let mut stream = app.events(&id).await;
    assert_eq!(stream.status, 200);
    let first = stream.next_within(Duration::from_secs(10)).await.unwrap();
    assert_eq!(first.event, "state", "the first event is always the state");
    assert!(
        first.retry.is_some(),
        "the first event carries a retry hint"
    );
    let state = first.json()["state"].as_str().unwrap().to_owned();
    assert!(state == "queued" || state == "processing", "got {state}");

    engine.open(1);
    let events = stream.collect_until_end(Duration::from_secs(30)).await;
    let last = events.last().expect("events after the gate opened");
    assert_eq!(last.event, "highlighted");
    let data = last.json();
    assert_eq!(data["id"], id.as_str());
    assert_eq!(data["language"], "Rust");
    assert!(data["highlighted_in_ms"].is_u64());
    assert_eq!(html_text(data["html"].as_str().unwrap()), RUST);

    // Ids count this stream's events, 1, 2, 3..., and nothing else: a
    // stream learns nothing of what happens to other snippets.
    let mut ids = vec![first.id.clone().unwrap().parse::<u64>().unwrap()];
    ids.extend(
        events
            .iter()
            .map(|e| e.id.clone().unwrap().parse::<u64>().unwrap()),
    );
    let counted: Vec<u64> = (1..=ids.len() as u64).collect();
    assert_eq!(ids, counted, "ids count the stream's events");
    // Progress, when it is sent, counts bytes (of every file together).
    for e in events.iter().filter(|e| e.event == "progress") {
        assert_eq!(e.json()["total"], RUST.len());
    }
    app.stop().await;
}

/// Failed snapshot reads of event streams so far, by `/metrics` (the
/// counter is the process's; only this test of the file makes any fail).
async fn snapshot_failures(app: &TestApp) -> u64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("highlighter_stream_snapshot_failures_total "))
        .map_or(0, |n| n.trim().parse::<f64>().unwrap() as u64)
}

/// A database blip (a restart, a failover) fails the re-read a resync
/// asks for: both kinds of stream try again and keep going, instead of
/// ending and sending every page to reconnect at once.
#[tokio::test]
async fn streams_whose_resync_read_fails_try_again_and_still_get_the_result() {
    let engine = GatedEngine::new();
    let app = TestApp::spawn_with(|_| {}, Some(engine.clone())).await;
    let id = app.submit(RUST, Some("rust")).await;
    let mut snippet = app.events(&id).await;
    let mut list = common::sse::SseClient::connect(
        &app.client,
        &app.url(&format!("/api/events?snippets={id}")),
    )
    .await;
    for stream in [&mut snippet, &mut list] {
        let first = stream.next_within(Duration::from_secs(10)).await.unwrap();
        assert_eq!(first.event, "state");
    }

    // The snippets are unreadable for a moment (as they would be while
    // the database restarts), and the hub asks every stream to re-read.
    let database =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", app.database_path().display()))
            .await
            .unwrap();
    let failed_before = snapshot_failures(&app).await;
    sqlx::query("ALTER TABLE snippets RENAME TO snippets_away")
        .execute(&database)
        .await
        .unwrap();
    app.state.hub.resync_all();
    // Both streams' first re-reads fail (the tables are away) before the
    // database comes back: the retry is what this test is about.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while snapshot_failures(&app).await < failed_before + 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the streams' re-reads did not fail while the tables were away"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sqlx::query("ALTER TABLE snippets_away RENAME TO snippets")
        .execute(&database)
        .await
        .unwrap();

    engine.open(1);
    let events = snippet.collect_until_end(Duration::from_secs(30)).await;
    let last = events.last().expect("events after the blip");
    assert_eq!(last.event, "highlighted", "{events:?}");
    assert_eq!(html_text(last.json()["html"].as_str().unwrap()), RUST);
    loop {
        let event = list
            .next_within(Duration::from_secs(30))
            .await
            .expect("the list stream is still open");
        // A list's batch may fold the result into the snippet's state.
        let data = event.json();
        if event.event == "highlighted" || data["state"] == "succeeded" {
            assert_eq!(data["id"], id.as_str());
            break;
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_subscriber_arriving_after_completion_gets_state_then_result_at_once() {
    let app = TestApp::spawn().await;
    let id = app.submit(RUST, None).await;
    app.wait_final(&id).await;

    let mut late = app.events(&id).await;
    let events = late.collect_until_end(Duration::from_secs(5)).await;
    let names: Vec<_> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["state", "highlighted"]);
    assert_eq!(events[0].json()["state"], "succeeded");
    assert_eq!(html_text(events[1].json()["html"].as_str().unwrap()), RUST);
    app.stop().await;
}

#[tokio::test]
async fn polling_answers_204_while_pending_then_200_with_the_fragment() {
    let engine = GatedEngine::new();
    let app = TestApp::spawn_with(|_| {}, Some(engine.clone())).await;
    let id = app.submit(RUST, Some("rs")).await;
    let poll = app.url(&format!("/api/snippets/{id}/highlighted"));

    let pending = app.client.get(&poll).send().await.unwrap();
    assert_eq!(pending.status(), 204);

    engine.open(1);
    app.wait_final(&id).await;
    let done = app.client.get(&poll).send().await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(
        done.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = done.text().await.unwrap();
    assert_eq!(html_text(&html), RUST);
    app.stop().await;
}

#[tokio::test]
async fn the_snippet_json_has_the_documented_fields() {
    let app = TestApp::spawn().await;
    let created = app
        .post_json(&json!({ "code": RUST, "language": null, "filename": "main.rs" }))
        .await;
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 12);
    // Absolute: from the request's host (no public origin is set).
    assert_eq!(body["url"], app.url(&format!("/s/{id}")));
    assert_eq!(body["state"], "queued");

    app.wait_final(&id).await;
    let snippet = app.snippet(&id).await;
    assert_eq!(snippet["id"], id.as_str());
    assert_eq!(snippet["language"], "Rust", "detected from main.rs");
    assert_eq!(snippet["state"], "succeeded");
    assert!(snippet["progress"].is_null());
    assert!(snippet["created_at"].is_string());
    assert!(snippet["highlighted_at"].is_string());
    assert!(snippet["html"].as_str().unwrap().contains("<x-"));
    assert!(snippet["error"].is_null());
    app.stop().await;
}

#[tokio::test]
async fn ids_are_random_not_sequential() {
    let app = TestApp::spawn().await;
    let a = app.submit("a", None).await;
    let b = app.submit("b", None).await;
    assert_ne!(a, b);
    assert!(a.chars().all(|c| c.is_ascii_alphanumeric()) && a.len() == 12);
    app.stop().await;
}

#[tokio::test]
async fn language_names_and_aliases_are_accepted_case_insensitively() {
    let app = TestApp::spawn().await;
    for (alias, name) in [
        ("rust", "Rust"),
        ("RS", "Rust"),
        ("c++", "C++"),
        ("cpp", "C++"),
        ("c#", "C#"),
        ("csharp", "C#"),
        ("Python", "Python"),
    ] {
        let id = app.submit("x = 1\n", Some(alias)).await;
        assert_eq!(app.snippet(&id).await["language"], name, "alias {alias}");
    }
    let languages: Value = app.get("/api/languages").await.json().await.unwrap();
    let list = languages.as_array().unwrap();
    assert!(list.len() > 100);
    assert!(list.iter().any(|l| l["name"] == "Rust" && l["aliases"].as_array().unwrap().contains(&json!("rs"))));
    app.stop().await;
}

async fn expect_error(response: reqwest::Response, status: u16, mentions: &str) {
    assert_eq!(response.status(), status);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = response.json().await.unwrap();
    let message = body["error"].as_str().expect("an error sentence");
    assert!(
        message.contains(mentions),
        "{message:?} should mention {mentions:?}"
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_status_and_sentence() {
    let app = TestApp::spawn_with(|s| s.max_snippet_bytes = Some(1000), None).await;
    expect_error(app.post_json(&json!({ "code": "" })).await, 400, "empty").await;
    expect_error(
        app.post_json(&json!({ "code": "  \n\t " })).await,
        400,
        "empty",
    )
    .await;
    expect_error(
        app.post_json(&json!({ "code": "a\u{0}b" })).await,
        400,
        "NUL",
    )
    .await;
    expect_error(
        app.post_json(&json!({ "code": "x".repeat(1001) })).await,
        413,
        "limit",
    )
    .await;
    expect_error(
        app.post_json(&json!({ "code": "x", "language": "klingon" }))
            .await,
        400,
        "/api/languages",
    )
    .await;
    expect_error(
        app.post_json(&json!({ "language": "rust" })).await,
        400,
        "`files`",
    )
    .await;
    let malformed = app
        .client
        .post(app.url("/api/snippets"))
        .header("content-type", "application/json")
        .body("{\"code\": ")
        .send()
        .await
        .unwrap();
    expect_error(malformed, 400, "JSON").await;
    let not_utf8 = app
        .client
        .post(app.url("/api/snippets"))
        .header("content-type", "text/plain")
        .body(vec![0x66, 0x6f, 0xff, 0xfe])
        .send()
        .await
        .unwrap();
    expect_error(not_utf8, 400, "UTF-8").await;
    let huge_body = app
        .client
        .post(app.url("/api/snippets"))
        .header("content-type", "text/plain")
        .body("y".repeat(2_000_000))
        .send()
        .await
        .unwrap();
    expect_error(huge_body, 413, "limit").await;
    expect_error(
        app.post_json(&json!({ "code": "x", "filename": "../../etc/passwd" }))
            .await,
        400,
        "file name",
    )
    .await;

    // Unknown ids are 404 everywhere, with a JSON reason.
    for path in ["", "/highlighted", "/events"] {
        let response = app.get(&format!("/api/snippets/AAAAAAAAAAAA{path}")).await;
        expect_error(response, 404, "no snippet").await;
        let response = app.get(&format!("/api/snippets/not-an-id{path}")).await;
        assert_eq!(response.status(), 404);
    }
    // Still serving after all that.
    app.submit("ok", None).await;
    app.stop().await;
}

#[tokio::test]
async fn plain_text_bodies_take_language_and_filename_from_the_query() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/snippets?language=py&filename=x.py"))
        .header("content-type", "text/plain")
        .body("print('hi')\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.snippet(&id).await["language"], "Python");
    app.stop().await;
}

#[tokio::test]
async fn code_is_always_escaped() {
    let app = TestApp::spawn().await;
    let evil = "<script>alert(1)</script>\n<img src=x onerror=alert(2)>\n";
    let id = app.submit(evil, Some("html")).await;
    let event = app.wait_final(&id).await;
    let html = event.json()["html"].as_str().unwrap().to_owned();
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert_eq!(html_text(&html), evil);
    // And the server-rendered page shows it as text.
    let page = app.get(&format!("/s/{id}")).await;
    let page = page.text().await.unwrap();
    assert!(
        !page.contains("<script>alert(1)"),
        "the page must not carry the raw script"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_finished_snippets_page_carries_the_highlighted_html_in_the_first_response() {
    let app = TestApp::spawn().await;
    let id = app.submit(RUST, Some("rust")).await;
    app.wait_final(&id).await;
    let response = app.get(&format!("/s/{id}")).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"data-state="succeeded""#));
    assert!(
        page.contains(r#"<div class="highlighted"><pre class="hl">"#),
        "{page}"
    );

    let missing = app.get("/s/AAAAAAAAAAAA").await;
    assert_eq!(missing.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_pending_snippets_page_shows_the_escaped_source_and_its_state() {
    let engine = GatedEngine::new();
    let app = TestApp::spawn_with(|_| {}, Some(engine.clone())).await;
    let id = app.submit("if a < b && c > d {}\n", Some("rust")).await;
    let page = without_comments(&app.get(&format!("/s/{id}")).await.text().await.unwrap());
    assert!(
        page.contains(r#"<pre class="source">if a &lt; b &amp;&amp; c &gt; d {}"#),
        "{page}"
    );
    assert!(page.contains("<progress"));
    assert!(page.contains("Queued") || page.contains("Highlighting"));
    engine.open(1);
    app.stop().await;
}

/// Posts the paste form as a browser without JavaScript does, from the
/// home page, and returns where the answer's redirect points.
async fn post_the_form_without_javascript(app: &TestApp, fields: &[(&str, &str)]) -> String {
    let response = app
        .client
        .post(app.url("/rpc/submit"))
        .header("accept", "text/html")
        .header("referer", app.url("/"))
        .form(&common::form_fields(fields))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_redirection(),
        "status {}",
        response.status()
    );
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_form_works_without_javascript() {
    let app = TestApp::spawn().await;
    let location = post_the_form_without_javascript(
        &app,
        &[
            ("code", "print(1)\n"),
            ("language", "auto"),
            ("filename", "x.py"),
        ],
    )
    .await;
    assert!(location.starts_with("/s/"), "{location}");
    let id = &location[3..];
    assert_eq!(app.snippet(id).await["language"], "Python");
    app.stop().await;
}

#[tokio::test]
async fn a_form_post_without_javascript_that_fails_comes_back_with_the_reason() {
    let app = TestApp::spawn().await;
    let location = post_the_form_without_javascript(&app, &[("code", "  \n")]).await;
    // Back to the page it came from, with the error in its address.
    assert!(location.contains("__err="), "{location}");
    let location = match location.starts_with('/') {
        true => app.url(&location),
        false => location,
    };
    let page = app.client.get(&location).send().await.unwrap();
    let page = page.text().await.unwrap();
    let shown = without_comments(&page);
    assert!(
        shown.contains("class=\"form-error\">The snippet is empty: paste some code first.</p>"),
        "the form shows why ({location}): {shown}"
    );
    // The same page without the error in its address shows none.
    let page = app.get("/").await.text().await.unwrap();
    assert!(!page.contains("The snippet is empty"));
    app.stop().await;
}

#[tokio::test]
async fn health_reports_ok() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/health").await;
    assert_eq!(response.status(), 200);
    app.stop().await;
}

/// The test client reads what a browser would: a character the network
/// cut in two (a chunk may end anywhere) is read whole.
#[tokio::test]
async fn the_test_client_reads_a_character_split_across_chunks_whole() {
    let frame = "id: 1\nevent: state\ndata: {\"x\":\"héllo ✓\"}\n\n".as_bytes();
    let cut = frame.iter().position(|&b| b == 0xC3).unwrap() + 1;
    let mut client = common::SseClient::from_chunks(vec![
        bytes::Bytes::copy_from_slice(&frame[..cut]),
        bytes::Bytes::copy_from_slice(&frame[cut..]),
    ]);
    let event = client.next().await.unwrap();
    assert_eq!(event.json()["x"], "héllo ✓");
    assert!(client.next().await.is_none());
}
