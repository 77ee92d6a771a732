//! Safe to run in public, against the real server: cross-site requests are
//! refused before anything runs, every response carries the security
//! headers, every limit answers with a status and a sentence, slow and
//! silent clients cannot hold the server, and bad input is refused clearly
//! on every front door.

mod common;

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use common::{SseClient, TestApp};
use highlighter::domain::{JobState, SnippetEvent, SnippetId};
use highlighter::server::settings::Role;
use reqwest::Method;
use serde_json::{Value, json};

async fn error_of(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status, "{:?}", response.url());
    let body: Value = response.json().await.expect("a JSON error body");
    body["error"]
        .as_str()
        .expect("an `error` sentence")
        .to_owned()
}

#[tokio::test]
async fn requests_from_another_site_change_nothing() {
    let app = TestApp::spawn().await;
    let owned = app
        .submit_owned(json!({ "code": "print(1)\n", "language": "python" }))
        .await;
    let id = owned.id.clone();
    app.wait_final(&id).await;
    let host = app.base.trim_start_matches("http://").to_owned();

    // The page's server function from another origin, even with the
    // owner's credentials: 403 before anything runs.
    let evil = app
        .client
        .post(app.url("/rpc/language"))
        .header("origin", "http://evil.example")
        .bearer_auth(&owned.token)
        .form(&[("id", id.as_str()), ("language", "text")])
        .send()
        .await
        .unwrap();
    let message = error_of(evil, 403).await;
    assert!(message.contains("other sites"), "{message}");
    let fetch_metadata = app
        .client
        .delete(app.url(&format!("/api/snippets/{id}")))
        .header("sec-fetch-site", "cross-site")
        .bearer_auth(&owned.token)
        .send()
        .await
        .unwrap();
    error_of(fetch_metadata, 403).await;
    let null_origin = app
        .client
        .post(app.url("/api/snippets"))
        .header("origin", "null")
        .json(&json!({ "code": "x" }))
        .send()
        .await
        .unwrap();
    error_of(null_origin, 403).await;
    assert_eq!(
        app.snippet(&id).await["language"],
        "Python",
        "nothing changed"
    );

    // The same site, and clients without `Origin` (curl), go on to the
    // owner check.
    let same_site = app
        .as_owner(
            Method::POST,
            &format!("/api/snippets/{id}/language"),
            &owned.token,
        )
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "same-origin")
        .json(&json!({ "language": "text" }))
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), 202);
    // GETs are never refused for their origin.
    let read = app
        .client
        .get(app.url(&format!("/api/snippets/{id}")))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn the_configured_public_url_is_the_site() {
    let app = TestApp::spawn_with(
        |s| s.public_url = Some("https://paste.example".into()),
        None,
    )
    .await;
    let from_site = app
        .client
        .post(app.url("/api/snippets"))
        .header("origin", "https://paste.example")
        .json(&json!({ "code": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(from_site.status(), 201);
    // Behind HTTPS the owner cookie is Secure.
    let form = app
        .client
        .post(app.url("/rpc/submit"))
        .header("accept", "text/html")
        .header("referer", "https://paste.example/")
        .header("origin", "https://paste.example")
        .form(&[("files[0][code]", "y\n")])
        .send()
        .await
        .unwrap();
    let cookie = form.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    app.stop().await;
}

/// The nonce a page's CSP header allows, checked against every inline
/// script of the page.
fn check_page_policy(headers: &reqwest::header::HeaderMap, html: &str) {
    let policy = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    let script_src = policy
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert!(!script_src.contains("unsafe-inline"), "{script_src}");
    let nonce = script_src
        .split_whitespace()
        .find_map(|token| token.strip_prefix("'nonce-")?.strip_suffix('\''))
        .expect("a nonce");
    assert!(nonce.len() >= 16, "{nonce}");
    let scripts = html.matches("<script").count();
    assert!(scripts >= 2, "the theme script and the hydration script");
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "every inline script carries this response's nonce"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let id = app.submit("fn main() {}\n", Some("rust")).await;
    app.wait_final(&id).await;
    let mut nonces = Vec::new();
    for path in [
        "/".to_owned(),
        format!("/s/{id}"),
        "/nothing-here".to_owned(),
    ] {
        let response = app.get(&path).await;
        let headers = response.headers().clone();
        let html = response.text().await.unwrap();
        check_page_policy(&headers, &html);
        nonces.push(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    let again = app.get("/").await;
    assert_ne!(
        again.headers()["content-security-policy"].to_str().unwrap(),
        nonces[0],
        "a fresh nonce per response"
    );
    for path in [
        "/".to_owned(),
        format!("/s/{id}"),
        format!("/api/snippets/{id}"),
        format!("/s/{id}/raw"),
        "/api/languages".to_owned(),
        "/theme.css".to_owned(),
        "/api/health".to_owned(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
        assert_eq!(
            response.headers()["referrer-policy"],
            "no-referrer",
            "{path}"
        );
    }
    let page = app.get(&format!("/s/{id}")).await;
    assert_eq!(page.headers()["x-robots-tag"], "noindex, nofollow");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<meta name="robots" content="noindex, nofollow""#));
    app.stop().await;
}

/// The dashboard's pages are pages like any other: the same policy, the
/// same nonce on every inline script (the lazy dashboard island adds
/// scripts of its own).
#[tokio::test]
async fn the_dashboard_and_its_sign_in_page_carry_the_page_policy() {
    const TOKEN: &str = "csp-admin-token-0123456789";
    let app = TestApp::spawn_with(|s| s.admin_token = Some(TOKEN.into()), None).await;
    let login = app.get("/admin/login").await;
    assert_eq!(login.status(), 200);
    let headers = login.headers().clone();
    check_page_policy(&headers, &login.text().await.unwrap());
    let dashboard = app
        .client
        .get(app.url("/admin"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), 200);
    let headers = dashboard.headers().clone();
    let html = dashboard.text().await.unwrap();
    assert!(html.contains("Dashboard"), "the dashboard itself");
    check_page_policy(&headers, &html);
    app.stop().await;
}

#[tokio::test]
async fn submits_beyond_the_rate_are_refused_with_retry_after() {
    // One token a minute refills: nothing refills while the 200 requests
    // are answered, however slow the machine, so exactly the burst passes.
    let app = TestApp::spawn_with(
        |s| {
            s.submit_per_minute = Some(1);
            s.submit_burst = Some(10);
            s.role = Some(Role::Web);
        },
        None,
    )
    .await;
    let started = Instant::now();
    let sends: Vec<_> = (0..200)
        .map(|i| {
            app.client
                .post(app.url("/api/snippets"))
                .json(&json!({ "code": format!("x = {i}\n") }))
                .send()
        })
        .collect();
    let mut accepted = 0;
    let mut refused = 0;
    for response in futures_util::future::join_all(sends).await {
        let response = response.unwrap();
        match response.status().as_u16() {
            201 => accepted += 1,
            429 => {
                let retry_after: u64 = response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&retry_after), "{retry_after}");
                let message = error_of(response, 429).await;
                assert!(message.contains("1 a minute"), "{message}");
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    eprintln!(
        "200 submits in {:?}: {accepted} accepted, {refused} refused",
        started.elapsed()
    );
    assert_eq!(accepted, 10, "the burst");
    assert_eq!(refused, 190);
    // The form's server function counts against the same bucket.
    let form = app
        .client
        .post(app.url("/rpc/submit"))
        .header("accept", "application/json")
        .form(&[("files[0][code]", "y\n")])
        .send()
        .await
        .unwrap();
    error_of(form, 429).await;
    let counts = app.state.operations.job_counts().await.unwrap();
    assert_eq!(counts.queued + counts.processing + counts.retrying, 10);
    app.stop().await;
}

#[tokio::test]
async fn forwarded_for_counts_only_behind_trusted_proxies() {
    let submit = |app: &TestApp, forwarded: &str| {
        app.client
            .post(app.url("/api/snippets"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({ "code": "x\n" }))
            .send()
    };
    // Not trusted: the header is ignored; everyone is 127.0.0.1.
    let app = TestApp::spawn_with(
        |s| {
            s.submit_per_minute = Some(1);
            s.submit_burst = Some(1);
        },
        None,
    )
    .await;
    assert_eq!(submit(&app, "1.1.1.1").await.unwrap().status(), 201);
    assert_eq!(submit(&app, "2.2.2.2").await.unwrap().status(), 429);
    app.stop().await;
    // Behind a trusted proxy: each forwarded client has its own bucket.
    let app = TestApp::spawn_with(
        |s| {
            s.submit_per_minute = Some(1);
            s.submit_burst = Some(1);
            s.trusted_proxies = Some(vec!["127.0.0.1".into()]);
        },
        None,
    )
    .await;
    assert_eq!(submit(&app, "1.1.1.1").await.unwrap().status(), 201);
    assert_eq!(submit(&app, "2.2.2.2").await.unwrap().status(), 201);
    assert_eq!(submit(&app, "1.1.1.1").await.unwrap().status(), 429);
    // A spoofed entry to the left of the proxy's changes nothing.
    assert_eq!(
        submit(&app, "9.9.9.9, 2.2.2.2").await.unwrap().status(),
        429
    );
    app.stop().await;
}

#[tokio::test]
async fn open_streams_are_limited_per_client_and_per_node() {
    let app = TestApp::spawn_with(
        |s| {
            s.streams_per_client = Some(16);
            s.max_streams = Some(20);
            s.trusted_proxies = Some(vec!["127.0.0.1".into()]);
        },
        None,
    )
    .await;
    let open = |forwarded: &'static str| {
        SseClient::connect_with(
            app.client
                .get(app.url("/api/events"))
                .header("x-forwarded-for", forwarded),
        )
    };
    let mut streams = Vec::new();
    for _ in 0..16 {
        let stream = open("1.1.1.1").await;
        assert_eq!(stream.status, 200);
        streams.push(stream);
    }
    let refused = app
        .client
        .get(app.url("/api/events"))
        .header("x-forwarded-for", "1.1.1.1")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().contains_key("retry-after"));
    error_of(refused, 429).await;
    // Another client may open some, until the node is full.
    for _ in 0..4 {
        streams.push(open("2.2.2.2").await);
    }
    let full = app
        .client
        .get(app.url("/api/events"))
        .header("x-forwarded-for", "3.3.3.3")
        .send()
        .await
        .unwrap();
    assert!(full.headers().contains_key("retry-after"));
    error_of(full, 503).await;
    // Closing a stream gives its place back.
    streams.truncate(15);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let again = open("1.1.1.1").await;
        if again.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a closed stream's permit came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}

/// Reads from `socket` until the server closes it; `true` if it did within
/// `limit`.
fn closed_within(socket: &mut TcpStream, limit: Duration) -> bool {
    socket.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    let started = Instant::now();
    loop {
        match socket.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return started.elapsed() < limit,
        }
    }
}

#[tokio::test]
async fn silent_and_idle_connections_are_closed() {
    let app = TestApp::spawn_with(|s| s.header_timeout_secs = Some(0.5), None).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let (silent_closed, idle_closed) = tokio::task::spawn_blocking(move || {
        // Headers begun and never finished.
        let mut silent = TcpStream::connect(&addr).unwrap();
        silent
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let silent_closed = closed_within(&mut silent, Duration::from_secs(5));
        // A keep-alive connection left idle after its request.
        let mut idle = TcpStream::connect(&addr).unwrap();
        idle.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let idle_closed = closed_within(&mut idle, Duration::from_secs(5));
        (silent_closed, idle_closed)
    })
    .await
    .unwrap();
    assert!(
        silent_closed,
        "a connection that never finishes its headers is closed"
    );
    assert!(idle_closed, "an idle keep-alive connection is closed");
    // Streams, which are not idle, are not cut by it.
    let id = app.submit("x\n", None).await;
    app.wait_final(&id).await;
    let mut list =
        SseClient::connect(&app.client, &app.url(&format!("/api/events?snippets={id}"))).await;
    list.next_within(Duration::from_secs(2)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = app.submit_public("y\n", None).await;
    let created = list.next_within(Duration::from_secs(5)).await.unwrap();
    assert_eq!(created.json()["id"], later.as_str());
    app.stop().await;
}

#[tokio::test]
async fn a_stream_that_cannot_keep_up_is_told_to_resync_and_closed() {
    let app = TestApp::spawn_with(|s| s.role = Some(Role::Web), None).await;
    let id = app.submit("pending\n", None).await;
    let snippet = SnippetId::parse(&id).unwrap();
    let mut stream = app.events(&id).await;
    assert_eq!(
        stream
            .next_within(Duration::from_secs(5))
            .await
            .unwrap()
            .event,
        "state"
    );
    // The client stops reading while far more is published than the
    // socket, hyper's buffer and the hub's ring can hold for it.
    let padding = "x".repeat(2000);
    for done in 0..20_000u32 {
        app.state.hub.publish(
            &snippet,
            SnippetEvent::Retrying(highlighter::domain::Retrying {
                error: padding.clone(),
                attempt: done,
                next_attempt_at: chrono::Utc::now(),
                revision: 1,
            }),
        );
        if done % 1000 == 0 {
            tokio::task::yield_now().await;
        }
    }
    app.state.hub.publish(
        &snippet,
        SnippetEvent::Progress(highlighter::domain::Progressed {
            revision: 1,
            done: 1,
            total: 1,
            file: None,
        }),
    );
    let events = stream.collect_until_end(Duration::from_secs(30)).await;
    let last = events.last().unwrap();
    assert_eq!(last.event, "resync", "told to resync, then closed");
    assert!(
        events.len() < 20_000,
        "it did not buffer everything: {}",
        events.len()
    );
    // A fresh stream starts from the database again.
    let mut fresh = app.events(&id).await;
    let first = fresh.next_within(Duration::from_secs(5)).await.unwrap();
    assert_eq!(first.event, "state");
    assert_eq!(first.json()["state"], JobState::Queued.as_str());
    app.stop().await;
}

#[tokio::test]
async fn server_functions_answer_mistakes_as_the_rest_api_does() {
    let app = TestApp::spawn().await;
    let form = |endpoint: &str, fields: Vec<(&str, String)>| {
        app.client
            .post(app.url(endpoint))
            .header("accept", "application/json")
            .form(&fields)
            .send()
    };
    // Empty code: 400 and the same sentence on both doors.
    let rpc = form("/rpc/submit", vec![("files[0][code]", "  \n".into())])
        .await
        .unwrap();
    let rest = app.post_json(&json!({ "code": "  \n" })).await;
    assert_eq!(error_of(rpc, 400).await, error_of(rest, 400).await);
    // An unknown language is echoed in at most 64 characters.
    let long = "k".repeat(500);
    let rpc = form(
        "/rpc/submit",
        vec![
            ("files[0][code]", "x".into()),
            ("files[0][language]", long.clone()),
        ],
    )
    .await
    .unwrap();
    let message = error_of(rpc, 400).await;
    assert!(
        message.contains(&format!("`{}…`", "k".repeat(64))),
        "{message}"
    );
    assert!(!message.contains(&"k".repeat(65)));
    // Direction overrides in file names.
    let rpc = form(
        "/rpc/submit",
        vec![
            ("files[0][code]", "x".into()),
            ("files[0][name]", "invoice\u{202E}fdp.exe".into()),
        ],
    )
    .await
    .unwrap();
    let rest = app
        .post_json(&json!({ "code": "x", "filename": "a\u{2066}b.rs" }))
        .await;
    assert_eq!(error_of(rpc, 400).await, error_of(rest, 400).await);
    // Bad UTF-8 through the form is refused, not stored as U+FFFD.
    let raw = app
        .client
        .post(app.url("/rpc/submit"))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("files%5B0%5D%5Bcode%5D=%66%6F%FF%FE")
        .send()
        .await
        .unwrap();
    let message = error_of(raw, 400).await;
    assert!(message.contains("UTF-8"), "{message}");
    // A bad id, and an unknown one: 404, never 500.
    error_of(
        form("/rpc/retry", vec![("id", "nope".into())])
            .await
            .unwrap(),
        404,
    )
    .await;
    error_of(
        form("/rpc/retry", vec![("id", SnippetId::random().to_string())])
            .await
            .unwrap(),
        404,
    )
    .await;
    // Too large.
    let huge = form(
        "/rpc/submit",
        vec![("files[0][code]", "x".repeat(600 * 1024))],
    )
    .await
    .unwrap();
    error_of(huge, 413).await;
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_covers_every_rest_route() {
    let app = TestApp::spawn().await;
    let document: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/snippets", "post"),
        ("/api/snippets/{id}", "get"),
        ("/api/snippets/{id}", "delete"),
        ("/api/snippets/{id}/highlighted", "get"),
        ("/api/snippets/{id}/retry", "post"),
        ("/api/snippets/{id}/language", "post"),
        ("/api/snippets/{id}/events", "get"),
        ("/api/events", "get"),
        ("/s/{id}/raw", "get"),
        ("/s/{id}/download", "get"),
        ("/api/languages", "get"),
        ("/api/health", "get"),
        ("/api/ready", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    let created = &paths["/api/snippets"]["post"]["responses"]["201"];
    assert!(created.is_object());
    assert!(document["components"]["securitySchemes"]["owner_token"].is_object());
    app.stop().await;
}
