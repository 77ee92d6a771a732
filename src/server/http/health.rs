//! `GET /api/health`: 200 when the database answers, 503 when it does not.

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use crate::server::AppState;

pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(
                json!({ "status": "ok", "role": format!("{:?}", state.settings.role).to_lowercase() }),
            ),
        ),
        Err(e) => {
            tracing::warn!(error = ?e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "error": "The database is not answering." })),
            )
        }
    }
}
