//! One snippet's stream: `GET /api/snippets/{id}/events`.
//!
//! Two readers use it, and it serves each the way it reads:
//!
//! - **An API client** (no query): the snapshot of the latest revision
//!   (`state`, then `highlighted` or `failed` if there is a result), then
//!   every newer event of that revision and of any revision saved while it
//!   listens, and it ends after a final one (`highlighted`, `failed`,
//!   `deleted`). A revision of several files sends a `file` before its
//!   `highlighted`; a one-file revision's HTML is in `highlighted`, as it
//!   has always been.
//! - **A page** (`?since=N`, the revision it shows; `&highlighted=true`
//!   when it shows it highlighted): the stream stays open for as long as
//!   the page does. Each new revision comes as `revision` (its files and
//!   the lines it changed), its `state` and `progress`, a `file` for each
//!   file the page does not show already (same content, same language:
//!   nothing is sent again), then `highlighted` without HTML. A page that
//!   shows an old revision on purpose (`&pinned=true`) hears only of newer
//!   revisions (`revision`) and of the snippet's end (`deleted`).
//!
//! A reader who may not see the result (burn after reading, not the
//! owner) gets `highlighted` without its HTML and no `file`: reading it is
//! what burns the snippet.

use std::collections::{HashMap, HashSet};

use axum::{
    Extension,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::Response,
};
use serde::Deserialize;

use super::{Connection, Overflow, Wait, event_stream};
use crate::{
    domain::{Deleted, FileView, JobState, SnippetEvent, SnippetId, SnippetView},
    server::{
        AppState,
        events::{EventBody, Published, Subscription},
        http::{ApiError, client::ClientIp},
        limits::Permit,
        owner::Credentials,
        service::{Lookup, ServiceError},
    },
};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FollowQuery {
    /// The revision the page shows: the stream follows the snippet for as
    /// long as the page is open (see the module's documentation).
    #[serde(default)]
    since: Option<u32>,
    /// With `since`: the page shows that revision highlighted.
    #[serde(default)]
    highlighted: bool,
    /// With `since`: the page shows an old revision on purpose; only
    /// `revision` and `deleted` are sent.
    #[serde(default)]
    pinned: bool,
}

/// Pushes one snippet's progress, results and revisions.
#[utoipa::path(
    get,
    path = "/api/snippets/{id}/events",
    tag = "streams",
    params(("id" = String, Path, description = "The snippet's id."), FollowQuery),
    responses(
        (status = 200, description = "Server-sent events. Without `since`: `state` first, then `revision`, `progress`, `retrying`, `file` (revisions of several files), and `highlighted`, `failed` or `deleted`, after which the stream ends. With `since` (a page): every new revision's `revision`, `state`, `progress`, the `file`s the page does not show yet and `highlighted` (without HTML), until the page leaves.", content_type = "text/event-stream", body = String),
        (status = 404, description = "No snippet has this id.", body = super::super::rest::ErrorBody),
        (status = 410, description = "Gone.", body = super::super::rest::ErrorBody),
        (status = 429, description = "Too many open streams from this client.", body = super::super::rest::ErrorBody),
        (status = 503, description = "This node holds as many streams as it can.", body = super::super::rest::ErrorBody),
    ),
)]
pub async fn snippet_events(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIp>,
    Path(raw_id): Path<String>,
    Query(query): Query<FollowQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = SnippetId::parse(&raw_id).map_err(|_| ApiError::not_found())?;
    let permit = state.limits.streams.acquire(client.limit_key())?;
    let subscription = state.hub.subscribe(&id);
    let seen = state.hub.current_seq();
    let stored = match state.find(&id).await? {
        Lookup::Found(stored) => stored,
        Lookup::Gone(reason) => return Err(ServiceError::Gone(reason).into()),
        Lookup::Missing => return Err(ApiError::not_found()),
    };
    let sealed = stored.view.burn_after_reading
        && !Credentials::from_headers(&headers).owns(stored.owner.as_ref());
    let mode = match query.since {
        None => Mode::Api {
            following: stored.view.revision,
            files: stored.view.files.len(),
        },
        Some(since) => {
            let mut page = PageFollow {
                shows: since,
                shown: HashSet::new(),
                heard: since,
                arriving: HashMap::new(),
                pinned: query.pinned,
            };
            if query.highlighted && !sealed {
                // What the page shows: the snapshot itself, mostly.
                let shown = if stored.view.revision == since {
                    Some(stored.view.clone())
                } else {
                    match state.find_revision(&id, since).await? {
                        Lookup::Found(old) => Some(old.view),
                        _ => None,
                    }
                };
                if let Some(view) = shown.filter(|v| v.state == JobState::Succeeded) {
                    page.shown = view.files.iter().map(shown_key).collect();
                }
            }
            Mode::Page(page)
        }
    };
    let follower = Follower {
        state: state.clone(),
        subscription,
        sealed,
        mode,
        _permit: permit,
    };
    Ok(event_stream(&state, move |connection| {
        follower.run(seen, Box::new(stored.view), connection)
    }))
}

