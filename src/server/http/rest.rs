//! The REST API, for curl, scripts and tests. Every route here is described
//! in the OpenAPI document (`openapi.rs`) by its `#[utoipa::path]`.

use axum::{
    Json,
    body::{Body, to_bytes},
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiError;
use crate::{
    domain::{
        Expiry, Filename, JobState, LanguageInfo, LanguageRequest, SnippetId, SnippetView,
        SourceCode, Submission, SubmissionText, Visibility,
    },
    server::{
        AppState,
        owner::{Credentials, OwnerSecret},
        service::{Lookup, ReadIntent, ServiceError},
    },
};

/// `POST /api/snippets` as JSON.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSnippet {
    /// The code: UTF-8, not blank, no NUL, at most `max_snippet_bytes`.
    #[schema(min_length = 1, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    code: String,
    /// A language name or alias (`rust`, `c++`); null or `auto` detects it.
    #[serde(default)]
    language: Option<String>,
    /// A plain file name (`main.rs`): names the download, helps detection.
    #[serde(default)]
    filename: Option<String>,
    /// Seconds until the snippet is deleted; null is never.
    #[serde(default)]
    #[schema(minimum = 60, maximum = 31536000)]
    expires_in: Option<i64>,
    /// `unlisted` (the default: reachable by its link only) or `public`
    /// (listed on the front page).
    #[serde(default)]
    visibility: Visibility,
    /// Deleted by its first reading by anyone but its owner. Such a
    /// snippet cannot be `public`: a list would show it unread (400).
    #[serde(default)]
    burn_after_reading: bool,
}

/// `POST /api/snippets?language=..&filename=..` with a `text/plain` body.
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateQuery {
    /// A language name or alias; absent or `auto` detects it.
    language: Option<String>,
    /// A plain file name.
    filename: Option<String>,
    /// Seconds until the snippet is deleted (60 to 31536000), or `never`.
    expires_in: Option<String>,
    /// `unlisted` (default) or `public`.
    visibility: Option<String>,
    /// `true` to delete the snippet at its first reading by anyone else
    /// (not with `visibility=public`: 400).
    burn_after_reading: Option<String>,
}

impl CreateQuery {
    fn into_text(self) -> SubmissionText {
        SubmissionText {
            language: self.language,
            filename: self.filename,
            expires_in: self.expires_in,
            visibility: self.visibility,
            burn_after_reading: self.burn_after_reading,
        }
    }
}

/// The answer to a new snippet. `owner_token` is shown once: it is what
/// changes and deletes the snippet (`Authorization: Bearer <token>`).
#[derive(Serialize, ToSchema)]
pub struct Created {
    id: SnippetId,
    url: String,
    state: JobState,
    owner_token: String,
    visibility: Visibility,
    burn_after_reading: bool,
}

/// The answer to a change that queued the snippet again.
#[derive(Serialize, ToSchema)]
pub struct Queued {
    id: SnippetId,
    url: String,
    state: JobState,
}

impl Queued {
    fn of(id: SnippetId) -> Self {
        Queued {
            url: id.url(),
            id,
            state: JobState::Queued,
        }
    }
}

/// Every error: one sentence for a person.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: String,
}

/// `POST /api/snippets/{id}/language`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeLanguage {
    /// A language name or alias.
    language: String,
}

/// JSON escaping can make a body up to six times the code it carries.
fn body_limit(max_snippet_bytes: usize) -> usize {
    max_snippet_bytes
        .saturating_mul(6)
        .saturating_add(64 * 1024)
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// Reads a JSON body with a clear 4xx for anything that is not the JSON we
/// expect (axum's own rejection is plain text).
async fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    shape: &str,
) -> Result<T, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Send the request as application/json: {shape}."),
        ));
    }
    let bytes = to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body is over the limit of {limit} bytes."),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        bad_request(format!(
            "The body is not the JSON we expect ({e}); send {shape}."
        ))
    })
}

