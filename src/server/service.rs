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
        Deleted, Files, GoneReason, JobState, LIST_LENGTH, LanguageRequest, RevisionInfo,
        SealedSnippet, SnippetEvent, SnippetId, SnippetPage, SnippetSummary, SnippetView,
        SourceError, Submission, Visibility, diff::RevisionDiff,
    },
    server::{
        diff::{self, Side},
        events::{EventBus, Hub},
        highlight::Languages,
        limits::Limiters,
        node::Node,
        owner::{Credentials, OwnerHash},
        page_cache::{Cacheable, PageCache},
        settings::Settings,
        store::{
            DynOperations, DynSnippetStore, NewFile, NewRevision, NewSnippet, Saved, StoreError,
            StoredSnippet,
        },
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
    /// Where pages link it: `/theme.{hash}.css`, named by its content, so
    /// browsers keep it for good.
    pub theme_href: Arc<str>,
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
        "Revision {base} is not the latest: revision {latest} was saved since. Reload the snippet and make your changes again."
    )]
    Stale { base: u32, latest: u32 },
    #[error("This snippet has no revision {0} (revisions before the oldest kept are pruned).")]
    NoSuchRevision(u32),
    #[error("This snippet has no file named `{0}`.")]
    NoSuchFile(String),
    #[error("A burn-after-reading snippet cannot be {0}: it is read once, then gone.")]
    Burns(&'static str),
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
            ServiceError::NotFound
            | ServiceError::NoSuchRevision(_)
            | ServiceError::NoSuchFile(_) => StatusCode::NOT_FOUND,
            ServiceError::Gone(_) => StatusCode::GONE,
            ServiceError::NotOwner | ServiceError::NoOwner | ServiceError::SealedFromPeeks => {
                StatusCode::FORBIDDEN
            }
            ServiceError::NotFailed | ServiceError::Stale { .. } | ServiceError::Burns(_) => {
                StatusCode::CONFLICT
            }
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
    /// Settles the languages of `files` (detected from name and content,
    /// or the one asked for) and hashes their code.
    fn new_files(&self, files: Files) -> Result<Vec<NewFile>, ServiceError> {
        files
            .into_vec()
            .into_iter()
            .map(|file| {
                let language = match file.language {
                    LanguageRequest::Auto => self
                        .languages
                        .detect(file.named.then_some(&file.name), file.code.as_str()),
                    LanguageRequest::Named(name) => self
                        .languages
                        .resolve(&name)
                        .map(str::to_owned)
                        .ok_or_else(|| ServiceError::unknown_language(&name))?,
                };
                Ok(NewFile::new(
                    file.name.as_str().to_owned(),
                    file.named,
                    language,
                    file.code.as_str().to_owned(),
                ))
            })
            .collect()
    }

    /// Stores the snippet, its first revision and that revision's job in
    /// one transaction, owned by `owner`, then wakes the workers. The
    /// languages are settled here, so every page and API answer names them
    /// from the start.
    #[tracing::instrument(skip_all)]
    pub async fn submit(
        &self,
        submission: Submission,
        owner: OwnerHash,
    ) -> Result<SnippetId, ServiceError> {
        let files = self.new_files(submission.files)?;
        self.create(
            files,
            submission.expiry.duration(),
            submission.visibility,
            submission.burn_after_reading,
            owner,
            None,
        )
        .await
    }

    async fn create(
        &self,
        files: Vec<NewFile>,
        lives_for: Option<std::time::Duration>,
        visibility: Visibility,
        burn_after_reading: bool,
        owner: OwnerHash,
        forked_from: Option<SnippetId>,
    ) -> Result<SnippetId, ServiceError> {
        let now = Utc::now();
        let new = NewSnippet {
            id: SnippetId::random(),
            files,
            max_attempts: self.settings.jobs.max_attempts,
            created_at: now,
            expires_at: lives_for.map(|d| now + d),
            owner: Some(owner.clone()),
            visibility,
            burn_after_reading,
            forked_from,
        };
        self.snippets.create_snippet(&new).await?;
        self.wake.notify_one();
        // Live lists that may know of it learn of it: every home page if it
        // is public, its owner's either way.
        let first = &new.files[0];
        let summary = SnippetSummary {
            id: new.id.clone(),
            language: first.language.clone(),
            filename: first.named.then(|| first.name.clone()),
            files: new.files.len() as u32,
            preview: crate::domain::source::preview(&first.code),
            lines: new.files.iter().map(|f| f.lines).sum(),
            state: JobState::Queued,
            progress: None,
            created_at: now,
            visibility,
        };
        self.events.publish_created(summary, Some(owner));
        tracing::info!(
            snippet = %new.id,
            files = new.files.len(),
            language = %first.language,
            bytes = new.files.iter().map(|f| f.code.len()).sum::<usize>(),
            visibility = visibility.as_str(),
            "snippet queued"
        );
        Ok(new.id)
    }

    /// What is at an id, as of now (its latest revision): expired
    /// snippets the sweeper has not reached yet are already gone.
    pub async fn find(&self, id: &SnippetId) -> Result<Lookup, StoreError> {
        let stored = self.snippets.snippet(id).await?;
        self.looked_up(id, stored).await
    }

    /// [`find`](Self::find) for one revision; `Missing` when the snippet
    /// is there but the revision is not (never was, or was pruned).
    pub async fn find_revision(&self, id: &SnippetId, revision: u32) -> Result<Lookup, StoreError> {
        let stored = self.snippets.snippet_revision(id, revision).await?;
        self.looked_up(id, stored).await
    }

    async fn looked_up(
        &self,
        id: &SnippetId,
        stored: Option<StoredSnippet>,
    ) -> Result<Lookup, StoreError> {
        match stored {
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

    async fn find_existing(
        &self,
        id: &SnippetId,
        revision: Option<u32>,
    ) -> Result<StoredSnippet, ServiceError> {
        let lookup = match revision {
            None => self.find(id).await?,
            Some(n) => self.find_revision(id, n).await?,
        };
        match lookup {
            Lookup::Found(stored) => Ok(*stored),
            Lookup::Gone(reason) => Err(ServiceError::Gone(reason)),
            Lookup::Missing => match revision {
                // The snippet may be there without this revision.
                Some(n) if matches!(self.find(id).await?, Lookup::Found(_)) => {
                    Err(ServiceError::NoSuchRevision(n))
                }
                _ => Err(ServiceError::NotFound),
            },
        }
    }

    /// What a snippet page shows a reader (the latest revision, or
    /// `revision`), without reading (burning) anything: a
    /// burn-after-reading snippet stays sealed for everyone but its owner
    /// until they ask for it. With it, whether the page may be kept
    /// rendered: only a highlighted revision's, which changes no more (see
    /// `page_cache`).
    #[tracing::instrument(skip_all, fields(snippet = %id))]
    pub async fn page(
        &self,
        id: &SnippetId,
        revision: Option<u32>,
        credentials: &Credentials,
    ) -> Result<(SnippetPage, Option<Cacheable>), StoreError> {
        let mut cacheable = None;
        let lookup = match revision {
            None => self.find(id).await?,
            Some(n) => self.find_revision(id, n).await?,
        };
        let page = match lookup {
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
                        files: view.files.iter().map(|f| f.meta()).collect(),
                        id: view.id,
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

    /// Reads a snippet's content (its latest revision, or `revision`).
    /// The first reading of a burn-after-reading snippet by anyone but its
    /// owner returns it and deletes it, in one transaction; every later
    /// reading finds it gone. Only a person's reading burns
    /// ([`ReadIntent::Read`]): a `HEAD` or a prefetch is refused such a
    /// snippet's content, and burns nothing.
    #[tracing::instrument(skip_all, fields(snippet = %id))]
    pub async fn read(
        &self,
        id: &SnippetId,
        revision: Option<u32>,
        credentials: &Credentials,
        intent: ReadIntent,
    ) -> Result<SnippetView, ServiceError> {
        let stored = self.find_existing(id, revision).await?;
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

    /// The snippet's latest revision, if `credentials` own it.
    async fn owned(
        &self,
        id: &SnippetId,
        credentials: &Credentials,
    ) -> Result<StoredSnippet, ServiceError> {
        let stored = self.find_existing(id, None).await?;
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

    /// Saves a new revision with `files` over `base`, the revision its
    /// author saw, and tells every page showing the snippet: the revision
    /// (its files' names and sizes, the lines it changed), then its
    /// highlighting as it happens. Refused when another save landed first:
    /// nothing is ever overwritten. Owner only.
    #[tracing::instrument(skip_all, fields(snippet = %id, base))]
    pub async fn save(
        &self,
        id: &SnippetId,
        credentials: &Credentials,
        files: Files,
        base: u32,
    ) -> Result<u32, ServiceError> {
        let current = self.owned(id, credentials).await?;
        if current.view.burn_after_reading {
            return Err(ServiceError::Burns("edited"));
        }
        if current.view.revision != base {
            return Err(ServiceError::Stale {
                base,
                latest: current.view.revision,
            });
        }
        let files = self.new_files(files)?;
        let old: Vec<Side<'_>> = current.view.files.iter().map(side_of_view).collect();
        let new: Vec<Side<'_>> = files.iter().map(side_of_new).collect();
        let (lines_added, lines_removed, changed) = diff::changes(&old, &new);
        let now = Utc::now();
        let saved = self
            .snippets
            .save_revision(&NewRevision {
                id: id.clone(),
                base,
                files: files.clone(),
                lines_added,
                lines_removed,
                max_attempts: self.settings.jobs.max_attempts,
                now,
                keep: self.settings.max_revisions,
            })
            .await?;
        let number = match saved {
            Saved::As(number) => number,
            Saved::Stale { latest } => return Err(ServiceError::Stale { base, latest }),
            Saved::Missing => return Err(self.vanished(id).await),
        };
        self.wake.notify_one();
        self.events.publish(
            id,
            SnippetEvent::Revision(RevisionInfo {
                number,
                created_at: now,
                lines_added,
                lines_removed,
                files: files.iter().map(new_file_meta).collect(),
                changed,
            }),
        );
        self.events
            .publish(id, SnippetEvent::state(JobState::Queued, 0, number));
        tracing::info!(snippet = %id, revision = number, files = files.len(), lines_added, lines_removed, "revision saved");
        Ok(number)
    }

    /// Forks a snippet: a new one with the files of its latest revision,
    /// owned by `owner`, unlisted unless asked otherwise, saying where it
    /// came from. Anyone who can read a snippet can fork it; forking reads
    /// it (but a burn-after-reading snippet cannot be forked: that would
    /// keep it).
    #[tracing::instrument(skip_all, fields(snippet = %id))]
    pub async fn fork(
        &self,
        id: &SnippetId,
        owner: OwnerHash,
        visibility: Visibility,
    ) -> Result<SnippetId, ServiceError> {
        let original = self.find_existing(id, None).await?;
        if original.view.burn_after_reading {
            return Err(ServiceError::Burns("forked"));
        }
        let files = original
            .view
            .files
            .into_iter()
            .map(|f| NewFile::new(f.name, f.named, f.language, f.code))
            .collect();
        let fork = self
            .create(files, None, visibility, false, owner, Some(id.clone()))
            .await?;
        if visibility == Visibility::Public {
            // The original's page lists its public forks.
            self.pages.forget(id);
        }
        tracing::info!(snippet = %id, fork = %fork, "forked");
        Ok(fork)
    }

    /// Every kept revision of a snippet, oldest first. Reading the list
    /// reads no content: it burns nothing.
    pub async fn revisions(
        &self,
        id: &SnippetId,
        credentials: &Credentials,
    ) -> Result<Vec<RevisionInfo>, ServiceError> {
        let stored = self.find_existing(id, None).await?;
        if stored.view.burn_after_reading && !credentials.owns(stored.owner.as_ref()) {
            return Err(ServiceError::Burns("listed by revision"));
        }
        Ok(self.snippets.revisions(id).await?)
    }

    /// What changed between revisions `from` and `to`, file by file; with
    /// each line's highlighted HTML when `highlighted` (the diff page).
    pub async fn diff(
        &self,
        id: &SnippetId,
        from: u32,
        to: u32,
        credentials: &Credentials,
        highlighted: bool,
    ) -> Result<RevisionDiff, ServiceError> {
        let (old, new) = tokio::try_join!(
            self.find_existing(id, Some(from)),
            self.find_existing(id, Some(to))
        )?;
        if new.view.burn_after_reading && !credentials.owns(new.owner.as_ref()) {
            return Err(ServiceError::Burns("compared"));
        }
        let old_sides: Vec<Side<'_>> = old
            .view
            .files
            .iter()
            .map(|f| Side::of(f, highlighted))
            .collect();
        let new_sides: Vec<Side<'_>> = new
            .view
            .files
            .iter()
            .map(|f| Side::of(f, highlighted))
            .collect();
        Ok(diff::compare(from, to, &old_sides, &new_sides))
    }

    /// The public forks of a snippet.
    pub async fn forks(&self, id: &SnippetId) -> Result<Vec<SnippetSummary>, StoreError> {
        self.snippets
            .forks(id, LIST_LENGTH as u32, Utc::now())
            .await
    }

    /// Highlights the latest revision again with another language (the
    /// file named `file`, or every file) and tells its pages. Owner only.
    #[tracing::instrument(skip_all, fields(snippet = %id, language = requested))]
    pub async fn change_language(
        &self,
        id: &SnippetId,
        credentials: &Credentials,
        requested: &str,
        file: Option<&str>,
    ) -> Result<(), ServiceError> {
        let language = self
            .languages
            .resolve(requested)
            .map(str::to_owned)
            .ok_or_else(|| ServiceError::unknown_language(requested))?;
        let stored = self.owned(id, credentials).await?;
        let position = match file {
            None => None,
            Some(name) => Some(
                stored
                    .view
                    .files
                    .iter()
                    .position(|f| f.name == name)
                    .ok_or_else(|| ServiceError::NoSuchFile(name.chars().take(64).collect()))?
                    as u32,
            ),
        };
        let changed = self
            .snippets
            .change_language(
                id,
                position,
                &language,
                self.settings.jobs.max_attempts,
                Utc::now(),
            )
            .await?;
        if !changed {
            return Err(self.vanished(id).await);
        }
        self.publish_queued(id, stored.view.revision);
        Ok(())
    }

    /// "Try again": queues a failed latest revision anew and tells its
    /// pages. Owner only.
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
        self.publish_queued(id, stored.view.revision);
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

    fn publish_queued(&self, id: &SnippetId, revision: u32) {
        self.events
            .publish(id, SnippetEvent::state(JobState::Queued, 0, revision));
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

fn side_of_view(file: &crate::domain::FileView) -> Side<'_> {
    Side {
        name: &file.name,
        language: &file.language,
        hash: &file.hash,
        code: &file.code,
        html: None,
    }
}

fn side_of_new(file: &NewFile) -> Side<'_> {
    Side {
        name: &file.name,
        language: &file.language,
        hash: &file.hash,
        code: &file.code,
        html: None,
    }
}

fn new_file_meta(file: &NewFile) -> crate::domain::FileMeta {
    crate::domain::FileMeta {
        name: file.name.clone(),
        named: file.named,
        language: file.language.clone(),
        bytes: file.code.len() as u64,
        lines: file.lines,
        hash: file.hash.clone(),
    }
}