/// What identifies a file's result: its content and its language.
type Shown = (String, String);

fn shown_key(file: &FileView) -> Shown {
    (file.hash.clone(), file.language.clone())
}

enum Mode {
    /// Until the result of the latest revision.
    Api {
        /// The revision it waits for (the latest it heard of).
        following: u32,
        /// Files in that revision: one file's result is in `highlighted`.
        files: usize,
    },
    /// For as long as the page is open.
    Page(PageFollow),
}

struct PageFollow {
    /// The revision the page shows, whole.
    shows: u32,
    /// The results the page shows (what it need not be sent again).
    shown: HashSet<Shown>,
    /// The newest revision the page was told of.
    heard: u32,
    /// The results of revisions on their way, as their `file` events pass.
    arriving: HashMap<u32, Vec<Shown>>,
    pinned: bool,
}

/// What to do with one event.
enum Verdict {
    Skip,
    Send,
    /// Send, then end the stream.
    SendAndEnd,
}

struct Follower {
    state: AppState,
    subscription: Subscription,
    /// Burn after reading, and this reader is not the owner.
    sealed: bool,
    mode: Mode,
    /// Counted as an open stream until dropped with it.
    _permit: Permit,
}

impl Follower {
    /// Feeds the stream until it ends (API mode), the client leaves, or
    /// the server shuts down.
    ///
    /// This future is kept for the stream's whole life, as large as its
    /// largest moment: the snapshot is boxed, and so are the awaits a
    /// stream rarely makes (a snapshot read and sent, a pause before a
    /// retry), so that an idle stream does not carry room for them
    /// (bench/PROFILE.md, round 16).
    /// It is an `async move` block, not an `async fn`: an async fn keeps
    /// its arguments beside the locals it moves them into, room for the
    /// follower and its connection twice.
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn would hold its arguments twice"
    )]
    fn run(
        mut self,
        mut seen: u64,
        mut snapshot: Box<SnippetView>,
        mut connection: Connection,
    ) -> impl Future<Output = ()> + Send + 'static {
        async move {
            let id = self.subscription.snippet_id().clone();
            loop {
                match Box::pin(self.send_snapshot(&id, &snapshot, &mut connection)).await {
                    Err(_) => return connection.resync_and_close(),
                    Ok(true) => return,
                    Ok(false) => {}
                }
                // Forward live events until the end, or until events may have
                // been lost.
                loop {
                    let woken = connection
                        .wait(std::pin::pin!(self.subscription.recv()))
                        .await;
                    match woken {
                        Wait::Stop => return,
                        Wait::Behind => return connection.resync_and_close(),
                        Wait::Resync => break,
                        Wait::Event(published) if published.seq <= seen => continue,
                        Wait::Event(published) => {
                            let verdict = self.judge(&published.event);
                            if matches!(verdict, Verdict::Skip) {
                                continue;
                            }
                            if connection.send_event(self.body(&published)).await.is_err() {
                                return connection.resync_and_close();
                            }
                            if matches!(verdict, Verdict::SendAndEnd) {
                                return;
                            }
                        }
                    }
                }
                // The database has the truth: re-read it.
                let mut failures = 0;
                snapshot = loop {
                    seen = self.state.hub.current_seq();
                    match Box::pin(self.state.find(&id)).await {
                        Ok(Lookup::Found(stored)) => break Box::new(stored.view),
                        Ok(Lookup::Gone(reason)) => {
                            let event = SnippetEvent::Deleted(Deleted { reason });
                            let _ = connection
                                .send_event(&EventBody::new(event.name(), &event.to_json(&id)))
                                .await;
                            return;
                        }
                        Ok(Lookup::Missing) => return,
                        Err(e) => {
                            crate::server::metrics::stream_snapshot_failed();
                            failures += 1;
                            if !Box::pin(connection.pause_before_retry(failures)).await {
                                tracing::warn!(error = ?e, snippet = %id, "resync failed; closing stream so the client reconnects");
                                return;
                            }
                            tracing::info!(error = ?e, snippet = %id, failures, "resync failed; trying again");
                        }
                    }
                };
            }
        }
    }

    /// Which of the event's bodies this reader gets.
    fn body<'p>(&self, published: &'p Published) -> &'p EventBody {
        let page = matches!(self.mode, Mode::Page(_));
        if self.sealed || (page && matches!(published.event, SnippetEvent::Highlighted(_))) {
            &published.list_body
        } else {
            &published.body
        }
    }

    /// Whether a live event is for this reader, and whether it ends the
    /// stream. Keeps the reader's account of what it was sent.
    fn judge(&mut self, event: &SnippetEvent) -> Verdict {
        if matches!(event, SnippetEvent::Deleted(_)) {
            return Verdict::SendAndEnd;
        }
        let revision = event.revision();
        match &mut self.mode {
            Mode::Api { following, files } => {
                if let SnippetEvent::Revision(info) = event {
                    if info.number > *following {
                        *following = info.number;
                        *files = info.files.len();
                        return Verdict::Send;
                    }
                    return Verdict::Skip;
                }
                // A job of an older revision, still finishing: not news.
                if revision != 0 && revision < *following {
                    return Verdict::Skip;
                }
                match event {
                    SnippetEvent::File(_) if self.sealed || *files < 2 => Verdict::Skip,
                    e if e.is_final() => Verdict::SendAndEnd,
                    _ => Verdict::Send,
                }
            }
            Mode::Page(page) => {
                if let SnippetEvent::Revision(info) = event {
                    if info.number > page.heard {
                        page.heard = info.number;
                        return Verdict::Send;
                    }
                    return Verdict::Skip;
                }
                if page.pinned || revision < page.heard {
                    return Verdict::Skip;
                }
                match event {
                    SnippetEvent::File(_) if self.sealed => Verdict::Skip,
                    SnippetEvent::File(file) => {
                        let key = (file.hash.clone(), file.language.clone());
                        let send = !page.shown.contains(&key);
                        page.arriving.entry(revision).or_default().push(key);
                        if send { Verdict::Send } else { Verdict::Skip }
                    }
                    SnippetEvent::Highlighted(_) => {
                        if let Some(arrived) = page.arriving.remove(&revision) {
                            page.shown = arrived.into_iter().collect();
                        }
                        page.arriving.retain(|&r, _| r > revision);
                        page.shows = revision;
                        Verdict::Send
                    }
                    _ => Verdict::Send,
                }
            }
        }
    }

    /// Sends where the snippet stands. `Ok(true)`: that was all this
    /// reader needed (an API stream whose revision has its result).
    async fn send_snapshot(
        &mut self,
        id: &SnippetId,
        snapshot: &SnippetView,
        connection: &mut Connection,
    ) -> Result<bool, Overflow> {
        let mut events = Vec::new();
        let mut whole_page = false;
        match &mut self.mode {
            Mode::Api { following, files } => {
                *following = snapshot.revision;
                *files = snapshot.files.len();
                events = snapshot.snapshot_events();
            }
            Mode::Page(page) => {
                if snapshot.revision > page.heard {
                    page.heard = snapshot.revision;
                    // The lines changed since what the page shows.
                    let info = match self.state.find_revision(id, page.shows).await {
                        Ok(Lookup::Found(old)) if !page.pinned => {
                            crate::server::diff::revision_info(snapshot, Some(&old.view))
                        }
                        _ => snapshot.revision_info(),
                    };
                    events.push(SnippetEvent::Revision(info));
                }
                whole_page = !page.pinned;
            }
        }
        if whole_page {
            events.extend(self.page_snapshot(snapshot));
        }
        for event in &events {
            let json = if self.sealed || matches!(self.mode, Mode::Page(_)) {
                event.to_list_json(id)
            } else {
                event.to_json(id)
            };
            // A page's `file` events carry their HTML (the page needs it).
            let json = match event {
                SnippetEvent::File(_) if !self.sealed => event.to_json(id),
                _ => json,
            };
            connection
                .send_event(&EventBody::new(event.name(), &json))
                .await?;
        }
        Ok(matches!(self.mode, Mode::Api { .. }) && snapshot.state.is_final())
    }

    /// A page's snapshot: the state, and once highlighted the files it
    /// does not show, then `highlighted`.
    fn page_snapshot(&mut self, snapshot: &SnippetView) -> Vec<SnippetEvent> {
        let Mode::Page(page) = &mut self.mode else {
            return Vec::new();
        };
        let mut events = vec![SnippetEvent::State(crate::domain::StateChanged {
            state: snapshot.state,
            progress: snapshot.progress,
            attempts: snapshot.attempts,
            next_attempt_at: snapshot.next_attempt_at,
            revision: snapshot.revision,
        })];
        match snapshot.state {
            JobState::Succeeded => {
                if !self.sealed {
                    events.extend(snapshot.file_events().into_iter().filter(|event| {
                        matches!(event, SnippetEvent::File(f)
                            if !page.shown.contains(&(f.hash.clone(), f.language.clone())))
                    }));
                    page.shown = snapshot.files.iter().map(shown_key).collect();
                }
                page.shows = snapshot.revision;
                page.arriving.clear();
                events.push(SnippetEvent::Highlighted(snapshot.highlighted()));
            }
            JobState::Failed => events.extend(
                snapshot
                    .snapshot_events()
                    .into_iter()
                    .filter(|e| matches!(e, SnippetEvent::Failed(_))),
            ),
            _ => {}
        }
        events
    }
}
