//! The REST API for snippets, for curl, scripts, the command-line client
//! and tests: create, read, save a revision, fork, compare, and the
//! owner's changes. Files as files (raw, download) are `files.rs`; embeds
//! `embed.rs`. Every route here is described in the OpenAPI document
//! (`openapi.rs`) by its `#[utoipa::path]`.

use axum::{
    Json,
    body::{Body, to_bytes},
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, site_origin};
use crate::{
    domain::{
        Expiry, FileText, Files, JobState, LanguageInfo, RevisionInfo, SnippetId, SnippetView,
        SourceCode, Submission, SubmissionText, Visibility, diff::RevisionDiff,
    },
    server::{
        AppState,
        owner::{Credentials, OwnerSecret},
        service::{Lookup, ReadIntent, ServiceError},
    },
};

/// `POST /api/snippets` as JSON: `files`, or the one-file shape of before
/// (`code`, `filename`, `language`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSnippet {
    /// The files, 1 to `max_files`: each a name (blank for `file1`,
    /// `file2`...), a language (blank or `auto` detects it) and code. All
    /// together at most `max_snippet_bytes`.
    #[serde(default)]
    files: Option<Vec<FileText>>,
    /// One file's code (instead of `files`): UTF-8, not blank, no NUL.
    #[serde(default)]
    #[schema(deprecated)]
    code: Option<String>,
    /// One file's language (with `code`).
    #[serde(default)]
    #[schema(deprecated)]
    language: Option<String>,
    /// One file's name (with `code`).
    #[serde(default)]
    #[schema(deprecated)]
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

/// The files of a JSON body: `files`, or the one-file fields, not both.
fn files_of(
    files: Option<Vec<FileText>>,
    code: Option<String>,
    name: Option<String>,
    language: Option<String>,
) -> Result<Vec<FileText>, ApiError> {
    match (files, code) {
        (Some(files), None) if name.is_none() && language.is_none() => Ok(files),
        (None, Some(code)) => Ok(vec![FileText {
            name,
            language,
            code,
        }]),
        (Some(_), _) => Err(bad_request(
            "Send either `files` or the one-file `code` (with `filename` and `language`), not both.",
        )),
        (None, None) => Err(bad_request(
            "The snippet is empty: send `files` (or `code`).",
        )),
    }
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

/// The answer to a new snippet (or fork). `owner_token` is shown once: it
/// is what changes and deletes the snippet (`Authorization: Bearer
/// <token>`).
#[derive(Serialize, ToSchema)]
pub struct Created {
    id: SnippetId,
    /// The snippet's page, as an absolute link.
    url: String,
    state: JobState,
    owner_token: String,
    visibility: Visibility,
    burn_after_reading: bool,
    revision: u32,
}

/// The answer to a change that queued the snippet again.
#[derive(Serialize, ToSchema)]
pub struct Queued {
    id: SnippetId,
    url: String,
    state: JobState,
    revision: u32,
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
    /// The file to highlight in it; absent: every file.
    #[serde(default)]
    file: Option<String>,
}

/// `PUT /api/snippets/{id}`: a snippet's whole new set of files.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveRevision {
    /// Every file of the new revision (files left out are removed).
    files: Vec<FileText>,
    /// The revision these changes were made to: refused (409) when
    /// another was saved since. Or send `If-Match` with its `ETag`.
    #[serde(default)]
    base_revision: Option<u32>,
}

/// A snippet (one revision of it), as the API answers it. The one-file
/// fields of before are kept for snippets of one file.
#[derive(Serialize, ToSchema)]
pub struct SnippetAnswer {
    #[serde(flatten)]
    view: SnippetView,
    /// The one file's code (snippets of one file).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(deprecated)]
    code: Option<String>,
    /// The one file's highlighted HTML (snippets of one file).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(deprecated)]
    html: Option<String>,
    /// The one file's name, null when a person gave it none (snippets of
    /// one file).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(deprecated)]
    filename: Option<Option<String>>,
    /// The one file's language (snippets of one file).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(deprecated)]
    language: Option<String>,
}

