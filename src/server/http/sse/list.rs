//! One stream for a page that lists snippets: `GET /api/events`.
//!
//! It carries the events of the snippets the page shows (`?snippets=`),
//! `created` for every new public snippet, `yours` for every new snippet of
//! the page's owner (the owner cookie's, listed or not), and it follows
//! each new one it announces. Unlisted snippets are never announced to
//! anyone else (and nothing is announced with `?announce=false`, which
//! embedded snippets' frames ask for). It never ends on its own.
//!
//! A list needs states, not code: the snapshot is read with
//! [`list_states`](crate::server::store::SnippetStore::list_states) (never code
//! or HTML), `highlighted` comes without its HTML, and events are gathered
//! for [`LIST_BATCH`] with only each snippet's latest state kept.
//!
//! Each stream writes on its own clock (a tick every [`LIST_BATCH`], from
//! a random point in the first window). Every list stream hears the same
//! event at the same moment; had each opened its batch then and written
//! it one window later, a thousand home pages would all write in the same
//! millisecond, ten times a second, and a snippet page's own result would
//! queue behind that burst.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::Duration,
};

use axum::{
    Extension,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use bytes::BytesMut;
use chrono::Utc;
use serde::Deserialize;
use tokio::sync::broadcast;

use super::{Connection, Wait, event_stream};
use crate::{
    domain::{Deleted, GoneReason, SnippetEvent, SnippetId},
    server::{
        AppState,
        events::{EventBody, IdKey, IdKeyMap, IdKeySet, Published},
        http::{ApiError, client::ClientIp},
        limits::Permit,
        owner::{Credentials, OwnerHash},
    },
};

/// How many snippets one list stream may follow.
const MAX_FOLLOWED: usize = 500;

/// How long a list stream gathers events before it writes them.
const LIST_BATCH: Duration = Duration::from_millis(100);

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Comma-separated ids of the snippets the page shows (at most 500).
    #[serde(default)]
    snippets: String,
    /// `false`: only the listed snippets' events, no `created` or `yours`
    /// (what an embedded snippet's frames ask for).
    #[serde(default = "announce_by_default")]
    announce: bool,
}

fn announce_by_default() -> bool {
    true
}

/// One stream for a page that shows many snippets.
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "streams",
    params(ListQuery),
    responses(
        (status = 200, description = "Server-sent events: a `state` for each listed snippet, then their events (`revision`, `progress`, `highlighted` without HTML...), `created` for new public snippets, `yours` for new snippets of the owner cookie's browser, `deleted` when one goes. Never ends on its own. With `announce=false`, no `created` or `yours`.", content_type = "text/event-stream", body = String),
        (status = 400, description = "A malformed id, or too many.", body = super::super::rest::ErrorBody),
        (status = 429, description = "Too many open streams from this client.", body = super::super::rest::ErrorBody),
        (status = 503, description = "This node holds as many streams as it can.", body = super::super::rest::ErrorBody),
    ),
)]
pub async fn list_events(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIp>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut ids = Vec::new();
    for raw in query
        .snippets
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let id = SnippetId::parse(raw)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
        if ids.len() > MAX_FOLLOWED {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("A stream can follow at most {MAX_FOLLOWED} snippets."),
            ));
        }
    }
    let permit = state.limits.streams.acquire(client.limit_key())?;
    let owner = Credentials::from_headers(&headers).cookie_owner().cloned();
    let announce = query.announce;
    // Subscribe first, then read snapshots: the same order as one snippet's
    // stream, for the same reason.
    let all = state.hub.subscribe_all();
    let mut followed = Followed::default();
    // The page lists the newest first; the oldest should be dropped first.
    for id in ids.into_iter().rev() {
        followed.follow(IdKey::new(id));
    }
    let mut list = ListFollower {
        state: state.clone(),
        all,
        followed,
        owner,
        announce,
        clock: WriteClock::starting_at_random(tokio::time::Instant::now()),
        _permit: permit,
    };
    // The first snapshot is read before answering: an id that never
    // existed counts as a miss, and a list of guesses is refused as one.
    let seen = state.hub.current_seq();
    let snapshot = list.read_snapshot().await?;
    if snapshot.unknown > 0 {
        super::super::limits::count_misses(&state, client, snapshot.unknown)?;
    }
    let mut response = event_stream(&state, move |connection| {
        list.run(seen, snapshot.events, connection)
    });
    if !announce {
        // Embeds follow their snippets from other sites' pages. Without
        // credentials (no cookie crosses): what the stream says is what
        // the frames show anyone.
        response.headers_mut().insert(
            axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
            axum::http::HeaderValue::from_static("*"),
        );
    }
    Ok(response)
}

