//! The dashboard's JSON API (`/api/admin/*`), `/metrics`, and the
//! sign-in and sign-out forms. Every handler takes an [`Operator`], so a
//! refused request never reaches one; the ones that change anything ask
//! [`Operator::must_act`] first.

use axum::{
    Extension, Form, Json,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Operator, access};
use crate::{
    domain::{
        SnippetId,
        operations::{JobDetail, JobFilter, JobsPage, Matched, Stats},
    },
    server::{
        AppState, board,
        http::{ApiError, client::ClientIp},
        service::ServiceError,
    },
};

/// Where the next page starts.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsCursor {
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
}

/// What a bulk action needs besides its filter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BulkQuery {
    /// `true` to act on every job when the filter names nothing (deleting
    /// everything is never an accident).
    #[serde(default)]
    all: bool,
}

/// Whether claiming is paused now.
#[derive(Serialize, ToSchema)]
pub struct Paused {
    paused: bool,
}

/// The query string as `T`; a malformed one is a 400 with a sentence, in
/// JSON like every other error (axum's own `Query` answers in plain text).
fn query<T: serde::de::DeserializeOwned>(raw: &Option<String>) -> Result<T, ApiError> {
    super::read_query(raw.as_deref().unwrap_or(""))
        .map_err(|message| ApiError::new(StatusCode::BAD_REQUEST, message))
}

fn filter(raw: &Option<String>) -> Result<JobFilter, ApiError> {
    query::<JobFilter>(raw)?
        .normalized()
        .map_err(|message| ApiError::new(StatusCode::BAD_REQUEST, message))
}

/// Counts by state, throughput history, latency, queue age, nodes, pause.
#[utoipa::path(
    get,
    path = "/api/admin/stats",
    tag = "admin",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The dashboard's header: `per_minute` covers the last hour, `per_hour` the last day, `latency_ms` the jobs finished in the last five minutes.", body = Stats),
        (status = 401, description = "No credentials.", body = crate::server::http::ErrorBody),
        (status = 403, description = "Not a dashboard token.", body = crate::server::http::ErrorBody),
        (status = 404, description = "No tokens are set and the request is not from this machine.", body = crate::server::http::ErrorBody),
    ),
)]
pub async fn stats(_: Operator, State(state): State<AppState>) -> Result<Json<Stats>, ApiError> {
    Ok(Json(board::stats(&state).await?))
}

/// A page of the jobs the filter matches, newest queued first, and how
/// many match in all.
#[utoipa::path(
    get,
    path = "/api/admin/jobs",
    tag = "admin",
    security(("admin_token" = [])),
    params(JobFilter, JobsCursor),
    responses(
        (status = 200, description = "A page of jobs (50 at most) and `total` matching; pass `next_cursor` back as `cursor` for the next page.", body = JobsPage),
        (status = 400, description = "A malformed filter or cursor.", body = crate::server::http::ErrorBody),
        (status = 401, description = "No credentials.", body = crate::server::http::ErrorBody),
        (status = 403, description = "Not a dashboard token.", body = crate::server::http::ErrorBody),
        (status = 404, description = "The dashboard is off for this client.", body = crate::server::http::ErrorBody),
    ),
)]
pub async fn jobs(
    _: Operator,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<JobsPage>, ApiError> {
    let filter = filter(&raw)?;
    let page: JobsCursor = query(&raw)?;
    Ok(Json(
        board::jobs(&state, &filter, page.cursor.as_deref()).await?,
    ))
}

/// One job and every attempt it made: node, start, duration, outcome, error.
#[utoipa::path(
    get,
    path = "/api/admin/jobs/{id}",
    tag = "admin",
    security(("admin_token" = [])),
    params(("id" = String, Path, description = "The snippet's id.")),
    responses(
        (status = 200, description = "The job and its attempts, oldest first.", body = JobDetail),
        (status = 401, description = "No credentials.", body = crate::server::http::ErrorBody),
        (status = 403, description = "Not a dashboard token.", body = crate::server::http::ErrorBody),
        (status = 404, description = "No such job (finished jobs are pruned after their retention).", body = crate::server::http::ErrorBody),
    ),
)]
pub async fn job(
    _: Operator,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobDetail>, ApiError> {
    let id = SnippetId::parse(&id).map_err(|_| ApiError::not_found())?;
    Ok(Json(board::job(&state, &id).await?))
}

/// Queues anew every failed or retrying job the filter matches, across
/// all pages, with all its attempts back.
#[utoipa::path(
    post,
    path = "/api/admin/jobs/retry",
    tag = "admin",
    security(("admin_token" = [])),
    params(JobFilter),
    responses(
        (status = 200, description = "How many jobs were queued anew.", body = Matched),
        (status = 400, description = "A malformed filter.", body = crate::server::http::ErrorBody),
        (status = 401, description = "No credentials.", body = crate::server::http::ErrorBody),
        (status = 403, description = "Read-only, not a dashboard token, or sent from another site.", body = crate::server::http::ErrorBody),
        (status = 404, description = "The dashboard is off for this client.", body = crate::server::http::ErrorBody),
    ),
)]
pub async fn retry_jobs(
    operator: Operator,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Matched>, ApiError> {
    operator.must_act()?;
    let filter = filter(&raw)?;
    let matched = board::retry(&state, &filter).await?;
    Ok(Json(Matched { matched }))
}

/// Deletes the snippet of every job the filter matches, across all pages,
/// as its owner could: its pages say it was deleted.
#[utoipa::path(
    post,
    path = "/api/admin/jobs/delete",
    tag = "admin",
    security(("admin_token" = [])),
    params(JobFilter, BulkQuery),
    responses(
        (status = 200, description = "How many snippets were deleted.", body = Matched),
        (status = 400, description = "A malformed filter, or no filter without `all=true`.", body = crate::server::http::ErrorBody),
        (status = 401, description = "No credentials.", body = crate::server::http::ErrorBody),
        (status = 403, description = "Read-only, not a dashboard token, or sent from another site.", body = crate::server::http::ErrorBody),
        (status = 404, description = "The dashboard is off for this client.", body = crate::server::http::ErrorBody),
    ),
)]
pub async fn delete_jobs(
    operator: Operator,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Matched>, ApiError> {
    operator.must_act()?;
    let filter = filter(&raw)?;
    let bulk: BulkQuery = query(&raw)?;
    if filter.is_everything() && !bulk.all {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "This would delete every snippet: name a filter, or add all=true if that is what you mean.",
        ));
    }
    let matched = board::delete(&state, &filter).await?;
    Ok(Json(Matched { matched }))
}