impl SnippetAnswer {
    fn of(view: SnippetView) -> Self {
        let one = (view.files.len() == 1).then(|| view.files[0].clone());
        SnippetAnswer {
            code: one.as_ref().map(|f| f.code.clone()),
            html: one.as_ref().and_then(|f| f.html.clone()),
            filename: one.as_ref().map(|f| f.named.then(|| f.name.clone())),
            language: one.map(|f| f.language),
            view,
        }
    }
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// Reads a JSON body with a clear 4xx for anything that is not the JSON we
/// expect (axum's own rejection is plain text).
pub(super) async fn json_body<T: serde::de::DeserializeOwned>(
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

fn invalid(e: crate::domain::SourceError) -> ApiError {
    ServiceError::Invalid(e).into()
}

/// Creates a snippet and queues its highlighting.
#[utoipa::path(
    post,
    path = "/api/snippets",
    tag = "snippets",
    params(CreateQuery),
    request_body(
        description = "The snippet as JSON (`files`, or the one-file `code`), or one file's code as a `text/plain` body with the other fields in the query.",
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
    let limits = state.settings.file_limits();
    let max = limits.max_bytes;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let submission = if content_type.starts_with("application/json") {
        let request: CreateSnippet = json_body(
            &headers,
            body,
            super::edge::max_body_bytes(max),
            r#"{"files": [{"name": "main.rs", "language": "rust" or null, "code": "..."}], "visibility": "unlisted" or "public"}"#,
        )
        .await?;
        let files = files_of(
            request.files,
            request.code,
            request.filename,
            request.language,
        )?;
        Submission::new(
            Files::parse(files, limits).map_err(invalid)?,
            Expiry::parse_secs(request.expires_in).map_err(invalid)?,
            request.visibility,
            request.burn_after_reading,
        )
        .map_err(invalid)?
    } else if content_type.is_empty() || content_type.starts_with("text/plain") {
        let bytes = to_bytes(body, super::edge::max_body_bytes(max))
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "The request body is over the limit; snippets may be at most {max} bytes."
                    ),
                )
            })?;
        let code = SourceCode::parse_bytes(bytes.to_vec(), max).map_err(invalid)?;
        let files = Files::one(
            query.filename.as_deref(),
            query.language.as_deref(),
            code,
            limits,
        )
        .map_err(invalid)?;
        let text = SubmissionText {
            expires_in: query.expires_in,
            visibility: query.visibility,
            burn_after_reading: query.burn_after_reading,
        };
        Submission::from_text(files, &text).map_err(invalid)?
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the snippet as application/json or text/plain.",
        ));
    };
    let (visibility, burn_after_reading) = (submission.visibility, submission.burn_after_reading);
    let token = OwnerSecret::random();
    let id = state.submit(submission, token.hash()).await?;
    Ok(created(
        &state,
        &headers,
        id,
        token,
        visibility,
        burn_after_reading,
    ))
}

