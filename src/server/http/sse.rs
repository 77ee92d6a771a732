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

use std::{
    collections::{HashSet, VecDeque},
    convert::Infallible,
    sync::{Arc, Mutex},
    task::Poll,
    time::Duration,
};

use axum::{
    extract::{Path, Query, State},
    response::sse::{Event, KeepAlive, Sse},
};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

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

    Ok(sse_response(move |outbox| {
        follow(state, subscription, seen, snapshot, outbox)
    }))
}

/// An event stream driven by the future that writes it.
///
/// There is no task and no channel per stream: the response body polls
/// the `producer` future itself, and takes each event the producer puts in
/// the [`Outbox`]. The producer waits until its event is taken, so a client
/// that cannot keep up leaves events in the hub's buffer (and is resynced
/// when it overflows) rather than in a queue here. When the client leaves,
/// the body is dropped and the producer with it. An idle stream is then one
/// connection, one boxed future and one subscription: at ten thousand open
/// pages, every kilobyte per stream is ten megabytes.
fn sse_response<F>(
    producer: impl FnOnce(Outbox) -> F + 'static,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>>
where
    F: Future<Output = ()> + Send + 'static,
{
    Sse::new(driven_stream(producer)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

fn driven_stream<F>(
    producer: impl FnOnce(Outbox) -> F + 'static,
) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: Future<Output = ()> + Send + 'static,
{
    let outbox = Outbox::default();
    let mut producer = Box::pin(producer(outbox.clone()));
    let mut finished = false;
    futures_util::stream::poll_fn(move |cx| {
        loop {
            if let Some(event) = outbox.take() {
                return Poll::Ready(Some(Ok(event)));
            }
            if finished {
                return Poll::Ready(None);
            }
            match producer.as_mut().poll(cx) {
                Poll::Ready(()) => finished = true,
                // Pending with an event put: hand it out, then poll again.
                Poll::Pending if outbox.is_full() => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
    })
}

/// Where a stream's producer puts its next event for the body to take.
#[derive(Clone, Default)]
struct Outbox(Arc<Mutex<Option<Event>>>);

impl Outbox {
    /// Puts one event and returns once the body has taken it.
    async fn put(&self, event: Event) {
        *self.slot() = Some(event);
        // Yield once. The body polls the producer again only after taking
        // the event, so no waker is needed: it is already coming back.
        let mut yielded = false;
        std::future::poll_fn(|_| {
            if yielded {
                Poll::Ready(())
            } else {
                yielded = true;
                Poll::Pending
            }
        })
        .await
    }

    fn take(&self) -> Option<Event> {
        self.slot().take()
    }

    fn is_full(&self) -> bool {
        self.slot().is_some()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Event>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How many snippets one all-snippets stream may follow.
const MAX_FOLLOWED: usize = 500;

/// The snippets an all-snippets stream follows, oldest first. When a new
/// one arrives and the set is full, the oldest is dropped: a list shows the
/// newest, and a home page left open for days must keep receiving them.
#[derive(Default)]
struct Followed {
    order: VecDeque<SnippetId>,
    set: HashSet<SnippetId>,
}

impl Followed {
    fn follow(&mut self, id: SnippetId) {
        if self.set.contains(&id) {
            return;
        }
        if self.order.len() == MAX_FOLLOWED
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        self.set.insert(id.clone());
        self.order.push_back(id);
    }

    fn unfollow(&mut self, id: &SnippetId) {
        if self.set.remove(id) {
            self.order.retain(|i| i != id);
        }
    }

    fn contains(&self, id: &SnippetId) -> bool {
        self.set.contains(id)
    }
}

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
/// sent as a `state` event only, and `highlighted` comes without its HTML:
/// a list needs states, not every page's code.
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
    Ok(sse_response(move |outbox| {
        follow_all(state, all, ids, outbox)
    }))
}

async fn follow_all(
    state: AppState,
    mut all: tokio::sync::broadcast::Receiver<Arc<Published>>,
    ids: Vec<SnippetId>,
    outbox: Outbox,
) {
    let mut followed = Followed::default();
    // The page lists the newest first; the oldest should be dropped first.
    for id in ids.into_iter().rev() {
        followed.follow(id);
    }
    let mut connection = Connection::new(&state, outbox);
    loop {
        let seen = state.hub.current_seq();
        for id in followed.order.clone() {
            let view = match state.lookup(&id).await {
                Ok(SnippetPage::Found(view)) => view,
                Ok(_) => {
                    followed.unfollow(&id);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "snapshot failed; closing stream so the client reconnects");
                    return;
                }
            };
            let event = &snapshot_events(&view)[0];
            connection
                .send(seen, event.name(), &event.to_json(&id))
                .await;
        }
        let mut batch = ListBatch::default();
        loop {
            let woken = match batch.due {
                Some(due) => tokio::select! {
                    woken = connection.wait(all.recv()) => Some(woken),
                    _ = tokio::time::sleep_until(due) => None,
                },
                None => Some(connection.wait(all.recv()).await),
            };
            match woken {
                None => batch.flush(&mut connection).await,
                Some(Wait::Stop) => return,
                Some(Wait::Resync) => {
                    // What is batched is still news (a `created` is not in
                    // any snapshot): send it, then re-read.
                    batch.flush(&mut connection).await;
                    break;
                }
                Some(Wait::Event(published)) if published.seq <= seen => continue,
                Some(Wait::Event(published)) => {
                    let wanted = match published.event {
                        SnippetEvent::Created(_) => {
                            followed.follow(published.snippet_id.clone());
                            true
                        }
                        _ => followed.contains(&published.snippet_id),
                    };
                    if wanted {
                        batch.push(published);
                    }
                }
            }
        }
    }
}

/// How long a list stream gathers events before it writes them.
const LIST_BATCH: Duration = Duration::from_millis(100);

/// A list stream's events waiting to be written. A page showing many
/// snippets needs each one's latest state, not every step: within one
/// window a newer state of a snippet replaces the older, and the window's
/// events leave in one write. A thousand open home pages then cost the
/// server at most ten writes a second each, however busy the queue, instead
/// of one write per event per page.
#[derive(Default)]
struct ListBatch {
    events: Vec<Arc<Published>>,
    due: Option<tokio::time::Instant>,
}

impl ListBatch {
    fn push(&mut self, published: Arc<Published>) {
        if !matches!(published.event, SnippetEvent::Created(_)) {
            // `created` carries the row itself and always stays.
            self.events.retain(|earlier| {
                earlier.snippet_id != published.snippet_id
                    || matches!(earlier.event, SnippetEvent::Created(_))
            });
        }
        self.events.push(published);
        self.due
            .get_or_insert_with(|| tokio::time::Instant::now() + LIST_BATCH);
    }

    /// Sends what is gathered, in order.
    async fn flush(&mut self, connection: &mut Connection) {
        self.due = None;
        for published in self.events.drain(..) {
            connection
                .send(published.seq, published.event.name(), published.list_json())
                .await;
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
    outbox: Outbox,
    hinted: bool,
    shutdown: tokio_util::sync::CancellationToken,
    resync: tokio::sync::watch::Receiver<u64>,
}

/// What a stream waiting for its next event is woken by.
enum Wait {
    /// The server is shutting down, or the hub closed. (When the client
    /// leaves, its stream is dropped with the producer in it.)
    Stop,
    /// Events may have been missed (fell behind, or the relay
    /// reconnected): re-read the snapshot.
    Resync,
    Event(Arc<Published>),
}

impl Connection {
    fn new(state: &AppState, outbox: Outbox) -> Self {
        Connection {
            outbox,
            hinted: false,
            shutdown: state.shutdown.clone(),
            resync: state.hub.resync_signal(),
        }
    }

    /// Sends one event, once the client has taken the one before.
    async fn send(&mut self, seq: u64, name: &str, json: &str) {
        let mut event = Event::default().id(seq.to_string()).event(name).data(json);
        if !self.hinted {
            event = event.retry(RETRY_HINT);
            self.hinted = true;
        }
        self.outbox.put(event).await;
    }

    async fn wait(
        &mut self,
        received: impl Future<Output = Result<Arc<Published>, RecvError>>,
    ) -> Wait {
        tokio::select! {
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
    outbox: Outbox,
) {
    let id = subscription.snippet_id().clone();
    let mut connection = Connection::new(&state, outbox);
    loop {
        for (index, event) in snapshot_events(&snapshot).into_iter().enumerate() {
            // Ids rise strictly: the state is stamped `seen`, a result that
            // follows it gets a fresh number of its own.
            let seq = if index == 0 {
                seen
            } else {
                state.hub.reserve_seq()
            };
            connection
                .send(seq, event.name(), &event.to_json(&id))
                .await;
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
                    connection
                        .send(published.seq, published.event.name(), &published.json)
                        .await;
                    if published.event.is_final() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        domain::{Progress, SnippetSummary},
        server::events::Hub,
    };

    fn created(id: &SnippetId) -> SnippetEvent {
        SnippetEvent::Created(SnippetSummary {
            id: id.clone(),
            language: "Rust".into(),
            filename: None,
            preview: "fn main".into(),
            lines: 1,
            state: JobState::Queued,
            progress: None,
            created_at: chrono::Utc::now(),
        })
    }

    #[tokio::test]
    async fn a_driven_stream_hands_out_every_event_put_and_ends_with_its_producer() {
        use futures_util::StreamExt;
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let mut stream = Box::pin(driven_stream(|outbox| async move {
            outbox.put(Event::default().data("1")).await;
            outbox.put(Event::default().data("2")).await;
            // Truly pending: the stream must be woken, not polled in a loop.
            let _ = wait.await;
            outbox.put(Event::default().data("3")).await;
        }));
        assert!(stream.next().await.is_some());
        assert!(stream.next().await.is_some());
        let third = tokio::time::timeout(Duration::from_millis(50), stream.next()).await;
        assert!(
            third.is_err(),
            "nothing to hand out while the producer waits"
        );
        go.send(()).unwrap();
        assert!(stream.next().await.is_some());
        assert!(
            stream.next().await.is_none(),
            "the stream ends with its producer"
        );
    }

    #[tokio::test]
    async fn a_list_batch_keeps_each_snippets_latest_state_and_every_creation() {
        let hub = Hub::new();
        let mut all = hub.subscribe_all();
        let (a, b) = (SnippetId::random(), SnippetId::random());
        hub.publish(&a, created(&a));
        hub.publish(&a, SnippetEvent::state(JobState::Processing, 1));
        hub.publish(&b, created(&b));
        hub.publish(&a, SnippetEvent::Progress(Progress { done: 1, total: 2 }));
        hub.publish(&b, SnippetEvent::state(JobState::Processing, 1));
        hub.publish(&a, SnippetEvent::state(JobState::Succeeded, 1));
        let mut batch = ListBatch::default();
        for _ in 0..6 {
            batch.push(all.recv().await.unwrap());
        }
        let kept: Vec<(&SnippetId, &str)> = batch
            .events
            .iter()
            .map(|p| (&p.snippet_id, p.event.name()))
            .collect();
        assert_eq!(
            kept,
            vec![
                (&a, "created"),
                (&b, "created"),
                (&b, "state"),
                (&a, "state")
            ]
        );
        assert!(
            batch.events.windows(2).all(|w| w[0].seq < w[1].seq),
            "ids still rise"
        );
        assert!(
            batch.due.is_some(),
            "a batch with events is due to be written"
        );
    }

    #[test]
    fn a_full_follow_set_drops_its_oldest_snippet() {
        let ids: Vec<SnippetId> = (0..=MAX_FOLLOWED).map(|_| SnippetId::random()).collect();
        let mut followed = Followed::default();
        for id in &ids {
            followed.follow(id.clone());
        }
        assert_eq!(followed.order.len(), MAX_FOLLOWED);
        assert!(!followed.contains(&ids[0]), "the oldest is dropped");
        assert!(followed.contains(&ids[1]));
        assert!(
            followed.contains(&ids[MAX_FOLLOWED]),
            "the newest is followed"
        );
        // Following again changes nothing; unfollowing removes from both.
        followed.follow(ids[1].clone());
        assert_eq!(followed.order.len(), MAX_FOLLOWED);
        followed.unfollow(&ids[1]);
        assert!(!followed.contains(&ids[1]));
        assert_eq!(followed.order.len(), MAX_FOLLOWED - 1);
    }
}
