//! The product features through the real app: expiry, raw and download,
//! one stream for many snippets, changing the language, and the remote
//! engine against a real Pygments-based hilite.me-compatible service.

mod common;

use std::time::Duration;

use common::{
    SseClient, TestApp,
    hilite::{HiliteService, free_port, remote},
    html_text,
};
use serde_json::{Value, json};

#[tokio::test]
async fn raw_and_download_serve_the_exact_code_safely() {
    let app = TestApp::spawn().await;
    let code = "<script>alert(1)</script>\r\nünïcödé\tand tabs  \nno final newline";
    let id = app.submit(code, Some("html")).await;
    let raw = app.get(&format!("/s/{id}/raw")).await;
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(raw.headers()["x-content-type-options"], "nosniff");
    assert_eq!(raw.text().await.unwrap(), code);

    let response = app
        .post_json(&json!({ "code": "print(1)\n", "filename": "hello world.py" }))
        .await;
    let named: Value = response.json().await.unwrap();
    let download = app
        .get(&format!("/s/{}/download", named["id"].as_str().unwrap()))
        .await;
    let disposition = download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(disposition.contains("hello%20world.py"), "{disposition}");
    let unnamed = app.get(&format!("/s/{id}/download")).await;
    let disposition = unnamed.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains(&format!("snippet-{id}.")),
        "{disposition}"
    );
    app.stop().await;
}

#[tokio::test]
async fn expired_snippets_answer_410_everywhere_and_leave_the_list() {
    let app = TestApp::spawn_with(|s| s.sweep_secs = Some(0.2), None).await;
    let too_short = app
        .post_json(&json!({ "code": "x", "expires_in": 59 }))
        .await;
    assert_eq!(too_short.status(), 400);
    let created = app
        .post_json(&json!({ "code": "short-lived\n", "expires_in": 60, "visibility": "public" }))
        .await;
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let kept = app.submit_public("kept\n", None).await;
    let snippet = app.snippet(&id).await;
    assert!(snippet["expires_at"].is_string());

    // The shortest life the API allows is a minute: wait it out.
    tokio::time::sleep(Duration::from_secs(61)).await;
    for path in [
        format!("/api/snippets/{id}"),
        format!("/api/snippets/{id}/highlighted"),
        format!("/api/snippets/{id}/events"),
        format!("/s/{id}/raw"),
        format!("/s/{id}"),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 410, "{path}");
    }
    let page = app.get(&format!("/s/{id}")).await;
    assert!(page.text().await.unwrap().contains("expired"));
    // Deleted by the sweeper, not just hidden: the row and its code are
    // gone from the database, and a tombstone says why.
    let snippet_id = highlighter::domain::SnippetId::parse(&id).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app
        .state
        .snippets
        .snippet(&snippet_id)
        .await
        .unwrap()
        .is_some()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sweeper never deleted the row"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.state.snippets.gone_reason(&snippet_id).await.unwrap(),
        Some(highlighter::domain::GoneReason::Expired)
    );
    let home = app.get("/").await.text().await.unwrap();
    assert!(!home.contains(&id));
    assert!(home.contains(&kept));
    app.stop().await;
}

