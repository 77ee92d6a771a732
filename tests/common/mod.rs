//! Test helpers: spawn the real application on port 0 with a fresh SQLite
//! database, and talk to it over HTTP like any client.
#![allow(dead_code)]

pub mod engines;
pub mod hilite;
pub mod pg;
pub mod process;
pub mod sse;

use std::{path::PathBuf, time::Duration};

use highlighter::server::{
    AppState,
    highlight::{DynEngine, Languages},
    settings::{Settings, SettingsLayer},
    startup::Application,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub use sse::{SseClient, SseEvent};

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub shutdown: CancellationToken,
    pub languages: Languages,
    /// The running app's state (its hub, store and settings).
    pub state: AppState,
    handle: tokio::task::JoinHandle<Result<(), highlighter::server::supervisor::TaskEnded>>,
    dir: tempfile::TempDir,
}

/// A snippet as its creator knows it: its id and its owner token.
#[derive(Clone, Debug)]
pub struct Owned {
    pub id: String,
    pub token: String,
}

/// Settings for a test app: port 0, a temporary database, an empty
/// settings file (so the developer's `Leptos.toml` never leaks in). The
/// per-client limits are off (every test client is 127.0.0.1); the tests
/// of the limits turn them on.
pub fn test_layer(dir: &tempfile::TempDir) -> SettingsLayer {
    let config = dir.path().join("empty.toml");
    std::fs::write(&config, "").expect("write empty settings file");
    SettingsLayer {
        config: Some(config),
        addr: Some("127.0.0.1:0".parse().unwrap()),
        database_url: Some(format!("sqlite://{}", dir.path().join("test.db").display())),
        workers: Some(2),
        site_root: Some(PathBuf::from("target/site")),
        submit_per_minute: Some(0),
        streams_per_client: Some(0),
        misses_per_minute: Some(0),
        connections_per_peer: Some(0),
        // The default engine's tree-sitter children are the server binary.
        engine_program: Some(PathBuf::from(env!("CARGO_BIN_EXE_highlighter"))),
        ..Default::default()
    }
}

