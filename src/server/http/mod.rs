//! The HTTP surface besides the pages: the REST API (`rest.rs`), the
//! event streams (`sse.rs`) and health (`health.rs`). Every error body is
//! JSON `{"error": "<a sentence>"}`.

mod health;
mod rest;
mod sse;

use axum::{
    Json, Router,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::json;

use crate::server::{AppState, service::SubmitError, store::StoreError};

/// The routes of the JSON API.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/snippets", post(rest::create_snippet))
        .route("/api/snippets/{id}", get(rest::show_snippet))
        .route("/api/snippets/{id}/highlighted", get(rest::highlighted))
        .route("/api/snippets/{id}/retry", post(rest::retry_snippet))
        .route("/api/snippets/{id}/language", post(rest::change_language))
        .route("/s/{id}/raw", get(rest::raw))
        .route("/s/{id}/download", get(rest::download))
        .route("/api/languages", get(rest::languages))
        .route("/theme.css", get(rest::theme_css))
}

/// The event streams. They are served outside the compression layer: an
/// event stream is never compressed (each push must leave at once), yet
/// the layer's body wrapper, sized for its largest encoder, would be kept
/// for the whole life of every open stream.
pub fn stream_routes() -> Router<AppState> {
    Router::new()
        .route("/api/events", get(sse::all_events))
        .route("/api/snippets/{id}/events", get(sse::snippet_events))
}

/// Health answers in every role, so a load balancer can check workers too.
pub fn health_routes() -> Router<AppState> {
    Router::new().route("/api/health", get(health::health))
}

/// An API failure: a status and a sentence. Causes are logged, not sent.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "There is no snippet with this id.")
    }

    pub fn gone() -> Self {
        ApiError::new(
            StatusCode::GONE,
            "This snippet has expired and was deleted.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(error = ?error, "storage failed while answering a request");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The database is not answering; please try again in a moment.",
        )
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        match error {
            SubmitError::Store(e) => e.into(),
            SubmitError::Invalid(e) if e.is_too_large() => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
            }
            other => ApiError::new(StatusCode::BAD_REQUEST, other.to_string()),
        }
    }
}