#[tokio::test]
async fn one_stream_follows_listed_snippets_and_new_ones() {
    let app = TestApp::spawn().await;
    let old = app.submit_public("old\n", None).await;
    app.wait_final(&old).await;
    let mut stream = SseClient::connect(
        &app.client,
        &app.url(&format!("/api/events?snippets={old}")),
    )
    .await;
    assert_eq!(stream.status, 200);
    let first = stream.next_within(Duration::from_secs(5)).await.unwrap();
    assert_eq!(first.event, "state");
    assert_eq!(first.json()["id"], old.as_str());
    assert_eq!(first.json()["state"], "succeeded");

    let new = app.submit_public("fn main() {}\n", Some("rust")).await;
    let mut saw_created = false;
    loop {
        let event = stream.next_within(Duration::from_secs(30)).await.unwrap();
        assert_eq!(
            event.json()["id"],
            new.as_str(),
            "every event names its snippet: {event:?}"
        );
        match event.event.as_str() {
            "created" => saw_created = true,
            "highlighted" => {
                // A list is told the outcome, not sent the page's code.
                assert_eq!(event.json()["html"], "", "{event:?}");
                assert_eq!(event.json()["language"], "Rust");
                break;
            }
            _ => {}
        }
    }
    assert!(saw_created, "new snippets are announced");
    // The snippet's own stream still carries the whole result.
    let own = app.wait_final(&new).await;
    assert!(own.json()["html"].as_str().unwrap().contains("main"));
    // Bad ids are refused clearly.
    let bad = app.get("/api/events?snippets=nope").await;
    assert_eq!(bad.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn changing_the_language_highlights_again_and_the_page_follows() {
    let app = TestApp::spawn().await;
    let owned = app
        .submit_owned(json!({ "code": "print('hi')\n", "language": "text" }))
        .await;
    let id = owned.id.clone();
    assert_eq!(app.wait_final(&id).await.json()["language"], "Plain Text");
    let path = format!("/api/snippets/{id}/language");
    let response = app
        .as_owner(reqwest::Method::POST, &path, &owned.token)
        .json(&json!({ "language": "py" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let event = app.wait_final(&id).await;
    assert_eq!(event.json()["language"], "Python");
    assert!(
        event.json()["html"]
            .as_str()
            .unwrap()
            .contains("<x-fb>print</x-fb>")
    );
    let unknown = app
        .as_owner(reqwest::Method::POST, &path, &owned.token)
        .json(&json!({ "language": "klingon" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    app.stop().await;
}

async fn spawn_remote(port: u16) -> TestApp {
    // The app picks the engine from its settings, as in production.
    let dir = tempfile::tempdir().unwrap();
    let mut layer = common::test_layer(&dir);
    remote(port)(&mut layer);
    TestApp::spawn_from_settings(layer, dir).await
}

#[tokio::test]
async fn the_remote_engine_retries_while_the_service_is_down_then_succeeds() {
    let port = free_port();
    // Retries enough for the service to start on a loaded machine (its
    // Python loads Pygments first): 50 attempts, about 25 s, ran out once
    // in a full parallel run.
    let dir = tempfile::tempdir().unwrap();
    let mut layer = common::test_layer(&dir);
    remote(port)(&mut layer);
    layer.max_attempts = Some(600);
    let app = TestApp::spawn_from_settings(layer, dir).await;
    let id = app
        .submit("def f(x):\n    return x * 2\n", Some("python"))
        .await;
    let mut stream = app.events(&id).await;
    // Nothing listens yet: attempts fail and are retried.
    loop {
        let event = stream.next_within(Duration::from_secs(30)).await.unwrap();
        if event.event == "retrying" {
            assert!(
                event.json()["error"]
                    .as_str()
                    .unwrap()
                    .contains("could not be reached")
            );
            break;
        }
    }
    // The page shows the wait. Between attempts the state flips back to
    // `processing` as the next one starts, so poll for `retrying` rather
    // than read it once (a single read lost that race in CI).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let state = app.snippet(&id).await["state"].clone();
        if state == "retrying" {
            break;
        }
        assert_eq!(state, "processing", "the job left its retries early");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the snippet never showed `retrying`"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _service = HiliteService::start(port, false);
    let result = app.wait_final(&id).await;
    assert_eq!(result.event, "highlighted", "{}", result.data);
    let html = result.json()["html"].as_str().unwrap().to_owned();
    assert!(html.contains("remote-highlight"));
    assert!(html_text(&html).contains("return x * 2"));
    app.stop().await;
}

#[tokio::test]
async fn output_a_hostile_service_spikes_never_reaches_a_page() {
    let port = free_port();
    let _service = HiliteService::start(port, true);
    let app = spawn_remote(port).await;
    let id = app.submit("x = 1\n", Some("python")).await;
    let result = app.wait_final(&id).await;
    assert_eq!(result.event, "highlighted", "{}", result.data);
    let html = result.json()["html"].as_str().unwrap().to_owned();
    for bad in [
        "<script",
        "onerror",
        "onclick",
        "javascript:",
        "<img",
        "<a ",
        "<style",
        "style=",
    ] {
        assert!(
            !html.to_lowercase().contains(bad),
            "{bad} reached the stored HTML: {html}"
        );
    }
    let page = app.get(&format!("/s/{id}")).await.text().await.unwrap();
    assert!(
        !page.contains("window.__pwned"),
        "the page carries the spiked script"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_4xx_from_the_service_fails_at_once() {
    let port = free_port();
    let _service = HiliteService::start(port, false);
    let app = spawn_remote(port).await;
    // A grammar name Pygments has no lexer for: the service answers 400.
    let id = app
        .submit("digraph { a -> b }\n", Some("Graphviz (DOT)"))
        .await;
    let result = app.wait_final(&id).await;
    assert_eq!(result.event, "failed", "{}", result.data);
    assert_eq!(result.json()["attempts"], 1, "a 4xx is permanent");
    assert!(result.json()["error"].as_str().unwrap().contains("refused"));
    app.stop().await;
}

#[tokio::test]
async fn an_answer_over_the_cap_fails_the_job_instead_of_filling_memory() {
    let port = free_port();
    let _service = HiliteService::start(port, false);
    let dir = tempfile::tempdir().unwrap();
    let mut layer = common::test_layer(&dir);
    remote(port)(&mut layer);
    layer.remote_max_response_bytes = Some(2000);
    let app = TestApp::spawn_from_settings(layer, dir).await;
    let small = app.submit("x = 1\n", Some("python")).await;
    assert_eq!(app.wait_final(&small).await.event, "highlighted");
    let code = "value = compute(1, 2, 3)  # and a comment\n".repeat(200);
    let big = app.submit(&code, Some("python")).await;
    let result = app.wait_final(&big).await;
    assert_eq!(result.event, "failed", "{}", result.data);
    assert_eq!(
        result.json()["attempts"],
        1,
        "the same answer would come again"
    );
    assert!(
        result.json()["error"]
            .as_str()
            .unwrap()
            .contains("over the limit of 2000 bytes"),
        "{}",
        result.data
    );
    app.stop().await;
}

/// The page's nonce, from its policy header, and that the body's scripts
/// carry it.
fn page_nonce(response: &reqwest::Response) -> String {
    let policy = response
        .headers()
        .get("content-security-policy")
        .expect("a page carries a policy")
        .to_str()
        .unwrap();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the policy names a nonce");
    nonce.to_owned()
}

#[tokio::test]
async fn a_finished_page_is_kept_with_a_fresh_nonce_and_an_etag_until_it_changes() {
    let app = TestApp::spawn().await;
    let owned = app
        .submit_owned(json!({ "code": "print('kept')\n", "language": "text" }))
        .await;
    let id = owned.id.clone();
    let path = format!("/s/{id}");
    app.wait_final(&id).await;
    assert_eq!(app.state.pages.usage().0, 0, "nothing kept before a reader");

    let first = app.get(&path).await;
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"'), "a strong validator: {etag}");
    assert_eq!(first.headers()["cache-control"], "private, no-cache");
    let first_nonce = page_nonce(&first);
    let first_body = first.text().await.unwrap();
    assert_eq!(app.state.pages.usage().0, 1, "the visitor's page is kept");

    let second = app.get(&path).await;
    assert_eq!(second.headers()["etag"].to_str().unwrap(), etag);
    let second_nonce = page_nonce(&second);
    assert_ne!(
        first_nonce, second_nonce,
        "every response has its own nonce"
    );
    let second_body = second.text().await.unwrap();
    assert!(second_body.contains(&format!("nonce=\"{second_nonce}\"")));
    assert!(!second_body.contains(&first_nonce));
    assert_eq!(
        second_body.replace(&second_nonce, "N"),
        first_body.replace(&first_nonce, "N"),
        "the same page around another nonce"
    );

    // Revalidation: 304, no body, and no policy that would replace the one
    // the browser keeps with its copy.
    let revalidated = app
        .client
        .get(app.url(&path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    assert!(
        revalidated
            .headers()
            .get("content-security-policy")
            .is_none()
    );
    assert_eq!(revalidated.headers()["etag"].to_str().unwrap(), etag);
    assert!(revalidated.bytes().await.unwrap().is_empty());

    // The owner's page differs (its controls) and is kept apart.
    let owners = app
        .as_owner(reqwest::Method::GET, &path, &owned.token)
        .send()
        .await
        .unwrap();
    let owners_etag = owners.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(owners_etag, etag);
    assert_eq!(app.state.pages.usage().0, 2);

    // A change forgets it: the page follows the new language.
    let response = app
        .as_owner(
            reqwest::Method::POST,
            &format!("/api/snippets/{id}/language"),
            &owned.token,
        )
        .json(&json!({ "language": "py" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    app.wait_final(&id).await;
    let changed = app
        .client
        .get(app.url(&path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200, "the old validator no longer matches");
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    assert!(changed.text().await.unwrap().contains("Python"));

    // Deleted: gone, not served from memory.
    let deleted = app
        .as_owner(
            reqwest::Method::DELETE,
            &format!("/api/snippets/{id}"),
            &owned.token,
        )
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success());
    assert_eq!(app.get(&path).await.status(), 410);
    assert_eq!(app.state.pages.usage().0, 0);
    app.stop().await;
}

#[tokio::test]
async fn pending_and_burn_after_reading_pages_are_never_kept() {
    // A web-only node: nothing highlights the snippet.
    let app = TestApp::spawn_with(
        |layer| layer.role = Some(highlighter::server::settings::Role::Web),
        None,
    )
    .await;
    let id = app.submit("fn pending() {}\n", Some("rust")).await;
    let page = app.get(&format!("/s/{id}")).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers().get("etag").is_none());
    assert_eq!(
        app.state.pages.usage().0,
        0,
        "a queued snippet renders live"
    );
    app.stop().await;

    let app = TestApp::spawn().await;
    let burn = app
        .submit_owned(json!({ "code": "secret\n", "burn_after_reading": true }))
        .await;
    app.wait_final(&burn.id).await;
    let sealed = app.get(&format!("/s/{}", burn.id)).await;
    assert_eq!(sealed.status(), 200);
    assert!(sealed.headers().get("etag").is_none());
    assert_eq!(app.state.pages.usage().0, 0);
    app.stop().await;
}

/// The site's own files (the client's script, WASM and stylesheet) are
/// served whole and with a 200, however many pages are rendered beside
/// them. Leptos' file handler gave a file the status of whatever page was
/// rendering on the same thread: with a 404 page in flight (a README's
/// broken image is one), the stylesheet came back 404 and the browser
/// dropped it, and the page never hydrated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_files_keep_their_status_while_missing_pages_render_beside_them() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("pkg")).unwrap();
    let stylesheet = "body { color: black }\n".repeat(200);
    std::fs::write(
        site.path().join("pkg/app.0123456789abcdef.css"),
        &stylesheet,
    )
    .unwrap();
    let root = site.path().to_owned();
    let app = TestApp::spawn_with(|layer| layer.site_root = Some(root), None).await;

    let mut pages_missing = 0;
    let mut files = Vec::new();
    for _ in 0..100 {
        let pages = (0..8).map(|n| app.get(if n % 2 == 0 { "/s/x" } else { "/nowhere" }));
        let sheets = (0..8).map(|_| app.get("/pkg/app.0123456789abcdef.css"));
        let (pages, sheets) = tokio::join!(
            futures_util::future::join_all(pages),
            futures_util::future::join_all(sheets)
        );
        pages_missing += pages.iter().filter(|r| r.status() == 404).count();
        files.extend(sheets);
    }
    // The race needs pages in flight: every one of them was a 404 page.
    assert_eq!(pages_missing, 100 * 8, "the missing pages answer 404");
    let statuses: Vec<u16> = files.iter().map(|r| r.status().as_u16()).collect();
    assert!(
        statuses.iter().all(|&s| s == 200),
        "a site file answered another status: {statuses:?}"
    );
    let response = app.get("/pkg/app.0123456789abcdef.css").await;
    assert_eq!(response.headers()["content-type"], "text/css");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(response.text().await.unwrap(), stylesheet);
    // A path that is neither a page nor a file is the app's 404 page,
    // whatever the method.
    let posted = app.client.post(app.url("/nowhere")).send().await.unwrap();
    assert_eq!(posted.status(), 404);
    assert!(posted.text().await.unwrap().contains("Nothing here"));
}
