//! Abuse gets a limit, not a crash: the HTTP side of the node's limits
//! (`server/limits.rs`). A refusal is a status with a JSON sentence and
//! `Retry-After`, never a hang.

use std::time::{Duration, Instant};

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{ApiError, client::ClientIp};
use crate::server::{
    AppState,
    limits::{StreamRefusal, SubmitLimiter},
};

/// Middleware for the routes that create snippets (`POST /api/snippets`
/// and the form's server function): one token per request.
pub async fn limit_submits(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let is_submit = request.method() == axum::http::Method::POST
        && matches!(request.uri().path(), "/api/snippets" | "/rpc/submit");
    if is_submit && let Some(client) = request.extensions().get::<ClientIp>().copied() {
        let limiter = &state.limits.submits;
        if let Err(wait) = limiter.check(client.limit_key(), Instant::now()) {
            tracing::info!(client = %client.0, "submit refused: rate limit");
            return submit_refusal(limiter, wait);
        }
    }
    next.run(request).await
}

/// 429 with the limit in words, and when to try again.
fn submit_refusal(limiter: &SubmitLimiter, wait: Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "Too many snippets from your address: at most {} a minute ({} at once). Try again in {secs} s.",
            limiter.per_minute(),
            limiter.burst()
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

impl From<StreamRefusal> for ApiError {
    fn from(refusal: StreamRefusal) -> Self {
        match refusal {
            StreamRefusal::TooManyFromClient(limit) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many open event streams from your address: at most {limit}. Close a page and try again."
                ),
            )
            .retry_after(5),
            StreamRefusal::NodeFull => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "This server holds as many event streams as it can; try again in a moment.",
            )
            .retry_after(10),
        }
    }
}
