//! Server functions: the page's calls to the server. Each is thin: parse
//! the input into domain types, call the service, map the outcome to words
//! a person understands. The REST API in `server/http` calls the same
//! service, so both refuse the same input the same way.

use leptos::prelude::*;
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};

use crate::domain::{LanguageInfo, SnippetPage, SnippetSummary, UserError};

impl FromServerFnError for UserError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        UserError::new(match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                "The server could not be reached. Check your connection and try again.".to_owned()
            }
            other => format!("Something went wrong: {other}"),
        })
    }
}

#[cfg(feature = "ssr")]
fn app_state() -> Result<crate::server::AppState, UserError> {
    use_context::<crate::server::AppState>()
        .ok_or_else(|| UserError::new("The server is not set up to answer this request."))
}

#[cfg(feature = "ssr")]
fn internal(error: impl std::fmt::Debug) -> UserError {
    tracing::error!(?error, "server function failed");
    UserError::new("Something went wrong on our side; please try again in a moment.")
}

/// Stores a pasted snippet, queues its highlighting, and sends the browser
/// to its page (a redirect for a plain form post, a client-side navigation
/// when the app is running).
#[server(prefix = "/rpc", endpoint = "submit")]
pub async fn submit_snippet(
    code: String,
    language: Option<String>,
    filename: Option<String>,
    expires_in: Option<String>,
) -> Result<String, UserError> {
    use crate::server::service::SubmitError;
    let state = app_state()?;
    let expiry = crate::domain::Expiry::parse_field(expires_in.as_deref())
        .map_err(|e| UserError::new(e.to_string()))?;
    match state
        .submit_raw(code, language.as_deref(), filename.as_deref(), expiry)
        .await
    {
        Ok(id) => {
            leptos_axum::redirect(&id.url());
            Ok(id.to_string())
        }
        Err(SubmitError::Store(e)) => Err(internal(e)),
        Err(e) => Err(UserError::new(e.to_string())),
    }
}

#[server(prefix = "/rpc", endpoint = "snippet")]
pub async fn get_snippet(id: String) -> Result<SnippetPage, UserError> {
    let state = app_state()?;
    let Ok(id) = crate::domain::SnippetId::parse(&id) else {
        return Ok(SnippetPage::Missing);
    };
    state.lookup(&id).await.map_err(internal)
}

/// Highlights a snippet again in another language; the page follows live.
#[server(prefix = "/rpc", endpoint = "language")]
pub async fn change_language(id: String, language: String) -> Result<(), UserError> {
    use crate::server::service::SubmitError;
    let state = app_state()?;
    let id = crate::domain::SnippetId::parse(&id).map_err(|e| UserError::new(e.to_string()))?;
    match state.change_language(&id, &language).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(UserError::new("This snippet no longer exists.")),
        Err(SubmitError::Store(e)) => Err(internal(e)),
        Err(e) => Err(UserError::new(e.to_string())),
    }
}

#[server(prefix = "/rpc", endpoint = "recent")]
pub async fn recent_snippets() -> Result<Vec<SnippetSummary>, UserError> {
    let state = app_state()?;
    state
        .store
        .recent_snippets(20, chrono::Utc::now())
        .await
        .map_err(internal)
}

#[server(prefix = "/rpc", endpoint = "languages")]
pub async fn list_languages() -> Result<Vec<LanguageInfo>, UserError> {
    let state = app_state()?;
    Ok(state.languages.list().to_vec())
}

/// "Try again" on a failed snippet: queues it anew. The page follows the
/// new attempt live; without JavaScript the browser returns to the page.
#[server(prefix = "/rpc", endpoint = "retry")]
pub async fn retry_snippet(id: String) -> Result<(), UserError> {
    let state = app_state()?;
    let id = crate::domain::SnippetId::parse(&id).map_err(|e| UserError::new(e.to_string()))?;
    match state.retry(&id).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(UserError::new(
            "This snippet is not failed (or no longer exists), so there is nothing to try again.",
        )),
        Err(e) => Err(internal(e)),
    }
}