/// What a list stream's snapshot found.
struct ListSnapshot {
    /// A `state` for each followed snippet, a `deleted` for each gone.
    events: Vec<(IdKey, SnippetEvent)>,
    /// Ids that never existed (no snippet, no tombstone).
    unknown: usize,
}

struct ListFollower {
    state: AppState,
    all: broadcast::Receiver<Arc<Published>>,
    followed: Followed,
    /// The browser whose snippets this page also lists.
    owner: Option<OwnerHash>,
    /// Whether new snippets are announced (`created`, `yours`).
    announce: bool,
    clock: WriteClock,
    _permit: Permit,
}

impl ListFollower {
    /// Feeds the stream from its first snapshot (`first`, read when the
    /// hub's sequence was `seen`) until the client leaves or the server
    /// stops.
    ///
    /// This future is kept for the stream's whole life, as large as its
    /// largest moment: the awaits a stream rarely makes (a snapshot read
    /// and sent, a pause before a retry) are boxed, so that an idle stream
    /// does not carry room for them (bench/PROFILE.md, round 16).
    /// It is an `async move` block, not an `async fn`: an async fn keeps
    /// its arguments beside the locals it moves them into, room for the
    /// follower and its connection twice.
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn would hold its arguments twice"
    )]
    fn run(
        mut self,
        seen: u64,
        first: Vec<(IdKey, SnippetEvent)>,
        mut connection: Connection,
    ) -> impl Future<Output = ()> + Send + 'static {
        async move {
            let mut first = Some((seen, first));
            loop {
                let mut failures = 0;
                let seen = loop {
                    let (seen, read) = match first.take() {
                        Some((seen, events)) => (seen, Ok(events)),
                        None => {
                            let seen = self.state.hub.current_seq();
                            (seen, Box::pin(self.read_snapshot()).await.map(|s| s.events))
                        }
                    };
                    match read {
                        Ok(events) => {
                            if Box::pin(Self::send_snapshot(&events, &mut connection)).await {
                                break seen;
                            }
                            return connection.resync_and_close();
                        }
                        Err(e) => {
                            crate::server::metrics::stream_snapshot_failed();
                            failures += 1;
                            if !Box::pin(connection.pause_before_retry(failures)).await {
                                tracing::warn!(error = ?e, "list snapshot failed; closing stream so the client reconnects");
                                return;
                            }
                            tracing::info!(error = ?e, failures, "list snapshot failed; trying again");
                        }
                    }
                };
                let mut batch = ListBatch::new(self.clock);
                loop {
                    let woken = match batch.due {
                        // A batch is open: sleep until it is due, then take
                        // everything that came meanwhile. Waking for each
                        // event instead (a thousand home pages, every event
                        // of a busy queue) was most of the server's time at
                        // 200 submits/s. The hub's channel holds far more
                        // than a window's events.
                        Some(due) => match connection
                            .wait_for(std::pin::pin!(tokio::time::sleep_until(due)))
                            .await
                        {
                            Ok(()) => {
                                let taken = self.take_waiting(seen, &mut batch);
                                if batch.flush(&mut connection).await.is_err() {
                                    return connection.resync_and_close();
                                }
                                match taken {
                                    Ok(()) => continue,
                                    Err(wait) => wait,
                                }
                            }
                            Err(wait) => wait,
                        },
                        None => connection.wait(std::pin::pin!(self.all.recv())).await,
                    };
                    match woken {
                        Wait::Stop => return,
                        Wait::Behind => return connection.resync_and_close(),
                        Wait::Resync => {
                            // What is batched or waiting is still news (a
                            // `created` is in no snapshot): send it, then
                            // re-read.
                            let taken = self.take_waiting(seen, &mut batch);
                            if taken.is_err() || batch.flush(&mut connection).await.is_err() {
                                return connection.resync_and_close();
                            }
                            break;
                        }
                        Wait::Event(published) if published.seq <= seen => continue,
                        Wait::Event(published) => {
                            if let Some(frame) = self.frame_for(&published) {
                                batch.push(published, frame);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Puts every event already waiting into `batch`, without waiting for
    /// more. `Err`: the stream fell behind, or the hub is gone.
    fn take_waiting(&mut self, seen: u64, batch: &mut ListBatch) -> Result<(), Wait> {
        loop {
            match self.all.try_recv() {
                Ok(published) if published.seq <= seen => {}
                Ok(published) => {
                    if let Some(frame) = self.frame_for(&published) {
                        batch.push(published, frame);
                    }
                }
                Err(broadcast::error::TryRecvError::Empty) => return Ok(()),
                Err(broadcast::error::TryRecvError::Lagged(_)) => return Err(Wait::Behind),
                Err(broadcast::error::TryRecvError::Closed) => return Err(Wait::Stop),
            }
        }
    }

    /// Which frame this page is sent for an event, if it may hear of it.
    fn frame_for(&mut self, published: &Published) -> Option<ListFrame> {
        let key = &published.key;
        match &published.event {
            SnippetEvent::Created(_) if !self.announce => None,
            // A list shows states; a file's result is for its page.
            SnippetEvent::File(_) => None,
            SnippetEvent::Created(_) => {
                let audience = &published.audience;
                let frame = match (&audience.owner, &self.owner) {
                    (Some((owner, _)), Some(mine)) if owner == mine => ListFrame::Yours,
                    _ if audience.public => ListFrame::Whole,
                    _ => return None,
                };
                self.followed.follow(key.clone());
                Some(frame)
            }
            SnippetEvent::Deleted(_) if self.followed.contains(key) => {
                self.followed.unfollow(key);
                Some(ListFrame::ForLists)
            }
            _ if self.followed.contains(key) => Some(ListFrame::ForLists),
            _ => None,
        }
    }

    /// Reads each followed snippet's state, and why each one that is
    /// not there is gone (it stops being followed).
    async fn read_snapshot(&mut self) -> Result<ListSnapshot, crate::server::store::StoreError> {
        let keys: Vec<IdKey> = self.followed.order.iter().cloned().collect();
        let ids: Vec<SnippetId> = keys.iter().map(|k| k.id().clone()).collect();
        let states: HashMap<SnippetId, _> = self
            .state
            .snippets
            .list_states(&ids, Utc::now())
            .await?
            .into_iter()
            .collect();
        let missing: Vec<SnippetId> = ids
            .iter()
            .filter(|id| !states.contains_key(*id))
            .cloned()
            .collect();
        let gone: HashMap<SnippetId, GoneReason> = self
            .state
            .snippets
            .gone_reasons(&missing)
            .await?
            .into_iter()
            .collect();
        let mut snapshot = ListSnapshot {
            events: Vec::with_capacity(keys.len()),
            unknown: 0,
        };
        for key in keys {
            let event = match states.get(key.id()) {
                Some(state) => SnippetEvent::State(state.clone()),
                None => {
                    self.followed.unfollow(&key);
                    let reason = gone.get(key.id()).copied().unwrap_or_else(|| {
                        snapshot.unknown += 1;
                        GoneReason::Deleted
                    });
                    SnippetEvent::Deleted(Deleted { reason })
                }
            };
            snapshot.events.push((key, event));
        }
        Ok(snapshot)
    }

    /// Sends a snapshot's events in one write. `false`: the client is too
    /// slow for it.
    async fn send_snapshot(events: &[(IdKey, SnippetEvent)], connection: &mut Connection) -> bool {
        if events.is_empty() {
            return true;
        }
        let mut write = BytesMut::new();
        for (key, event) in events {
            let body = EventBody::new(event.name(), &event.to_list_json(key.id()));
            connection.ids.write(&body, &mut write);
        }
        if connection.put(write.freeze()).is_err() {
            return false;
        }
        super::yield_to_body().await;
        true
    }
}

/// The snippets a list stream follows, oldest first. When a new one
/// arrives and the set is full, the oldest is dropped: a list shows the
/// newest, and a home page left open for days must keep receiving them.
#[derive(Default)]
struct Followed {
    order: VecDeque<IdKey>,
    set: IdKeySet,
}

impl Followed {
    fn follow(&mut self, key: IdKey) {
        if self.set.contains(&key) {
            return;
        }
        if self.order.len() == MAX_FOLLOWED
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        self.set.insert(key.clone());
        self.order.push_back(key);
    }

    fn unfollow(&mut self, key: &IdKey) {
        if self.set.remove(key) {
            self.order.retain(|k| k != key);
        }
    }

    fn contains(&self, key: &IdKey) -> bool {
        self.set.contains(key)
    }
}

/// Which of an event's bodies, encoded once by the hub, a list stream
/// sends. A batch holds this choice rather than a clone of the body: a
/// clone is an atomic increment on a count every stream shares, and a
/// thousand streams on two cores fight over that cache line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListFrame {
    /// `body`: a public `created`.
    Whole,
    /// `list_body`: the events of a followed snippet.
    ForLists,
    /// The owner's body in `audience`: `yours`, for the owner's own pages.
    Yours,
}

impl ListFrame {
    /// The body to send; `None` only for `Yours` of an event without an
    /// owner, which `frame_for` never chooses.
    fn body(self, published: &Published) -> Option<&EventBody> {
        match self {
            ListFrame::Whole => Some(&published.body),
            ListFrame::ForLists => Some(&published.list_body),
            ListFrame::Yours => published.audience.owner.as_ref().map(|(_, body)| body),
        }
    }
}

/// A list stream's events waiting to be written. A page showing many
/// snippets needs each one's latest state, not every step: within one
/// window a newer state of a snippet replaces the older, and the window's
/// events leave in one write. A thousand open home pages then cost the
/// server at most ten writes a second each, however busy the queue, instead
/// of one write per event per page.
struct ListBatch {
    /// In order; `None` where a newer state of the same snippet came.
    events: Vec<Option<(Arc<Published>, ListFrame)>>,
    /// Where each snippet's latest state (not `created`) is in `events`:
    /// a busy window holds many events, and every page looks up each one.
    latest: IdKeyMap<usize>,
    due: Option<tokio::time::Instant>,
    clock: WriteClock,
}

impl ListBatch {
    fn new(clock: WriteClock) -> Self {
        ListBatch {
            events: Vec::new(),
            latest: IdKeyMap::default(),
            due: None,
            clock,
        }
    }

    fn push(&mut self, published: Arc<Published>, frame: ListFrame) {
        // `created` carries the row itself and always stays.
        if !matches!(published.event, SnippetEvent::Created(_)) {
            let at = self.events.len();
            if let Some(earlier) = self.latest.insert(published.key.clone(), at) {
                self.events[earlier] = None;
            }
        }
        self.events.push(Some((published, frame)));
        let clock = self.clock;
        self.due
            .get_or_insert_with(|| clock.next_tick(tokio::time::Instant::now()));
    }

    /// Sends what is gathered, in order, as one frame; `Ok(false)` when
    /// there was nothing to send. One frame of the window's events costs
    /// one copy; handing them to the body one by one cost a lock, a queue
    /// slot and a poll of the body each.
    async fn flush(&mut self, connection: &mut Connection) -> Result<bool, super::Overflow> {
        self.due = None;
        self.latest.clear();
        let len: usize = self
            .events
            .iter()
            .flatten()
            .filter_map(|(published, frame)| frame.body(published))
            .map(|body| body.len() + 16)
            .sum();
        if len == 0 {
            self.events.clear();
            // Nothing put: the body polls the producer again only after
            // handing frames out, so yielding now would never come back.
            return Ok(false);
        }
        let mut write = BytesMut::with_capacity(len);
        for (published, frame) in self.events.drain(..).flatten() {
            if let Some(body) = frame.body(&published) {
                connection.ids.write(body, &mut write);
            }
        }
        connection.put(write.freeze())?;
        super::yield_to_body().await;
        Ok(true)
    }
}

/// When one list stream writes: every [`LIST_BATCH`] from its own `epoch`.
#[derive(Clone, Copy, Debug)]
struct WriteClock {
    epoch: tokio::time::Instant,
}

impl WriteClock {
    /// A clock whose first tick falls at a random point of the window
    /// after `now`, so streams opened together do not write together.
    fn starting_at_random(now: tokio::time::Instant) -> Self {
        use rand::Rng;
        let offset = rand::rng().random_range(Duration::ZERO..LIST_BATCH);
        WriteClock {
            epoch: now + offset,
        }
    }

    /// The first tick at or after `now`: a batch opened at `now` waits at
    /// most one window, as long as it did when every batch waited exactly
    /// one.
    fn next_tick(self, now: tokio::time::Instant) -> tokio::time::Instant {
        let window = LIST_BATCH.as_nanos();
        let elapsed = now.saturating_duration_since(self.epoch).as_nanos();
        let ticks = elapsed.div_ceil(window);
        // u64 nanoseconds outlast any stream by centuries.
        self.epoch + Duration::from_nanos(u64::try_from(ticks * window).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        domain::{JobState, SnippetSummary, Visibility},
        server::events::Hub,
    };

    fn summary(id: &SnippetId) -> SnippetSummary {
        SnippetSummary {
            id: id.clone(),
            language: "Rust".into(),
            filename: None,
            preview: "fn main".into(),
            files: 1,
            lines: 1,
            state: JobState::Queued,
            progress: None,
            created_at: chrono::Utc::now(),
            visibility: Visibility::Public,
        }
    }

    #[tokio::test]
    async fn a_list_batch_keeps_each_snippets_latest_state_and_every_creation() {
        let hub = Hub::new();
        let mut all = hub.subscribe_all();
        let (a, b) = (SnippetId::random(), SnippetId::random());
        hub.publish_created(summary(&a), None);
        hub.publish(&a, SnippetEvent::state(JobState::Processing, 1, 1));
        hub.publish_created(summary(&b), None);
        hub.publish(
            &a,
            SnippetEvent::Progress(crate::domain::Progressed {
                revision: 1,
                done: 1,
                total: 2,
                file: None,
            }),
        );
        hub.publish(&b, SnippetEvent::state(JobState::Processing, 1, 1));
        hub.publish(&a, SnippetEvent::state(JobState::Succeeded, 1, 1));
        let mut batch = ListBatch::new(WriteClock::starting_at_random(tokio::time::Instant::now()));
        for _ in 0..6 {
            let published = all.recv().await.unwrap();
            batch.push(published, ListFrame::Whole);
        }
        let kept: Vec<&Arc<Published>> = batch.events.iter().flatten().map(|(p, _)| p).collect();
        let named: Vec<(&SnippetId, &str)> = kept
            .iter()
            .map(|p| (p.snippet_id(), p.event.name()))
            .collect();
        assert_eq!(
            named,
            vec![
                (&a, "created"),
                (&b, "created"),
                (&b, "state"),
                (&a, "state")
            ]
        );
        assert!(
            kept.windows(2).all(|w| w[0].seq < w[1].seq),
            "ids still rise"
        );
        assert!(
            batch.due.is_some(),
            "a batch with events is due to be written"
        );
    }

    /// A connection that goes nowhere: frames wait in its outbox.
    fn connection(outbox: super::super::Outbox) -> Connection {
        let (_, resync) = tokio::sync::watch::channel(0);
        Connection {
            outbox,
            ids: crate::server::events::EventIds::default(),
            shutdown: tokio_util::sync::CancellationToken::new(),
            resync,
            keep_alive: Box::pin(tokio::time::sleep(Duration::from_secs(15))),
        }
    }

    #[tokio::test]
    async fn an_empty_window_writes_nothing_and_never_waits_for_the_body() {
        use futures_util::FutureExt;
        let outbox = super::super::Outbox::new(1 << 16);
        let mut connection = connection(outbox.clone());
        let mut batch = ListBatch::new(WriteClock::starting_at_random(tokio::time::Instant::now()));
        // The body polls the producer again only after handing out frames:
        // a flush that waited for it with nothing put would never resume.
        let flushed = batch.flush(&mut connection).now_or_never();
        assert!(
            matches!(flushed, Some(Ok(false))),
            "an empty flush finishes at once"
        );
        assert!(!outbox.has_frames());

        let hub = Hub::new();
        let mut all = hub.subscribe_all();
        let a = SnippetId::random();
        hub.publish_created(summary(&a), None);
        let created = all.recv().await.unwrap();
        batch.push(created.clone(), ListFrame::Whole);
        hub.publish(&a, SnippetEvent::state(JobState::Processing, 1, 1));
        let processing = all.recv().await.unwrap();
        batch.push(processing.clone(), ListFrame::ForLists);
        let mut flush = Box::pin(batch.flush(&mut connection));
        assert!(
            (&mut flush).now_or_never().is_none(),
            "with frames put, the flush lets the body take them"
        );
        drop(flush);
        let written = outbox.take().expect("the window's events, as one frame");
        assert_eq!(
            written,
            [
                &b"id: 1\n"[..],
                created.body.as_ref(),
                b"id: 2\n",
                processing.list_body.as_ref()
            ]
            .concat()
        );
        assert!(outbox.take().is_none(), "one write per window");
    }

    #[test]
    fn streams_write_on_their_own_ticks_within_one_window() {
        let now = tokio::time::Instant::now();
        let clocks: Vec<WriteClock> = (0..64)
            .map(|_| WriteClock::starting_at_random(now))
            .collect();
        for clock in &clocks {
            for later in [0, 1, 37, 100, 101, 250, 999, 10_000] {
                let at = now + Duration::from_millis(later);
                let tick = clock.next_tick(at);
                assert!(
                    tick >= at && tick - at <= LIST_BATCH,
                    "a batch waits at most one window"
                );
                assert_eq!(clock.next_tick(tick), tick, "a tick is its own next tick");
                let ticks_apart =
                    tick.saturating_duration_since(clock.epoch).as_nanos() % LIST_BATCH.as_nanos();
                assert_eq!(ticks_apart, 0, "ticks are whole windows from the epoch");
            }
        }
        let first_ticks: std::collections::HashSet<_> =
            clocks.iter().map(|c| c.next_tick(now)).collect();
        assert!(
            first_ticks.len() > 32,
            "streams opened together write at different moments"
        );
    }

    #[test]
    fn a_full_follow_set_drops_its_oldest_snippet() {
        let ids: Vec<IdKey> = (0..=MAX_FOLLOWED)
            .map(|_| IdKey::new(SnippetId::random()))
            .collect();
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
        followed.follow(ids[1].clone());
        assert_eq!(followed.order.len(), MAX_FOLLOWED);
        followed.unfollow(&ids[1]);
        assert!(!followed.contains(&ids[1]));
        assert_eq!(followed.order.len(), MAX_FOLLOWED - 1);
    }
}
