//! The application's shared state and the operations both front doors
//! (server functions and the REST API) use. Both map a [`ServiceError`] to
//! the same status and the same sentence, so the form and `curl` are
//! answered alike.

use std::sync::Arc;

use axum::{extract::FromRef, http::StatusCode};
use chrono::Utc;
use leptos::config::LeptosOptions;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{
    domain::{
        Deleted, GoneReason, JobState, LIST_LENGTH, LanguageRequest, SealedSnippet, SnippetEvent,
        SnippetId, SnippetPage, SnippetSummary, SnippetView, SourceError, Submission,
    },
    server::{
        events::{EventBus, Hub},
        highlight::Languages,
        limits::Limiters,
        node::Node,
        owner::{Credentials, OwnerHash},
        page_cache::{Cacheable, PageCache},
        settings::Settings,
        store::{DynOperations, DynSnippetStore, NewSnippet, StoreError, StoredSnippet},
    },
};

/// Everything a request handler may need, behind one `Arc`: every layer
/// and handler that extracts the state clones it, several times per
/// request, and a clone of the fields themselves (a dozen reference counts
/// that both cores fight over, and the Leptos options) was half of the
/// time a kept page took to serve.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub snippets: DynSnippetStore,
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
    /// Submit rate and open streams, per client and per node.
    pub limits: Arc<Limiters>,
    /// What the dashboard reads and does across the whole queue.
    pub operations: DynOperations,
    /// This process as the cluster sees it (id, busy slots, pause).
    pub node: Arc<Node>,
    /// Finished snippet pages, rendered once (the hub forgets them when
    /// their snippet changes).
    pub pages: Arc<PageCache>,
    /// Signs the errors a form posted without JavaScript carries back.
    pub form_errors: crate::server::http::rpc::FormErrorKey,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// Longest piece of a person's input echoed back in an error.
const MAX_ECHO_CHARS: usize = 64;

/// Why an operation on snippets did not happen. The message is the whole
/// story for the person; [`status`](ServiceError::status) is its HTTP status
/// on every route.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Invalid(#[from] SourceError),
    #[error("Unknown language `{0}`: GET /api/languages lists the languages and aliases we know.")]
    UnknownLanguage(String),
    #[error("There is no snippet with this id.")]
    NotFound,
    #[error("{}", .0.message())]
    Gone(GoneReason),
    #[error(
        "Only the snippet's owner can do this: send its owner token (Authorization: Bearer <token>) or use the browser that created it."
    )]
    NotOwner,
    #[error("This snippet was created before snippets had owners, so nobody can change it.")]
    NoOwner,
    #[error("Only a failed snippet can be tried again; this one is not failed.")]
    NotFailed,
    #[error(
        "This snippet can be read only once, by opening it: a HEAD request or a prefetch does not read it, and burns nothing."
    )]
    SealedFromPeeks,
    /// A dashboard query that cannot be answered (a bad filter or cursor).
    #[error("{0}")]
    BadQuery(String),
    #[error("could not reach the database")]
    Store(#[from] StoreError),
}

impl ServiceError {
    pub fn status(&self) -> StatusCode {
        match self {
            ServiceError::Invalid(e) if e.is_too_large() => StatusCode::PAYLOAD_TOO_LARGE,
            ServiceError::Invalid(_)
            | ServiceError::UnknownLanguage(_)
            | ServiceError::BadQuery(_) => StatusCode::BAD_REQUEST,
            ServiceError::NotFound => StatusCode::NOT_FOUND,
            ServiceError::Gone(_) => StatusCode::GONE,
            ServiceError::NotOwner | ServiceError::NoOwner | ServiceError::SealedFromPeeks => {
                StatusCode::FORBIDDEN
            }
            ServiceError::NotFailed => StatusCode::CONFLICT,
            ServiceError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The sentence a person reads. A storage failure's cause goes to the
    /// log, not to the client.
    pub fn user_message(&self) -> String {
        match self {
            ServiceError::Store(e) => {
                tracing::error!(error = ?e, "storage failed while answering a request");
                "The database is not answering; please try again in a moment.".to_owned()
            }
            other => other.to_string(),
        }
    }

    fn unknown_language(name: &str) -> Self {
        let mut echoed: String = name.chars().take(MAX_ECHO_CHARS).collect();
        if name.chars().nth(MAX_ECHO_CHARS).is_some() {
            echoed.push('…');
        }
        ServiceError::UnknownLanguage(echoed)
    }
}

/// Why a request reads a snippet's content: only a person's reading
/// burns a burn-after-reading snippet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadIntent {
    /// A `GET` (or the form's "Show it once"): the content is wanted.
    Read,
    /// A `HEAD`, or a prefetch (`Sec-Purpose: prefetch` and its older
    /// spellings): nothing a person will see. It must not burn anything.
    Peek,
}

impl ReadIntent {
    /// The intent of an HTTP request, by its method and headers.
    pub fn of(method: &axum::http::Method, headers: &axum::http::HeaderMap) -> Self {
        let says_prefetch = |name: &str| {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| {
                    let v = v.to_ascii_lowercase();
                    v.contains("prefetch") || v.contains("prerender") || v.contains("preview")
                })
        };
        if method == axum::http::Method::HEAD
            || ["sec-purpose", "purpose", "x-purpose", "x-moz"]
                .iter()
                .any(|name| says_prefetch(name))
        {
            ReadIntent::Peek
        } else {
            ReadIntent::Read
        }
    }
}

