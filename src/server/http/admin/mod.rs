//! The operators' dashboard over HTTP: see and steer the queue.
//!
//! - `access.rs`: who may (tokens, sessions, loopback), as the [`Operator`]
//!   extractor every route here takes.
//! - `rest.rs`: the JSON API under `/api/admin/`, `/metrics`, and the
//!   sign-in and sign-out forms.
//! - What each does is `server/board.rs`, shared with the page's server
//!   functions and its event stream.
//! - The page itself is `app/admin.rs` (server functions in `api/admin.rs`),
//!   and its live feed `http/sse/admin.rs`.
//!
//! Admin routes pass the same layers as the rest of the app: a change
//! sent from another site is refused before it reaches them.

pub mod access;
mod rest;

use axum::{
    Router,
    extract::{Request, State},
    http::{Method, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::Utc;

pub use access::Operator;
pub use rest::{
    __path_delete_jobs, __path_job, __path_jobs, __path_pause, __path_resume, __path_retry_jobs,
    __path_stats, BulkQuery, JobsCursor, Paused,
};

use crate::server::AppState;

/// The dashboard's JSON API and its sign-in forms (its event stream is
/// among the streams, outside compression).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/stats", get(rest::stats))
        .route("/api/admin/jobs", get(rest::jobs))
        .route("/api/admin/jobs/{id}", get(rest::job))
        .route("/api/admin/jobs/retry", post(rest::retry_jobs))
        .route("/api/admin/jobs/delete", post(rest::delete_jobs))
        .route("/api/admin/pause", post(rest::pause))
        .route("/api/admin/resume", post(rest::resume))
        .route("/admin/login", post(rest::sign_in))
        .route("/admin/logout", post(rest::sign_out))
}

/// `/metrics`, on every node whatever its role: Prometheus scrapes each.
pub fn metrics_routes() -> Router<AppState> {
    Router::new().route("/metrics", get(rest::metrics))
}

/// Reads a query string as `T`, the way `axum::extract::Query` does (the
/// API and the page's server functions share it, so a dashboard URL and an
/// API call mean the same jobs), with the reason when it cannot.
pub fn read_query<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, String> {
    let uri: axum::http::Uri = format!("/?{}", raw.trim_start_matches('?'))
        .parse()
        .map_err(|_| "That is not a query string.".to_owned())?;
    axum::extract::Query::<T>::try_from_uri(&uri)
        .map(|axum::extract::Query(value)| value)
        .map_err(|rejection| rejection.body_text())
}

/// Middleware in front of the dashboard's pages: a browser without a
/// session is sent to sign in; where the dashboard is off, it does not
/// exist. (The page's data comes through server functions and the event
/// stream, which check access themselves; this only spares an
/// unauthorised visitor an empty page.)
pub async fn guard_pages(
    State(state): State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let is_page = path == "/admin" || path == "/admin/";
    let is_sign_in = path == "/admin/login";
    if !(is_page || is_sign_in) || !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let role = access::role_of(
        &parts.headers,
        access::peer(&parts),
        &state.settings.admin,
        Utc::now(),
    );
    match (role, is_page) {
        (Err(access::Refusal::Hidden), _) => {
            crate::server::http::ApiError::not_found().into_response()
        }
        (Err(access::Refusal::SignInNeeded), true) => Redirect::to("/admin/login").into_response(),
        (Err(refusal), true) => crate::server::http::ApiError::from(refusal).into_response(),
        // Someone already in needs no sign-in form; no tokens: nothing to sign in with.
        (Ok(_), false) if !state.settings.admin.any() => Redirect::to("/admin").into_response(),
        _ => {
            let mut response = next.run(Request::from_parts(parts, body)).await;
            // Never kept by a browser's or a proxy's cache.
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            response
        }
    }
}