pub fn languages() -> Languages {
    static LANGUAGES: std::sync::OnceLock<Languages> = std::sync::OnceLock::new();
    LANGUAGES.get_or_init(Languages::load).clone()
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}, None).await
    }

    /// Builds the app exactly as the binary does, engine included, and
    /// waits for the engine's tree-sitter children to be ready (until they
    /// are, syntect takes their snippets, and the tests want to see the
    /// engine each language really gets).
    pub async fn spawn_from_settings(layer: SettingsLayer, dir: tempfile::TempDir) -> TestApp {
        let settings = Settings::from_layer(layer).expect("valid test settings");
        let shutdown = CancellationToken::new();
        let app = Application::build(settings, shutdown.clone())
            .await
            .expect("app builds");
        assert!(
            app.wait_engine_ready(Duration::from_secs(60)).await,
            "the tree-sitter children did not get ready"
        );
        Self::serve(app, shutdown, dir)
    }

    fn serve(app: Application, shutdown: CancellationToken, dir: tempfile::TempDir) -> TestApp {
        let base = format!("http://{}", app.local_addr());
        let state = app.state().clone();
        let handle = tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            client: client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            shutdown,
            languages: languages(),
            state,
            handle,
            dir,
        }
    }

    /// Where the app keeps its database.
    pub fn database_path(&self) -> std::path::PathBuf {
        self.dir.path().join("test.db")
    }

    /// `adjust` may change any setting; `engine` replaces the default
    /// engine (tree-sitter in child processes, syntect for the rest).
    pub async fn spawn_with(
        adjust: impl FnOnce(&mut SettingsLayer),
        engine: Option<DynEngine>,
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut layer = test_layer(&dir);
        adjust(&mut layer);
        let Some(engine) = engine else {
            return Self::spawn_from_settings(layer, dir).await;
        };
        let settings = Settings::from_layer(layer).expect("valid test settings");
        let languages = languages();
        let shutdown = CancellationToken::new();
        let app = Application::build_with_engine(settings, engine, languages, shutdown.clone())
            .await
            .expect("app builds");
        Self::serve(app, shutdown, dir)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GETs a path of the app.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// Submits JSON and returns the whole response.
    pub async fn post_json(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url("/api/snippets"))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Submits code (unlisted), expecting 201; returns the id.
    pub async fn submit(&self, code: &str, language: Option<&str>) -> String {
        submit_to(&self.client, &self.base, code, language).await
    }

    /// Submits a snippet described by `body` (JSON), expecting 201; returns
    /// its id and owner token.
    pub async fn submit_owned(&self, body: Value) -> Owned {
        let response = self.post_json(&body).await;
        assert_eq!(
            response.status(),
            201,
            "submit failed: {:?}",
            response.text().await
        );
        let body: Value = response.json().await.unwrap();
        Owned {
            id: body["id"].as_str().unwrap().to_owned(),
            token: body["owner_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Submits public code (listed on the home page); returns its id.
    pub async fn submit_public(&self, code: &str, language: Option<&str>) -> String {
        self.submit_owned(json!({ "code": code, "language": language, "visibility": "public" }))
            .await
            .id
    }

    /// Submits through the page's form as a browser without JavaScript
    /// does; returns the new id and the owner cookie (`hl_owner=...`) the
    /// answer set, or that `cookie` already held.
    pub async fn browser_submit(
        &self,
        fields: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> (String, String) {
        let mut request = self
            .client
            .post(self.url("/rpc/submit"))
            .header("accept", "text/html")
            .header("referer", self.url("/"))
            .form(&form_fields(fields));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.expect("request sent");
        assert!(
            response.status().is_redirection(),
            "the form answers with a redirect, not {}",
            response.status()
        );
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let set_cookie = response
            .headers()
            .get("set-cookie")
            .expect("the form sets the owner cookie")
            .to_str()
            .unwrap()
            .to_owned();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        (location.trim_start_matches("/s/").to_owned(), cookie)
    }

    /// A request with the owner's token.
    pub fn as_owner(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn snippet(&self, id: &str) -> Value {
        let response = self.get(&format!("/api/snippets/{id}")).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn events(&self, id: &str) -> SseClient {
        SseClient::connect(
            &self.client,
            &self.url(&format!("/api/snippets/{id}/events")),
        )
        .await
    }

    /// Waits (on the event stream, not by polling) for the final event.
    pub async fn wait_final(&self, id: &str) -> SseEvent {
        let mut stream = self.events(id).await;
        loop {
            let event = stream
                .next_within(Duration::from_secs(60))
                .await
                .expect("the stream ended before a final event");
            if event.event == "highlighted" || event.event == "failed" {
                return event;
            }
        }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(30), self.handle).await;
    }

    /// Drops the app mid-flight, as a runtime shutting down or an aborted
    /// task would: nothing gets to run its shutdown path.
    pub async fn abort(self) {
        self.handle.abort();
        let ended = tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("an aborted app ends at once");
        assert!(
            ended.is_err_and(|e| e.is_cancelled()),
            "the app was aborted, not stopped"
        );
    }

    /// Stops the app and hands back its directory (the database files),
    /// which `stop` would delete.
    pub async fn stop_keeping_files(self) -> tempfile::TempDir {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(30), self.handle).await;
        self.dir
    }

    /// Waits (at most `limit`) for the app to stop on its own; what its
    /// run ended with.
    pub async fn stopped_within(
        self,
        limit: Duration,
    ) -> Result<(), highlighter::server::supervisor::TaskEnded> {
        tokio::time::timeout(limit, self.handle)
            .await
            .expect("the app stopped in time")
            .expect("the app's task did not panic")
    }

    /// The app with `task` running among its supervised background tasks
    /// (to inject a failure there).
    pub async fn spawn_with_task(
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = Settings::from_layer(test_layer(&dir)).expect("valid test settings");
        let shutdown = CancellationToken::new();
        let mut app = Application::build(settings, shutdown.clone())
            .await
            .expect("app builds");
        assert!(app.wait_engine_ready(Duration::from_secs(60)).await);
        app.spawn_supervised(name, task);
        Self::serve(app, shutdown, dir)
    }
}

/// A client for the tests: like `reqwest::Client::new()`, but a request
/// the server never answers fails the test instead of hanging the run. The
/// read timeout applies to each read, so event streams stay open as long
/// as the server's keep-alives (every 15 s) arrive.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
}

/// [`client_builder`], built.
pub fn client() -> reqwest::Client {
    client_builder().build().expect("test HTTP client")
}

/// A page without Leptos' markers: the comments around each branch of the
/// view (for the islands router) and the empty `<!>` placeholders, which
/// are not the page's content.
pub fn without_comments(html: &str) -> String {
    cut_spans(&cut_spans(html, "<!--", "-->"), "<!>", "")
}

/// The text of an HTML fragment: tags removed, entities decoded.
pub fn html_text(html: &str) -> String {
    highlighter::server::highlight::render::fragment_text(html)
        .unwrap_or_else(|| panic!("malformed HTML (a tag or entity): {html}"))
}

/// `html` without every span that starts with `open` and ends at the next
/// `close` after it.
fn cut_spans(html: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find(open) {
        out.push_str(&rest[..start]);
        let after_open = &rest[start + open.len()..];
        match after_open.find(close) {
            Some(end) => rest = &after_open[end + close.len()..],
            None => panic!("unterminated `{open}` in HTML"),
        }
    }
    out.push_str(rest);
    out
}

/// Submits `code` to the server at `base` and returns the new snippet's id.
/// The paste form's fields as a browser posts them: the one file's
/// `code`, `language` and `filename` are `files[0][code]`... (the other
/// fields as they are).
pub fn form_fields(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(name, value)| {
            let name = match *name {
                "code" => "files[0][code]".to_owned(),
                "language" => "files[0][language]".to_owned(),
                "filename" => "files[0][name]".to_owned(),
                other => other.to_owned(),
            };
            (name, (*value).to_owned())
        })
        .collect()
}

pub async fn submit_to(
    client: &reqwest::Client,
    base: &str,
    code: &str,
    language: Option<&str>,
) -> String {
    let response = client
        .post(format!("{base}/api/snippets"))
        .json(&json!({ "code": code, "language": language }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        201,
        "submit failed: {:?}",
        response.text().await
    );
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// Waits until one of `ids` reports progress on a stream of `base`, that
/// is, until its job is running its engine (a job merely claimed reports
/// none); returns that id.
pub async fn first_running(client: &reqwest::Client, base: &str, ids: &[String]) -> String {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut watchers = Vec::new();
    for id in ids {
        let mut stream =
            SseClient::connect(client, &format!("{base}/api/snippets/{id}/events")).await;
        let (tx, id) = (tx.clone(), id.clone());
        watchers.push(tokio::spawn(async move {
            while let Some(event) = stream.next().await {
                if event.event == "progress" {
                    let _ = tx.send(id);
                    return;
                }
            }
        }));
    }
    let running = tokio::time::timeout(Duration::from_secs(120), rx.recv())
        .await
        .expect("a big job reports progress within two minutes")
        .expect("a watcher reports");
    for watcher in watchers {
        watcher.abort();
    }
    running
}
