//! Forms with files, without JavaScript: `POST /` (the paste form) and
//! `POST /s/{id}/edit` (the edit page).
//!
//! "Add file" and "Remove" are submit buttons: without JavaScript they post
//! the whole form here, and the page is drawn again with one file more or
//! less and everything already typed kept (the [`Draft`] in the render's
//! context). The edit page's "Save revision" posts here too: a save that
//! is refused (another revision landed first, a file is invalid) shows
//! the form again with the typed text and the reason, never losing it; a
//! save that lands sends the browser to the snippet (303).

use axum::{
    body::{Body, to_bytes},
    extract::{Path, Request, State},
    http::{Method, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use leptos::prelude::provide_context;
use serde::Deserialize;

use super::ApiError;
use crate::{
    domain::{Draft, FileText, Files, SnippetId},
    server::{AppState, owner::Credentials, service::ServiceError},
};

/// A form of files as browsers post it (`files[0][name]`...).
#[derive(Deserialize, Default)]
struct DraftForm {
    #[serde(default)]
    files: Vec<FileText>,
    #[serde(default)]
    expires_in: Option<String>,
    #[serde(default)]
    public: Option<String>,
    #[serde(default)]
    burn_after_reading: Option<String>,
    #[serde(default)]
    base_revision: Option<u32>,
    /// The button: `add`, `remove:{n}` or `save`. (Not `action`: a field
    /// of that name hides the form's own `action` from scripts.)
    #[serde(default, rename = "do")]
    action: Option<String>,
}

/// What a button asks for.
enum Action {
    Add,
    Remove(usize),
    Save,
}

impl DraftForm {
    fn action(&self) -> Result<Action, ApiError> {
        match self.action.as_deref() {
            Some("add") => Ok(Action::Add),
            Some("save") | None => Ok(Action::Save),
            Some(other) => other
                .strip_prefix("remove:")
                .and_then(|n| n.parse().ok())
                .map(Action::Remove)
                .ok_or_else(|| {
                    ApiError::new(StatusCode::BAD_REQUEST, "This form has no such button.")
                }),
        }
    }

    fn into_draft(self) -> Draft {
        let ticked = |flag: Option<String>| {
            crate::domain::submission::parse_flag("flag", flag.as_deref()).unwrap_or(false)
        };
        Draft {
            files: self.files.into_iter().map(FileText::from_form).collect(),
            expires_in: self.expires_in,
            public: ticked(self.public),
            burn_after_reading: ticked(self.burn_after_reading),
            base_revision: self.base_revision,
            error: None,
        }
    }
}

/// Reads the posted form; the request's head is kept to draw the page.
async fn read_form(state: &AppState, request: Request) -> Result<(Parts, DraftForm), ApiError> {
    let (parts, body) = request.into_parts();
    // The files, and room for the field names around them.
    let limit = state.settings.max_snippet_bytes * 2 + 64 * 1024;
    let bytes = to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form is larger than this server accepts.",
        )
    })?;
    let form = serde_qs::Config::new(5, false)
        .deserialize_bytes::<DraftForm>(&bytes)
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("This form could not be read: {e}."),
            )
        })?;
    Ok((parts, form))
}

/// Adds or removes a file; `Err` is a sentence for the form.
fn change_files(draft: &mut Draft, action: &Action, max_files: usize) -> Result<(), String> {
    match *action {
        Action::Add if draft.files.len() >= max_files => {
            Err(format!("A snippet holds at most {max_files} files."))
        }
        Action::Add => {
            draft.files.push(FileText::default());
            Ok(())
        }
        Action::Remove(n) if n < draft.files.len() && draft.files.len() > 1 => {
            draft.files.remove(n);
            Ok(())
        }
        Action::Remove(_) | Action::Save => Ok(()),
    }
}

/// `POST /`: the paste form with a file more or less.
pub async fn home(State(state): State<AppState>, request: Request) -> Response {
    let (parts, form) = match read_form(&state, request).await {
        Ok(read) => read,
        Err(e) => return e.into_response(),
    };
    let action = match form.action() {
        Ok(action) => action,
        Err(e) => return e.into_response(),
    };
    let mut draft = form.into_draft();
    if draft.files.is_empty() {
        draft.files.push(FileText::default());
    }
    if let Err(error) = change_files(&mut draft, &action, state.settings.max_files) {
        draft.error = Some(error);
    }
    render(&state, parts, draft, StatusCode::OK).await
}

/// `POST /s/{id}/edit`: saves a new revision, or draws the form again.
pub async fn edit(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    request: Request,
) -> Response {
    let Ok(id) = SnippetId::parse(&raw_id) else {
        return ApiError::not_found().into_response();
    };
    let credentials = Credentials::from_headers(request.headers());
    let (parts, form) = match read_form(&state, request).await {
        Ok(read) => read,
        Err(e) => return e.into_response(),
    };
    let action = match form.action() {
        Ok(action) => action,
        Err(e) => return e.into_response(),
    };
    let base = form.base_revision;
    let mut draft = form.into_draft();
    if !matches!(action, Action::Save) {
        if let Err(error) = change_files(&mut draft, &action, state.settings.max_files) {
            draft.error = Some(error);
        }
        return render(&state, parts, draft, StatusCode::OK).await;
    }
    let Some(base) = base else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "The form does not say which revision it changes (`base_revision`).",
        )
        .into_response();
    };
    let saved = match Files::parse(draft.files.clone(), state.settings.file_limits()) {
        Ok(files) => state.save(&id, &credentials, files, base).await,
        Err(e) => Err(ServiceError::Invalid(e)),
    };
    match saved {
        Ok(_) => Redirect::to(&id.url()).into_response(),
        Err(e) => {
            let status = e.status();
            draft.error = Some(e.user_message());
            render(&state, parts, draft, status).await
        }
    }
}

/// Draws the page the form was posted from, with `draft` in place of a
/// fresh form.
async fn render(state: &AppState, parts: Parts, draft: Draft, status: StatusCode) -> Response {
    let page_state = state.clone();
    let leptos = state.leptos.clone();
    let handler = leptos_axum::render_app_async_with_context(
        move || {
            crate::server::startup::provide_request_context(&page_state);
            provide_context(draft.clone());
        },
        move || crate::app::shell(leptos.clone()),
    );
    let mut request = Request::from_parts(parts, Body::empty());
    // The page is the one a GET of this address draws, filled in.
    *request.method_mut() = Method::GET;
    request.headers_mut().remove(header::CONTENT_LENGTH);
    request.headers_mut().remove(header::CONTENT_TYPE);
    let mut response = handler(request).await;
    if response.status().is_success() && status != StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}
