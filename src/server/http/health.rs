//! `GET /api/health`: 200 when the database answers, 503 when it does not.

use axum::{Json, extract::State, http::StatusCode};
use serde::Serialize;

use crate::server::AppState;

/// How this node is.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    status: &'static str,
    /// `all`, `web` or `worker`.
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

/// Is this node able to serve?
#[utoipa::path(
    get,
    path = "/api/health",
    tag = "health",
    responses(
        (status = 200, description = "The database answers.", body = Health),
        (status = 503, description = "The database does not answer.", body = Health),
    ),
)]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    match state.snippets.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                role: Some(format!("{:?}", state.settings.role).to_lowercase()),
                error: None,
            }),
        ),
        Err(e) => {
            tracing::warn!(error = ?e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    role: None,
                    error: Some("The database is not answering."),
                }),
            )
        }
    }
}
