//! `GET /api/openapi.json`: the REST API described as OpenAPI 3.1,
//! generated from the handlers' `#[utoipa::path]` annotations and the
//! types they take and answer with, so the document cannot drift from
//! the code. The test suite fuzzes the running server against it. The
//! pages' server functions are in it too (`server_fns.rs`).

mod server_fns;

use std::sync::OnceLock;

use axum::{
    http::header,
    response::{IntoResponse, Response},
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{embed, files, health, rest, sse};
use crate::{
    domain::{
        ChangedLines, FileMeta, FileText, FileView, ForkOrigin, GoneReason, JobState, LanguageInfo,
        Progress, RevisionInfo, SnippetView, Visibility,
        diff::{DiffLine, FileChange, FileDiff, Hunk, LineKind, RevisionDiff},
        operations,
    },
    server::http::admin,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Highlighter",
        description = "Paste code; a durable background worker highlights it; every page showing it gets progress and the result pushed over server-sent events. Errors are JSON `{\"error\": \"<a sentence>\"}`. Changes need the snippet's owner token (`Authorization: Bearer <owner_token>`, answered once by `POST /api/snippets`) or the owner cookie of the browser that created it; requests from other sites are refused."
    ),
    paths(
        rest::create_snippet,
        rest::show_snippet,
        rest::save_snippet,
        rest::delete_snippet,
        rest::fork_snippet,
        rest::revisions,
        rest::revision,
        rest::diff,
        rest::highlighted,
        rest::retry_snippet,
        rest::change_language,
        files::raw,
        files::raw_file,
        files::download,
        embed::frame,
        embed::script,
        embed::oembed,
        rest::languages,
        sse::snippet_events,
        sse::list_events,
        health::health,
        health::ready,
        admin::stats,
        admin::jobs,
        admin::job,
        admin::retry_jobs,
        admin::delete_jobs,
        admin::pause,
        admin::resume,
        sse::admin_events,
        server_fns::submit,
        server_fns::snippet,
        server_fns::diff,
        server_fns::save,
        server_fns::fork,
        server_fns::reveal,
        server_fns::language,
        server_fns::retry,
        server_fns::delete,
        server_fns::lists,
        server_fns::admin_overview,
        server_fns::admin_jobs,
        server_fns::admin_job,
        server_fns::admin_preview,
        server_fns::admin_act,
        server_fns::admin_pause,
    ),
    components(schemas(
        rest::CreateSnippet,
        rest::Created,
        rest::Queued,
        rest::ErrorBody,
        rest::ChangeLanguage,
        rest::SaveRevision,
        rest::SnippetAnswer,
        embed::Oembed,
        SnippetView,
        FileView,
        FileMeta,
        FileText,
        ForkOrigin,
        RevisionInfo,
        ChangedLines,
        RevisionDiff,
        FileDiff,
        FileChange,
        Hunk,
        DiffLine,
        LineKind,
        JobState,
        Progress,
        Visibility,
        GoneReason,
        LanguageInfo,
        health::Health,
        operations::Stats,
        operations::JobCounts,
        operations::NodeRow,
        operations::Finished,
        operations::Latency,
        operations::JobRow,
        operations::JobsPage,
        operations::AttemptRow,
        operations::JobDetail,
        operations::Matched,
        admin::Paused,
        server_fns::SubmitForm,
        server_fns::IdForm,
        server_fns::SnippetForm,
        server_fns::DiffForm,
        server_fns::SaveForm,
        server_fns::LanguageForm,
        server_fns::JobsForm,
        server_fns::ActionForm,
        server_fns::PauseForm,
    )),
    modifiers(&OwnerToken),
    tags(
        (name = "snippets", description = "Create, read, change and delete snippets."),
        (name = "files", description = "A snippet's code as plain text or a download."),
        (name = "embeds", description = "A snippet in another site's page: a frame, the script that places it, oEmbed."),
        (name = "streams", description = "Server-sent event streams."),
        (name = "languages", description = "The languages the engine knows."),
        (name = "health", description = "Liveness for load balancers."),
        (name = "server functions", description = "The pages' own calls (`POST /rpc/...`): a form body in, JSON out (a form posted without JavaScript is redirected back to its page). Scripts should use the REST API."),
        (name = "admin", description = "The operators' dashboard: the queue's state, the jobs table, bulk actions, nodes, pause. Needs `Authorization: Bearer <admin token>` (or the dashboard's session cookie); with no token configured, only requests from this machine."),
    ),
)]
struct ApiDoc;

/// The `owner_token` security scheme: a bearer token.
struct OwnerToken;

impl Modify for OwnerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "owner_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The `owner_token` answered when the snippet was created.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The `admin_token` (or `admin_readonly_token`, which may only read) of the server's settings.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .expect("the OpenAPI document serialises")
    })
}

pub async fn document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json()).into_response()
}
