//! Upgrading to revisions and files (migration 7): a database written by
//! the previous main opens with this version and serves every snippet
//! unchanged.
//!
//! - `a_database_from_before_gists_serves_every_snippet_unchanged`: the
//!   SQLite database the previous main wrote (tests/fixtures/pre-gists.db,
//!   one snippet of every kind, described by pre-gists.json) is opened by
//!   the real app, and every snippet is checked through HTTP.
//! - `sqlite_rows_of_the_previous_schema_become_revision_one` and
//!   `postgres_rows_of_the_previous_schema_become_revision_one`: each
//!   driver's database is brought to the previous schema (migrations 1..6
//!   only), filled with rows as the previous code wrote them, then opened
//!   by the store (which runs migration 7) and read through the store's
//!   API.

mod common;

use std::{
    borrow::Cow,
    collections::{BTreeMap, BTreeSet},
    future::Future,
    path::{Path, PathBuf},
    str::FromStr,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use common::{TestApp, html_text, without_comments};
use highlighter::{
    domain::{GoneReason, JobState, SnippetId, Visibility, source::line_count},
    server::store::{DynStore, FileResult, PgStore, Rescued, SqliteStore},
};
use reqwest::Method;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{
    Row,
    sqlite::{SqliteConnectOptions, SqlitePoolOptions},
};

/// The first migration of revisions and files: everything before it is
/// the schema the previous main wrote.
const REVISIONS_MIGRATION: i64 = 20261206000007;

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn millis_of(value: &Value) -> Option<i64> {
    value.as_str().map(|raw| {
        DateTime::parse_from_rfc3339(raw)
            .unwrap_or_else(|e| panic!("a time, not {raw:?}: {e}"))
            .timestamp_millis()
    })
}

/// Polls `check` until it gives a value, for at most `limit`.
async fn wait_for<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------
// The fixture: a database the previous main (dc14b63) wrote.
// ---------------------------------------------------------------------

/// A `snippets` row of the previous schema, as the fixture holds it.
#[derive(Clone, Debug)]
struct OldRow {
    code: String,
    language: String,
    filename: Option<String>,
    line_count: i64,
    created_at: i64,
    html: Option<String>,
    highlighted_at: Option<i64>,
    highlighted_in_ms: Option<i64>,
    error: Option<String>,
    expires_at: Option<i64>,
    owner_hash: Option<String>,
    visibility: String,
    burn_after_reading: bool,
    /// Its job's state and attempts (every fixture snippet has its job).
    job_state: String,
    job_attempts: i64,
}

struct Fixture {
    /// What pre-gists.json says, by kind.
    expected: BTreeMap<String, Value>,
    /// The `snippets` rows, by id.
    rows: BTreeMap<String, OldRow>,
    /// The `tombstones` rows: id and reason.
    tombstones: BTreeMap<String, String>,
}

/// The fixture's expiring snippet was made to expire a year after the
/// fixture (December 2027): past that, the upgrade would rightly sweep it
/// and the test would fail for the calendar's sake. The copy's expiry is
/// moved to a year from now, before anything reads it.
async fn postpone_expiry(copy: &Path) {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(copy))
        .await
        .unwrap();
    let a_year_from_now = Utc::now().timestamp_millis() + 365 * 24 * 3600 * 1000;
    let moved = sqlx::query(
        "UPDATE snippets SET expires_at = ?1 WHERE expires_at IS NOT NULL AND expires_at < ?1",
    )
    .bind(a_year_from_now)
    .execute(&pool)
    .await
    .unwrap();
    assert!(moved.rows_affected() <= 1, "one expiring snippet");
    pool.close().await;
}

/// Reads the copy (never the fixture itself: opening a WAL database
/// writes beside it) before the new version touches it.
async fn read_fixture(copy: &Path) -> Fixture {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(manifest.join("tests/fixtures/pre-gists.json")).unwrap();
    let expected: BTreeMap<String, Value> = serde_json::from_str(&json).unwrap();
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(copy))
        .await
        .unwrap();
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(
        !versions.is_empty() && versions.iter().all(|v| *v < REVISIONS_MIGRATION),
        "the fixture is of the schema before revisions: {versions:?}"
    );
    let rows = sqlx::query(
        "SELECT s.id, s.code, s.language, s.filename, s.line_count, s.created_at, s.html,
                s.highlighted_at, s.highlighted_in_ms, s.error, s.expires_at, s.owner_hash,
                s.visibility, s.burn_after_reading, j.state, j.attempts
         FROM snippets s JOIN jobs j ON j.snippet_id = s.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let snippets: i64 = sqlx::query_scalar("SELECT count(*) FROM snippets")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        rows.len() as i64,
        snippets,
        "every fixture snippet has its job"
    );
    let rows = rows
        .iter()
        .map(|row| {
            (
                row.get::<String, _>("id"),
                OldRow {
                    code: row.get("code"),
                    language: row.get("language"),
                    filename: row.get("filename"),
                    line_count: row.get("line_count"),
                    created_at: row.get("created_at"),
                    html: row.get("html"),
                    highlighted_at: row.get("highlighted_at"),
                    highlighted_in_ms: row.get("highlighted_in_ms"),
                    error: row.get("error"),
                    expires_at: row.get("expires_at"),
                    owner_hash: row.get("owner_hash"),
                    visibility: row.get("visibility"),
                    burn_after_reading: row.get("burn_after_reading"),
                    job_state: row.get("state"),
                    job_attempts: row.get("attempts"),
                },
            )
        })
        .collect();
    let tombstones = sqlx::query("SELECT id, reason FROM tombstones")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get("id"), row.get("reason")))
        .collect();
    pool.close().await;
    Fixture {
        expected,
        rows,
        tombstones,
    }
}