/// What is at an id, as of now.
pub enum Lookup {
    Found(Box<StoredSnippet>),
    Gone(GoneReason),
    Missing,
}

impl AppState {
    /// Stores the snippet and its job in one transaction, owned by
    /// `owner`, then wakes the workers. The language is settled here, so
    /// every page and API answer names it from the start.
    #[tracing::instrument(skip_all)]
    pub async fn submit(
        &self,
        submission: Submission,
        owner: OwnerHash,
    ) -> Result<SnippetId, ServiceError> {
        let Submission {
            code,
            language,
            filename,
            expiry,
            visibility,
            burn_after_reading,
        } = submission;
        let language = match language {
            LanguageRequest::Auto => self.languages.detect(filename.as_ref(), code.as_str()),
            LanguageRequest::Named(name) => self
                .languages
                .resolve(&name)
                .map(str::to_owned)
                .ok_or_else(|| ServiceError::unknown_language(&name))?,
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
            owner: Some(owner.clone()),
            visibility,
            burn_after_reading,
        };
        self.snippets.create_snippet(&new).await?;
        self.wake.notify_one();
        // Live lists that may know of it learn of it: every home page if it
        // is public, its owner's either way.
        let summary = SnippetSummary {
            id: new.id.clone(),
            language: new.language.clone(),
            filename: new.filename.as_ref().map(|f| f.as_str().to_owned()),
            preview: new.code.preview(),
            lines: new.code.line_count(),
            state: JobState::Queued,
            progress: None,
            created_at: now,
            visibility,
        };
        self.events.publish_created(summary, Some(owner));
        tracing::info!(snippet = %new.id, language = %new.language, bytes = new.code.as_str().len(), visibility = visibility.as_str(), "snippet queued");
        Ok(new.id)
    }

    /// What is at an id, as of now: expired snippets the sweeper has not
    /// reached yet are already gone.
    pub async fn find(&self, id: &SnippetId) -> Result<Lookup, StoreError> {
        match self.snippets.snippet(id).await? {
            Some(stored) if stored.view.is_expired(Utc::now()) => {
                Ok(Lookup::Gone(GoneReason::Expired))
            }
            Some(stored) => Ok(Lookup::Found(Box::new(stored))),
            None => Ok(match self.snippets.gone_reason(id).await? {
                Some(reason) => Lookup::Gone(reason),
                None => Lookup::Missing,
            }),
        }
    }

    async fn find_existing(&self, id: &SnippetId) -> Result<StoredSnippet, ServiceError> {
        match self.find(id).await? {
            Lookup::Found(stored) => Ok(*stored),
            Lookup::Gone(reason) => Err(ServiceError::Gone(reason)),
            Lookup::Missing => Err(ServiceError::NotFound),
        }
    }

    /// What a snippet page shows a reader, without reading (burning)
    /// anything: a burn-after-reading snippet stays sealed for everyone but
    /// its owner until they ask for it. With it, whether the page may be
    /// kept rendered: only a highlighted snippet's, which changes no more
    /// (see `page_cache`).
    #[tracing::instrument(skip_all, fields(snippet = %id))]
    pub async fn page(
        &self,
        id: &SnippetId,
        credentials: &Credentials,
    ) -> Result<(SnippetPage, Option<Cacheable>), StoreError> {
        let mut cacheable = None;
        let page = match self.find(id).await? {
            Lookup::Found(stored) => {
                let is_owner = credentials.owns(stored.owner.as_ref());
                let view = stored.view;
                if view.state == JobState::Succeeded && !view.burn_after_reading {
                    cacheable = Some(Cacheable {
                        owner: stored.owner,
                        expires_at: view.expires_at,
                    });
                }
                if view.burn_after_reading && !is_owner {
                    SnippetPage::Sealed(SealedSnippet {
                        lines: view.line_count(),
                        id: view.id,
                        language: view.language,
                        filename: view.filename,
                        created_at: view.created_at,
                    })
                } else {
                    SnippetPage::Found(SnippetView { is_owner, ..view })
                }
            }
            Lookup::Gone(reason) => SnippetPage::Gone(reason),
            Lookup::Missing => SnippetPage::Missing,
        };
        Ok((page, cacheable))
    }

