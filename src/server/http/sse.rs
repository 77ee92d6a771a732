//! Server-sent events: progress and results pushed to pages.
//!
//! The order of operations is the whole point. A stream first SUBSCRIBES
//! to the hub, THEN reads the snapshot from the database, THEN forwards
//! the events newer than the snapshot. A result that lands between the
//! snapshot and the subscription (the seed's "already highlighted when the
//! user subscribed" race) cannot be lost: either the snapshot holds it, or
//! the subscription, already open, receives it.
//!
//! Events carry the hub's sequence number as their SSE `id:`. The snapshot
//! is stamped with the sequence read just before it was taken, so every
//! buffered event at or below that number is already in the snapshot and
//! is skipped.

use std::{collections::HashSet, convert::Infallible, sync::Arc, time::Duration};

use axum::{
    extract::{Path, Query, State},
    response::sse::{Event, KeepAlive, Sse},
};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::{broadcast::error::RecvError, mpsc};

use super::ApiError;
use crate::{
    domain::{
        Failed, Highlighted, JobState, SnippetEvent, SnippetId, SnippetPage, SnippetView,
        StateChanged,
    },
    server::{
        AppState,
        events::{Published, Subscription},
    },
};

/// How long a browser waits before reconnecting a dropped stream.
const RETRY_HINT: Duration = Duration::from_secs(2);
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub async fn snippet_events(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = SnippetId::parse(&raw_id).map_err(|_| ApiError::not_found())?;
    let subscription = state.hub.subscribe(&id);
    let seen = state.hub.current_seq();
    let snapshot = match state.lookup(&id).await? {
        SnippetPage::Found(view) => view,
        SnippetPage::Expired => return Err(ApiError::gone()),
        SnippetPage::Missing => return Err(ApiError::not_found()),
    };

    // A small buffer: a stream that cannot keep up is resynced, not queued.
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(follow(state, subscription, seen, snapshot, tx));
    Ok(sse_response(rx))
}

fn sse_response(rx: mpsc::Receiver<Event>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// How many snippets one all-snippets stream may follow.
const MAX_FOLLOWED: usize = 500;

#[derive(Deserialize)]
pub struct AllEventsQuery {
    /// Comma-separated ids of the snippets the page shows.
    #[serde(default)]
    snippets: String,
}

/// `GET /api/events?snippets=id1,id2,...`: one stream for a page that shows
/// many snippets. It carries the events of the listed snippets, `created`
/// for every new snippet (whose events then follow too), and it never ends
/// on its own. On connect (and on resync) each listed snippet's snapshot is
/// sent as a `state` event only: a list needs states, not every HTML.
pub async fn all_events(
    State(state): State<AppState>,
    Query(query): Query<AllEventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut ids = Vec::new();
    for raw in query
        .snippets
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let id = SnippetId::parse(raw)
            .map_err(|e| ApiError::new(axum::http::StatusCode::BAD_REQUEST, e.to_string()))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_FOLLOWED {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            format!("A stream can follow at most {MAX_FOLLOWED} snippets."),
        ));
    }
    // Subscribe first, then read snapshots: the same order as one snippet's
    // stream, for the same reason.
    let all = state.hub.subscribe_all();
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(follow_all(state, all, ids, tx));
    Ok(sse_response(rx))
}

async fn follow_all(
    state: AppState,
    mut all: tokio::sync::broadcast::Receiver<Arc<Published>>,
    ids: Vec<SnippetId>,
    tx: mpsc::Sender<Event>,
) {
    let mut followed: HashSet<SnippetId> = ids.into_iter().collect();
    let mut connection = Connection::new(&state, tx);
    loop {
        let seen = state.hub.current_seq();
        for id in followed.clone() {
            let view = match state.lookup(&id).await {
                Ok(SnippetPage::Found(view)) => view,
                Ok(_) => {
                    followed.remove(&id);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "snapshot failed; closing stream so the client reconnects");
                    return;
                }
            };
            let event = &snapshot_events(&view)[0];
            if !connection
                .send(seen, event.name(), &event.to_json(&id))
                .await
            {
                return;
            }
        }
        loop {
            match connection.wait(all.recv()).await {
                Wait::Stop => return,
                Wait::Resync => break,
                Wait::Event(published) if published.seq <= seen => continue,
                Wait::Event(published) => {
                    let wanted = match published.event {
                        SnippetEvent::Created(_) => {
                            if followed.len() < MAX_FOLLOWED {
                                followed.insert(published.snippet_id.clone());
                            }
                            true
                        }
                        _ => followed.contains(&published.snippet_id),
                    };
                    if wanted
                        && !connection
                            .send(published.seq, published.event.name(), &published.json)
                            .await
                    {
                        return;
                    }
                }
            }
        }
    }
}

