//! The operators' dashboard through the real app: who may see and steer
//! it, the jobs table's filters and pages, bulk retry of the failures a
//! real outage made, bulk delete, the page itself, and `/metrics`.

mod common;

use std::{collections::HashMap, time::Duration};

use common::{
    TestApp,
    hilite::{HiliteService, free_port, remote},
};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

const FULL: &str = "full-token-0123456789abcdef";
const READ_ONLY: &str = "read-only-token-0123456789";

async fn with_tokens() -> TestApp {
    TestApp::spawn_with(
        |s| {
            s.admin_token = Some(FULL.into());
            s.admin_readonly_token = Some(READ_ONLY.into());
        },
        None,
    )
    .await
}

/// Sends `method path` with an optional bearer token.
async fn call(app: &TestApp, method: Method, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn stats(app: &TestApp, token: Option<&str>) -> Value {
    let response = call(app, Method::GET, "/api/admin/stats", token).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn jobs(app: &TestApp, query: &str) -> Value {
    let response = call(app, Method::GET, &format!("/api/admin/jobs?{query}"), None).await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

async fn error_of(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["error"].as_str().expect("a JSON error").to_owned()
}

#[tokio::test]
async fn tokens_decide_who_sees_and_who_acts_and_refusals_change_nothing() {
    let app = with_tokens().await;
    // Nobody, a wrong token, the read-only one, the full one.
    let none = call(&app, Method::GET, "/api/admin/stats", None).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(error_of(none).await.contains("Sign in"));
    let wrong = call(
        &app,
        Method::GET,
        "/api/admin/stats",
        Some("not-the-token-at-all"),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert!(!error_of(wrong).await.is_empty());
    assert_eq!(stats(&app, Some(READ_ONLY)).await["paused"], false);
    assert_eq!(stats(&app, Some(FULL)).await["paused"], false);

    // The read-only token sees everything and changes nothing.
    for path in [
        "/api/admin/pause",
        "/api/admin/resume",
        "/api/admin/jobs/retry",
        "/api/admin/jobs/delete?all=true",
    ] {
        let refused = call(&app, Method::POST, path, Some(READ_ONLY)).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(error_of(refused).await.contains("read-only"));
        let anonymous = call(&app, Method::POST, path, None).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(stats(&app, Some(FULL)).await["paused"], false);

    // A change sent from another site is refused, even with the token.
    let cross_site = app
        .client
        .post(app.url("/api/admin/pause"))
        .bearer_auth(FULL)
        .header(header::ORIGIN, "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(stats(&app, Some(FULL)).await["paused"], false);

    let paused = call(&app, Method::POST, "/api/admin/pause", Some(FULL)).await;
    assert_eq!(paused.status(), 200);
    assert_eq!(stats(&app, Some(READ_ONLY)).await["paused"], true);
    call(&app, Method::POST, "/api/admin/resume", Some(FULL)).await;
    assert_eq!(stats(&app, Some(READ_ONLY)).await["paused"], false);

    // Metrics and the live feed follow the same rules.
    assert_eq!(
        call(&app, Method::GET, "/metrics", None).await.status(),
        401
    );
    assert_eq!(
        call(&app, Method::GET, "/metrics", Some(READ_ONLY))
            .await
            .status(),
        200
    );
    assert_eq!(
        call(&app, Method::GET, "/api/admin/events", None)
            .await
            .status(),
        401
    );
    app.stop().await;
}

#[tokio::test]
async fn the_sign_in_form_gives_a_session_of_the_tokens_role() {
    let app = with_tokens().await;
    // The page sends a browser without a session to sign in.
    let page = app.get("/admin").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()[header::LOCATION], "/admin/login");
    let form = app.get("/admin/login").await;
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("name=\"token\""));

    let sign_in = |token: &'static str| {
        app.client
            .post(app.url("/admin/login"))
            .form(&[("token", token)])
            .send()
    };
    let wrong = sign_in("wrong-token-wrong-token").await.unwrap();
    assert_eq!(
        wrong.headers()[header::LOCATION],
        "/admin/login?failed=token"
    );
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());

    let read_only = sign_in(READ_ONLY).await.unwrap();
    assert_eq!(read_only.headers()[header::LOCATION], "/admin");
    let cookie = read_only.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();

    let with_session = |method: Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .header(header::COOKIE, session.clone())
            .send()
    };
    assert_eq!(
        with_session(Method::GET, "/api/admin/stats")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        with_session(Method::POST, "/api/admin/pause")
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let page = with_session(Method::GET, "/admin").await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("read-only"),
        "the page says whose session it is"
    );
    assert!(
        !html.contains("id=\"pause-toggle\""),
        "no action buttons for read-only"
    );
    assert!(
        !html.contains("id=\"bulk-retry\""),
        "no action buttons for read-only"
    );

    // A session cookie forged for the full role does not pass.
    let forged = session.replace("read_only", "full");
    let refused = app
        .client
        .get(app.url("/api/admin/stats"))
        .header(header::COOKIE, forged)
        .send()
        .await
        .unwrap();
    assert_ne!(refused.status(), 200);

    let out = with_session(Method::POST, "/admin/logout").await.unwrap();
    assert!(
        out.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    app.stop().await;
}

#[tokio::test]
async fn with_no_token_only_this_machine_without_a_proxy_sees_the_dashboard() {
    let app = TestApp::spawn().await;
    assert_eq!(
        call(&app, Method::GET, "/api/admin/stats", None)
            .await
            .status(),
        200
    );
    let page = app.get("/admin").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"counts\"") && html.contains("id=\"pause-toggle\""));
    assert!(!html.contains("Sign out"), "nothing to sign out of");
    // Signing in makes no sense without tokens.
    assert_eq!(
        app.get("/admin/login").await.status(),
        StatusCode::SEE_OTHER
    );
    for (name, value) in [
        ("x-forwarded-for", "203.0.113.9"),
        ("forwarded", "for=203.0.113.9"),
        ("x-real-ip", "203.0.113.9"),
    ] {
        for path in ["/api/admin/stats", "/admin", "/metrics"] {
            let proxied = app
                .client
                .get(app.url(path))
                .header(name, value)
                .send()
                .await
                .unwrap();
            assert_eq!(
                proxied.status(),
                StatusCode::NOT_FOUND,
                "{path} with {name}"
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn filters_narrow_the_jobs_and_pages_cover_them_all() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for i in 0..52 {
        ids.push(app.submit(&format!("x = {i}\n"), Some("python")).await);
    }
    let rust = app.submit("fn needle_in_rust() {}\n", Some("rust")).await;
    for id in ids.iter().chain([&rust]) {
        assert_eq!(app.wait_final(id).await.event, "highlighted");
    }
    let everything = jobs(&app, "").await;
    assert_eq!(everything["total"], 53);
    assert_eq!(everything["jobs"].as_array().unwrap().len(), 50);
    // The next page holds the rest, and no job twice.
    let cursor = everything["next_cursor"].as_str().unwrap();
    let rest = jobs(&app, &format!("cursor={cursor}")).await;
    assert_eq!(rest["jobs"].as_array().unwrap().len(), 3);
    assert!(rest["next_cursor"].is_null());
    let mut seen: Vec<String> = everything["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["jobs"].as_array().unwrap())
        .map(|job| job["id"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 53);

    let by_language = jobs(&app, "language=Rust").await;
    assert_eq!(by_language["total"], 1);
    assert_eq!(by_language["jobs"][0]["id"], rust.as_str());
    assert_eq!(
        jobs(&app, "q=NEEDLE_IN").await["total"],
        1,
        "text in the code, any case"
    );
    assert_eq!(
        jobs(&app, "state=succeeded&min_attempts=1").await["total"],
        53
    );
    assert_eq!(jobs(&app, "state=failed").await["total"], 0);
    assert_eq!(jobs(&app, "min_attempts=2").await["total"], 0);
    assert_eq!(jobs(&app, "older_than_secs=3600").await["total"], 0);
    assert_eq!(
        jobs(&app, "state=&language=&q=").await["total"],
        53,
        "blank is any"
    );

    for bad in [
        "state=sleeping",
        "min_attempts=-1",
        "cursor=not-a-cursor",
        "older_than_secs=abc",
    ] {
        let refused = call(&app, Method::GET, &format!("/api/admin/jobs?{bad}"), None).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(!error_of(refused).await.is_empty());
    }
    let detail: Value = call(&app, Method::GET, &format!("/api/admin/jobs/{rust}"), None)
        .await
        .json()
        .await
        .unwrap();
    let attempts = detail["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["outcome"], "succeeded");
    assert!(attempts[0]["holder"].as_str().unwrap().contains('/'));
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/admin/jobs/AAAAAAAAAAAAAAAAAAAAAA",
            None
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

#[tokio::test]
async fn bulk_retry_brings_back_everything_an_outage_failed() {
    // The remote engine points at a service that is down, and gives up
    // after one attempt: every job fails.
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut layer = common::test_layer(&dir);
    remote(port)(&mut layer);
    layer.max_attempts = Some(1);
    let app = TestApp::spawn_from_settings(layer, dir).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(app.submit(&format!("print({i})\n"), Some("python")).await);
    }
    let survivor = app.submit("echo fine\n", Some("bash")).await;
    for id in &ids {
        assert_eq!(app.wait_final(id).await.event, "failed");
    }
    assert_eq!(app.wait_final(&survivor).await.event, "failed");
    let failed = jobs(&app, "state=failed&q=could%20not%20be%20reached").await;
    assert_eq!(failed["total"], 5, "the error text is searchable");

    // The service comes back; the operator retries the Python failures.
    let _service = HiliteService::start(port, false);
    let retried = call(
        &app,
        Method::POST,
        "/api/admin/jobs/retry?state=failed&language=Python",
        None,
    )
    .await;
    assert_eq!(retried.status(), 200);
    assert_eq!(
        retried.json::<Value>().await.unwrap(),
        json!({ "matched": 4 })
    );
    for id in &ids {
        let result = app.wait_final(id).await;
        assert_eq!(result.event, "highlighted", "{}", result.data);
    }
    assert_eq!(
        app.snippet(&survivor).await["state"],
        "failed",
        "outside the filter"
    );
    let detail: Value = call(
        &app,
        Method::GET,
        &format!("/api/admin/jobs/{}", ids[0]),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let outcomes: Vec<&str> = detail["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["failed", "succeeded"]);
    assert!(
        detail["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("could not be reached")
    );

    // Retrying what is not failed changes nothing.
    let again = call(
        &app,
        Method::POST,
        "/api/admin/jobs/retry?state=succeeded",
        None,
    )
    .await;
    assert_eq!(again.json::<Value>().await.unwrap()["matched"], 0);
    app.stop().await;
}

#[tokio::test]
async fn bulk_delete_takes_every_match_and_never_everything_by_accident() {
    let app = TestApp::spawn().await;
    let mut doomed = Vec::new();
    for i in 0..3 {
        doomed.push(
            app.submit_public(&format!("spam_{i} = 1\n"), Some("python"))
                .await,
        );
    }
    let kept = app.submit("keep = 1\n", Some("python")).await;
    for id in doomed.iter().chain([&kept]) {
        app.wait_final(id).await;
    }
    // A list showing it (a finished snippet's own stream has ended).
    let mut stream = common::SseClient::connect(
        &app.client,
        &app.url(&format!("/api/events?snippets={}", doomed[0])),
    )
    .await;
    let refused = call(&app, Method::POST, "/api/admin/jobs/delete", None).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(error_of(refused).await.contains("all=true"));
    let deleted = call(&app, Method::POST, "/api/admin/jobs/delete?q=spam_", None).await;
    assert_eq!(deleted.json::<Value>().await.unwrap()["matched"], 3);
    for id in &doomed {
        assert_eq!(app.get(&format!("/api/snippets/{id}")).await.status(), 410);
    }
    // The list hears so.
    loop {
        let event = stream.next_within(Duration::from_secs(10)).await.unwrap();
        if event.event == "deleted" {
            break;
        }
    }
    assert_eq!(
        app.get(&format!("/api/snippets/{kept}")).await.status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn the_live_feed_sends_stats_when_jobs_move() {
    let app = TestApp::spawn().await;
    let mut feed = common::SseClient::connect(&app.client, &app.url("/api/admin/events")).await;
    let first = feed.next_within(Duration::from_secs(10)).await.unwrap();
    assert_eq!(first.event, "stats");
    let before = first.json()["jobs"]["succeeded"].as_u64().unwrap();
    let id = app.submit("x = 1\n", Some("python")).await;
    app.wait_final(&id).await;
    loop {
        let event = feed.next_within(Duration::from_secs(10)).await.unwrap();
        if event.event == "stats" && event.json()["jobs"]["succeeded"].as_u64().unwrap() > before {
            break;
        }
    }
    app.stop().await;
}

/// One sample of the Prometheus text format: its name, labels and value.
fn samples(text: &str) -> Vec<(String, HashMap<String, String>, f64)> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("a number in {line}"));
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let rest = rest.strip_suffix('}').expect("labels end with }");
                    let labels = rest
                        .split("\",")
                        .filter(|pair| !pair.is_empty())
                        .map(|pair| {
                            let (key, value) = pair.split_once("=\"").expect("key=\"value\"");
                            (key.to_owned(), value.trim_end_matches('"').to_owned())
                        })
                        .collect();
                    (name.to_owned(), labels)
                }
                None => (series.to_owned(), HashMap::new()),
            };
            (name, labels, value)
        })
        .collect()
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_every_series_the_issue_names() {
    let app = TestApp::spawn().await;
    let id = app.submit("fn main() {}\n", Some("rust")).await;
    app.wait_final(&id).await;
    let response = call(&app, Method::GET, "/metrics", None).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    let all = samples(&text);
    let find = |name: &str, label: Option<(&str, &str)>| {
        all.iter()
            .find(|(n, labels, _)| {
                n == name && label.is_none_or(|(k, v)| labels.get(k).map(String::as_str) == Some(v))
            })
            .map(|(_, _, value)| *value)
            .unwrap_or_else(|| panic!("no {name} {label:?} in\n{text}"))
    };
    assert!(find("highlighter_jobs", Some(("state", "succeeded"))) >= 1.0);
    assert_eq!(find("highlighter_jobs", Some(("state", "failed"))), 0.0);
    assert!(
        find(
            "highlighter_job_attempts_total",
            Some(("outcome", "succeeded"))
        ) >= 1.0
    );
    assert!(
        find(
            "highlighter_job_attempt_duration_seconds_count",
            Some(("outcome", "succeeded"))
        ) >= 1.0
    );
    assert!(find("highlighter_job_latency_seconds_count", None) >= 1.0);
    assert!(
        find(
            "highlighter_job_latency_seconds_bucket",
            Some(("le", "+Inf"))
        ) >= 1.0
    );
    assert!(
        find(
            "highlighter_engine_seconds_count",
            Some(("language", "Rust"))
        ) >= 1.0
    );
    assert!(
        find(
            "highlighter_http_requests_total",
            Some(("route", "/api/snippets"))
        ) >= 1.0
    );
    assert_eq!(find("highlighter_paused", None), 0.0);
    assert!(find("highlighter_nodes", Some(("state", "alive"))) >= 1.0);
    find("highlighter_event_streams_open", None);
    find("highlighter_queue_age_seconds", None);
    // Raw paths never become series: one per route pattern.
    assert!(!text.contains(&id), "a snippet id in a label");
    app.stop().await;
}