    /// Reads a snippet's content. The first reading of a burn-after-reading
    /// snippet by anyone but its owner returns it and deletes it, in one
    /// transaction; every later reading finds it gone. Only a person's
    /// reading burns ([`ReadIntent::Read`]): a `HEAD` or a prefetch is
    /// refused such a snippet's content, and burns nothing.
    #[tracing::instrument(skip_all, fields(snippet = %id))]
    pub async fn read(
        &self,
        id: &SnippetId,
        credentials: &Credentials,
        intent: ReadIntent,
    ) -> Result<SnippetView, ServiceError> {
        let stored = self.find_existing(id).await?;
        let is_owner = credentials.owns(stored.owner.as_ref());
        if !stored.view.burn_after_reading || is_owner {
            return Ok(SnippetView {
                is_owner,
                ..stored.view
            });
        }
        if intent == ReadIntent::Peek {
            return Err(ServiceError::SealedFromPeeks);
        }
        match self.snippets.take_snippet(id, Utc::now()).await? {
            Some(view) => {
                tracing::info!(snippet = %id, "burned after reading");
                self.events.publish(
                    id,
                    SnippetEvent::Deleted(Deleted {
                        reason: GoneReason::Burned,
                    }),
                );
                Ok(view)
            }
            // Another reader was first.
            None => Err(ServiceError::Gone(GoneReason::Burned)),
        }
    }

    /// The snippet, if `credentials` own it.
    async fn owned(
        &self,
        id: &SnippetId,
        credentials: &Credentials,
    ) -> Result<StoredSnippet, ServiceError> {
        let stored = self.find_existing(id).await?;
        if stored.owner.is_none() {
            return Err(ServiceError::NoOwner);
        }
        if !credentials.owns(stored.owner.as_ref()) {
            return Err(ServiceError::NotOwner);
        }
        Ok(stored)
    }

    /// After a change found nothing to change: the snippet went in between.
    async fn vanished(&self, id: &SnippetId) -> ServiceError {
        match self.find(id).await {
            Ok(Lookup::Gone(reason)) => ServiceError::Gone(reason),
            Ok(_) => ServiceError::NotFound,
            Err(e) => e.into(),
        }
    }

    /// Highlights the snippet again in another language (a new job) and
    /// tells its pages. Owner only.
    #[tracing::instrument(skip_all, fields(snippet = %id, language = requested))]
    pub async fn change_language(
        &self,
        id: &SnippetId,
        credentials: &Credentials,
        requested: &str,
    ) -> Result<(), ServiceError> {
        let language = self
            .languages
            .resolve(requested)
            .map(str::to_owned)
            .ok_or_else(|| ServiceError::unknown_language(requested))?;
        self.owned(id, credentials).await?;
        let changed = self
            .snippets
            .change_language(id, &language, self.settings.jobs.max_attempts, Utc::now())
            .await?;
        if !changed {
            return Err(self.vanished(id).await);
        }
        self.publish_queued(id);
        Ok(())
    }

    /// "Try again": queues a failed snippet anew and tells its pages.
    /// Owner only.
    #[tracing::instrument(skip_all, fields(snippet = %id))]
    pub async fn retry(
        &self,
        id: &SnippetId,
        credentials: &Credentials,
    ) -> Result<(), ServiceError> {
        let stored = self.owned(id, credentials).await?;
        if stored.view.state != JobState::Failed {
            return Err(ServiceError::NotFailed);
        }
        let requeued = self
            .snippets
            .requeue_failed(id, self.settings.jobs.max_attempts, Utc::now())
            .await?;
        if !requeued {
            return Err(match self.find(id).await? {
                Lookup::Found(_) => ServiceError::NotFailed,
                Lookup::Gone(reason) => ServiceError::Gone(reason),
                Lookup::Missing => ServiceError::NotFound,
            });
        }
        self.publish_queued(id);
        Ok(())
    }

    /// Deletes a snippet for good; its routes answer 410 from now on and
    /// every open stream showing it is told. Owner only.
    #[tracing::instrument(skip_all, fields(snippet = %id))]
    pub async fn delete(
        &self,
        id: &SnippetId,
        credentials: &Credentials,
    ) -> Result<(), ServiceError> {
        self.owned(id, credentials).await?;
        if !self
            .snippets
            .delete_snippet(id, GoneReason::Deleted, Utc::now())
            .await?
        {
            return Err(self.vanished(id).await);
        }
        tracing::info!(snippet = %id, "deleted by its owner");
        self.events.publish(
            id,
            SnippetEvent::Deleted(Deleted {
                reason: GoneReason::Deleted,
            }),
        );
        Ok(())
    }

    fn publish_queued(&self, id: &SnippetId) {
        self.events
            .publish(id, SnippetEvent::state(JobState::Queued, 0));
        self.wake.notify_one();
    }

    /// The home page's recent list: public snippets only.
    #[tracing::instrument(skip_all)]
    pub async fn recent(&self) -> Result<Vec<SnippetSummary>, StoreError> {
        self.snippets
            .recent_snippets(LIST_LENGTH as u32, Utc::now())
            .await
    }

    /// The home page's "Your snippets": the browser's own, listed or not.
    #[tracing::instrument(skip_all)]
    pub async fn mine(&self, credentials: &Credentials) -> Result<Vec<SnippetSummary>, StoreError> {
        match credentials.cookie_owner() {
            Some(owner) => {
                self.snippets
                    .owner_snippets(owner, LIST_LENGTH as u32, Utc::now())
                    .await
            }
            None => Ok(Vec::new()),
        }
    }
}
