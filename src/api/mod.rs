//! Server functions: the page's calls to the server. Each is thin: parse
//! the input into domain types, call the service with the request's owner
//! credentials, and map a refusal to the same HTTP status and the same
//! sentence the REST API answers with (never a 500 for a person's mistake).

use leptos::prelude::*;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};

use crate::domain::{
    FileText, RevisionInfo, SnippetPage, SnippetSummary, SnippetView, UserError, diff::RevisionDiff,
};

mod admin;
mod codec;
pub use admin::*;
pub use codec::{JsonText, JsonTextOutput};

impl FromServerFnError for UserError {
    type Encoder = JsonText;

    /// The server-function machinery's own failures, in words. On the
    /// server, a call whose arguments are missing, repeated or not what
    /// the function takes is the caller's mistake: 400, as the REST API
    /// answers malformed input, not the 500 Leptos would send.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let message = match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                "The server could not be reached. Check your connection and try again.".to_owned()
            }
            ServerFnErrorErr::Args(detail)
            | ServerFnErrorErr::MissingArg(detail)
            | ServerFnErrorErr::Deserialization(detail) => {
                let sentence = format!(
                    "The call's arguments are missing or malformed: {}",
                    detail.trim_end_matches('.')
                );
                #[cfg(feature = "ssr")]
                return request::refuse(axum::http::StatusCode::BAD_REQUEST, sentence + ".");
                #[cfg(not(feature = "ssr"))]
                return UserError::new(sentence + ".");
            }
            other => format!("Something went wrong: {other}"),
        };
        UserError::new(message)
    }
}

/// What a server function needs from the request it answers.
#[cfg(feature = "ssr")]
mod request {
    use axum::http::{StatusCode, header, request::Parts};
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;

    use crate::{
        domain::{SnippetId, UserError},
        server::{AppState, owner::Credentials, service::ServiceError},
    };

    pub fn state() -> Result<AppState, UserError> {
        use_context::<AppState>()
            .ok_or_else(|| UserError::new("The server is not set up to answer this request."))
    }

    pub fn parts() -> Option<Parts> {
        use_context::<Parts>()
    }

    pub fn credentials() -> Credentials {
        parts()
            .map(|parts| Credentials::from_headers(&parts.headers))
            .unwrap_or_default()
    }

