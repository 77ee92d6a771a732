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
        Expiry, Filename, JobState, LanguageRequest, SnippetEvent, SnippetId, SnippetPage,
        SnippetSummary, SourceCode, SourceError,
    },
    server::{
        events::{EventBus, Hub},
        highlight::Languages,
        settings::Settings,
        store::{DynStore, NewSnippet, StoreError, count_lines, preview},
    },
};

/// Everything a request handler may need, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    /// Where streams subscribe.
    pub hub: Arc<Hub>,
    /// Where changes are announced (to this node, or to every node).
    pub events: EventBus,
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
        expiry: Expiry,
    ) -> Result<SnippetId, SubmitError> {
        let code = SourceCode::parse(code, self.settings.max_snippet_bytes)?;
        self.submit(
            code,
            LanguageRequest::parse(language),
            Filename::parse(filename)?,
            expiry,
        )
        .await
    }

    /// What a snippet page (or API client) finds at an id, as of now.
    pub async fn lookup(&self, id: &SnippetId) -> Result<SnippetPage, StoreError> {
        match self.store.snippet(id).await? {
            Some(view) if view.is_expired(Utc::now()) => Ok(SnippetPage::Expired),
            Some(view) => Ok(SnippetPage::Found(view)),
            None if self.store.was_expired(id).await? => Ok(SnippetPage::Expired),
            None => Ok(SnippetPage::Missing),
        }
    }

    /// Highlights the snippet again in another language (a new job) and
    /// tells its pages. `Ok(false)` when the snippet is unknown.
    pub async fn change_language(
        &self,
        id: &SnippetId,
        requested: &str,
    ) -> Result<bool, SubmitError> {
        let language = self
            .languages
            .resolve(requested)
            .map(str::to_owned)
            .ok_or_else(|| SubmitError::UnknownLanguage(requested.to_owned()))?;
        let changed = self
            .store
            .change_language(id, &language, self.settings.jobs.max_attempts, Utc::now())
            .await?;
        if changed {
            self.publish_queued(id);
        }
        Ok(changed)
    }

    fn publish_queued(&self, id: &SnippetId) {
        self.events
            .publish(id, SnippetEvent::state(JobState::Queued, 0));
        self.wake.notify_one();
    }

    /// "Try again": queues a failed snippet anew and tells its pages.
    /// `Ok(false)` when it is unknown or not failed.
    pub async fn retry(&self, id: &SnippetId) -> Result<bool, StoreError> {
        let requeued = self
            .store
            .requeue_failed(id, self.settings.jobs.max_attempts, Utc::now())
            .await?;
        if requeued {
            self.publish_queued(id);
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
        expiry: Expiry,
    ) -> Result<SnippetId, SubmitError> {
        let language = match language {
            LanguageRequest::Auto => self.languages.detect(filename.as_ref(), code.as_str()),
            LanguageRequest::Named(name) => self
                .languages
                .resolve(&name)
                .map(str::to_owned)
                .ok_or(SubmitError::UnknownLanguage(name))?,
        };
        let now = Utc::now();
        let new = NewSnippet {
            id: SnippetId::random(),
            code,
            language,
            filename,
            max_attempts: self.settings.jobs.max_attempts,
            created_at: now,
            expires_at: expiry.duration().map(|d| now + d),
        };
        self.store.create_snippet(&new).await?;
        self.wake.notify_one();
        // Live lists learn of it.
        let summary = SnippetSummary {
            id: new.id.clone(),
            language: new.language.clone(),
            filename: new.filename.as_ref().map(|f| f.as_str().to_owned()),
            preview: preview(new.code.as_str()),
            lines: count_lines(new.code.as_str()),
            state: JobState::Queued,
            progress: None,
            created_at: now,
        };
        self.events.publish(&new.id, SnippetEvent::Created(summary));
        tracing::info!(snippet = %new.id, language = %new.language, bytes = new.code.as_str().len(), "snippet queued");
        Ok(new.id)
    }
}
