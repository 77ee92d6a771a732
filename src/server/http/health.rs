//! The node's two probes, as a load balancer or an orchestrator uses them:
//!
//! - `GET /api/health` (liveness): 200 when the database answers, 503 when
//!   it does not.
//! - `GET /api/ready` (readiness): the same, and 503 `starting` until the
//!   highlighting engine is warm. A fresh node's children compile every
//!   grammar in their first second or two; traffic sent then waits behind
//!   that work, so a node asks for none until it is done. 503 `failing`
//!   once a background task died and the node is about to stop (see
//!   `supervisor`).

use axum::{Json, extract::State, http::StatusCode};
use serde::Serialize;

use crate::server::{AppState, store::StoreError};

/// How this node is.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, `starting` (readiness only: the engine is warming up),
    /// `failing` (readiness only: the node is stopping after a failure) or
    /// `unavailable`.
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
        Ok(()) => ok(&state),
        Err(e) => unavailable(e),
    }
}

/// Is this node ready for traffic?
#[utoipa::path(
    get,
    path = "/api/ready",
    tag = "health",
    responses(
        (status = 200, description = "The database answers and the engine is warm.", body = Health),
        (status = 503, description = "The engine is warming up (`starting`), a background task failed and the node is stopping (`failing`), or the database does not answer.", body = Health),
    ),
)]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    if state.node.has_failed() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "failing",
                role: Some(role(&state)),
                error: Some("A background task of this node stopped; the node is shutting down."),
            }),
        );
    }
    if let Err(e) = state.snippets.ping().await {
        return unavailable(e);
    }
    if !state.node.is_warm() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "starting",
                role: Some(role(&state)),
                error: Some("The highlighting engine is warming up."),
            }),
        );
    }
    ok(&state)
}

fn ok(state: &AppState) -> (StatusCode, Json<Health>) {
    (
        StatusCode::OK,
        Json(Health {
            status: "ok",
            role: Some(role(state)),
            error: None,
        }),
    )
}

fn unavailable(error: StoreError) -> (StatusCode, Json<Health>) {
    tracing::warn!(error = ?error, "health check: database unreachable");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(Health {
            status: "unavailable",
            role: None,
            error: Some("The database is not answering."),
        }),
    )
}

fn role(state: &AppState) -> String {
    format!("{:?}", state.settings.role).to_lowercase()
}
