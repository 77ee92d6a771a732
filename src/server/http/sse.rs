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

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::{Path, State},
    response::sse::{Event, KeepAlive, Sse},
};
use futures_util::Stream;
use tokio::sync::{broadcast::error::RecvError, mpsc};

use super::ApiError;
use crate::{
    domain::{Failed, Highlighted, JobState, SnippetEvent, SnippetId, SnippetView, StateChanged},
    server::{AppState, events::Subscription},
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
    let snapshot = state
        .store
        .snippet(&id)
        .await?
        .ok_or_else(ApiError::not_found)?;

    // A small buffer: a stream that cannot keep up is resynced, not queued.
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(follow(state, subscription, seen, snapshot, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
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

fn sse_event(seq: u64, name: &str, json: &str) -> Event {
    Event::default().id(seq.to_string()).event(name).data(json)
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
    let mut first = true;
    loop {
        for (index, event) in snapshot_events(&snapshot).into_iter().enumerate() {
            // Ids rise strictly: the state is stamped `seen`, a result that
            // follows it gets a fresh number of its own.
            let seq = if index == 0 {
                seen
            } else {
                state.hub.reserve_seq()
            };
            let mut sse = sse_event(seq, event.name(), &event.to_json(&id));
            if first {
                sse = sse.retry(RETRY_HINT);
                first = false;
            }
            if tx.send(sse).await.is_err() {
                return;
            }
        }
        if snapshot.state.is_final() {
            return;
        }
        // Forward live events until the result, or until we fell behind.
        loop {
            let received = tokio::select! {
                _ = tx.closed() => return,
                _ = state.shutdown.cancelled() => return,
                received = subscription.recv() => received,
            };
            match received {
                Ok(published) if published.seq <= seen => continue,
                Ok(published) => {
                    let event = sse_event(published.seq, published.event.name(), &published.json);
                    if tx.send(event).await.is_err() {
                        return;
                    }
                    if published.event.is_final() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => break,
                Err(RecvError::Closed) => return,
            }
        }
        // We missed events: the database has the truth. Re-read it.
        seen = state.hub.current_seq();
        snapshot = match state.store.snippet(&id).await {
            Ok(Some(view)) => view,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = ?e, snippet = %id, "resync failed; closing stream so the client reconnects");
                return;
            }
        };
    }
}
