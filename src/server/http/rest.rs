//! The REST API, for curl, scripts and tests.

use axum::{
    Json,
    body::{Body, to_bytes},
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;

use super::ApiError;
use crate::{
    domain::{Filename, JobState, LanguageRequest, SnippetId, SnippetView, SourceCode},
    server::AppState,
};

/// `POST /api/snippets` as JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateJson {
    code: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    filename: Option<String>,
}

/// `POST /api/snippets?language=..&filename=..` with a `text/plain` body.
#[derive(Deserialize, Default)]
pub struct CreateQuery {
    language: Option<String>,
    filename: Option<String>,
}

/// JSON escaping can make a body up to six times the code it carries.
fn body_limit(max_snippet_bytes: usize) -> usize {
    max_snippet_bytes
        .saturating_mul(6)
        .saturating_add(64 * 1024)
}

pub async fn create_snippet(
    State(state): State<AppState>,
    Query(query): Query<CreateQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let max = state.settings.max_snippet_bytes;
    let bytes = to_bytes(body, body_limit(max)).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body is over the limit; snippets may be at most {max} bytes."),
        )
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let id = if content_type.starts_with("application/json") {
        let request: CreateJson = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "The body is not the JSON we expect ({e}); send {{\"code\": \"...\", \"language\": \"rust\" or null, \"filename\": \"main.rs\" or null}}."
                ),
            )
        })?;
        state
            .submit_raw(
                request.code,
                request.language.as_deref(),
                request.filename.as_deref(),
            )
            .await?
    } else if content_type.is_empty() || content_type.starts_with("text/plain") {
        let code = SourceCode::parse_bytes(bytes.to_vec(), max)
            .map_err(crate::server::service::SubmitError::from)?;
        let filename = Filename::parse(query.filename.as_deref())
            .map_err(crate::server::service::SubmitError::from)?;
        state
            .submit(
                code,
                LanguageRequest::parse(query.language.as_deref()),
                filename,
            )
            .await?
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the snippet as application/json or text/plain.",
        ));
    };
    let url = id.url();
    let mut response = (
        StatusCode::CREATED,
        Json(json!({ "id": id, "url": url, "state": JobState::Queued })),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn find(state: &AppState, raw_id: &str) -> Result<SnippetView, ApiError> {
    let id = SnippetId::parse(raw_id).map_err(|_| ApiError::not_found())?;
    state
        .store
        .snippet(&id)
        .await?
        .ok_or_else(ApiError::not_found)
}

pub async fn show_snippet(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SnippetView>, ApiError> {
    Ok(Json(find(&state, &id).await?))
}

/// The seed's polling action: 204 while pending, the fragment when done.
pub async fn highlighted(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = find(&state, &id).await?;
    Ok(match (view.state, view.html) {
        (JobState::Succeeded, Some(html)) => {
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
        }
        (JobState::Failed, _) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            view.error
                .unwrap_or_else(|| "Highlighting failed.".to_owned()),
        )
        .into_response(),
        _ => StatusCode::NO_CONTENT.into_response(),
    })
}

pub async fn languages(State(state): State<AppState>) -> Response {
    Json(state.languages.list()).into_response()
}

pub async fn theme_css(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        state.theme_css.to_string(),
    )
        .into_response()
}

/// "Try again" for API clients: 202 when a failed snippet was queued
/// anew, 409 when it is not failed.
pub async fn retry_snippet(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let view = find(&state, &raw_id).await?;
    if state.retry(&view.id).await? {
        Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "id": view.id, "url": view.id.url(), "state": JobState::Queued })),
        )
            .into_response())
    } else {
        Err(ApiError::new(
            StatusCode::CONFLICT,
            "Only a failed snippet can be tried again; this one is not failed.",
        ))
    }
}