/// Stops every node claiming jobs (running ones finish).
#[utoipa::path(
    post,
    path = "/api/admin/pause",
    tag = "admin",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Paused: this node at once, the others within one heartbeat.", body = Paused),
        (status = 401, description = "No credentials.", body = crate::server::http::ErrorBody),
        (status = 403, description = "Read-only, not a dashboard token, or sent from another site.", body = crate::server::http::ErrorBody),
        (status = 404, description = "The dashboard is off for this client.", body = crate::server::http::ErrorBody),
    ),
)]
pub async fn pause(
    operator: Operator,
    State(state): State<AppState>,
) -> Result<Json<Paused>, ApiError> {
    operator.must_act()?;
    board::set_paused(&state, true).await?;
    Ok(Json(Paused { paused: true }))
}

/// Lets every node claim jobs again.
#[utoipa::path(
    post,
    path = "/api/admin/resume",
    tag = "admin",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Resumed: this node at once, the others within one heartbeat.", body = Paused),
        (status = 401, description = "No credentials.", body = crate::server::http::ErrorBody),
        (status = 403, description = "Read-only, not a dashboard token, or sent from another site.", body = crate::server::http::ErrorBody),
        (status = 404, description = "The dashboard is off for this client.", body = crate::server::http::ErrorBody),
    ),
)]
pub async fn resume(
    operator: Operator,
    State(state): State<AppState>,
) -> Result<Json<Paused>, ApiError> {
    operator.must_act()?;
    board::set_paused(&state, false).await?;
    Ok(Json(Paused { paused: false }))
}

/// `GET /metrics`: the Prometheus text format.
pub async fn metrics(_: Operator, State(state): State<AppState>) -> Result<Response, ApiError> {
    let Some(handle) = crate::server::metrics::install() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Metrics are not being recorded in this process.",
        ));
    };
    let gauges = board::gauges(&state, Utc::now())
        .await
        .map_err(ServiceError::from)?;
    let text = crate::server::metrics::render(&handle, &gauges, state.limits.streams.open());
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct SignIn {
    token: String,
}

/// `POST /admin/login`: a token for a session cookie. A browser form, so
/// it answers with redirects: to the dashboard, or back to the form with
/// what went wrong. Attempts are limited per client.
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIp>,
    headers: HeaderMap,
    form: Result<Form<SignIn>, axum::extract::rejection::FormRejection>,
) -> Response {
    if !state.settings.admin.any() {
        return ApiError::not_found().into_response();
    }
    // Not the form's fields (a script posting something else): the same
    // answer as a wrong token.
    let Ok(Form(form)) = form else {
        return Redirect::to("/admin/login?failed=token").into_response();
    };
    if state
        .limits
        .sign_ins
        .check(client.limit_key(), std::time::Instant::now())
        .is_err()
    {
        return Redirect::to("/admin/login?failed=limit").into_response();
    }
    let Some(role) = access::token_role(form.token.trim(), &state.settings.admin) else {
        tracing::info!(client = %client.0, "dashboard sign-in with a wrong token");
        return Redirect::to("/admin/login?failed=token").into_response();
    };
    let expires = Utc::now() + chrono::Duration::seconds(access::SESSION_SECS);
    let Some(value) = access::sign_session(role, expires, &state.settings.admin) else {
        return Redirect::to("/admin/login?failed=token").into_response();
    };
    let secure = over_https(&state, &headers);
    tracing::info!(client = %client.0, role = role.as_str(), "dashboard sign-in");
    let mut response = Redirect::to("/admin").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        access::session_cookie_header(&value, secure),
    );
    response
}

/// `POST /admin/logout`: ends the session.
pub async fn sign_out() -> Response {
    let mut response = Redirect::to("/admin/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, access::clear_session_cookie());
    response
}

fn over_https(state: &AppState, headers: &HeaderMap) -> bool {
    let origin_https = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|o| o.starts_with("https://"));
    origin_https
        || state
            .settings
            .public_origin
            .as_deref()
            .is_some_and(|o| o.starts_with("https://"))
}
