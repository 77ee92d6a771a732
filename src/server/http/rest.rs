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
    domain::{
        Expiry, Filename, JobState, LanguageRequest, SnippetId, SnippetPage, SnippetView,
        SourceCode,
    },
    server::{AppState, service::SubmitError},
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
    /// Seconds until the snippet expires; absent or null is never.
    #[serde(default)]
    expires_in: Option<i64>,
}

/// `POST /api/snippets?language=..&filename=..&expires_in=..` with a
/// `text/plain` body.
#[derive(Deserialize, Default)]
pub struct CreateQuery {
    language: Option<String>,
    filename: Option<String>,
    expires_in: Option<String>,
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
        let expiry = Expiry::parse_secs(request.expires_in).map_err(SubmitError::from)?;
        state
            .submit_raw(
                request.code,
                request.language.as_deref(),
                request.filename.as_deref(),
                expiry,
            )
            .await?
    } else if content_type.is_empty() || content_type.starts_with("text/plain") {
        let code = SourceCode::parse_bytes(bytes.to_vec(), max)
            .map_err(crate::server::service::SubmitError::from)?;
        let filename = Filename::parse(query.filename.as_deref())
            .map_err(crate::server::service::SubmitError::from)?;
        let expiry = Expiry::parse_field(query.expires_in.as_deref()).map_err(SubmitError::from)?;
        state
            .submit(
                code,
                LanguageRequest::parse(query.language.as_deref()),
                filename,
                expiry,
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

/// The snippet at `raw_id`: 404 when there never was one, 410 when it expired.
async fn find(state: &AppState, raw_id: &str) -> Result<SnippetView, ApiError> {
    let id = SnippetId::parse(raw_id).map_err(|_| ApiError::not_found())?;
    match state.lookup(&id).await? {
        SnippetPage::Found(view) => Ok(view),
        SnippetPage::Expired => Err(ApiError::gone()),
        SnippetPage::Missing => Err(ApiError::not_found()),
    }
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

/// `GET /s/{id}/raw`: the code as plain text, never sniffed into HTML.
pub async fn raw(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = find(&state, &id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        view.code,
    )
        .into_response())
}

/// `GET /s/{id}/download`: the code as a file, named after the snippet's
/// file name, or its id and the language's usual extension.
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = find(&state, &id).await?;
    let name = match &view.filename {
        Some(name) => name.clone(),
        None => {
            let extension = state
                .languages
                .list()
                .iter()
                .find(|l| l.name == view.language)
                .and_then(|l| l.aliases.first().cloned())
                .filter(|e| e.chars().all(|c| c.is_ascii_alphanumeric()))
                .unwrap_or_else(|| "txt".to_owned());
            format!("snippet-{}.{extension}", view.id)
        }
    };
    // A quoted ASCII fallback plus the exact name in RFC 5987 form.
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut response = (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        view.code,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct ChangeLanguage {
    language: String,
}

/// `POST /api/snippets/{id}/language` `{"language": ...}`: highlight again
/// in another language (a new job).
pub async fn change_language(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    Json(body): Json<ChangeLanguage>,
) -> Result<Response, ApiError> {
    let view = find(&state, &raw_id).await?;
    if !state.change_language(&view.id, &body.language).await? {
        return Err(ApiError::not_found());
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": view.id, "url": view.id.url(), "state": JobState::Queued })),
    )
        .into_response())
}
