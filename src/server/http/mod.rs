//! The HTTP surface besides the pages: the REST API (`rest.rs`), the
//! event streams (`sse/`), health (`health.rs`), the operators' API and
//! who may use it (`admin/`), the OpenAPI document
//! (`openapi.rs`), and the layers every request passes through: who the
//! client is (`client.rs`), cross-site refusals and security headers
//! (`security.rs`), limits (`limits.rs`), finished pages kept rendered
//! (`page_cache.rs`), the request's head and body and the JSON of every
//! refusal (`edge.rs`), the server functions' own checks (`rpc.rs`).
//! `serve.rs` is the accept loop.
//! Every error body is JSON `{"error": "<a sentence>"}`.

pub mod admin;
pub mod client;
pub mod drafts;
mod edge;
mod embed;
mod files;
mod health;
mod limits;
pub mod openapi;
pub mod page_cache;
mod rest;
pub mod rpc;
pub mod security;
pub mod serve;
mod sse;

use axum::{
    Json, Router,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::json;

pub use edge::{check_request, json_errors};
pub use limits::{limit_misses, limit_submits};
pub use rest::ErrorBody;

use crate::server::{AppState, service::ServiceError, store::StoreError};

/// The routes of the JSON API, and the code as files.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/snippets", post(rest::create_snippet))
        .route(
            "/api/snippets/{id}",
            get(rest::show_snippet)
                .put(rest::save_snippet)
                .delete(rest::delete_snippet),
        )
        .route("/api/snippets/{id}/fork", post(rest::fork_snippet))
        .route("/api/snippets/{id}/revisions", get(rest::revisions))
        .route(
            "/api/snippets/{id}/revisions/{revision}",
            get(rest::revision),
        )
        .route("/api/snippets/{id}/diff/{from}/{to}", get(rest::diff))
        .route("/api/snippets/{id}/highlighted", get(rest::highlighted))
        .route("/api/snippets/{id}/retry", post(rest::retry_snippet))
        .route("/api/snippets/{id}/language", post(rest::change_language))
        .route("/s/{id}/raw", get(files::raw))
        .route("/s/{id}/raw/{file}", get(files::raw_file))
        .route("/s/{id}/download", get(files::download))
        .route("/s/{id}/reveal", post(rest::reveal))
        .route("/api/languages", get(rest::languages))
        .route("/api/openapi.json", get(openapi::document))
        .route("/theme.css", get(rest::theme_css))
}

/// What other sites embed: a snippet's frame and the script that places
/// it, oEmbed, and the live script (with the worker that shares one
/// stream between every embed of a page). Their headers differ from the
/// rest of the site's: they are meant to be framed and loaded anywhere.
pub fn embed_routes() -> Router<AppState> {
    Router::new()
        .route("/s/{id}/embed", get(embed::frame))
        .route("/s/{id}/embed.js", get(embed::script))
        .route("/api/oembed", get(embed::oembed))
        .route("/embed.css", get(embed::stylesheet))
        .route("/embed-live.js", get(embed::live_script))
        .route("/embed-worker.js", get(embed::worker_script))
}

/// `/theme.{hash}.css`: the code's colours under a name that changes with
/// them, kept by browsers for good.
pub async fn theme_css_for_good(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, FOR_GOOD),
        ],
        state.theme_css.to_string(),
    )
        .into_response()
}

/// How long a file named by its content may be kept: for good.
const FOR_GOOD: &str = "public, max-age=31536000, immutable";

/// Middleware: the site's files under `/pkg/`. One whose name carries its
/// content's hash (`highlighter.3f9a0c1d2b4e.js`, as the build names them
/// with `hash-files`) never changes and is kept for good; any other is
/// checked again before each use.
pub async fn cache_site_files(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let named_by_content = request
        .uri()
        .path()
        .strip_prefix("/pkg/")
        .map(is_named_by_content);
    let mut response = next.run(request).await;
    if let Some(named_by_content) = named_by_content
        && response.status().is_success()
        && !response.headers().contains_key(header::CACHE_CONTROL)
    {
        let value = if named_by_content {
            FOR_GOOD
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// `stem.HASH.ext`, the hash at least 8 characters of letters, digits,
/// `-` and `_`, one of them a letter or digit.
fn is_named_by_content(name: &str) -> bool {
    let parts: Vec<&str> = name.rsplitn(3, '.').collect();
    let [_, hash, _] = parts.as_slice() else {
        return false;
    };
    hash.len() >= 8
        && hash
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && hash.chars().any(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::is_named_by_content;

    #[test]
    fn only_names_with_a_content_hash_are_kept_for_good() {
        assert!(is_named_by_content("highlighter.Kx3v9AbQ01z.js"));
        assert!(is_named_by_content("highlighter.0f3a9c1d2b4e5f60.wasm"));
        assert!(is_named_by_content("__wasm_split_manifest.aB3dE5fG7h.json"));
        assert!(!is_named_by_content("highlighter.js"));
        assert!(!is_named_by_content("highlighter_bg.wasm"));
        assert!(!is_named_by_content(
            "__wasm_split.______________________.js"
        ));
        assert!(!is_named_by_content("a.b.c"));
    }
}

/// The origin links are made absolute with: the configured public origin,
/// or else the scheme and host the request came to (the host has passed
/// the allow-list by then).
pub fn site_origin(state: &AppState, headers: &axum::http::HeaderMap) -> String {
    if let Some(origin) = state.settings.public_origin.as_deref() {
        return origin.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// The event streams. They are served outside the compression layer: an
/// event stream is never compressed (each push must leave at once), yet
/// the layer's body wrapper, sized for its largest encoder, would be kept
/// for the whole life of every open stream.
pub fn stream_routes() -> Router<AppState> {
    Router::new()
        .route("/api/events", get(sse::list_events))
        .route("/api/snippets/{id}/events", get(sse::snippet_events))
        .route("/api/admin/events", get(sse::admin_events))
}

/// Health answers in every role, so a load balancer can check workers too.
pub fn health_routes() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health::health))
        .route("/api/ready", get(health::ready))
}

/// An API failure: a status and a sentence. Causes are logged, not sent.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// Tells the client when to try again (429, 503).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn not_found() -> Self {
        ServiceError::NotFound.into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "error": self.message }))).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ServiceError::Store(error).into()
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let status = error.status();
        let api = ApiError::new(status, error.user_message());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            api.retry_after(5)
        } else {
            api
        }
    }
}