    /// Refuses with `status` and `message`, as the REST API would.
    ///
    /// Except to a form posted without JavaScript (it asks for HTML):
    /// Leptos answers that with a redirect back to the form's page, the
    /// error in its address, and the page shows it beside the form
    /// (`app::FormCall`). A status set here would replace the redirect's,
    /// and the browser would show the error's JSON instead.
    pub fn refuse(status: StatusCode, message: impl Into<String>) -> UserError {
        let from_plain_form = parts().is_some_and(|parts| {
            parts
                .headers
                .get(header::ACCEPT)
                .and_then(|accept| accept.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"))
        });
        if let (false, Some(options)) = (from_plain_form, use_context::<ResponseOptions>()) {
            options.set_status(status);
        }
        UserError::new(message)
    }

    pub fn fail(error: ServiceError) -> UserError {
        refuse(error.status(), error.user_message())
    }

    pub fn snippet_id(raw: &str) -> Result<SnippetId, UserError> {
        SnippetId::parse(raw).map_err(|_| fail(ServiceError::NotFound))
    }

    /// Was the page this request comes from served over HTTPS? Then the
    /// owner cookie is `Secure`.
    pub fn over_https(state: &AppState) -> bool {
        let from_https_page = parts()
            .and_then(|p| {
                p.headers
                    .get(header::ORIGIN)
                    .and_then(|v| v.to_str().ok())
                    .map(|o| o.starts_with("https://"))
            })
            .unwrap_or(false);
        from_https_page
            || state
                .settings
                .public_origin
                .as_deref()
                .is_some_and(|o| o.starts_with("https://"))
    }

    /// This browser's owner key (its cookie), or a new one, set (again)
    /// on the answer: a new browser gets its key, and a kept one lives
    /// another year.
    pub fn owner_secret(state: &AppState) -> crate::server::owner::OwnerSecret {
        use crate::server::owner::{self, OwnerSecret};
        let secret = parts()
            .and_then(|p| owner::cookie_secret(&p.headers))
            .unwrap_or_else(OwnerSecret::random);
        set_header(
            header::SET_COOKIE,
            owner::set_cookie(&secret, over_https(state)),
        );
        secret
    }

    pub fn set_status(status: StatusCode) {
        if let Some(options) = use_context::<ResponseOptions>() {
            options.set_status(status);
        }
    }

    pub fn set_header(name: header::HeaderName, value: header::HeaderValue) {
        if let Some(options) = use_context::<ResponseOptions>() {
            options.append_header(name, value);
        }
    }
}

/// Stores a pasted snippet (its files), queues its highlighting, and sends
/// the browser to its page (a redirect for a plain form post, a
/// client-side navigation when the app is running). The browser's owner
/// key (a cookie, made on its first submit) owns it.
///
/// Without JavaScript the form posts `files[0][name]`, `files[0][code]`...
/// as it was written; with it, the client sends the same.
#[server(prefix = "/rpc", endpoint = "submit", output = JsonTextOutput)]
pub async fn submit_snippet(
    files: Vec<FileText>,
    expires_in: Option<String>,
    // The "List on the front page" and "Burn after reading" checkboxes.
    public: Option<String>,
    burn_after_reading: Option<String>,
) -> Result<String, UserError> {
    use crate::{
        domain::{Files, Submission, SubmissionText, submission::parse_flag},
        server::service::ServiceError,
    };
    let state = request::state()?;
    let invalid = |e| request::fail(ServiceError::Invalid(e));
    // The form's "List on the front page" is a checkbox, not a field.
    let listed = parse_flag("public", public.as_deref()).map_err(invalid)?;
    let text = SubmissionText {
        expires_in,
        visibility: listed.then(|| "public".to_owned()),
        burn_after_reading,
    };
    let files = files.into_iter().map(FileText::from_form).collect();
    let files = Files::parse(files, state.settings.file_limits()).map_err(invalid)?;
    let submission = Submission::from_text(files, &text).map_err(invalid)?;
    let secret = request::owner_secret(&state);
    let id = state
        .submit(submission, secret.hash())
        .await
        .map_err(request::fail)?;
    leptos_axum::redirect(&id.url());
    Ok(id.to_string())
}

/// What a snippet's page shows: the snippet (or why there is none), its
/// revisions and its public forks.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SnippetPageData {
    pub page: SnippetPage,
    pub revisions: Vec<RevisionInfo>,
    pub forks: Vec<SnippetSummary>,
    /// This site's origin, for the embed code the page offers.
    #[serde(default)]
    pub origin: String,
}

/// What the page at `/s/{id}` (or `/s/{id}/r/{revision}`) shows this
/// reader. Never burns anything.
#[server(prefix = "/rpc", endpoint = "snippet", output = JsonTextOutput)]
pub async fn get_snippet(id: String, revision: Option<u32>) -> Result<SnippetPageData, UserError> {
    let state = request::state()?;
    let missing = || {
        request::set_status(axum::http::StatusCode::NOT_FOUND);
        SnippetPageData {
            page: SnippetPage::Missing,
            revisions: Vec::new(),
            forks: Vec::new(),
            origin: String::new(),
        }
    };
    let Ok(id) = crate::domain::SnippetId::parse(&id) else {
        return Ok(missing());
    };
    let credentials = request::credentials();
    let (page, cacheable) = state
        .page(&id, revision, &credentials)
        .await
        .map_err(|e| request::fail(e.into()))?;
    // An unknown id is a miss (see `http::limits`), however it is asked.
    if page == SnippetPage::Missing {
        return Ok(missing());
    }
    let (revisions, forks) = match &page {
        SnippetPage::Found(_) => {
            let fail = |e: crate::server::service::ServiceError| request::fail(e);
            (
                state.revisions(&id, &credentials).await.map_err(fail)?,
                state
                    .forks(&id)
                    .await
                    .map_err(|e| request::fail(e.into()))?,
            )
        }
        _ => (Vec::new(), Vec::new()),
    };
    // Rendering the page for a request that can keep it (see
    // `http::page_cache`): say whether it may.
    if let (Some(cacheable), Some(slot)) = (
        cacheable,
        request::parts().and_then(|p| {
            p.extensions
                .get::<crate::server::http::page_cache::CacheSlot>()
                .cloned()
        }),
    ) {
        slot.offer(cacheable);
    }
    let origin = request::parts()
        .map(|parts| crate::server::http::site_origin(&state, &parts.headers))
        .unwrap_or_default();
    Ok(SnippetPageData {
        page,
        revisions,
        forks,
        origin,
    })
}

/// What changed between two revisions, file by file, highlighted.
#[server(prefix = "/rpc", endpoint = "diff", output = JsonTextOutput)]
pub async fn get_diff(id: String, from: u32, to: u32) -> Result<RevisionDiff, UserError> {
    let state = request::state()?;
    let id = request::snippet_id(&id)?;
    state
        .diff(&id, from, to, &request::credentials(), true)
        .await
        .map_err(request::fail)
}

