//! The pages' server functions (`POST /rpc/...`), described for the one
//! OpenAPI document: they are the pages' API, not the REST API a script
//! should use, but they are an API all the same, and the fuzzer sends them
//! what it sends the rest. Leptos registers the functions themselves (see
//! `crate::api`); the items here only carry their descriptions.
//!
//! Each takes its arguments as an `application/x-www-form-urlencoded`
//! body (a form post, with or without JavaScript) and answers JSON; any
//! other body is refused with 400, as a missing, repeated or malformed
//! argument is. Answers are JSON of any shape (the pages' own, which
//! change with them), errors `{"error"}`. A call that asks for HTML (a form posted without
//! JavaScript) is answered with a redirect back to its page instead.

// The forms and functions here are descriptions, never built or called.
#![allow(dead_code)]

use utoipa::ToSchema;

use crate::server::http::rest::ErrorBody;

/// `POST /rpc/submit`: the paste form.
#[derive(ToSchema)]
pub struct SubmitForm {
    /// The files, posted as `files[0][name]`, `files[0][language]`,
    /// `files[0][code]`, `files[1][name]`...: 1 to `max_files`, at most
    /// `max_snippet_bytes` together, names unique.
    files: Vec<crate::domain::FileText>,
    /// Seconds (60 to 31536000), blank or `never`.
    expires_in: Option<String>,
    /// The "List on the front page" checkbox: `on` when ticked.
    public: Option<String>,
    /// The "Burn after reading" checkbox (not with `public`).
    burn_after_reading: Option<String>,
}

/// `POST /rpc/snippet`.
#[derive(ToSchema)]
pub struct SnippetForm {
    id: String,
    /// A revision; absent: the latest.
    revision: Option<u32>,
}

/// `POST /rpc/diff`.
#[derive(ToSchema)]
pub struct DiffForm {
    id: String,
    from: u32,
    to: u32,
}

/// `POST /rpc/save`.
#[derive(ToSchema)]
pub struct SaveForm {
    id: String,
    /// The revision the changes were made to (409 when another landed).
    base_revision: u32,
    /// Every file of the new revision, as the paste form posts them.
    files: Vec<crate::domain::FileText>,
}

/// The argument of the functions that act on one snippet.
#[derive(ToSchema)]
pub struct IdForm {
    /// The snippet's id.
    id: String,
}

/// `POST /rpc/language`.
#[derive(ToSchema)]
pub struct LanguageForm {
    id: String,
    /// A language name or alias.
    language: String,
    /// The file to highlight in it; absent: every file.
    file: Option<String>,
}

/// `POST /rpc/admin/jobs`.
#[derive(ToSchema)]
pub struct JobsForm {
    /// The jobs table's filter, as the dashboard's address writes it.
    query: String,
    /// Where the page starts (from the previous page's answer).
    cursor: Option<String>,
}

/// `POST /rpc/admin/preview` and `/rpc/admin/act`.
#[derive(ToSchema)]
pub struct ActionForm {
    /// `retry` or `delete`.
    action: String,
    /// The filter whose every match the action takes.
    query: String,
}

/// `POST /rpc/admin/pause`.
#[derive(ToSchema)]
pub struct PauseForm {
    /// `true` pauses every node's claiming, `false` resumes it.
    paused: bool,
}

macro_rules! described {
    ($name:ident, $path:literal, $tag:literal, $summary:literal, $form:ty) => {
        #[utoipa::path(
            post,
            path = $path,
            tag = $tag,
            summary = $summary,
            request_body(content(
                ($form = "application/x-www-form-urlencoded"),
                (serde_json::Value = "application/json"),
            )),
            responses(
                (status = 200, description = "Done; the answer.", body = serde_json::Value, content_type = "application/json"),
                (status = 400, description = "A missing, repeated or malformed argument, invalid input, or a body that is not a form.", body = ErrorBody),
                (status = 403, description = "Not allowed: not the owner, another site, or a read-only operator.", body = ErrorBody),
                (status = 404, description = "No such snippet (or job).", body = serde_json::Value, content_type = "application/json"),
                (status = 409, description = "Not in a state that allows this.", body = ErrorBody),
                (status = 410, description = "Gone.", body = ErrorBody),
                (status = 413, description = "Over `max_snippet_bytes`.", body = ErrorBody),
                (status = 415, description = "Not a form.", body = ErrorBody),
                (status = 429, description = "Over a limit; `Retry-After` says when to try again.", body = ErrorBody),
                (status = 503, description = "The database is not answering.", body = ErrorBody),
            ),
        )]
        pub fn $name() {}
    };
    ($name:ident, $path:literal, $tag:literal, $summary:literal) => {
        #[utoipa::path(
            post,
            path = $path,
            tag = $tag,
            summary = $summary,
            responses(
                (status = 200, description = "Done; the answer.", body = serde_json::Value, content_type = "application/json"),
                (status = 400, description = "A body that is not the (empty) form this call takes.", body = ErrorBody),
                (status = 403, description = "Not allowed.", body = ErrorBody),
                (status = 404, description = "The dashboard is off for this client.", body = ErrorBody),
                (status = 429, description = "Over a limit.", body = ErrorBody),
                (status = 503, description = "The database is not answering.", body = ErrorBody),
            ),
        )]
        pub fn $name() {}
    };
}

described!(
    submit,
    "/rpc/submit",
    "server functions",
    "The paste form: stores a snippet, answers its id.",
    SubmitForm
);
described!(
    snippet,
    "/rpc/snippet",
    "server functions",
    "What the snippet page shows this reader (never burns), with its revisions and forks.",
    SnippetForm
);
described!(
    diff,
    "/rpc/diff",
    "server functions",
    "Two revisions compared, file by file, highlighted.",
    DiffForm
);
described!(
    save,
    "/rpc/save",
    "server functions",
    "Saves a new revision (owner); 409 when another landed first.",
    SaveForm
);
described!(
    fork,
    "/rpc/fork",
    "server functions",
    "Forks a snippet: a new one with its files, owned by this browser.",
    IdForm
);
described!(
    reveal,
    "/rpc/reveal",
    "server functions",
    "\"Show it once\": reads a burn-after-reading snippet, which deletes it.",
    IdForm
);
described!(
    language,
    "/rpc/language",
    "server functions",
    "Highlights a snippet again in another language (owner).",
    LanguageForm
);
described!(
    retry,
    "/rpc/retry",
    "server functions",
    "\"Try again\" on a failed snippet (owner).",
    IdForm
);
described!(
    delete,
    "/rpc/delete",
    "server functions",
    "Deletes a snippet (owner).",
    IdForm
);
described!(
    lists,
    "/rpc/lists",
    "server functions",
    "The home page's lists: recent public snippets and this browser's own."
);
described!(
    admin_overview,
    "/rpc/admin/overview",
    "admin",
    "The dashboard's header: stats and the operator's role."
);
described!(
    admin_jobs,
    "/rpc/admin/jobs",
    "admin",
    "One page of the jobs table.",
    JobsForm
);
described!(
    admin_job,
    "/rpc/admin/job",
    "admin",
    "One job, with every attempt it made.",
    IdForm
);
described!(
    admin_preview,
    "/rpc/admin/preview",
    "admin",
    "How many jobs a bulk action would take.",
    ActionForm
);
described!(
    admin_act,
    "/rpc/admin/act",
    "admin",
    "A bulk retry or delete of every match of a filter.",
    ActionForm
);
described!(
    admin_pause,
    "/rpc/admin/pause",
    "admin",
    "Pauses or resumes claiming on every node.",
    PauseForm
);
