//! What a hostile probe of a release build found, each hole closed and
//! kept closed: listed burn-after-reading snippets, reads that burn
//! without reading, DNS rebinding, slow bodies and connection floods,
//! answers that were not JSON, forged form errors, open redirects, event
//! ids that counted everyone's snippets, id guessing, and a database left
//! with its write-ahead log.

mod common;

use std::time::{Duration, Instant};

use common::{SseClient, TestApp};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

async fn error_of(response: reqwest::Response, status: u16) -> String {
    let url = response.url().clone();
    assert_eq!(response.status(), status, "{url}");
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{url}: a JSON error"
    );
    let body: Value = response.json().await.expect("a JSON error body");
    body["error"]
        .as_str()
        .expect("an `error` sentence")
        .to_owned()
}

/// Sends `request` as written on a fresh connection and reads the answer
/// until the server closes it or `limit` passes: (status, head, body).
async fn raw(app: &TestApp, request: &[u8], limit: Duration) -> (u16, String, String) {
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(limit, socket.read_to_end(&mut answer)).await;
    parse_answer(&answer)
}

fn parse_answer(answer: &[u8]) -> (u16, String, String) {
    let text = String::from_utf8_lossy(answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn json_error(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    value["error"]
        .as_str()
        .expect("an `error` sentence")
        .to_owned()
}

// ---------------------------------------------------------------------------
// Burn after reading.

#[tokio::test]
async fn a_burn_after_reading_snippet_is_never_listed() {
    let app = TestApp::spawn().await;
    // Refused on every door, with the same sentence.
    let json = app
        .post_json(
            &json!({ "code": "secret\n", "visibility": "public", "burn_after_reading": true }),
        )
        .await;
    let sentence = error_of(json, 400).await;
    assert!(sentence.contains("cannot be listed"), "{sentence}");
    let plain = app
        .client
        .post(app.url("/api/snippets?visibility=public&burn_after_reading=true"))
        .header("content-type", "text/plain")
        .body("secret\n")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(plain, 400).await, sentence);
    let form = app
        .client
        .post(app.url("/rpc/submit"))
        .header("accept", "application/json")
        .form(&[
            ("files[0][code]", "secret\n"),
            ("public", "on"),
            ("burn_after_reading", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(form, 400).await, sentence);

    // A row written before the rule (both flags) is not listed anywhere.
    let id = app
        .submit_owned(json!({ "code": "the first line tells\n", "burn_after_reading": true }))
        .await
        .id;
    sqlx::query("UPDATE snippets SET visibility = 'public' WHERE id = $1")
        .bind(&id)
        .execute(
            &sqlx::SqlitePool::connect(&format!("sqlite://{}", app.database_path().display()))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    let home = app.get("/").await.text().await.unwrap();
    assert!(!home.contains(&id) && !home.contains("the first line tells"));
    let lists = app
        .client
        .post(app.url("/rpc/lists"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!lists.contains(&id), "{lists}");
    // The page still seals it, and nothing was burned by looking.
    assert_eq!(app.get(&format!("/s/{id}")).await.status(), 200);
    assert_eq!(app.get(&format!("/s/{id}/raw")).await.status(), 200);
    assert_eq!(app.get(&format!("/s/{id}/raw")).await.status(), 410);
    app.stop().await;
}

#[tokio::test]
async fn heads_and_prefetches_burn_nothing() {
    let app = TestApp::spawn().await;
    let owned = app
        .submit_owned(json!({ "code": "read me once\n", "burn_after_reading": true }))
        .await;
    let id = &owned.id;
    app.wait_final(id).await;
    for path in [
        format!("/s/{id}/raw"),
        format!("/s/{id}/download"),
        format!("/api/snippets/{id}"),
        format!("/api/snippets/{id}/highlighted"),
    ] {
        let head = app.client.head(app.url(&path)).send().await.unwrap();
        assert_eq!(head.status(), 403, "HEAD {path}");
        let prefetch = app
            .client
            .get(app.url(&path))
            .header("sec-purpose", "prefetch;prerender")
            .send()
            .await
            .unwrap();
        let sentence = error_of(prefetch, 403).await;
        assert!(sentence.contains("burns nothing"), "{sentence}");
    }
    // A prefetch of the page gets the sealed page.
    let page = app
        .client
        .get(app.url(&format!("/s/{id}")))
        .header("sec-purpose", "prefetch")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(!page.text().await.unwrap().contains("read me once"));
    // Nothing burned: the owner reads it, then someone else, once.
    let own = app
        .as_owner(reqwest::Method::GET, &format!("/s/{id}/raw"), &owned.token)
        .send()
        .await
        .unwrap();
    assert_eq!(own.text().await.unwrap(), "read me once\n");
    let first = app.get(&format!("/s/{id}/raw")).await;
    assert_eq!(first.text().await.unwrap(), "read me once\n");
    assert_eq!(app.get(&format!("/s/{id}/raw")).await.status(), 410);
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Hosts and proxies.

#[tokio::test]
async fn a_foreign_host_gets_421_and_the_sites_own_names_pass() {
    let app = TestApp::spawn_with(
        |s| {
            s.allowed_hosts = Some(vec!["paste.internal".into()]);
            s.public_url = Some("https://paste.example".into());
        },
        None,
    )
    .await;
    for (host, status) in [
        ("evil.example", 421),
        ("evil.example:3000", 421),
        ("127.0.0.1.evil.example", 421),
        ("127.0.0.1", 200),
        ("[::1]:3000", 200),
        ("localhost:3000", 200),
        ("paste.internal", 200),
        ("paste.example", 200),
    ] {
        for path in ["/api/health", "/api/admin/jobs", "/"] {
            let request =
                format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            let (got, _, body) = raw(&app, request.as_bytes(), Duration::from_secs(10)).await;
            assert_eq!(got, status, "{host} {path}");
            if status == 421 {
                assert!(json_error(&body).contains("does not answer for the host"));
            }
        }
    }
    // The rebinding attack itself: a page of evil.example posts to the
    // dashboard of a machine without tokens.
    let request = "POST /api/admin/jobs/retry HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 2\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{}";
    let (status, _, _) = raw(&app, request.as_bytes(), Duration::from_secs(10)).await;
    assert_eq!(status, 421);
    app.stop().await;
}

#[tokio::test]
async fn a_local_proxys_headers_make_no_operator() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get("/api/admin/stats").await.status(),
        200,
        "loopback, no proxy"
    );
    for (name, value) in [
        ("cf-connecting-ip", "203.0.113.9"),
        ("true-client-ip", "203.0.113.9"),
        ("x-client-ip", "203.0.113.9"),
        ("via", "1.1 proxy"),
        ("x-real-ip", "203.0.113.9"),
    ] {
        let response = app
            .client
            .get(app.url("/api/admin/stats"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{name}");
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Bodies and connections.

#[tokio::test]
async fn slow_bodies_are_cut_off_and_oversized_ones_refused_from_the_header() {
    let app = TestApp::spawn_with(|s| s.body_timeout_secs = Some(1.0), None).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    // A byte every 300 ms (about 3 bytes a second, far below 1024).
    let mut socket = TcpStream::connect(&addr).await.unwrap();
    socket
        .write_all(b"POST /api/snippets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let cut = loop {
        tokio::select! {
            read = socket.read(&mut buf) => match read {
                Ok(0) | Err(_) => break started.elapsed(),
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            },
            _ = tokio::time::sleep(Duration::from_millis(300)) => {
                assert!(started.elapsed() < Duration::from_secs(20), "never cut off");
                if socket.write_all(b"x").await.is_err() {
                    break started.elapsed();
                }
            }
        }
    };
    let (status, _, body) = parse_answer(&answer);
    assert_eq!(status, 408, "{answer:?}");
    assert!(json_error(&body).contains("too slowly"));
    assert!(
        cut < Duration::from_secs(5),
        "cut off at about the grace: {cut:?}"
    );

    // A length declared and nothing sent.
    let (status, _, _) = raw(
        &app,
        b"POST /api/snippets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(status, 408);

    // A length over the limit: refused from the header, at once.
    let started = Instant::now();
    let (status, _, body) = raw(
        &app,
        b"POST /api/snippets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 10000000000\r\n\r\nabc",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(status, 413);
    assert!(json_error(&body).contains("over the limit"));
    assert!(started.elapsed() < Duration::from_secs(2));

    // A large paste over a slow link (64 KiB at 32 KiB a second, past the
    // grace) gets through.
    let code: String = (0..4096).map(|i| format!("// line {i:08}\n")).collect();
    assert!(code.len() >= 64 * 1024);
    let mut socket = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/snippets?language=rust HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        code.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    for chunk in code.as_bytes().chunks(8 * 1024) {
        socket.write_all(chunk).await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        parse_answer(&answer).0,
        201,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    app.stop().await;
}

#[tokio::test]
async fn connections_over_the_limit_are_refused_at_once() {
    let app = TestApp::spawn_with(|s| s.connections_per_peer = Some(2), None).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    // Two held open (a request begun), the third refused at once.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut socket = TcpStream::connect(&addr).await.unwrap();
        socket
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .unwrap();
        held.push(socket);
    }
    let started = Instant::now();
    let (status, head, body) = raw(
        &app,
        b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(status, 429, "{head}");
    assert!(head.to_ascii_lowercase().contains("retry-after"), "{head}");
    assert!(json_error(&body).contains("at most 2"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once"
    );
    // Let one go: a new connection is served.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _, _) = raw(
            &app,
            b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            Duration::from_secs(5),
        )
        .await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "a freed slot is used again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Every refusal in JSON.

#[tokio::test]
async fn every_refusal_is_a_json_sentence() {
    let app = TestApp::spawn().await;
    // A query field given twice.
    let twice = app
        .client
        .post(app.url("/api/snippets?filename=a.rs&filename=b.rs"))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert!(error_of(twice, 400).await.contains("filename"));
    // A method a route does not take.
    let put = app
        .client
        .put(app.url("/api/languages"))
        .send()
        .await
        .unwrap();
    assert!(put.headers().contains_key("allow"));
    error_of(put, 405).await;
    // A long address, large headers (our limits), and a head past hyper's
    // own buffer (its automatic answer, made JSON by the accept loop).
    let long = format!("/api/health?x={}", "a".repeat(9 * 1024));
    error_of(app.get(&long).await, 414).await;
    let big_header = app
        .client
        .get(app.url("/api/health"))
        .header("x-filler", "b".repeat(40 * 1024))
        .send()
        .await
        .unwrap();
    error_of(big_header, 431).await;
    let request = format!(
        "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: {}\r\n\r\n",
        "c".repeat(80 * 1024)
    );
    let (status, head, body) = raw(&app, request.as_bytes(), Duration::from_secs(10)).await;
    assert_eq!(status, 431, "{head}");
    assert!(json_error(&body).contains("headers"));
    let (status, _, body) = raw(&app, b"NOT HTTP AT ALL\r\n\r\n", Duration::from_secs(10)).await;
    assert_eq!(status, 400);
    json_error(&body);
    // Bad UTF-8 in a query field.
    let bad = app
        .client
        .post(format!("{}/api/snippets?filename=%ff%fe", app.base))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert!(error_of(bad, 400).await.contains("UTF-8"));
    // Zero-width and other invisible characters in file names.
    for name in ["ma\u{200B}in.rs", "\u{FEFF}x.py", "a\u{2060}b.c"] {
        let refused = app
            .post_json(&json!({ "code": "x", "filename": name }))
            .await;
        assert!(
            error_of(refused, 400).await.contains("invisible"),
            "{name:?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn server_functions_refuse_malformed_calls_with_400_and_unknown_ones_with_404() {
    let app = TestApp::spawn().await;
    let post = |path: &str| {
        app.client
            .post(app.url(path))
            .header("accept", "application/json")
    };
    for (path, body) in [
        ("/rpc/submit", "language=rust"),
        ("/rpc/language", "id=abcdefabcdef"),
        ("/rpc/reveal", ""),
        ("/rpc/submit", "files[0][code]=x&files[0][code]=y"),
    ] {
        let response = post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let sentence = error_of(response, 400).await;
        assert!(sentence.contains("arguments"), "{path} {body}: {sentence}");
    }
    let json_body = post("/rpc/submit")
        .json(&json!({ "code": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 400);
    error_of(post("/rpc/nosuch").send().await.unwrap(), 404).await;
    error_of(app.get("/rpc/submit").await, 405).await;
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Forms without JavaScript.

#[tokio::test]
async fn a_form_post_redirects_only_within_the_site_and_shows_only_signed_errors() {
    let app = TestApp::spawn().await;
    let post = |referer: &str, code: &str| {
        app.client
            .post(app.url("/rpc/submit"))
            .header("accept", "text/html")
            .header("referer", referer)
            .form(&[("files[0][code]", code)])
            .send()
    };
    // A failed post from a page of another site comes back here.
    let refused = post("http://evil.example/phish?x=1", "  ").await.unwrap();
    assert!(refused.status().is_redirection());
    let location = refused.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/?"), "{location}");
    assert!(
        location.contains("__err=") && location.contains("__sig="),
        "{location}"
    );
    // The page shows the error this site signed...
    let page = app.get(&location).await.text().await.unwrap();
    assert!(
        page.contains("The snippet is empty"),
        "the signed error is shown"
    );
    // ...and not one a link made up, nor one whose signature was changed.
    let forged_error = "eyJlcnJvciI6IllvdXIgYWNjb3VudCBpcyBsb2NrZWQ6IGNhbGwgKzEgNTU1In0";
    let forged = app
        .get(&format!("/?__path=/rpc/submit&__err={forged_error}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !forged.contains("account is locked"),
        "an unsigned error is ignored"
    );
    let swapped = location.replace(
        location
            .split("__err=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap(),
        forged_error,
    );
    let page = app.get(&swapped).await.text().await.unwrap();
    assert!(
        !page.contains("account is locked"),
        "a tampered error is ignored"
    );
    // A post from our own page returns to it; `//host` is no path of ours.
    let ok = post(&app.url("/"), "fn main() {}\n").await.unwrap();
    let location = ok.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/s/"), "{location}");
    let sneaky = post("//evil.example/x", "  ").await.unwrap();
    let location = sneaky.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with('/') && !location.starts_with("//"),
        "{location}"
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Streams and lookups.

#[tokio::test]
async fn a_streams_event_ids_say_nothing_of_other_snippets() {
    let app = TestApp::spawn().await;
    let public = app.submit_public("listed\n", None).await;
    app.wait_final(&public).await;
    let mut list = SseClient::connect(
        &app.client,
        &app.url(&format!("/api/events?snippets={public}")),
    )
    .await;
    let first = list.next_within(Duration::from_secs(5)).await.unwrap();
    assert_eq!(first.id.as_deref(), Some("1"));
    // Others submit unlisted snippets meanwhile; then a public one.
    for i in 0..5 {
        app.submit(&format!("x = {i}\n"), None).await;
    }
    let next = app.submit_public("y\n", None).await;
    loop {
        let event = list.next_within(Duration::from_secs(10)).await.unwrap();
        if event.event == "created" {
            assert_eq!(event.json()["id"], next.as_str());
            assert_eq!(event.id.as_deref(), Some("2"), "the stream's second event");
            break;
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn guessing_ids_runs_into_a_limit() {
    let app = TestApp::spawn_with(|s| s.misses_per_minute = Some(5), None).await;
    let known = app.submit("x\n", None).await;
    let guess = || highlighter::domain::SnippetId::random().to_string();
    for _ in 0..5 {
        assert_eq!(
            app.get(&format!("/api/snippets/{}", guess()))
                .await
                .status(),
            404
        );
    }
    // The budget is spent: lookups are refused, known ids too, for now.
    let refused = app.get(&format!("/s/{}", guess())).await;
    assert!(refused.headers().contains_key("retry-after"));
    assert!(error_of(refused, 429).await.contains("unknown snippet ids"));
    assert_eq!(
        app.get(&format!("/api/snippets/{known}")).await.status(),
        429
    );
    // Other routes still answer.
    assert_eq!(app.get("/api/health").await.status(), 200);

    // A list stream of guesses counts every unknown id at once.
    let app = TestApp::spawn_with(|s| s.misses_per_minute = Some(5), None).await;
    let known = app.submit("x\n", None).await;
    let guesses: Vec<String> = (0..10).map(|_| guess()).collect();
    let few = SseClient::connect(
        &app.client,
        &app.url(&format!(
            "/api/events?snippets={known},{}",
            guesses[..2].join(",")
        )),
    )
    .await;
    assert_eq!(few.status, 200, "two misses are within the budget");
    let many = app
        .get(&format!("/api/events?snippets={}", guesses.join(",")))
        .await;
    assert_eq!(many.status(), 429);
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Shutdown and supervision.

#[tokio::test]
async fn a_stopped_node_leaves_its_sqlite_database_checkpointed() {
    let app = TestApp::spawn().await;
    for i in 0..20 {
        app.submit(&format!("x = {i}\n"), Some("python")).await;
    }
    let path = app.database_path();
    let wal = path.with_extension("db-wal");
    assert!(
        std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0),
        "the log holds the writes while the node runs"
    );
    let dir = app.stop_keeping_files().await;
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "the log was checkpointed into the database and emptied"
    );
    drop(dir);
}

#[tokio::test]
async fn a_background_task_that_dies_fails_the_node_loudly() {
    let (fire, fired) = tokio::sync::oneshot::channel::<()>();
    let app = TestApp::spawn_with_task("injected failure", async move {
        let _ = fired.await;
        panic!("injected for the test");
    })
    .await;
    // Ready first (the engine warms up), so the 503 below is the failure's.
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.get("/api/ready").await.status() != 200 {
        assert!(Instant::now() < deadline, "the node never got ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fire.send(()).unwrap();
    // Readiness says so at once, while the node drains...
    let deadline = Instant::now() + Duration::from_secs(10);
    let ready = loop {
        let response = app.get("/api/ready").await;
        if response.status() == 503 {
            break response.json::<Value>().await.unwrap();
        }
        assert!(Instant::now() < deadline, "readiness never said 503");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(ready["status"], "failing");
    // ...the failure is counted...
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .contains(r#"highlighter_background_task_failures_total{task="injected failure"} 1"#),
        "{metrics}"
    );
    // ...and the node stops, saying why (the binary exits non-zero).
    let ended = app
        .stopped_within(Duration::from_secs(30))
        .await
        .expect_err("the node stops because of the failure");
    assert_eq!(ended.task, "injected failure");
    assert!(
        ended.cause.contains("injected for the test"),
        "{}",
        ended.cause
    );
}