/// The events that describe a snapshot: its state, then its result if it
/// has one.
pub fn snapshot_events(view: &SnippetView) -> Vec<SnippetEvent> {
    let mut events = vec![SnippetEvent::State(StateChanged {
        state: view.state,
        progress: view.progress,
        attempts: view.attempts,
        next_attempt_at: view.next_attempt_at,
    })];
    match view.state {
        JobState::Succeeded => events.push(SnippetEvent::Highlighted(Highlighted {
            html: view.html.clone().unwrap_or_default(),
            language: view.language.clone(),
            highlighted_in_ms: view.highlighted_in_ms.unwrap_or(0),
        })),
        JobState::Failed => events.push(SnippetEvent::Failed(Failed {
            error: view.error.clone().unwrap_or_default(),
            attempts: view.attempts,
        })),
        _ => {}
    }
    events
}

/// The server's end of one event stream: it spells events, gives the
/// first the reconnect hint, and knows when to stop waiting.
struct Connection {
    tx: mpsc::Sender<Event>,
    hinted: bool,
    shutdown: tokio_util::sync::CancellationToken,
    resync: tokio::sync::watch::Receiver<u64>,
}

/// What a stream waiting for its next event is woken by.
enum Wait {
    /// The client left, the server is shutting down, or the hub closed.
    Stop,
    /// Events may have been missed (fell behind, or the relay
    /// reconnected): re-read the snapshot.
    Resync,
    Event(Arc<Published>),
}

impl Connection {
    fn new(state: &AppState, tx: mpsc::Sender<Event>) -> Self {
        Connection {
            tx,
            hinted: false,
            shutdown: state.shutdown.clone(),
            resync: state.hub.resync_signal(),
        }
    }

    /// Sends one event; `false` once the client has gone.
    async fn send(&mut self, seq: u64, name: &str, json: &str) -> bool {
        let mut event = Event::default().id(seq.to_string()).event(name).data(json);
        if !self.hinted {
            event = event.retry(RETRY_HINT);
            self.hinted = true;
        }
        self.tx.send(event).await.is_ok()
    }

    async fn wait(
        &mut self,
        received: impl Future<Output = Result<Arc<Published>, RecvError>>,
    ) -> Wait {
        tokio::select! {
            _ = self.tx.closed() => Wait::Stop,
            _ = self.shutdown.cancelled() => Wait::Stop,
            _ = self.resync.changed() => Wait::Resync,
            received = received => match received {
                Ok(published) => Wait::Event(published),
                Err(RecvError::Lagged(_)) => Wait::Resync,
                Err(RecvError::Closed) => Wait::Stop,
            },
        }
    }
}

/// Feeds one snippet's stream until its result is sent, the client leaves,
/// or the server shuts down.
async fn follow(
    state: AppState,
    mut subscription: Subscription,
    mut seen: u64,
    mut snapshot: SnippetView,
    tx: mpsc::Sender<Event>,
) {
    let id = subscription.snippet_id().clone();
    let mut connection = Connection::new(&state, tx);
    loop {
        for (index, event) in snapshot_events(&snapshot).into_iter().enumerate() {
            // Ids rise strictly: the state is stamped `seen`, a result that
            // follows it gets a fresh number of its own.
            let seq = if index == 0 {
                seen
            } else {
                state.hub.reserve_seq()
            };
            if !connection
                .send(seq, event.name(), &event.to_json(&id))
                .await
            {
                return;
            }
        }
        if snapshot.state.is_final() {
            return;
        }
        // Forward live events until the result, or until we fell behind.
        loop {
            match connection.wait(subscription.recv()).await {
                Wait::Stop => return,
                Wait::Resync => break,
                Wait::Event(published) if published.seq <= seen => continue,
                Wait::Event(published) => {
                    let sent = connection
                        .send(published.seq, published.event.name(), &published.json)
                        .await;
                    if !sent || published.event.is_final() {
                        return;
                    }
                }
            }
        }
        // We missed events: the database has the truth. Re-read it.
        seen = state.hub.current_seq();
        snapshot = match state.lookup(&id).await {
            Ok(SnippetPage::Found(view)) => view,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = ?e, snippet = %id, "resync failed; closing stream so the client reconnects");
                return;
            }
        };
    }
}