/// 201 with what the creator of a snippet (or a fork) needs.
fn created(
    state: &AppState,
    headers: &HeaderMap,
    id: SnippetId,
    token: OwnerSecret,
    visibility: Visibility,
    burn_after_reading: bool,
) -> Response {
    let url = format!("{}{}", site_origin(state, headers), id.url());
    let mut response = (
        StatusCode::CREATED,
        Json(Created {
            id,
            url: url.clone(),
            state: JobState::Queued,
            owner_token: token.expose().to_owned(),
            visibility,
            burn_after_reading,
            revision: 1,
        }),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

pub(super) fn parse_id(raw: &str) -> Result<SnippetId, ApiError> {
    SnippetId::parse(raw).map_err(|_| ApiError::not_found())
}

/// The `ETag` of a revision: what `If-Match` names to save over it.
fn revision_etag(id: &SnippetId, revision: u32) -> String {
    format!("\"{id}-r{revision}\"")
}

/// The revision an `If-Match` names (`*` is whatever is latest).
enum IfMatch {
    Any,
    Revision(u32),
    /// Not one of this snippet's `ETag`s: it cannot match.
    Other,
}

fn if_match(headers: &HeaderMap, id: &SnippetId) -> Option<IfMatch> {
    let raw = headers.get(header::IF_MATCH)?.to_str().ok()?.trim();
    if raw == "*" {
        return Some(IfMatch::Any);
    }
    let prefix = format!("\"{id}-r");
    Some(
        raw.split(',')
            .map(str::trim)
            .find_map(|tag| tag.strip_prefix(&prefix)?.strip_suffix('"')?.parse().ok())
            .map_or(IfMatch::Other, IfMatch::Revision),
    )
}

/// A view answered as JSON, with its revision's `ETag`.
fn answer(view: SnippetView) -> Response {
    let etag = revision_etag(&view.id, view.revision);
    let mut response = Json(SnippetAnswer::of(view)).into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// The snippet's latest revision, with its files, state, result and error.
///
/// Reading a burn-after-reading snippet as anyone but its owner deletes it.
#[utoipa::path(
    get,
    path = "/api/snippets/{id}",
    tag = "snippets",
    params(("id" = String, Path, description = "The snippet's id: 12 letters and digits.")),
    responses(
        (status = 200, description = "The snippet's latest revision.", body = SnippetAnswer,
            headers(("ETag" = String, description = "The revision's tag, for `If-Match` on a save."))),
        (status = 403, description = "A HEAD or prefetch of a burn-after-reading snippet.", body = ErrorBody),
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
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let view = state
        .read(
            &id,
            None,
            &Credentials::from_headers(&headers),
            ReadIntent::of(&method, &headers),
        )
        .await?;
    Ok(answer(view))
}

/// Saves a new revision: the snippet's whole new set of files, over the
/// revision they were made to. Owner only.
#[utoipa::path(
    put,
    path = "/api/snippets/{id}",
    tag = "snippets",
    params(
        ("id" = String, Path, description = "The snippet's id."),
        ("If-Match" = Option<String>, Header, description = "The `ETag` of the revision edited (instead of `base_revision`)."),
    ),
    request_body(content = SaveRevision, content_type = "application/json"),
    security(("owner_token" = [])),
    responses(
        (status = 201, description = "Saved: the new revision, queued.", body = Queued),
        (status = 400, description = "Malformed or invalid files.", body = ErrorBody),
        (status = 403, description = "Not the owner, or sent from another site.", body = ErrorBody),
        (status = 404, description = "No snippet has this id.", body = ErrorBody),
        (status = 409, description = "`base_revision` is not the latest (another save landed first), or the snippet burns after reading.", body = ErrorBody),
        (status = 410, description = "Gone.", body = ErrorBody),
        (status = 412, description = "`If-Match` names a revision that is not the latest.", body = ErrorBody),
        (status = 413, description = "Over `max_snippet_bytes`.", body = ErrorBody),
        (status = 415, description = "Not JSON.", body = ErrorBody),
        (status = 428, description = "Neither `base_revision` nor `If-Match`.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn save_snippet(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let limits = state.settings.file_limits();
    let request: SaveRevision = json_body(
        &headers,
        body,
        super::edge::max_body_bytes(limits.max_bytes),
        r#"{"files": [{"name": "main.rs", "code": "..."}], "base_revision": 1}"#,
    )
    .await?;
    let files = Files::parse(request.files, limits).map_err(invalid)?;
    let credentials = Credentials::from_headers(&headers);
    let (base, by_etag) = match (request.base_revision, if_match(&headers, &id)) {
        (Some(base), _) => (base, false),
        (None, Some(IfMatch::Revision(n))) => (n, true),
        (None, Some(IfMatch::Any)) => match state.find(&id).await? {
            Lookup::Found(stored) => (stored.view.revision, true),
            Lookup::Gone(reason) => return Err(ServiceError::Gone(reason).into()),
            Lookup::Missing => return Err(ApiError::not_found()),
        },
        (None, Some(IfMatch::Other)) => {
            return Err(ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "`If-Match` names no revision of this snippet: send the `ETag` its GET answered.",
            ));
        }
        (None, None) => {
            return Err(ApiError::new(
                StatusCode::PRECONDITION_REQUIRED,
                "Say which revision you edited: `base_revision` in the body, or `If-Match` with its `ETag`.",
            ));
        }
    };
    let revision = match state.save(&id, &credentials, files, base).await {
        Ok(revision) => revision,
        Err(stale @ ServiceError::Stale { .. }) if by_etag => {
            return Err(ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                stale.user_message(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut response = (
        StatusCode::CREATED,
        Json(Queued {
            url: format!("{}{}", site_origin(&state, &headers), id.url()),
            id: id.clone(),
            state: JobState::Queued,
            revision,
        }),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&revision_etag(&id, revision)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

/// Forks a snippet: a new one with the files of its latest revision,
/// unlisted, owned by a new owner token. Anyone who can read it can fork
/// it (not a burn-after-reading snippet).
#[utoipa::path(
    post,
    path = "/api/snippets/{id}/fork",
    tag = "snippets",
    params(("id" = String, Path, description = "The snippet's id."), ForkQuery),
    responses(
        (status = 201, description = "The fork, queued.", body = Created),
        (status = 400, description = "An unknown visibility.", body = ErrorBody),
        (status = 403, description = "Sent from another site.", body = ErrorBody),
        (status = 404, description = "No snippet has this id.", body = ErrorBody),
        (status = 409, description = "It burns after reading.", body = ErrorBody),
        (status = 410, description = "Gone.", body = ErrorBody),
        (status = 429, description = "Too many new snippets from this client.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn fork_snippet(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<ForkQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let visibility = crate::domain::submission::parse_visibility(query.visibility.as_deref())
        .map_err(invalid)?;
    let token = OwnerSecret::random();
    let fork = state.fork(&id, token.hash(), visibility).await?;
    Ok(created(&state, &headers, fork, token, visibility, false))
}

/// `POST /api/snippets/{id}/fork?visibility=`.
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForkQuery {
    /// `unlisted` (the default) or `public` (listed, and on the
    /// original's list of forks).
    visibility: Option<String>,
}

/// Every kept revision, oldest first: number, time, lines added and
/// removed, files (names and sizes).
#[utoipa::path(
    get,
    path = "/api/snippets/{id}/revisions",
    tag = "snippets",
    params(("id" = String, Path, description = "The snippet's id.")),
    responses(
        (status = 200, description = "The revisions.", body = [RevisionInfo]),
        (status = 404, description = "No snippet has this id.", body = ErrorBody),
        (status = 409, description = "It burns after reading (read it instead).", body = ErrorBody),
        (status = 410, description = "Gone.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn revisions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<RevisionInfo>>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(
        state
            .revisions(&id, &Credentials::from_headers(&headers))
            .await?,
    ))
}

/// One revision, as `GET /api/snippets/{id}` answers the latest.
#[utoipa::path(
    get,
    path = "/api/snippets/{id}/revisions/{revision}",
    tag = "snippets",
    params(
        ("id" = String, Path, description = "The snippet's id."),
        ("revision" = u32, Path, description = "The revision's number."),
    ),
    responses(
        (status = 200, description = "The revision.", body = SnippetAnswer),
        (status = 403, description = "A HEAD or prefetch of a burn-after-reading snippet.", body = ErrorBody),
        (status = 404, description = "No such snippet or revision (or it was pruned).", body = ErrorBody),
        (status = 410, description = "Gone.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn revision(
    State(state): State<AppState>,
    Path((id, revision)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let revision = parse_revision(&revision)?;
    let view = state
        .read(
            &id,
            Some(revision),
            &Credentials::from_headers(&headers),
            ReadIntent::of(&method, &headers),
        )
        .await?;
    Ok(answer(view))
}

/// A revision number in a path: a positive integer, else no such page.
pub(super) fn parse_revision(raw: &str) -> Result<u32, ApiError> {
    raw.parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "There is no such revision."))
}

/// What changed between revisions `a` and `b`, file by file, as hunks of
/// lines (renames found by content).
#[utoipa::path(
    get,
    path = "/api/snippets/{id}/diff/{from}/{to}",
    tag = "snippets",
    params(
        ("id" = String, Path, description = "The snippet's id."),
        ("from" = u32, Path, description = "The older revision."),
        ("to" = u32, Path, description = "The newer revision."),
    ),
    responses(
        (status = 200, description = "The differences.", body = RevisionDiff),
        (status = 404, description = "No such snippet or revision.", body = ErrorBody),
        (status = 409, description = "It burns after reading.", body = ErrorBody),
        (status = 410, description = "Gone.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn diff(
    State(state): State<AppState>,
    Path((id, from, to)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Json<RevisionDiff>, ApiError> {
    let id = parse_id(&id)?;
    let (from, to) = (parse_revision(&from)?, parse_revision(&to)?);
    Ok(Json(
        state
            .diff(&id, from, to, &Credentials::from_headers(&headers), false)
            .await?,
    ))
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

/// The seed's polling action: 204 while pending, the fragment when done
/// (a snippet of several files: each file's fragment in a section of its
/// own).
#[utoipa::path(
    get,
    path = "/api/snippets/{id}/highlighted",
    tag = "snippets",
    params(("id" = String, Path, description = "The snippet's id.")),
    responses(
        (status = 200, description = "The highlighted HTML fragment.", content_type = "text/html", body = String),
        (status = 204, description = "Not highlighted yet."),
        (status = 403, description = "A HEAD or prefetch of a burn-after-reading snippet.", body = ErrorBody),
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
                    None,
                    &Credentials::from_headers(&headers),
                    ReadIntent::of(&method, &headers),
                )
                .await?;
            Ok((
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                fragments(&view),
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

/// A revision's highlighted HTML: a one-file revision's fragment as it
/// is, each file of a larger one in a section of its own.
fn fragments(view: &SnippetView) -> String {
    if let [one] = view.files.as_slice() {
        return one.html.clone().unwrap_or_default();
    }
    let anchors = crate::domain::files::anchors(view.files.iter().map(|f| f.name.as_str()));
    let mut out = String::new();
    for (file, anchor) in view.files.iter().zip(anchors) {
        out.push_str(&format!(
            "<section class=\"file\" id=\"{anchor}\" data-name=\"{}\"><h2>{}</h2>",
            escape(&file.name),
            escape(&file.name)
        ));
        out.push_str(file.html.as_deref().unwrap_or(""));
        out.push_str("</section>");
    }
    out
}

pub(super) use crate::domain::files::escape_html as escape;

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
    queued(&state, &headers, id).await
}

/// 202 with the snippet queued anew.
async fn queued(
    state: &AppState,
    headers: &HeaderMap,
    id: SnippetId,
) -> Result<Response, ApiError> {
    let revision = match state.find(&id).await? {
        Lookup::Found(stored) => stored.view.revision,
        _ => 1,
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(Queued {
            url: format!("{}{}", site_origin(state, headers), id.url()),
            id,
            state: JobState::Queued,
            revision,
        }),
    )
        .into_response())
}

/// Highlights the snippet's latest revision again in another language
/// (one file, or every file). Owner only.
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
        (status = 404, description = "No snippet has this id, or no file this name.", body = ErrorBody),
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
        .change_language(
            &id,
            &Credentials::from_headers(&headers),
            &request.language,
            request.file.as_deref(),
        )
        .await?;
    queued(&state, &headers, id).await
}

/// `POST /s/{id}/reveal`: "Show it once" without JavaScript. Reads a
/// burn-after-reading snippet (which deletes it) and answers its code as
/// plain text (every file of it, each under its name). A POST, so no
/// link previewer or crawler ever burns one.
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
            None,
            &Credentials::from_headers(&headers),
            ReadIntent::of(&method, &headers),
        )
        .await?;
    let text = match view.files.as_slice() {
        [one] => one.code.clone(),
        files => files
            .iter()
            .map(|f| format!("==> {} <==\n{}\n", f.name, f.code))
            .collect(),
    };
    Ok(super::files::plain_text(text))
}
