//! Gists through the real app: several files, revisions saved and
//! refused, what a page is pushed when one file of many changes, forks,
//! the files as files (raw, zip), embeds and oEmbed, and the forms
//! without JavaScript.

mod common;

use std::{io::Read, time::Duration};

use common::{Owned, SseClient, TestApp, html_text};
use serde_json::{Value, json};

fn file(name: &str, code: &str) -> Value {
    json!({ "name": name, "code": code })
}

/// Three files, highlighted; returns the snippet and its answer.
async fn three_files(app: &TestApp, visibility: &str) -> (Owned, Value) {
    let owned = app
        .submit_owned(json!({
            "files": [
                file("main.rs", "fn main() {\n    println!(\"one\");\n}\n"),
                file("Cargo.toml", "[package]\nname = \"demo\"\n"),
                file("README.md", "# Demo\n\n```rust\nfn a() {}\n```\n"),
            ],
            "visibility": visibility,
        }))
        .await;
    app.wait_final(&owned.id).await;
    let snippet = app.snippet(&owned.id).await;
    assert_eq!(snippet["state"], "succeeded");
    (owned, snippet)
}

async fn save(app: &TestApp, owned: &Owned, body: Value) -> reqwest::Response {
    app.as_owner(
        reqwest::Method::PUT,
        &format!("/api/snippets/{}", owned.id),
        &owned.token,
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

async fn error_of(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status, "{:?}", response.url());
    let body: Value = response.json().await.unwrap();
    body["error"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_snippet_of_several_files_answers_each_with_its_language_and_no_one_file_fields() {
    let app = TestApp::spawn().await;
    let (_, snippet) = three_files(&app, "unlisted").await;
    assert_eq!(snippet["revision"], 1);
    let files = snippet["files"].as_array().unwrap();
    let described: Vec<(&str, &str)> = files
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["language"].as_str().unwrap()))
        .collect();
    assert_eq!(
        described,
        vec![
            ("main.rs", "Rust"),
            ("Cargo.toml", "TOML"),
            ("README.md", "Markdown")
        ]
    );
    for f in files {
        assert!(f["html"].as_str().unwrap().contains("<pre"), "{f}");
        assert_eq!(f["hash"].as_str().unwrap().len(), 64);
    }
    // Markdown is rendered in the job, its fence highlighted.
    let rendered = files[2]["rendered"].as_str().unwrap();
    assert!(rendered.contains("<h1>Demo</h1>"), "{rendered}");
    assert!(rendered.contains("<x-k>fn</x-k>"), "{rendered}");
    // The one-file fields are for one-file snippets only.
    for field in ["code", "html", "filename", "language"] {
        assert!(snippet.get(field).is_none(), "{field} in {snippet}");
    }
    let one = app
        .submit_owned(json!({ "code": "x = 1\n", "filename": "a.py" }))
        .await;
    app.wait_final(&one.id).await;
    let one = app.snippet(&one.id).await;
    assert_eq!(one["code"], "x = 1\n");
    assert_eq!(one["filename"], "a.py");
    assert_eq!(one["files"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn saves_make_revisions_and_a_stale_one_is_refused_never_merged() {
    let app = TestApp::spawn().await;
    let (owned, first) = three_files(&app, "unlisted").await;
    let edited = json!({
        "base_revision": 1,
        "files": [
            file("main.rs", "fn main() {\n    println!(\"two\");\n}\n"),
            file("Cargo.toml", "[package]\nname = \"demo\"\n"),
        ],
    });
    let saved = save(&app, &owned, edited.clone()).await;
    assert_eq!(saved.status(), 201);
    let saved: Value = saved.json().await.unwrap();
    assert_eq!(saved["revision"], 2);
    assert_eq!(saved["state"], "queued");
    app.wait_final(&owned.id).await;

    // The same base again: another save landed first.
    let message = error_of(save(&app, &owned, edited).await, 409).await;
    assert!(message.contains("revision 2"), "{message}");
    // If-Match names revision 1's ETag: 412; none at all: 428.
    let stale_etag = app
        .as_owner(
            reqwest::Method::PUT,
            &format!("/api/snippets/{}", owned.id),
            &owned.token,
        )
        .header("if-match", format!("\"{}-r1\"", owned.id))
        .json(&json!({ "files": [file("a.txt", "x")] }))
        .send()
        .await
        .unwrap();
    error_of(stale_etag, 412).await;
    error_of(
        save(&app, &owned, json!({ "files": [file("a.txt", "x")] })).await,
        428,
    )
    .await;
    // Anyone else: 403.
    let stranger = app
        .client
        .put(app.url(&format!("/api/snippets/{}", owned.id)))
        .json(&json!({ "base_revision": 2, "files": [file("a.txt", "x")] }))
        .send()
        .await
        .unwrap();
    error_of(stranger, 403).await;

    // Nothing was overwritten: revision 2 is what the first save said,
    // and revision 1 is still there, whole.
    let latest = app.snippet(&owned.id).await;
    assert_eq!(latest["revision"], 2);
    assert_eq!(latest["files"].as_array().unwrap().len(), 2);
    assert!(latest["files"][0]["code"].as_str().unwrap().contains("two"));
    let old: Value = app
        .get(&format!("/api/snippets/{}/revisions/1", owned.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(old["files"], first["files"]);
    let revisions: Value = app
        .get(&format!("/api/snippets/{}/revisions", owned.id))
        .await
        .json()
        .await
        .unwrap();
    let numbers: Vec<u64> = revisions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2]);
    // One line changed in main.rs; README.md's five lines went with it.
    assert_eq!(revisions[1]["lines_added"], 1);
    assert_eq!(revisions[1]["lines_removed"], 1 + 5);
    // The diff: main.rs modified, README.md removed, Cargo.toml unchanged.
    let diff: Value = app
        .get(&format!("/api/snippets/{}/diff/1/2", owned.id))
        .await
        .json()
        .await
        .unwrap();
    let changes: Vec<(String, String)> = diff["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let name = f["new_name"].as_str().or(f["old_name"].as_str()).unwrap();
            (name.to_owned(), f["change"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            ("main.rs".into(), "modified".into()),
            ("Cargo.toml".into(), "unchanged".into()),
            ("README.md".into(), "removed".into()),
        ]
    );
    let hunk_lines = &diff["files"][0]["hunks"][0]["lines"];
    let kinds: Vec<&str> = hunk_lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"added") && kinds.contains(&"removed"),
        "{kinds:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_limits_hold_for_files_bytes_and_kept_revisions() {
    let app = TestApp::spawn_with(
        |s| {
            s.max_files = Some(3);
            s.max_revisions = Some(2);
            s.max_snippet_bytes = Some(1000);
        },
        None,
    )
    .await;
    let four: Vec<Value> = (0..4).map(|n| file(&format!("f{n}.txt"), "x")).collect();
    let message = error_of(app.post_json(&json!({ "files": four })).await, 400).await;
    assert!(message.contains('3'), "{message}");
    let big = "y".repeat(600);
    let response = app
        .post_json(&json!({ "files": [file("a.txt", &big), file("b.txt", &big)] }))
        .await;
    error_of(response, 413).await;
    let duplicate = app
        .post_json(&json!({ "files": [file("A.txt", "1"), file("a.txt", "2")] }))
        .await;
    let message = error_of(duplicate, 400).await;
    assert!(message.contains("a.txt"), "{message}");

    // Two revisions are kept: after three saves, 1 and 2 are gone.
    let owned = app
        .submit_owned(json!({ "files": [file("a.txt", "1\n")] }))
        .await;
    for base in 1..=3 {
        let saved = save(
            &app,
            &owned,
            json!({ "base_revision": base, "files": [file("a.txt", &format!("{}\n", base + 1))] }),
        )
        .await;
        assert_eq!(saved.status(), 201);
    }
    let revisions: Value = app
        .get(&format!("/api/snippets/{}/revisions", owned.id))
        .await
        .json()
        .await
        .unwrap();
    let numbers: Vec<u64> = revisions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![3, 4]);
    let pruned = app
        .get(&format!("/api/snippets/{}/revisions/1", owned.id))
        .await;
    let message = error_of(pruned, 404).await;
    assert!(message.contains("pruned"), "{message}");
    let latest = app.snippet(&owned.id).await;
    assert_eq!(latest["first_revision"], 3);
    // The page says so.
    let page = app
        .get(&format!("/s/{}", owned.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Revisions before 3 were pruned"), "{page}");
    app.stop().await;
}

/// What a page showing revision 1 is pushed when one file of three
/// changes: the new revision, then only that file's HTML.
#[tokio::test]
async fn a_page_is_pushed_only_the_files_it_does_not_show() {
    let app = TestApp::spawn().await;
    let (owned, first) = three_files(&app, "unlisted").await;
    let mut page = SseClient::connect(
        &app.client,
        &app.url(&format!(
            "/api/snippets/{}/events?since=1&highlighted=true",
            owned.id
        )),
    )
    .await;
    // Where it stands: highlighted, nothing to send again.
    let mut snapshot = Vec::new();
    loop {
        let event = page.next_within(Duration::from_secs(10)).await.unwrap();
        let done = event.event == "highlighted";
        snapshot.push(event);
        if done {
            break;
        }
    }
    assert!(snapshot.iter().all(|e| e.event != "file"), "{snapshot:?}");
    let saved = save(
        &app,
        &owned,
        json!({
            "base_revision": 1,
            "files": [
                file("main.rs", "fn main() {\n    println!(\"changed\");\n}\n"),
                file("Cargo.toml", "[package]\nname = \"demo\"\n"),
                file("README.md", "# Demo\n\n```rust\nfn a() {}\n```\n"),
            ],
        }),
    )
    .await;
    assert_eq!(saved.status(), 201);
    let mut pushed = Vec::new();
    loop {
        let event = page.next_within(Duration::from_secs(30)).await.unwrap();
        let done = event.event == "highlighted" && event.json()["revision"] == 2;
        pushed.push(event);
        if done {
            break;
        }
    }
    let revision = pushed
        .iter()
        .find(|e| e.event == "revision")
        .expect("the new revision is announced")
        .json();
    assert_eq!(revision["number"], 2);
    assert_eq!(revision["changed"][0]["file"], "main.rs");
    assert_eq!(revision["changed"][0]["lines"], json!([[2, 2]]));
    let files: Vec<Value> = pushed
        .iter()
        .filter(|e| e.event == "file")
        .map(|e| e.json())
        .collect();
    assert_eq!(files.len(), 1, "only the changed file: {files:?}");
    assert_eq!(files[0]["name"], "main.rs");
    assert!(html_text(files[0]["html"].as_str().unwrap()).contains("changed"));
    // `highlighted` names the revision, without HTML the page has.
    let last = pushed.last().unwrap().json();
    assert_eq!(last["html"], "");
    // The unchanged files were not highlighted again: same result rows.
    let latest = app.snippet(&owned.id).await;
    assert_eq!(latest["files"][1]["html"], first["files"][1]["html"]);
    app.stop().await;
}

#[tokio::test]
async fn forks_belong_to_whoever_forked_and_name_only_public_originals() {
    let app = TestApp::spawn().await;
    let (unlisted, _) = three_files(&app, "unlisted").await;
    let fork = app
        .client
        .post(app.url(&format!("/api/snippets/{}/fork", unlisted.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(fork.status(), 201);
    let fork: Value = fork.json().await.unwrap();
    let fork_id = fork["id"].as_str().unwrap().to_owned();
    assert_ne!(fork_id, unlisted.id);
    assert_eq!(fork["visibility"], "unlisted");
    let token = fork["owner_token"].as_str().unwrap().to_owned();
    app.wait_final(&fork_id).await;
    let forked = app.snippet(&fork_id).await;
    assert_eq!(forked["files"].as_array().unwrap().len(), 3);
    // The original is unlisted: its id is not handed to the fork's readers.
    assert_eq!(forked["forked_from"], json!({ "id": null }));
    let page = app.get(&fork_id_url(&fork_id)).await.text().await.unwrap();
    assert!(page.contains("Forked from an unlisted snippet"));
    assert!(!page.contains(&unlisted.id));
    // The fork's token changes the fork, not the original.
    let mine = Owned {
        id: fork_id.clone(),
        token: token.clone(),
    };
    let saved = save(
        &app,
        &mine,
        json!({ "base_revision": 1, "files": [file("x.txt", "x")] }),
    )
    .await;
    assert_eq!(saved.status(), 201);
    let theirs = Owned {
        id: unlisted.id.clone(),
        token,
    };
    error_of(
        save(
            &app,
            &theirs,
            json!({ "base_revision": 1, "files": [file("x.txt", "x")] }),
        )
        .await,
        403,
    )
    .await;

    // A public original is named, and lists its public forks.
    let (public, _) = three_files(&app, "public").await;
    let listed = app
        .client
        .post(app.url(&format!(
            "/api/snippets/{}/fork?visibility=public",
            public.id
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 201);
    let listed: Value = listed.json().await.unwrap();
    let listed_id = listed["id"].as_str().unwrap();
    let forked = app.snippet(listed_id).await;
    assert_eq!(forked["forked_from"]["id"], public.id.as_str());
    let original_page = app
        .get(&format!("/s/{}", public.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        original_page.contains(listed_id),
        "the original lists its fork"
    );

    // A burn-after-reading snippet is neither forked nor burned by trying.
    let burning = app
        .submit_owned(json!({ "code": "secret\n", "burn_after_reading": true }))
        .await;
    let refused = app
        .client
        .post(app.url(&format!("/api/snippets/{}/fork", burning.id)))
        .send()
        .await
        .unwrap();
    let message = error_of(refused, 409).await;
    assert!(message.contains("cannot be forked"), "{message}");
    let still = app
        .as_owner(
            reqwest::Method::GET,
            &format!("/api/snippets/{}", burning.id),
            &burning.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200, "trying to fork burned nothing");
    app.stop().await;
}

fn fork_id_url(id: &str) -> String {
    format!("/s/{id}")
}

#[tokio::test]
async fn files_come_raw_one_by_one_and_all_together_as_a_zip() {
    let app = TestApp::spawn().await;
    let (owned, snippet) = three_files(&app, "unlisted").await;
    let raw = app.get(&format!("/s/{}/raw", owned.id)).await;
    assert_eq!(raw.status(), 300);
    let links = raw.text().await.unwrap();
    let expected: Vec<String> = ["main.rs", "Cargo.toml", "README.md"]
        .iter()
        .map(|name| app.url(&format!("/s/{}/raw/{name}", owned.id)))
        .collect();
    assert_eq!(links.lines().collect::<Vec<_>>(), expected);
    let one = app.get(&format!("/s/{}/raw/Cargo.toml", owned.id)).await;
    assert_eq!(one.status(), 200);
    assert_eq!(one.text().await.unwrap(), "[package]\nname = \"demo\"\n");
    let missing = app.get(&format!("/s/{}/raw/nope.rs", owned.id)).await;
    error_of(missing, 404).await;

    let download = app.get(&format!("/s/{}/download", owned.id)).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "application/zip");
    let disposition = download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.contains(".zip"), "{disposition}");
    let bytes = download.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(archive.len(), 3);
    let saved: chrono::DateTime<chrono::Utc> =
        snippet["revised_at"].as_str().unwrap().parse().unwrap();
    for (n, f) in snippet["files"].as_array().unwrap().iter().enumerate() {
        let mut entry = archive.by_index(n).unwrap();
        assert_eq!(entry.name(), f["name"].as_str().unwrap());
        // Dated when the revision was saved, not 1980.
        let dated = entry.last_modified().expect("a date");
        assert_eq!(
            (
                u32::from(dated.year()),
                u32::from(dated.month()),
                u32::from(dated.day())
            ),
            {
                use chrono::Datelike;
                (saved.year() as u32, saved.month(), saved.day())
            }
        );
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        assert_eq!(text, f["code"].as_str().unwrap());
    }
    // One file: the file itself, as before.
    let single = app
        .submit_owned(json!({ "code": "print(1)\n", "filename": "a.py" }))
        .await;
    let download = app.get(&format!("/s/{}/download", single.id)).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.text().await.unwrap(), "print(1)\n");
    app.stop().await;
}

#[tokio::test]
async fn embeds_may_be_framed_anywhere_and_oembed_answers_absolute_links() {
    let app = TestApp::spawn().await;
    let (owned, _) = three_files(&app, "unlisted").await;
    let frame = app
        .get(&format!("/s/{}/embed?theme=dark&file=main.rs", owned.id))
        .await;
    assert_eq!(frame.status(), 200);
    let policy = frame.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("frame-ancestors *"), "{policy}");
    assert!(frame.headers().get("x-frame-options").is_none());
    assert!(frame.headers().get("set-cookie").is_none());
    let html = frame.text().await.unwrap();
    assert!(html.contains("data-theme=\"dark\""));
    assert!(html.contains("println!"), "the code, without JavaScript");
    assert!(!html.contains("Cargo.toml"), "only the file asked for");
    // The snippet's own page may not be framed.
    let page = app.get(&format!("/s/{}", owned.id)).await;
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");

    let script = app.get(&format!("/s/{}/embed.js", owned.id)).await;
    assert_eq!(script.status(), 200);
    let script = script.text().await.unwrap();
    assert!(script.contains(&app.url(&format!("/s/{}/embed", owned.id))));

    let url = app.url(&format!("/s/{}", owned.id));
    let oembed = app
        .client
        .get(app.url("/api/oembed"))
        .query(&[("url", url.as_str()), ("maxwidth", "500")])
        .send()
        .await
        .unwrap();
    assert_eq!(oembed.status(), 200);
    let oembed: Value = oembed.json().await.unwrap();
    assert_eq!(oembed["version"], "1.0");
    assert_eq!(oembed["type"], "rich");
    assert_eq!(oembed["width"], 500);
    assert_eq!(oembed["provider_url"], app.url("/"));
    let iframe = oembed["html"].as_str().unwrap();
    assert!(
        iframe.contains(&format!(
            "src=\"{}\"",
            app.url(&format!("/s/{}/embed", owned.id))
        )),
        "{iframe}"
    );
    let not_ours = app
        .client
        .get(app.url("/api/oembed"))
        .query(&[("url", "https://example.com/page")])
        .send()
        .await
        .unwrap();
    error_of(not_ours, 400).await;
    let xml = app
        .client
        .get(app.url("/api/oembed"))
        .query(&[("url", url.as_str()), ("format", "xml")])
        .send()
        .await
        .unwrap();
    assert_eq!(xml.status(), 200);
    let xml = xml.text().await.unwrap();
    assert!(xml.contains("<type>rich</type>"), "{xml}");
    assert!(
        xml.contains("&lt;iframe src=&quot;"),
        "the HTML is escaped: {xml}"
    );
    let unknown = app
        .client
        .get(app.url("/api/oembed"))
        .query(&[("url", url.as_str()), ("format", "yaml")])
        .send()
        .await
        .unwrap();
    error_of(unknown, 400).await;
    // A malformed field is refused in a sentence a client can read, even
    // one that takes compressed answers (the sentence is made before the
    // answer is compressed, not after).
    let malformed = app
        .client
        .get(app.url("/api/oembed"))
        .query(&[("url", url.as_str()), ("maxwidth", "wide")])
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let gzipped = malformed
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v == "gzip");
    let bytes = malformed.bytes().await.unwrap();
    let text = if gzipped {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .expect("a gzip answer is gzip");
        text
    } else {
        String::from_utf8(bytes.to_vec()).unwrap()
    };
    let sentence: Value = serde_json::from_str(&text).expect("a JSON refusal");
    assert!(
        sentence["error"].as_str().unwrap().contains("maxwidth"),
        "{sentence}"
    );
    // Burn after reading never embeds, and showing the refusal burns
    // nothing.
    let burning = app
        .submit_owned(json!({ "code": "secret\n", "burn_after_reading": true }))
        .await;
    let refused = app.get(&format!("/s/{}/embed", burning.id)).await;
    assert_eq!(refused.status(), 403);
    assert!(!refused.text().await.unwrap().contains("secret"));
    let oembed = app
        .client
        .get(app.url("/api/oembed"))
        .query(&[("url", app.url(&format!("/s/{}", burning.id)))])
        .send()
        .await
        .unwrap();
    error_of(oembed, 401).await;
    let still = app
        .as_owner(
            reqwest::Method::GET,
            &format!("/api/snippets/{}", burning.id),
            &burning.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200);
    // The stream embeds share answers other sites' pages.
    let stream = app
        .client
        .get(app.url(&format!("/api/events?announce=false&snippets={}", owned.id)))
        .header("origin", "http://blog.example")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.headers()["access-control-allow-origin"], "*");
    app.stop().await;
}

#[tokio::test]
async fn without_javascript_add_file_keeps_the_text_and_a_stale_edit_keeps_the_changes() {
    let app = TestApp::spawn().await;
    // "Add file" posts the form to `/`: it comes back with two files and
    // the first one's text.
    let added = app
        .client
        .post(app.url("/"))
        .header("accept", "text/html")
        .form(&[
            ("files[0][name]", "kept.py"),
            ("files[0][code]", "print('kept text')\n"),
            ("public", "on"),
            ("do", "add"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let page = added.text().await.unwrap();
    assert!(page.contains("name=\"files[1][code]\""), "a second file");
    assert!(page.contains("print(&#39;kept text&#39;)") || page.contains("print('kept text')"));
    assert!(page.contains("value=\"kept.py\""));
    // And both files are posted as a browser without JavaScript does.
    let (id, cookie) = app
        .browser_submit(
            &[
                ("files[0][name]", "a.py"),
                // As a browser sends a textarea: CRLF, whatever was typed.
                ("files[0][code]", "a = 1\r\nb = 1\r\n"),
                ("files[1][name]", "b.py"),
                ("files[1][code]", "b = 2\n"),
            ],
            None,
        )
        .await;
    app.wait_final(&id).await;
    let snippet = app.snippet(&id).await;
    assert_eq!(snippet["files"].as_array().unwrap().len(), 2);
    assert_eq!(
        snippet["files"][0]["code"], "a = 1\nb = 1\n",
        "kept with LF"
    );
    assert_eq!(snippet["files"][1]["code"], "b = 2\n");

    // The owner edits revision 1 while another save lands: the form comes
    // back (409) with the changes typed, and revision 2 stands.
    let other = app
        .client
        .post(app.url(&format!("/s/{id}/edit")))
        .header("cookie", &cookie)
        .form(&[
            ("base_revision", "1"),
            ("files[0][name]", "a.py"),
            ("files[0][code]", "a = 'first save'\n"),
            ("do", "save"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 303);
    assert_eq!(other.headers()["location"], format!("/s/{id}"));
    let stale = app
        .client
        .post(app.url(&format!("/s/{id}/edit")))
        .header("cookie", &cookie)
        .form(&[
            ("base_revision", "1"),
            ("files[0][name]", "a.py"),
            ("files[0][code]", "a = 'my stale edit'\n"),
            ("do", "save"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 409);
    let page = stale.text().await.unwrap();
    assert!(page.contains("my stale edit"), "the typed text is kept");
    assert!(page.contains("was saved while you edited"), "it says why");
    let latest = app.snippet(&id).await;
    assert_eq!(latest["revision"], 2);
    assert_eq!(latest["files"][0]["code"], "a = 'first save'\n");
    // A stranger may not edit, with or without JavaScript.
    let stranger = app
        .client
        .post(app.url(&format!("/s/{id}/edit")))
        .form(&[
            ("base_revision", "2"),
            ("files[0][code]", "x\n"),
            ("do", "save"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 403);
    assert_eq!(app.snippet(&id).await["revision"], 2);
    app.stop().await;
}