/// Creates a snippet and queues its highlighting.
#[utoipa::path(
    post,
    path = "/api/snippets",
    tag = "snippets",
    params(CreateQuery),
    request_body(
        description = "The snippet as JSON, or its code as a `text/plain` body with the other fields in the query.",
        content(
            (CreateSnippet = "application/json"),
            (String = "text/plain"),
        ),
    ),
    responses(
        (status = 201, description = "Stored and queued.", body = Created,
            headers(("Location" = String, description = "The snippet's page."))),
        (status = 400, description = "Malformed or invalid input.", body = ErrorBody),
        (status = 403, description = "Sent from another site.", body = ErrorBody),
        (status = 413, description = "Over `max_snippet_bytes`.", body = ErrorBody),
        (status = 415, description = "Neither JSON nor plain text.", body = ErrorBody),
        (status = 429, description = "Too many submits from this client.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until a submit is accepted."))),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn create_snippet(
    State(state): State<AppState>,
    Query(query): Query<CreateQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let max = state.settings.max_snippet_bytes;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let submission = if content_type.starts_with("application/json") {
        let request: CreateSnippet = json_body(
            &headers,
            body,
            body_limit(max),
            r#"{"code": "...", "language": "rust" or null, "filename": "main.rs" or null, "visibility": "unlisted" or "public"}"#,
        )
        .await?;
        Submission::new(
            SourceCode::parse(request.code, max).map_err(ServiceError::from)?,
            LanguageRequest::parse(request.language.as_deref()),
            Filename::parse(request.filename.as_deref()).map_err(ServiceError::from)?,
            Expiry::parse_secs(request.expires_in).map_err(ServiceError::from)?,
            request.visibility,
            request.burn_after_reading,
        )
        .map_err(ServiceError::from)?
    } else if content_type.is_empty() || content_type.starts_with("text/plain") {
        let bytes = to_bytes(body, body_limit(max)).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("The request body is over the limit; snippets may be at most {max} bytes."),
            )
        })?;
        let code = SourceCode::parse_bytes(bytes.to_vec(), max).map_err(ServiceError::from)?;
        Submission::from_text(code, &query.into_text()).map_err(ServiceError::from)?
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the snippet as application/json or text/plain.",
        ));
    };
    let (visibility, burn_after_reading) = (submission.visibility, submission.burn_after_reading);
    let token = OwnerSecret::random();
    let id = state.submit(submission, token.hash()).await?;
    let url = id.url();
    let mut response = (
        StatusCode::CREATED,
        Json(Created {
            id,
            url: url.clone(),
            state: JobState::Queued,
            owner_token: token.expose().to_owned(),
            visibility,
            burn_after_reading,
        }),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

fn parse_id(raw: &str) -> Result<SnippetId, ApiError> {
    SnippetId::parse(raw).map_err(|_| ApiError::not_found())
}

/// The snippet, with its code, state, result and error.
///
/// Reading a burn-after-reading snippet as anyone but its owner deletes it.
#[utoipa::path(
    get,
    path = "/api/snippets/{id}",
    tag = "snippets",
    params(("id" = String, Path, description = "The snippet's id: 12 letters and digits.")),
    responses(
        (status = 200, description = "The snippet.", body = SnippetView),
        (status = 404, description = "No snippet has this id.", body = ErrorBody),
        (status = 410, description = "It expired, was deleted, or was burned after reading.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn show_snippet(
    State(state): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Json<SnippetView>, ApiError> {
    let id = parse_id(&id)?;
    let view = state
        .read(
            &id,
            &Credentials::from_headers(&headers),
            ReadIntent::of(&method, &headers),
        )
        .await?;
    Ok(Json(view))
}

/// Deletes a snippet. Owner only; afterwards every route answers 410.
#[utoipa::path(
    delete,
    path = "/api/snippets/{id}",
    tag = "snippets",
    params(("id" = String, Path, description = "The snippet's id.")),
    security(("owner_token" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "Not the owner, or sent from another site.", body = ErrorBody),
        (status = 404, description = "No snippet has this id.", body = ErrorBody),
        (status = 410, description = "Already gone.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn delete_snippet(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    state
        .delete(&id, &Credentials::from_headers(&headers))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The seed's polling action: 204 while pending, the fragment when done.
#[utoipa::path(
    get,
    path = "/api/snippets/{id}/highlighted",
    tag = "snippets",
    params(("id" = String, Path, description = "The snippet's id.")),
    responses(
        (status = 200, description = "The highlighted HTML fragment.", content_type = "text/html", body = String),
        (status = 204, description = "Not highlighted yet."),
        (status = 404, description = "No snippet has this id.", body = ErrorBody),
        (status = 410, description = "Gone.", body = ErrorBody),
        (status = 422, description = "Highlighting failed; the reason.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn highlighted(
    State(state): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let stored = match state.find(&id).await? {
        Lookup::Found(stored) => stored,
        Lookup::Gone(reason) => return Err(ServiceError::Gone(reason).into()),
        Lookup::Missing => return Err(ApiError::not_found()),
    };
    match stored.view.state {
        JobState::Succeeded => {
            // The result is the content: reading it may burn the snippet.
            let view = state
                .read(
                    &id,
                    &Credentials::from_headers(&headers),
                    ReadIntent::of(&method, &headers),
                )
                .await?;
            Ok((
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                view.html.unwrap_or_default(),
            )
                .into_response())
        }
        JobState::Failed => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            stored
                .view
                .error
                .unwrap_or_else(|| "Highlighting failed.".to_owned()),
        )),
        _ => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// Every language: its name and the aliases it answers to.
#[utoipa::path(
    get,
    path = "/api/languages",
    tag = "languages",
    responses((status = 200, description = "Every language.", body = [LanguageInfo])),
)]
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

/// "Try again" for a failed snippet: queues it anew. Owner only.
#[utoipa::path(
    post,
    path = "/api/snippets/{id}/retry",
    tag = "snippets",
    params(("id" = String, Path, description = "The snippet's id.")),
    security(("owner_token" = [])),
    responses(
        (status = 202, description = "Queued anew.", body = Queued),
        (status = 403, description = "Not the owner, or sent from another site.", body = ErrorBody),
        (status = 404, description = "No snippet has this id.", body = ErrorBody),
        (status = 409, description = "It is not failed.", body = ErrorBody),
        (status = 410, description = "Gone.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn retry_snippet(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    state
        .retry(&id, &Credentials::from_headers(&headers))
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Queued::of(id))).into_response())
}

/// Highlights the snippet again in another language. Owner only.
#[utoipa::path(
    post,
    path = "/api/snippets/{id}/language",
    tag = "snippets",
    params(("id" = String, Path, description = "The snippet's id.")),
    request_body(content = ChangeLanguage, content_type = "application/json"),
    security(("owner_token" = [])),
    responses(
        (status = 202, description = "Queued anew in that language.", body = Queued),
        (status = 400, description = "Malformed body, or an unknown language.", body = ErrorBody),
        (status = 403, description = "Not the owner, or sent from another site.", body = ErrorBody),
        (status = 404, description = "No snippet has this id.", body = ErrorBody),
        (status = 410, description = "Gone.", body = ErrorBody),
        (status = 413, description = "The body is too large.", body = ErrorBody),
        (status = 415, description = "Not JSON.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn change_language(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let request: ChangeLanguage =
        json_body(&headers, body, 64 * 1024, r#"{"language": "rust"}"#).await?;
    state
        .change_language(&id, &Credentials::from_headers(&headers), &request.language)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Queued::of(id))).into_response())
}

/// `GET /s/{id}/raw`: the code as plain text, never sniffed into HTML.
#[utoipa::path(
    get,
    path = "/s/{id}/raw",
    tag = "files",
    params(("id" = String, Path, description = "The snippet's id.")),
    responses(
        (status = 200, description = "The code, byte for byte.", content_type = "text/plain", body = String),
        (status = 404, description = "No snippet has this id.", body = ErrorBody),
        (status = 410, description = "Gone.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn raw(
    State(state): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let view = state
        .read(
            &id,
            &Credentials::from_headers(&headers),
            ReadIntent::of(&method, &headers),
        )
        .await?;
    Ok(plain_text(view.code))
}

fn plain_text(code: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        code,
    )
        .into_response()
}

/// `POST /s/{id}/reveal`: "Show it once" without JavaScript. Reads a
/// burn-after-reading snippet (which deletes it) and answers its code as
/// plain text. A POST, so no link previewer or crawler ever burns one.
pub async fn reveal(
    State(state): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let view = state
        .read(
            &id,
            &Credentials::from_headers(&headers),
            ReadIntent::of(&method, &headers),
        )
        .await?;
    Ok(plain_text(view.code))
}

/// `GET /s/{id}/download`: the code as a file, named after the snippet's
/// file name, or its id and the language's usual extension.
#[utoipa::path(
    get,
    path = "/s/{id}/download",
    tag = "files",
    params(("id" = String, Path, description = "The snippet's id.")),
    responses(
        (status = 200, description = "The code as an attachment.", content_type = "application/octet-stream", body = String,
            headers(("Content-Disposition" = String, description = "attachment; the file name"))),
        (status = 404, description = "No snippet has this id.", body = ErrorBody),
        (status = 410, description = "Gone.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let view = state
        .read(
            &id,
            &Credentials::from_headers(&headers),
            ReadIntent::of(&method, &headers),
        )
        .await?;
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
    let mut response = (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        view.code,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&name)) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// A quoted ASCII fallback plus the exact name in RFC 5987 form.
fn content_disposition(name: &str) -> String {
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
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}
