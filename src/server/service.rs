//! The application's shared state and the operations both front doors
//! (server functions and the REST API) use.

use std::sync::Arc;

use axum::extract::FromRef;
use chrono::Utc;
use leptos::config::LeptosOptions;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{
    domain::{
        Filename, JobState, LanguageRequest, SnippetEvent, SnippetId, SourceCode, SourceError,
        StateChanged,
    },
    server::{
        events::Hub,
        highlight::Languages,
        settings::Settings,
        store::{DynStore, NewSnippet, StoreError},
    },
};

/// Everything a request handler may need, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub hub: Arc<Hub>,
    pub languages: Languages,
    pub settings: Arc<Settings>,
    pub leptos: LeptosOptions,
    /// Rung after every enqueue so idle workers claim the job at once.
    pub wake: Arc<Notify>,
    /// Cancelled on shutdown: streams end, loops stop.
    pub shutdown: CancellationToken,
    /// The highlight stylesheet, generated once at start-up.
    pub theme_css: Arc<str>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Invalid(#[from] SourceError),
    #[error("Unknown language `{0}`: GET /api/languages lists the languages and aliases we know.")]
    UnknownLanguage(String),
    #[error("could not store the snippet")]
    Store(#[from] StoreError),
}

impl AppState {
    /// Parses a submission from its raw parts, then submits it.
    pub async fn submit_raw(
        &self,
        code: String,
        language: Option<&str>,
        filename: Option<&str>,
    ) -> Result<SnippetId, SubmitError> {
        let code = SourceCode::parse(code, self.settings.max_snippet_bytes)?;
        self.submit(
            code,
            LanguageRequest::parse(language),
            Filename::parse(filename)?,
        )
        .await
    }

    /// "Try again": queues a failed snippet anew and tells its pages.
    /// `Ok(false)` when it is unknown or not failed.
    pub async fn retry(&self, id: &SnippetId) -> Result<bool, StoreError> {
        let requeued = self
            .store
            .requeue_failed(id, self.settings.jobs.max_attempts, Utc::now())
            .await?;
        if requeued {
            self.hub.publish(
                id,
                SnippetEvent::State(StateChanged {
                    state: JobState::Queued,
                    progress: None,
                    attempts: 0,
                    next_attempt_at: None,
                }),
            );
            self.wake.notify_one();
        }
        Ok(requeued)
    }

    /// Stores the snippet and its job in one transaction, then wakes the
    /// workers. The language is settled here, so every page and API answer
    /// names it from the start.
    pub async fn submit(
        &self,
        code: SourceCode,
        language: LanguageRequest,
        filename: Option<Filename>,
    ) -> Result<SnippetId, SubmitError> {
        let language = match language {
            LanguageRequest::Auto => self.languages.detect(filename.as_ref(), code.as_str()),
            LanguageRequest::Named(name) => self
                .languages
                .resolve(&name)
                .map(str::to_owned)
                .ok_or(SubmitError::UnknownLanguage(name))?,
        };
        let new = NewSnippet {
            id: SnippetId::random(),
            code,
            language,
            filename,
            max_attempts: self.settings.jobs.max_attempts,
            created_at: Utc::now(),
        };
        self.store.create_snippet(&new).await?;
        self.wake.notify_one();
        tracing::info!(snippet = %new.id, language = %new.language, bytes = new.code.as_str().len(), "snippet queued");
        Ok(new.id)
    }
}