fn kind_id(fixture: &Fixture, kind: &str) -> String {
    fixture.expected[kind]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("pre-gists.json has a `{kind}` snippet"))
        .to_owned()
}

async fn read_as_owner(app: &TestApp, id: &str, token: &str) -> Value {
    let response = app
        .as_owner(Method::GET, &format!("/api/snippets/{id}"), token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET /api/snippets/{id}");
    response.json().await.unwrap()
}

/// Everything `GET /api/snippets/{id}` says that the upgrade must keep:
/// one revision, one file, the same code, names, owner and times.
fn assert_kept(kind: &str, answer: &Value, row: &OldRow, expected: &Value) {
    let id = expected["id"].as_str().unwrap();
    assert_eq!(answer["id"], id, "{kind}");
    assert_eq!(answer["revision"], 1, "{kind}: revision 1");
    assert_eq!(answer["latest_revision"], 1, "{kind}");
    assert_eq!(answer["first_revision"], 1, "{kind}");
    let files = answer["files"].as_array().expect("files");
    assert_eq!(files.len(), 1, "{kind}: one file: {files:?}");
    let file = &files[0];
    // The code, byte for byte: the fixture's description and its row agree.
    assert_eq!(expected["code"].as_str(), Some(row.code.as_str()), "{kind}");
    assert_eq!(
        file["code"].as_str(),
        Some(row.code.as_str()),
        "{kind}: code"
    );
    assert_eq!(
        answer["code"].as_str(),
        Some(row.code.as_str()),
        "{kind}: code"
    );
    assert_eq!(file["bytes"], row.code.len() as u64, "{kind}: bytes");
    assert_eq!(file["lines"], row.line_count, "{kind}: lines");
    // Stored under its SHA-256: the legacy hash was replaced.
    assert_eq!(
        file["hash"].as_str(),
        Some(sha256_hex(&row.code).as_str()),
        "{kind}: the file's hash is the SHA-256 of its code"
    );
    assert_eq!(
        file["language"].as_str(),
        Some(row.language.as_str()),
        "{kind}"
    );
    assert_eq!(
        answer["language"].as_str(),
        Some(row.language.as_str()),
        "{kind}"
    );
    if let Some(language) = expected.get("language") {
        assert_eq!(answer["language"], *language, "{kind}");
    }
    // Its name, or none (`file1`, not named, `filename: null`).
    match &row.filename {
        Some(name) => {
            assert_eq!(file["name"].as_str(), Some(name.as_str()), "{kind}");
            assert_eq!(file["named"], true, "{kind}");
            assert_eq!(answer["filename"].as_str(), Some(name.as_str()), "{kind}");
        }
        None => {
            assert_eq!(file["name"], "file1", "{kind}");
            assert_eq!(file["named"], false, "{kind}");
            assert!(
                answer["filename"].is_null(),
                "{kind}: {:?}",
                answer["filename"]
            );
        }
    }
    if let Some(filename) = expected.get("filename") {
        assert_eq!(answer["filename"], *filename, "{kind}");
    }
    assert_eq!(
        answer["visibility"].as_str(),
        Some(row.visibility.as_str()),
        "{kind}"
    );
    assert_eq!(answer["visibility"], expected["visibility"], "{kind}");
    assert_eq!(
        answer["burn_after_reading"], row.burn_after_reading,
        "{kind}"
    );
    assert_eq!(
        answer["burn_after_reading"], expected["burn_after_reading"],
        "{kind}"
    );
    assert_eq!(
        millis_of(&answer["created_at"]),
        Some(row.created_at),
        "{kind}"
    );
    assert_eq!(
        millis_of(&answer["expires_at"]),
        row.expires_at,
        "{kind}: expiry"
    );
    // The owner: their token still proves it.
    assert_eq!(
        row.owner_hash.as_deref(),
        Some(sha256_hex(expected["owner_token"].as_str().unwrap()).as_str()),
        "{kind}: the fixture's token is its owner's"
    );
    assert_eq!(answer["is_owner"], true, "{kind}: still the owner's");
}

/// A succeeded snippet's stored result, as it was: not highlighted again.
fn assert_stored_result(kind: &str, answer: &Value, row: &OldRow, expected: &Value) {
    let html = row.html.as_deref().expect("a stored result");
    assert_eq!(row.job_state, "succeeded", "{kind}");
    assert_eq!(answer["state"], "succeeded", "{kind}");
    assert_eq!(expected["html"].as_str(), Some(html), "{kind}");
    assert_eq!(
        answer["html"].as_str(),
        Some(html),
        "{kind}: the stored HTML"
    );
    assert_eq!(answer["files"][0]["html"].as_str(), Some(html), "{kind}");
    assert_eq!(
        millis_of(&answer["highlighted_at"]),
        row.highlighted_at,
        "{kind}: highlighted when it was, not again"
    );
    assert_eq!(
        answer["highlighted_in_ms"].as_i64(),
        row.highlighted_in_ms,
        "{kind}"
    );
    assert_eq!(
        answer["attempts"], row.job_attempts,
        "{kind}: no new attempt"
    );
    assert!(answer["error"].is_null(), "{kind}");
}

fn assert_still_failed(answer: &Value, row: &OldRow, expected: &Value) {
    let error = row
        .error
        .as_deref()
        .expect("a failed snippet has its error");
    assert_eq!(row.job_state, "failed");
    assert_eq!(expected["error"].as_str(), Some(error));
    assert_eq!(answer["state"], "failed", "{answer}");
    assert_eq!(answer["error"].as_str(), Some(error));
    assert_eq!(answer["attempts"], row.job_attempts, "not tried again");
    assert!(answer["html"].is_null() && answer["files"][0]["html"].is_null());
    assert!(answer["highlighted_at"].is_null());
}

/// The page shows the code: the text of its `<pre>` blocks holds it whole.
fn assert_page_shows(page: &str, code: &str, id: &str) {
    let page = without_comments(page);
    let mut shown = String::new();
    let mut rest = page.as_str();
    while let Some(start) = rest.find("<pre") {
        let end = rest[start..].find("</pre>").expect("a closed <pre>") + start;
        shown.push_str(&html_text(&rest[start..end]));
        rest = &rest[end..];
    }
    assert!(!code.trim().is_empty());
    assert!(
        shown.contains(code),
        "/s/{id} shows {code:?}, not {shown:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_before_gists_serves_every_snippet_unchanged() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixture_path = manifest.join("tests/fixtures/pre-gists.db");
    let fixture_bytes = std::fs::read(&fixture_path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("pre-gists.db");
    std::fs::write(&copy, &fixture_bytes).unwrap();
    postpone_expiry(&copy).await;
    let fixture = read_fixture(&copy).await;

    // What the fixture holds: one snippet of every kind, and the JSON
    // describes every one of them.
    let kinds = [
        "failed",
        "public_named",
        "unlisted_detected",
        "burning",
        "expiring",
        "crlf",
        "queued",
    ];
    let live: BTreeSet<String> = kinds.iter().map(|k| kind_id(&fixture, k)).collect();
    assert_eq!(
        live,
        fixture.rows.keys().cloned().collect::<BTreeSet<_>>(),
        "pre-gists.json describes every snippet of the database"
    );
    let deleted = kind_id(&fixture, "deleted");
    assert_eq!(
        fixture.tombstones.get(&deleted).map(String::as_str),
        Some("deleted")
    );
    assert_eq!(
        fixture.expected.len(),
        kinds.len() + 1,
        "no kind left unchecked"
    );
    let row = |kind: &str| fixture.rows[&kind_id(&fixture, kind)].clone();
    assert!(
        row("crlf").code.contains("\r\n"),
        "the CRLF snippet keeps CRLF"
    );
    assert!(row("expiring").expires_at.is_some());
    assert_eq!(row("queued").job_state, "queued");
    assert!(row("queued").html.is_none());

    let url = format!("sqlite://{}", copy.display());
    let before_upgrade = Utc::now().timestamp_millis();
    let app = TestApp::spawn_with(
        |layer| {
            layer.database_url = Some(url);
            // Job records stay, whenever this runs: their attempts are
            // checked below.
            layer.succeeded_retention_secs = Some(1e8);
            layer.failed_retention_secs = Some(1e8);
        },
        None,
    )
    .await;

    // The queued one is highlighted by the worker, as revision 1.
    let queued = fixture.expected["queued"].clone();
    let queued_id = kind_id(&fixture, "queued");
    let queued_token = queued["owner_token"].as_str().unwrap().to_owned();
    let done = wait_for(Duration::from_secs(120), "the queued snippet's job", || {
        let (app, id, token) = (&app, &queued_id, &queued_token);
        async move {
            let answer = read_as_owner(app, id, token).await;
            matches!(answer["state"].as_str(), Some("succeeded" | "failed")).then_some(answer)
        }
    })
    .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_kept("queued", &done, &row("queued"), &queued);
    assert_eq!(done["attempts"], 1);
    let html = done["html"].as_str().expect("its HTML");
    assert_eq!(
        html_text(html),
        row("queued").code,
        "the HTML is of its code"
    );
    assert!(
        millis_of(&done["highlighted_at"]).unwrap() >= before_upgrade,
        "highlighted by this version"
    );

    // Every other live snippet, as its owner reads it (the owner's
    // reading burns nothing), after the workers had their chance to run
    // anything queued.
    for kind in kinds.iter().filter(|k| **k != "queued") {
        let expected = &fixture.expected[*kind];
        let old = row(kind);
        let id = expected["id"].as_str().unwrap();
        let token = expected["owner_token"].as_str().unwrap();
        let answer = read_as_owner(&app, id, token).await;
        assert_kept(kind, &answer, &old, expected);
        if *kind == "failed" {
            assert_still_failed(&answer, &old, expected);
        } else {
            assert_stored_result(kind, &answer, &old, expected);
        }
        // One revision, one file, with its hash.
        let revisions: Value = app
            .as_owner(Method::GET, &format!("/api/snippets/{id}/revisions"), token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let revisions = revisions.as_array().expect("a list of revisions");
        assert_eq!(revisions.len(), 1, "{kind}: {revisions:?}");
        assert_eq!(revisions[0]["number"], 1);
        assert_eq!(revisions[0]["files"].as_array().map(Vec::len), Some(1));
        assert_eq!(revisions[0]["files"][0]["hash"], answer["files"][0]["hash"]);
    }

    // Every code blob was rehashed, and no job was queued again.
    {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(SqliteConnectOptions::new().filename(&copy))
            .await
            .unwrap();
        let blobs: Vec<(String, String)> = sqlx::query_as("SELECT hash, code FROM blobs")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(blobs.len(), live.len(), "one blob per distinct code");
        for (hash, code) in &blobs {
            assert_eq!(*hash, sha256_hex(code), "no provisional hash is left");
        }
        let jobs: Vec<(String, i64, String, i64)> = sqlx::query_as(
            "SELECT snippet_id, revision, state, attempts FROM jobs ORDER BY snippet_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(jobs.len(), live.len(), "{jobs:?}");
        for (id, revision, state, attempts) in &jobs {
            let old = &fixture.rows[id];
            assert_eq!(*revision, 1);
            let (want_state, want_attempts) = if *id == queued_id {
                ("succeeded", 1)
            } else {
                (old.job_state.as_str(), old.job_attempts)
            };
            assert_eq!(
                (state.as_str(), *attempts),
                (want_state, want_attempts),
                "{id}"
            );
        }
        pool.close().await;
    }

    // Raw code, byte for byte, and the page, for everyone but the burning
    // one (a stranger's reading burns it).
    for kind in kinds.iter().filter(|k| **k != "burning") {
        let id = kind_id(&fixture, kind);
        let code = &row(kind).code;
        let raw = app.get(&format!("/s/{id}/raw")).await;
        assert_eq!(raw.status(), 200, "{kind}");
        assert_eq!(
            &raw.bytes().await.unwrap()[..],
            code.as_bytes(),
            "{kind}: raw"
        );
        let page = app.get(&format!("/s/{id}")).await;
        assert_eq!(page.status(), 200, "{kind}: /s/{id}");
        assert_page_shows(&page.text().await.unwrap(), code, &id);
    }

    // The public one is listed; the unlisted ones are not.
    let home = app.get("/").await.text().await.unwrap();
    assert!(home.contains(&kind_id(&fixture, "public_named")), "listed");
    for kind in kinds.iter().filter(|k| **k != "public_named") {
        assert!(
            !home.contains(&kind_id(&fixture, kind)),
            "{kind} is not listed"
        );
    }

    // The burning one is sealed for strangers, then burns on reading.
    let burning = kind_id(&fixture, "burning");
    let secret = row("burning").code;
    let page = app.get(&format!("/s/{burning}")).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Show it once"), "sealed");
    assert!(!page.contains(secret.trim_end()), "nothing of it shows");
    let read = app.get(&format!("/s/{burning}/raw")).await;
    assert_eq!(read.status(), 200);
    assert_eq!(read.text().await.unwrap(), secret);
    for path in [
        format!("/api/snippets/{burning}"),
        format!("/s/{burning}"),
        format!("/s/{burning}/raw"),
    ] {
        assert_eq!(app.get(&path).await.status(), 410, "{path} after the burn");
    }

    // The tombstone from before still answers 410, saying why.
    for path in [
        format!("/api/snippets/{deleted}"),
        format!("/s/{deleted}"),
        format!("/s/{deleted}/raw"),
    ] {
        assert_eq!(app.get(&path).await.status(), 410, "{path}");
    }
    let gone: Value = app
        .get(&format!("/api/snippets/{deleted}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        gone["error"]
            .as_str()
            .is_some_and(|e| e.contains("deleted")),
        "{gone}"
    );

    // The owners' tokens still delete their snippets (and only theirs).
    for kind in kinds.iter().filter(|k| **k != "burning") {
        let expected = &fixture.expected[*kind];
        let id = expected["id"].as_str().unwrap();
        let stranger = app
            .as_owner(
                Method::DELETE,
                &format!("/api/snippets/{id}"),
                "0123456789abcdefghijklmnopqrstuv",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(stranger.status(), 403, "{kind}: not a stranger's to delete");
        let owner = app
            .as_owner(
                Method::DELETE,
                &format!("/api/snippets/{id}"),
                expected["owner_token"].as_str().unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(owner.status(), 204, "{kind}: the owner deletes it");
        assert_eq!(
            app.get(&format!("/api/snippets/{id}")).await.status(),
            410,
            "{kind}"
        );
    }
    app.stop().await;

    assert_eq!(
        std::fs::read(&fixture_path).unwrap(),
        fixture_bytes,
        "the fixture itself is never written"
    );
}

// ---------------------------------------------------------------------
// Both drivers: the previous schema by partial migration, rows written as
// the previous code wrote them, then the store opens it.
// ---------------------------------------------------------------------

/// A job of the previous schema.
#[derive(Clone, Debug)]
struct OldJob {
    state: &'static str,
    attempts: i64,
    max_attempts: i64,
    locked_by: Option<&'static str>,
    lease_until: Option<i64>,
    last_error: Option<&'static str>,
    finished_at: Option<i64>,
    /// Each ended attempt: its outcome and error.
    history: Vec<(&'static str, Option<&'static str>)>,
}

/// A snippet of the previous schema.
#[derive(Clone, Debug)]
struct Old {
    name: &'static str,
    id: SnippetId,
    code: &'static str,
    language: &'static str,
    filename: Option<&'static str>,
    created_at: i64,
    html: Option<&'static str>,
    highlighted_at: Option<i64>,
    highlighted_in_ms: Option<i64>,
    error: Option<&'static str>,
    expires_at: Option<i64>,
    owner: Option<String>,
    visibility: Visibility,
    burn: bool,
    /// `None`: its job record was pruned, as finished ones are.
    job: Option<OldJob>,
}

impl Old {
    fn state(&self) -> JobState {
        match &self.job {
            Some(job) => JobState::parse(job.state).unwrap(),
            None if self.html.is_some() => JobState::Succeeded,
            None => JobState::Failed,
        }
    }
}

/// A SQL string literal (both dialects: quotes doubled, nothing else).
fn lit(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn opt_lit(text: Option<&str>) -> String {
    text.map_or_else(|| "NULL".to_owned(), lit)
}

fn opt_num(n: Option<i64>) -> String {
    n.map_or_else(|| "NULL".to_owned(), |n| n.to_string())
}

struct Seed {
    snippets: Vec<Old>,
    tombstone: SnippetId,
    /// Owners' hashes.
    alice: String,
    bob: String,
    now: i64,
}

/// Rows as the previous code wrote them: one of each kind it could leave
/// behind.
fn seed() -> Seed {
    let now = Utc::now().timestamp_millis();
    let t0 = now - 3_600_000;
    let alice = sha256_hex("alice's owner token, 32 chars..");
    let bob = sha256_hex("bob's owner token, 32 characters");
    let html_one = "<pre class=\"hl\"><code><span class=k>fn</span> <span class=f>main</span><span class=p>() {}</span>\n</code></pre>";
    let done = |attempts: i64, at: i64| OldJob {
        state: "succeeded",
        attempts,
        max_attempts: 5,
        locked_by: None,
        lease_until: None,
        last_error: None,
        finished_at: Some(at),
        history: vec![("succeeded", None)],
    };
    let snippets = vec![
        Old {
            name: "public_succeeded",
            id: SnippetId::random(),
            code: "fn main() {}\n",
            language: "Rust",
            filename: Some("main.rs"),
            created_at: t0,
            html: Some(html_one),
            highlighted_at: Some(t0 + 50),
            highlighted_in_ms: Some(42),
            error: None,
            expires_at: None,
            owner: Some(alice.clone()),
            visibility: Visibility::Public,
            burn: false,
            job: Some(done(1, t0 + 50)),
        },
        Old {
            name: "queued",
            id: SnippetId::random(),
            code: "x = 'waiting'\r\ny = \"é ✓\"\r\n",
            language: "Python",
            filename: None,
            created_at: t0 + 1000,
            html: None,
            highlighted_at: None,
            highlighted_in_ms: None,
            error: None,
            expires_at: None,
            owner: Some(bob.clone()),
            visibility: Visibility::Unlisted,
            burn: false,
            job: Some(OldJob {
                state: "queued",
                attempts: 0,
                max_attempts: 5,
                locked_by: None,
                lease_until: None,
                last_error: None,
                finished_at: None,
                history: vec![],
            }),
        },
        Old {
            name: "failed",
            id: SnippetId::random(),
            code: "print('boom')\n",
            language: "Python",
            filename: Some("boom.py"),
            created_at: t0 + 2000,
            html: None,
            highlighted_at: None,
            highlighted_in_ms: None,
            error: Some("The highlighting service could not be reached."),
            expires_at: None,
            owner: Some(alice.clone()),
            visibility: Visibility::Unlisted,
            burn: false,
            job: Some(OldJob {
                state: "failed",
                attempts: 3,
                max_attempts: 3,
                locked_by: None,
                lease_until: None,
                last_error: Some("The highlighting service could not be reached."),
                finished_at: Some(t0 + 2900),
                history: vec![
                    ("retrying", Some("The highlighting service timed out.")),
                    ("retrying", Some("The highlighting service timed out.")),
                    (
                        "failed",
                        Some("The highlighting service could not be reached."),
                    ),
                ],
            }),
        },
        Old {
            // From before owners: nobody's; burns; expires; its job pruned.
            name: "pruned_burning",
            id: SnippetId::random(),
            code: "the secret is 42\n",
            language: "Plain Text",
            filename: None,
            created_at: t0 + 3000,
            html: Some("<pre class=\"hl\"><code>the secret is 42\n</code></pre>"),
            highlighted_at: Some(t0 + 3010),
            highlighted_in_ms: Some(0),
            error: None,
            expires_at: Some(now + 365 * 86_400_000),
            owner: None,
            visibility: Visibility::Unlisted,
            burn: true,
            job: None,
        },
        Old {
            // Failed, its job pruned: only the snippet says why.
            name: "pruned_failed",
            id: SnippetId::random(),
            code: "SELECT 1;\n",
            language: "SQL",
            filename: Some("q.sql"),
            created_at: t0 + 4000,
            html: None,
            highlighted_at: None,
            highlighted_in_ms: None,
            error: Some("It took too long to highlight."),
            expires_at: None,
            owner: Some(bob.clone()),
            visibility: Visibility::Public,
            burn: false,
            job: None,
        },
        Old {
            // The same code and language as the first, highlighted by an
            // older engine: its own HTML must stay its own.
            name: "twin",
            id: SnippetId::random(),
            code: "fn main() {}\n",
            language: "Rust",
            filename: None,
            created_at: t0 + 5000,
            html: Some(
                "<pre class=\"hl\"><code><span class=hl-keyword>fn</span> main() {}\n</code></pre>",
            ),
            highlighted_at: Some(t0 + 5060),
            highlighted_in_ms: Some(7),
            error: None,
            expires_at: None,
            owner: Some(bob.clone()),
            visibility: Visibility::Unlisted,
            burn: false,
            job: Some(done(2, t0 + 5060)),
        },
        Old {
            // Running when the old node stopped: its lease ran out.
            name: "processing",
            id: SnippetId::random(),
            code: "echo running\n",
            language: "Bourne Again Shell (bash)",
            filename: Some("run.sh"),
            created_at: t0 + 6000,
            html: None,
            highlighted_at: None,
            highlighted_in_ms: None,
            error: None,
            expires_at: None,
            owner: Some(alice.clone()),
            visibility: Visibility::Unlisted,
            burn: false,
            job: Some(OldJob {
                state: "processing",
                attempts: 1,
                max_attempts: 5,
                locked_by: Some("4242-oldnode/3"),
                lease_until: Some(t0 + 6030),
                last_error: None,
                finished_at: None,
                history: vec![],
            }),
        },
    ];
    Seed {
        snippets,
        tombstone: SnippetId::random(),
        alice,
        bob,
        now,
    }
}

/// The statements that write `seed` into the previous schema.
fn seed_statements(seed: &Seed) -> Vec<String> {
    let mut sql = Vec::new();
    for old in &seed.snippets {
        sql.push(format!(
            "INSERT INTO snippets (id, code, language, filename, line_count, created_at, html,
                                   highlighted_at, highlighted_in_ms, error, expires_at, owner_hash,
                                   visibility, burn_after_reading, preview)
             VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            lit(old.id.as_str()),
            lit(old.code),
            lit(old.language),
            opt_lit(old.filename),
            line_count(old.code),
            old.created_at,
            opt_lit(old.html),
            opt_num(old.highlighted_at),
            opt_num(old.highlighted_in_ms),
            opt_lit(old.error),
            opt_num(old.expires_at),
            opt_lit(old.owner.as_deref()),
            lit(old.visibility.as_str()),
            if old.burn { "TRUE" } else { "FALSE" },
            lit(highlighter::domain::source::preview(old.code).as_str()),
        ));
        let Some(job) = &old.job else { continue };
        let started = old.created_at + 1;
        sql.push(format!(
            "INSERT INTO jobs (snippet_id, state, attempts, max_attempts, run_at, locked_by,
                               lease_until, progress_done, progress_total, last_error, created_at,
                               updated_at, finished_at, attempt_started_at, enqueued_at)
             VALUES ({}, {}, {}, {}, {}, {}, {}, NULL, NULL, {}, {}, {}, {}, {}, {})",
            lit(old.id.as_str()),
            lit(job.state),
            job.attempts,
            job.max_attempts,
            old.created_at,
            opt_lit(job.locked_by),
            opt_num(job.lease_until),
            opt_lit(job.last_error),
            old.created_at,
            job.finished_at.unwrap_or(started),
            opt_num(job.finished_at),
            if job.attempts > 0 {
                started.to_string()
            } else {
                "NULL".to_owned()
            },
            old.created_at,
        ));
        for (n, (outcome, error)) in job.history.iter().enumerate() {
            sql.push(format!(
                "INSERT INTO job_attempts (snippet_id, attempt, holder, started_at, finished_at,
                                           outcome, error)
                 VALUES ({}, {}, {}, {}, {}, {}, {})",
                lit(old.id.as_str()),
                n + 1,
                lit(&format!("4242-oldnode/{n}")),
                started + 10 * n as i64,
                started + 10 * n as i64 + 5,
                lit(outcome),
                opt_lit(*error),
            ));
        }
    }
    sql.push(format!(
        "INSERT INTO tombstones (id, gone_at, reason) VALUES ({}, {}, 'deleted')",
        lit(seed.tombstone.as_str()),
        seed.now - 60_000
    ));
    sql
}

/// The migrations of `dir` from before revisions and files.
async fn previous_schema(dir: &str) -> sqlx::migrate::Migrator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut migrator = sqlx::migrate::Migrator::new(path).await.unwrap();
    let all = migrator.migrations.len();
    let before: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|m| m.version < REVISIONS_MIGRATION)
        .cloned()
        .collect();
    assert!(
        !before.is_empty() && before.len() < all,
        "{dir}: the migrations before revisions, and revisions after them"
    );
    migrator.migrations = Cow::Owned(before);
    migrator
}

/// What the upgraded store must say of each seeded snippet.
async fn check_upgraded(store: &DynStore, seed: &Seed) {
    let now = DateTime::from_timestamp_millis(seed.now).unwrap() + chrono::Duration::seconds(1);
    for old in &seed.snippets {
        let name = old.name;
        let stored = store
            .snippet(&old.id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name} is there"));
        let view = &stored.view;
        assert_eq!(
            (view.revision, view.latest_revision, view.first_revision),
            (1, 1, 1),
            "{name}: revision 1"
        );
        assert_eq!(view.files.len(), 1, "{name}: one file");
        let file = &view.files[0];
        assert_eq!(file.code, old.code, "{name}: code");
        assert_eq!(file.language, old.language, "{name}");
        assert_eq!(file.name, old.filename.unwrap_or("file1"), "{name}");
        assert_eq!(file.named, old.filename.is_some(), "{name}");
        assert_eq!(file.hash, sha256_hex(old.code), "{name}: hash");
        assert_eq!(file.bytes, old.code.len() as u64, "{name}");
        assert_eq!(file.lines, line_count(old.code), "{name}");
        assert_eq!(view.state, old.state(), "{name}: state");
        assert_eq!(file.html.as_deref(), old.html, "{name}: stored HTML");
        assert_eq!(
            view.highlighted_at.map(|t| t.timestamp_millis()),
            old.highlighted_at,
            "{name}"
        );
        assert_eq!(
            view.highlighted_in_ms.map(|ms| ms as i64),
            old.highlighted_in_ms,
            "{name}"
        );
        assert_eq!(view.error.as_deref(), old.error, "{name}: error");
        assert_eq!(
            view.attempts as i64,
            old.job.as_ref().map_or(0, |j| j.attempts),
            "{name}"
        );
        assert_eq!(view.visibility, old.visibility, "{name}");
        assert_eq!(view.burn_after_reading, old.burn, "{name}");
        assert_eq!(view.created_at.timestamp_millis(), old.created_at, "{name}");
        assert_eq!(view.revised_at.timestamp_millis(), old.created_at, "{name}");
        assert_eq!(
            view.expires_at.map(|t| t.timestamp_millis()),
            old.expires_at,
            "{name}"
        );
        assert_eq!(
            stored.owner.as_ref().map(|o| o.as_str()),
            old.owner.as_deref(),
            "{name}: owner"
        );
        let revisions = store.revisions(&old.id).await.unwrap();
        assert_eq!(revisions.len(), 1, "{name}: {revisions:?}");
        assert_eq!(revisions[0].number, 1);
        assert_eq!(revisions[0].files.len(), 1);
        assert_eq!(revisions[0].files[0].hash, sha256_hex(old.code));
        assert!(store.snippet_revision(&old.id, 2).await.unwrap().is_none());
    }

    // Lists: every state, as revision 1.
    let ids: Vec<SnippetId> = seed.snippets.iter().map(|o| o.id.clone()).collect();
    let states: BTreeMap<String, (JobState, u32)> = store
        .list_states(&ids, now)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, s)| (id.as_str().to_owned(), (s.state, s.revision)))
        .collect();
    assert_eq!(states.len(), seed.snippets.len(), "{states:?}");
    for old in &seed.snippets {
        assert_eq!(states[old.id.as_str()], (old.state(), 1), "{}", old.name);
    }
    let listed = |summaries: Vec<highlighter::domain::SnippetSummary>| -> Vec<String> {
        summaries
            .into_iter()
            .map(|s| s.id.as_str().to_owned())
            .collect()
    };
    // Newest first, public only.
    let expected_public: Vec<String> = seed
        .snippets
        .iter()
        .rev()
        .filter(|o| o.visibility == Visibility::Public)
        .map(|o| o.id.as_str().to_owned())
        .collect();
    assert_eq!(expected_public.len(), 2);
    let recent = store.recent_snippets(50, now).await.unwrap();
    for summary in &recent {
        let old = seed.snippets.iter().find(|o| o.id == summary.id).unwrap();
        assert_eq!(summary.language, old.language, "{}", old.name);
        assert_eq!(summary.filename.as_deref(), old.filename, "{}", old.name);
        assert_eq!(summary.files, 1);
        assert_eq!(summary.lines, line_count(old.code));
        assert_eq!(summary.state, old.state());
        assert_eq!(summary.visibility, Visibility::Public);
    }
    assert_eq!(listed(recent), expected_public);
    for (owner, hash) in [("alice", &seed.alice), ("bob", &seed.bob)] {
        let expected: Vec<String> = seed
            .snippets
            .iter()
            .rev()
            .filter(|o| o.owner.as_ref() == Some(hash))
            .map(|o| o.id.as_str().to_owned())
            .collect();
        assert!(expected.len() >= 2);
        let hash = highlighter::server::owner::OwnerHash::from_stored(hash.clone()).unwrap();
        let mine = store.owner_snippets(&hash, 50, now).await.unwrap();
        assert_eq!(listed(mine), expected, "{owner}'s snippets");
    }
    assert_eq!(
        store.gone_reason(&seed.tombstone).await.unwrap(),
        Some(GoneReason::Deleted)
    );

    // The jobs, and their history, by revision.
    let counts = store.job_counts().await.unwrap();
    let jobs_in = |state: &str| {
        seed.snippets
            .iter()
            .filter(|o| o.job.as_ref().is_some_and(|j| j.state == state))
            .count() as u64
    };
    assert_eq!(
        (
            counts.queued,
            counts.processing,
            counts.succeeded,
            counts.failed
        ),
        (
            jobs_in("queued"),
            jobs_in("processing"),
            jobs_in("succeeded"),
            jobs_in("failed")
        ),
        "{counts:?}"
    );
    for old in &seed.snippets {
        let history = store.attempts(&old.id).await.unwrap();
        let expected = old.job.as_ref().map_or(&[][..], |j| &j.history[..]);
        assert_eq!(history.len(), expected.len(), "{}: {history:?}", old.name);
        for (n, (row, (outcome, error))) in history.iter().zip(expected).enumerate() {
            assert_eq!(row.revision, 1);
            assert_eq!(row.attempt as usize, n + 1);
            assert_eq!(row.outcome, *outcome);
            assert_eq!(row.error.as_deref(), *error);
        }
        let job = store.job_row(&old.id).await.unwrap();
        match &old.job {
            Some(old_job) => {
                let job = job.unwrap_or_else(|| panic!("{}'s job", old.name));
                assert_eq!(job.revision, 1);
                assert_eq!(job.state, JobState::parse(old_job.state).unwrap());
                assert_eq!(job.attempts as i64, old_job.attempts);
                assert_eq!(job.language, old.language);
                assert_eq!(job.filename.as_deref(), old.filename);
            }
            None => assert!(job.is_none(), "{}: {job:?}", old.name),
        }
    }
}

/// The queue works on the upgraded rows: the job whose lease ran out
/// goes back, the queued ones are claimed as revision 1 with their code,
/// and a result is stored.
async fn check_queue(store: &DynStore, seed: &Seed) {
    let now = DateTime::from_timestamp_millis(seed.now).unwrap() + chrono::Duration::seconds(1);
    let of = |name: &str| seed.snippets.iter().find(|o| o.name == name).unwrap();
    let (queued, processing) = (of("queued"), of("processing"));
    assert_eq!(
        store.rescue_expired(now).await.unwrap(),
        vec![Rescued::Requeued(processing.id.clone(), 1)]
    );
    let engine = "syntect/upgrade-test";
    let mut claimed = store
        .claim_jobs(
            "upgrade-test/1",
            10,
            now,
            now + chrono::Duration::seconds(30),
            engine,
        )
        .await
        .unwrap();
    claimed.sort_by_key(|job| job.lease.snippet_id.as_str().to_owned());
    let mut expected = vec![queued, processing];
    expected.sort_by_key(|o| o.id.as_str().to_owned());
    assert_eq!(
        claimed
            .iter()
            .map(|j| j.lease.snippet_id.clone())
            .collect::<Vec<_>>(),
        expected.iter().map(|o| o.id.clone()).collect::<Vec<_>>(),
        "only the unfinished jobs are claimable"
    );
    for (job, old) in claimed.iter().zip(&expected) {
        assert_eq!(job.lease.revision, 1, "{}", old.name);
        assert_eq!(job.files.len(), 1, "{}", old.name);
        let file = &job.files[0];
        assert_eq!(file.code.as_deref(), Some(old.code), "{}", old.name);
        assert_eq!(file.hash, sha256_hex(old.code));
        assert_eq!(file.language, old.language);
        assert_eq!(file.bytes, old.code.len() as u64);
    }
    let job = claimed
        .iter()
        .find(|j| j.lease.snippet_id == queued.id)
        .unwrap();
    let hash = sha256_hex(queued.code);
    let html = "<pre class=\"hl\"><code>x = 'waiting'\r\ny = \"é ✓\"\r\n</code></pre>";
    let stored = store
        .complete_job(
            &job.lease,
            &[FileResult {
                hash: &hash,
                language: queued.language,
                html,
                rendered: None,
                highlighted_in_ms: 3,
            }],
            engine,
            3,
            now,
        )
        .await
        .unwrap();
    assert!(stored, "the claim's lease holds");
    let view = store.snippet(&queued.id).await.unwrap().unwrap().view;
    assert_eq!(view.state, JobState::Succeeded);
    assert_eq!(view.revision, 1);
    assert_eq!(view.files[0].html.as_deref(), Some(html));
}

async fn seed_sqlite(url: &str, seed: &Seed) {
    let options = SqliteConnectOptions::from_str(url)
        .unwrap()
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    previous_schema("migrations/sqlite")
        .await
        .run(&pool)
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    for statement in seed_statements(seed) {
        sqlx::query(&statement)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    tx.commit().await.unwrap();
    pool.close().await;
}

async fn seed_postgres(url: &str, seed: &Seed) {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    previous_schema("migrations/postgres")
        .await
        .run(&pool)
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    for statement in seed_statements(seed) {
        sqlx::query(&statement)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    tx.commit().await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn sqlite_rows_of_the_previous_schema_become_revision_one() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    let seed = seed();
    seed_sqlite(&url, &seed).await;

    let store: DynStore = Arc::new(SqliteStore::connect(&url).await.unwrap());
    check_upgraded(&store, &seed).await;
    drop(store);
    // Opening it again (the rehash finds nothing to do) changes nothing.
    let store: DynStore = Arc::new(SqliteStore::connect(&url).await.unwrap());
    check_upgraded(&store, &seed).await;
    check_queue(&store, &seed).await;
}

#[tokio::test]
async fn postgres_rows_of_the_previous_schema_become_revision_one() {
    let database = common::pg::PgDatabase::create().await;
    let seed = seed();
    seed_postgres(&database.url, &seed).await;

    let store: DynStore = Arc::new(PgStore::connect(&database.url).await.unwrap());
    check_upgraded(&store, &seed).await;
    drop(store);
    let store: DynStore = Arc::new(PgStore::connect(&database.url).await.unwrap());
    check_upgraded(&store, &seed).await;
    check_queue(&store, &seed).await;
}
