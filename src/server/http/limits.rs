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
    limits::{RateLimiter, Refusal},
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

/// Whether a request looks a snippet up by an id it names: what a guesser
/// of ids sends.
fn looks_up_an_id(method: &axum::http::Method, path: &str) -> bool {
    (path.starts_with("/s/") && path.len() > 3)
        || path.starts_with("/api/snippets/")
        || path == "/api/events"
        || (method == axum::http::Method::POST
            && matches!(
                path,
                "/rpc/snippet" | "/rpc/reveal" | "/rpc/language" | "/rpc/retry" | "/rpc/delete"
            ))
}

/// Middleware: a client that asked for too many unknown ids (each 404 of
/// a lookup counts one) is refused further lookups, with 429, until its
/// budget refills. Ids are 71 random bits: nobody who was given a link
/// needs to guess, and a guesser at two thousand a second is slowed to
/// `misses_per_minute`.
pub async fn limit_misses(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let client = request.extensions().get::<ClientIp>().copied();
    let (Some(client), true) = (
        client,
        looks_up_an_id(request.method(), request.uri().path()),
    ) else {
        return next.run(request).await;
    };
    let limiter = &state.limits.misses;
    if let Err(wait) = limiter.peek(client.limit_key(), Instant::now()) {
        return miss_refusal(limiter, wait).into_response();
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::NOT_FOUND {
        let _ = limiter.check(client.limit_key(), Instant::now());
    }
    response
}

/// Counts `misses` unknown ids of one request (a list stream's) at once:
/// `Err` when they use up the client's budget.
pub fn count_misses(state: &AppState, client: ClientIp, misses: usize) -> Result<(), ApiError> {
    let limiter = &state.limits.misses;
    let now = Instant::now();
    for _ in 0..misses {
        if let Err(wait) = limiter.check(client.limit_key(), now) {
            tracing::info!(client = %client.0, misses, "list stream refused: too many unknown ids");
            return Err(miss_refusal(limiter, wait));
        }
    }
    Ok(())
}

fn miss_refusal(limiter: &RateLimiter, wait: Duration) -> ApiError {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "Too many unknown snippet ids from your address: at most {} a minute. Try again in {secs} s.",
            limiter.per_minute()
        ),
    )
    .retry_after(secs)
}

/// 429 with the limit in words, and when to try again.
fn submit_refusal(limiter: &RateLimiter, wait: Duration) -> Response {
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

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::TooManyFromClient(limit) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many open event streams from your address: at most {limit}. Close a page and try again."
                ),
            )
            .retry_after(5),
            Refusal::NodeFull => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "This server holds as many event streams as it can; try again in a moment.",
            )
            .retry_after(10),
        }
    }
}