/// "Show it once": reads a burn-after-reading snippet, which deletes it.
#[server(prefix = "/rpc", endpoint = "reveal", output = JsonTextOutput)]
pub async fn reveal_snippet(id: String) -> Result<SnippetView, UserError> {
    let state = request::state()?;
    let id = request::snippet_id(&id)?;
    state
        .read(
            &id,
            None,
            &request::credentials(),
            crate::server::service::ReadIntent::Read,
        )
        .await
        .map_err(request::fail)
}

/// Saves a new revision of a snippet with `files`, over `base_revision`
/// (the one its author edited), and sends the browser to it. Refused
/// (409) when another save landed first. Owner only.
#[server(prefix = "/rpc", endpoint = "save", output = JsonTextOutput)]
pub async fn save_snippet(
    id: String,
    base_revision: u32,
    files: Vec<FileText>,
) -> Result<u32, UserError> {
    use crate::{domain::Files, server::service::ServiceError};
    let state = request::state()?;
    let id = request::snippet_id(&id)?;
    let files = files.into_iter().map(FileText::from_form).collect();
    let files = Files::parse(files, state.settings.file_limits())
        .map_err(|e| request::fail(ServiceError::Invalid(e)))?;
    let revision = state
        .save(&id, &request::credentials(), files, base_revision)
        .await
        .map_err(request::fail)?;
    leptos_axum::redirect(&id.url());
    Ok(revision)
}

/// Forks a snippet: a new one with its files, owned by this browser, and
/// sends the browser to it.
#[server(prefix = "/rpc", endpoint = "fork", output = JsonTextOutput)]
pub async fn fork_snippet(id: String) -> Result<String, UserError> {
    let state = request::state()?;
    let id = request::snippet_id(&id)?;
    let secret = request::owner_secret(&state);
    let fork = state
        .fork(&id, secret.hash(), crate::domain::Visibility::Unlisted)
        .await
        .map_err(request::fail)?;
    leptos_axum::redirect(&fork.url());
    Ok(fork.to_string())
}

/// Highlights a snippet's latest revision again in another language (the
/// file named `file`, or every file); the page follows live.
#[server(prefix = "/rpc", endpoint = "language", output = JsonTextOutput)]
pub async fn change_language(
    id: String,
    language: String,
    file: Option<String>,
) -> Result<(), UserError> {
    let state = request::state()?;
    let id = request::snippet_id(&id)?;
    state
        .change_language(
            &id,
            &request::credentials(),
            &language,
            file.as_deref().filter(|f| !f.is_empty()),
        )
        .await
        .map_err(request::fail)
}

/// "Try again" on a failed snippet: queues it anew. The page follows the
/// new attempt live; without JavaScript the browser returns to the page.
#[server(prefix = "/rpc", endpoint = "retry", output = JsonTextOutput)]
pub async fn retry_snippet(id: String) -> Result<(), UserError> {
    let state = request::state()?;
    let id = request::snippet_id(&id)?;
    state
        .retry(&id, &request::credentials())
        .await
        .map_err(request::fail)
}

/// Deletes a snippet for good. Owner only.
#[server(prefix = "/rpc", endpoint = "delete", output = JsonTextOutput)]
pub async fn delete_snippet(id: String) -> Result<(), UserError> {
    let state = request::state()?;
    let id = request::snippet_id(&id)?;
    state
        .delete(&id, &request::credentials())
        .await
        .map_err(request::fail)?;
    leptos_axum::redirect("/");
    Ok(())
}

/// The home page's lists: recent public snippets, and this browser's own.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SnippetLists {
    pub recent: Vec<SnippetSummary>,
    pub mine: Vec<SnippetSummary>,
}

#[server(prefix = "/rpc", endpoint = "lists", output = JsonTextOutput)]
pub async fn home_lists() -> Result<SnippetLists, UserError> {
    let state = request::state()?;
    let fail = |e: crate::server::store::StoreError| request::fail(e.into());
    Ok(SnippetLists {
        recent: state.recent().await.map_err(fail)?,
        mine: state.mine(&request::credentials()).await.map_err(fail)?,
    })
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    #[test]
    fn refusals_outside_a_request_still_carry_the_sentence() {
        let error = super::request::refuse(axum::http::StatusCode::FORBIDDEN, "No.");
        assert_eq!(error.message, "No.");
    }
}
