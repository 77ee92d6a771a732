//! Owners and privacy, against the real server: only the owner changes or
//! deletes a snippet; deletion is 410 everywhere and pushed to open
//! streams; unlisted snippets are never listed or broadcast; burn after
//! reading is read once.

mod common;

use std::time::Duration;

use common::{Owned, SseClient, TestApp};
use highlighter::server::settings::Role;
use highlighter::{
    domain::{SnippetId, Visibility},
    server::store::{NewFile, NewSnippet},
};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

async fn error_of(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status, "{:?}", response.url());
    let body: Value = response.json().await.expect("a JSON error body");
    body["error"]
        .as_str()
        .expect("an `error` sentence")
        .to_owned()
}

#[tokio::test]
async fn the_owner_token_is_shown_once_and_only_its_hash_is_stored() {
    let app = TestApp::spawn().await;
    let Owned { id, token } = app.submit_owned(json!({ "code": "fn main() {}\n" })).await;
    assert!(token.len() >= 22, "at least 128 random bits: {token}");
    // Reading the snippet never shows the token again.
    let snippet = app
        .get(&format!("/api/snippets/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!snippet.contains(&token));
    // The database (its file and its write-ahead log) holds the SHA-256 of
    // the token, never the token.
    let database = std::fs::read(app.database_path()).unwrap();
    let wal = std::fs::read(app.database_path().with_extension("db-wal")).unwrap_or_default();
    app.stop().await;
    let hash: String = Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let contains = |haystack: &[u8], needle: &str| {
        haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    };
    assert!(!contains(&database, &token) && !contains(&wal, &token));
    assert!(contains(&database, &hash) || contains(&wal, &hash));
}

#[tokio::test]
async fn only_the_owner_changes_a_snippet_on_every_route() {
    let app = TestApp::spawn().await;
    let owned = app
        .submit_owned(json!({ "code": "print(1)\n", "language": "python" }))
        .await;
    let id = &owned.id;
    app.wait_final(id).await;
    let stranger = "0123456789abcdefghijklmnopqrstuv";
    for (method, path, body) in [
        (
            Method::POST,
            format!("/api/snippets/{id}/language"),
            Some(json!({ "language": "python" })),
        ),
        (Method::POST, format!("/api/snippets/{id}/retry"), None),
        (Method::DELETE, format!("/api/snippets/{id}"), None),
    ] {
        // No credentials, and a stranger's token: 403 with a sentence.
        for token in [None, Some(stranger)] {
            let mut request = app.client.request(method.clone(), app.url(&path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let message = error_of(request.send().await.unwrap(), 403).await;
            assert!(message.contains("owner"), "{message}");
        }
    }
    // The page's server functions refuse alike, with the same sentence.
    let rpc = app
        .client
        .post(app.url("/rpc/language"))
        .header("accept", "application/json")
        .form(&[("id", id.as_str()), ("language", "python")])
        .send()
        .await
        .unwrap();
    let rest = app
        .client
        .post(app.url(&format!("/api/snippets/{id}/language")))
        .json(&json!({ "language": "python" }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(rpc, 403).await, error_of(rest, 403).await);
    for endpoint in ["/rpc/retry", "/rpc/delete"] {
        let refused = app
            .client
            .post(app.url(endpoint))
            .header("accept", "application/json")
            .form(&[("id", id.as_str())])
            .send()
            .await
            .unwrap();
        error_of(refused, 403).await;
    }
    // Nothing changed.
    let snippet = app.snippet(id).await;
    assert_eq!(snippet["language"], "Python");
    assert_eq!(snippet["state"], "succeeded");
    // The owner's token works.
    let changed = app
        .as_owner(
            Method::POST,
            &format!("/api/snippets/{id}/language"),
            &owned.token,
        )
        .json(&json!({ "language": "text" }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 202);
    assert_eq!(app.wait_final(id).await.json()["language"], "Plain Text");
    app.stop().await;
}

#[tokio::test]
async fn the_browser_that_submitted_owns_its_snippets_through_its_cookie() {
    let app = TestApp::spawn().await;
    let (id, cookie) = app
        .browser_submit(&[("code", "x = 1\n"), ("language", "python")], None)
        .await;
    assert!(cookie.starts_with("hl_owner="), "{cookie}");
    // The cookie is HttpOnly and SameSite=Lax (checked on the header itself).
    let response = app
        .client
        .post(app.url("/rpc/submit"))
        .header("accept", "text/html")
        .header("referer", app.url("/"))
        .header("cookie", &cookie)
        .form(&[("files[0][code]", "y = 2\n")])
        .send()
        .await
        .unwrap();
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    assert!(!set_cookie.contains("Secure"), "plain HTTP: not Secure");
    assert!(
        set_cookie.starts_with(&cookie),
        "the same key is kept: {set_cookie}"
    );
    // The page shows the owner's controls to the cookie, not to others.
    let page = |cookie: Option<&str>| {
        let mut request = app.client.get(app.url(&format!("/s/{id}")));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let as_owner = page(Some(&cookie)).await;
    assert!(as_owner.contains("class=\"language-form\"") && as_owner.contains("id=\"delete\""));
    let as_stranger = page(None).await;
    assert!(!as_stranger.contains("language-form") && !as_stranger.contains("id=\"delete\""));
    // The cookie deletes.
    let deleted = app
        .client
        .delete(app.url(&format!("/api/snippets/{id}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    app.stop().await;
}

#[tokio::test]
async fn a_deleted_snippet_is_gone_everywhere_and_its_streams_hear_it() {
    let app = TestApp::spawn_with(|s| s.role = Some(Role::Web), None).await;
    let owned = app
        .submit_owned(json!({ "code": "pending\n", "visibility": "public" }))
        .await;
    let id = owned.id.clone();
    // One stream on the snippet (pending: no workers), one list stream.
    let mut own = app.events(&id).await;
    assert_eq!(
        own.next_within(Duration::from_secs(5)).await.unwrap().event,
        "state"
    );
    let mut list =
        SseClient::connect(&app.client, &app.url(&format!("/api/events?snippets={id}"))).await;
    assert_eq!(
        list.next_within(Duration::from_secs(5))
            .await
            .unwrap()
            .event,
        "state"
    );

    let deleted = app
        .as_owner(Method::DELETE, &format!("/api/snippets/{id}"), &owned.token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    let events = own.collect_until_end(Duration::from_secs(10)).await;
    let last = events.last().expect("a deleted event");
    assert_eq!(last.event, "deleted");
    assert_eq!(last.json()["reason"], "deleted");
    let next = list.next_within(Duration::from_secs(5)).await.unwrap();
    assert_eq!(next.event, "deleted", "lists drop it live: {next:?}");
    assert_eq!(next.json()["id"], id.as_str());

    for path in [
        format!("/api/snippets/{id}"),
        format!("/api/snippets/{id}/highlighted"),
        format!("/api/snippets/{id}/events"),
        format!("/s/{id}/raw"),
        format!("/s/{id}/download"),
        format!("/s/{id}"),
    ] {
        assert_eq!(app.get(&path).await.status(), 410, "{path}");
    }
    let page = app.get(&format!("/s/{id}")).await.text().await.unwrap();
    assert!(page.contains("deleted"), "the page says why");
    // Every change is refused with 410 too, server functions included.
    for (method, path) in [
        (Method::DELETE, format!("/api/snippets/{id}")),
        (Method::POST, format!("/api/snippets/{id}/retry")),
    ] {
        let message = error_of(
            app.as_owner(method, &path, &owned.token)
                .send()
                .await
                .unwrap(),
            410,
        )
        .await;
        assert!(message.contains("deleted"), "{message}");
    }
    let rpc = app
        .client
        .post(app.url("/rpc/delete"))
        .header("accept", "application/json")
        .bearer_auth(&owned.token)
        .form(&[("id", id.as_str())])
        .send()
        .await
        .unwrap();
    error_of(rpc, 410).await;
    let home = app.get("/").await.text().await.unwrap();
    assert!(!home.contains(&id), "gone from the recent list");
    app.stop().await;
}

#[tokio::test]
async fn snippets_from_before_owners_belong_to_nobody() {
    let app = TestApp::spawn().await;
    let id = SnippetId::random();
    app.state
        .snippets
        .create_snippet(&NewSnippet {
            id: id.clone(),
            files: vec![NewFile::new(
                "file1".into(),
                false,
                "Plain Text".into(),
                "legacy\n".into(),
            )],
            max_attempts: 3,
            created_at: chrono::Utc::now(),
            expires_at: None,
            owner: None,
            visibility: Visibility::Unlisted,
            burn_after_reading: false,
            forked_from: None,
        })
        .await
        .unwrap();
    let message = error_of(
        app.client
            .delete(app.url(&format!("/api/snippets/{id}")))
            .bearer_auth("0123456789abcdefghijklmnopqrstuv")
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert!(message.contains("before snippets had owners"), "{message}");
    assert_eq!(app.get(&format!("/api/snippets/{id}")).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn unlisted_snippets_are_never_listed_or_broadcast() {
    let app = TestApp::spawn().await;
    let (mine_id, cookie) = app.browser_submit(&[("code", "first\n")], None).await;
    let mut anyone = SseClient::connect(&app.client, &app.url("/api/events")).await;
    let mut owner = {
        let response_stream = app
            .client
            .get(app.url("/api/events"))
            .header("cookie", &cookie);
        SseClient::connect_with(response_stream).await
    };
    // Unlisted (the default) from the owner's browser, then a public one.
    let (unlisted, _) = app
        .browser_submit(&[("code", "secret_thing = 1\n")], Some(&cookie))
        .await;
    let public = app.submit_public("shared_thing = 2\n", None).await;

    // A stranger's home page hears only of the public one.
    loop {
        let event = anyone.next_within(Duration::from_secs(10)).await.unwrap();
        assert_ne!(event.json()["id"], unlisted.as_str(), "{event:?}");
        if event.event == "created" {
            assert_eq!(event.json()["id"], public.as_str());
            break;
        }
    }
    // The owner's home page hears of its own unlisted one, as `yours`.
    let mut heard = Vec::new();
    while heard.len() < 2 {
        let event = owner.next_within(Duration::from_secs(10)).await.unwrap();
        if event.event == "yours" || event.event == "created" {
            heard.push((
                event.event.clone(),
                event.json()["id"].as_str().unwrap().to_owned(),
            ));
        }
    }
    assert_eq!(heard[0], ("yours".to_owned(), unlisted.clone()));
    assert_eq!(heard[1], ("created".to_owned(), public.clone()));

    // The home page: the stranger sees only the public one; the owner sees
    // both of theirs under "Your snippets".
    let home = app.get("/").await.text().await.unwrap();
    assert!(home.contains(&public) && !home.contains(&unlisted) && !home.contains(&mine_id));
    let owners_home = app
        .client
        .get(app.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(owners_home.contains("Your snippets"));
    assert!(owners_home.contains(&unlisted) && owners_home.contains(&mine_id));
    // Anyone with the link can still read an unlisted snippet.
    assert_eq!(
        app.get(&format!("/api/snippets/{unlisted}")).await.status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn burn_after_reading_is_read_once_by_anyone_but_its_owner() {
    let app = TestApp::spawn().await;
    let owned = app
        .submit_owned(json!({ "code": "the password is swordfish\n", "burn_after_reading": true }))
        .await;
    let id = owned.id.clone();
    // The owner follows it being highlighted, and reads it, without burning it.
    let own = app
        .client
        .get(app.url(&format!("/api/snippets/{id}/events")))
        .bearer_auth(&owned.token);
    let mut own = SseClient::connect_with(own).await;
    let result = loop {
        let event = own.next_within(Duration::from_secs(30)).await.unwrap();
        if event.event == "highlighted" {
            break event;
        }
    };
    assert!(
        result.json()["html"]
            .as_str()
            .unwrap()
            .contains("swordfish")
    );
    for _ in 0..2 {
        let read = app
            .as_owner(Method::GET, &format!("/api/snippets/{id}"), &owned.token)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
    }
    // A stranger's stream and page show it sealed: no content, no burn.
    let mut stranger = app.events(&id).await;
    let events = stranger.collect_until_end(Duration::from_secs(10)).await;
    let highlighted = events.iter().find(|e| e.event == "highlighted").unwrap();
    assert_eq!(
        highlighted.json()["html"],
        "",
        "a stream is no way around the burn"
    );
    let page = app.get(&format!("/s/{id}")).await.text().await.unwrap();
    assert!(page.contains("Show it once") && !page.contains("swordfish"));
    assert!(app.get(&format!("/s/{id}")).await.status().is_success());

    // Eight strangers at once: exactly one reads it.
    let reads: Vec<_> = (0..8)
        .map(|_| app.client.get(app.url(&format!("/s/{id}/raw"))).send())
        .collect();
    let mut statuses = Vec::new();
    let mut bodies = Vec::new();
    for read in futures_util::future::join_all(reads).await {
        let read = read.unwrap();
        statuses.push(read.status().as_u16());
        bodies.push(read.text().await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 410).count(),
        7,
        "{statuses:?}"
    );
    assert!(bodies.iter().any(|b| b == "the password is swordfish\n"));
    // Then it is gone for everyone, owner included.
    for path in [format!("/api/snippets/{id}"), format!("/s/{id}")] {
        assert_eq!(app.get(&path).await.status(), 410);
    }
    let message = error_of(app.get(&format!("/api/snippets/{id}")).await, 410).await;
    assert!(message.contains("read only once"), "{message}");
    app.stop().await;
}

#[tokio::test]
async fn a_pending_burn_snippet_is_not_burned_by_polling_and_reveal_reads_it() {
    let app = TestApp::spawn_with(|s| s.role = Some(Role::Web), None).await;
    let owned = app
        .submit_owned(json!({ "code": "later\n", "burn_after_reading": true }))
        .await;
    let id = owned.id;
    // While pending, polling says 204 and burns nothing.
    assert_eq!(
        app.get(&format!("/api/snippets/{id}/highlighted"))
            .await
            .status(),
        204
    );
    assert_eq!(
        app.get(&format!("/api/snippets/{id}/highlighted"))
            .await
            .status(),
        204
    );
    // "Show it once" without JavaScript: a POST answered with the code.
    let revealed = app
        .client
        .post(app.url(&format!("/s/{id}/reveal")))
        .send()
        .await
        .unwrap();
    assert_eq!(revealed.status(), 200);
    assert_eq!(revealed.text().await.unwrap(), "later\n");
    // With JavaScript: the server function, which finds it gone now.
    let again = app
        .client
        .post(app.url("/rpc/reveal"))
        .header("accept", "application/json")
        .form(&[("id", id.as_str())])
        .send()
        .await
        .unwrap();
    error_of(again, 410).await;
    app.stop().await;
}
