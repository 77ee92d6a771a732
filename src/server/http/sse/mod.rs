//! Server-sent events: progress and results pushed to pages.
//!
//! - `snippet.rs`: one snippet's stream (`/api/snippets/{id}/events`).
//! - `list.rs`: one stream for a page that lists snippets (`/api/events`).
//! - `admin.rs`: the operators' dashboard's feed (`/api/admin/events`).
//! - here: what both share, the stream as a response body driven by the
//!   future that writes it, and the [`Connection`] that future writes to.
//!
//! The order of operations is the whole point. A stream first SUBSCRIBES
//! to the hub, THEN reads the snapshot from the database, THEN forwards
//! the events newer than the snapshot. A result that lands between the
//! snapshot and the subscription (the seed's "already highlighted when the
//! user subscribed" race) cannot be lost: either the snapshot holds it, or
//! the subscription, already open, receives it.
//!
//! Every event the hub publishes carries its sequence number. A stream
//! notes the sequence read just before it took its snapshot, so every
//! buffered event at or below that number is already in the snapshot and
//! is skipped. What a stream sends as `id:` is its own count of events
//! (see `events/frame.rs`, which writes every byte of the wire format).

mod admin;
mod list;
mod snippet;

use std::{
    collections::VecDeque,
    convert::Infallible,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::Body,
    http::{HeaderValue, header},
    response::Response,
};
use bytes::Bytes;
use http_body::Frame;
use tokio::sync::broadcast::error::RecvError;

pub use admin::{__path_admin_events, admin_events};
pub use list::{__path_list_events, list_events};
pub use snippet::{__path_snippet_events, snippet_events};

use crate::server::{
    AppState,
    events::{EventBody, EventIds, Published, frame},
};

/// How often an idle stream sends a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Times a stream tries its snapshot read again after a database error
/// before it closes (pausing 100 ms, then twice as long each time: about
/// 3 s in all).
const READ_RETRIES: u32 = 5;

/// An event stream as a response body, driven by the future that writes it.
///
/// There is no task and no channel per stream: the body polls the
/// `producer` itself and hands out what it put in the [`Outbox`]. hyper
/// asks the body for more only while its write buffer has room, so a
/// client that cannot keep up stops its producer too: the events it misses
/// wait in the hub's bounded buffer (shared with every other stream) until
/// the stream falls too far behind and is told to resync. When the client
/// leaves, the body is dropped and the producer with it. An idle stream is
/// one connection, one boxed future and one subscription: at ten thousand
/// open pages, every kilobyte per stream is ten megabytes.
struct EventStream {
    producer: Pin<Box<dyn Future<Output = ()> + Send>>,
    outbox: Outbox,
    finished: bool,
}

impl http_body::Body for EventStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        loop {
            if let Some(frame) = this.outbox.take() {
                return Poll::Ready(Some(Ok(Frame::data(frame))));
            }
            if this.finished {
                return Poll::Ready(None);
            }
            match this.producer.as_mut().poll(cx) {
                Poll::Ready(()) => this.finished = true,
                // Pending with frames put: hand them out, then poll again.
                Poll::Pending if this.outbox.has_frames() => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The response for a stream whose events `producer` writes to the
/// [`Connection`] it is given.
fn event_stream<F>(state: &AppState, producer: impl FnOnce(Connection) -> F) -> Response
where
    F: Future<Output = ()> + Send + 'static,
{
    let outbox = Outbox::new(state.settings.limits.stream_buffer_bytes);
    let _ = outbox.push(Bytes::from_static(frame::RETRY_HINT));
    let connection = Connection::new(state, outbox.clone());
    let body = EventStream {
        producer: Box::pin(producer(connection)),
        outbox,
        finished: false,
    };
    let mut response = Response::new(Body::new(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // nginx and its kind would otherwise hold pushes back in a buffer.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The stream's queue of frames waiting for the body to take them, capped
/// in bytes. One frame is always accepted, however large (frames are
/// shared `Bytes`, so a big result sent to many streams exists once); past
/// the cap the stream has fallen behind.
#[derive(Clone)]
struct Outbox(Arc<Mutex<Queue>>);

struct Queue {
    frames: VecDeque<Bytes>,
    bytes: usize,
    cap: usize,
}

/// The outbox is full: the client is too slow for what there is to send.
#[derive(Debug)]
struct Overflow;

impl Outbox {
    fn new(cap: usize) -> Self {
        Outbox(Arc::new(Mutex::new(Queue {
            frames: VecDeque::new(),
            bytes: 0,
            cap,
        })))
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, frame: Bytes) -> Result<(), Overflow> {
        self.push_all([frame])
    }

    /// Pushes frames that belong together (an event's `id:` line and its
    /// body) all or none: as one frame, they are accepted whatever their
    /// size when nothing waits.
    fn push_all<const N: usize>(&self, frames: [Bytes; N]) -> Result<(), Overflow> {
        let mut queue = self.queue();
        let len: usize = frames.iter().map(Bytes::len).sum();
        if !queue.frames.is_empty() && queue.bytes + len > queue.cap {
            return Err(Overflow);
        }
        queue.bytes += len;
        queue.frames.extend(frames);
        Ok(())
    }

    fn take(&self) -> Option<Bytes> {
        let mut queue = self.queue();
        let frame = queue.frames.pop_front()?;
        queue.bytes -= frame.len();
        Some(frame)
    }

    fn has_frames(&self) -> bool {
        !self.queue().frames.is_empty()
    }

    /// Replaces whatever waits with one last frame.
    fn replace_all(&self, frame: Bytes) {
        let mut queue = self.queue();
        queue.frames.clear();
        queue.bytes = frame.len();
        queue.frames.push_back(frame);
    }
}

/// Yields once. The body polls the producer again only after handing out
/// what was put, so no waker is needed: it is already coming back.
async fn yield_to_body() {
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

/// The server's end of one event stream: it writes frames, keeps the
/// connection alive, and knows when to stop waiting.
struct Connection {
    outbox: Outbox,
    /// This stream's event ids.
    ids: EventIds,
    shutdown: tokio_util::sync::CancellationToken,
    resync: tokio::sync::watch::Receiver<u64>,
    keep_alive: Pin<Box<tokio::time::Sleep>>,
}

/// What a stream waiting for its next event is woken by.
enum Wait {
    /// The server is shutting down, or the hub closed. (When the client
    /// leaves, its stream is dropped with the producer in it.)
    Stop,
    /// Events may have been lost on the way to this node (the relay
    /// reconnected): re-read the snapshot.
    Resync,
    /// This stream fell too far behind: tell the client to resync.
    Behind,
    Event(Arc<Published>),
}

impl Connection {
    fn new(state: &AppState, outbox: Outbox) -> Self {
        Connection {
            outbox,
            ids: EventIds::default(),
            shutdown: state.shutdown.clone(),
            resync: state.hub.resync_signal(),
            keep_alive: Box::pin(tokio::time::sleep(KEEP_ALIVE)),
        }
    }

    /// Sends one event, under this stream's next id, and lets the body
    /// take it.
    async fn send_event(&mut self, body: &EventBody) -> Result<(), Overflow> {
        self.put_event(body)?;
        yield_to_body().await;
        Ok(())
    }

    /// Puts one event under this stream's next id, without yielding (for
    /// a batch of events). The body's bytes are the hub's, shared; only
    /// the `id:` line is this stream's.
    fn put_event(&mut self, body: &EventBody) -> Result<(), Overflow> {
        let id = self.ids.next_line();
        self.outbox.push_all([id, body.bytes().clone()])?;
        self.keep_alive
            .as_mut()
            .reset(tokio::time::Instant::now() + KEEP_ALIVE);
        Ok(())
    }

    /// Puts bytes already spelled as the wire format wants them (a batch
    /// of events written with [`EventIds::write`], a keep-alive), without
    /// yielding.
    fn put(&mut self, frame: Bytes) -> Result<(), Overflow> {
        self.outbox.push(frame)?;
        self.keep_alive
            .as_mut()
            .reset(tokio::time::Instant::now() + KEEP_ALIVE);
        Ok(())
    }

    /// The last word to a client that fell behind: everything waiting is
    /// dropped, and `resync` tells it to reconnect and start again from a
    /// fresh snapshot (a browser's EventSource reconnects by itself once
    /// the stream ends). Without an `id:` the client's last event id stays.
    fn resync_and_close(&mut self) {
        tracing::info!("an event stream fell behind: told to resync and closed");
        crate::server::metrics::event_stream_cut();
        self.outbox.replace_all(Bytes::from_static(frame::RESYNC));
    }

    /// Waits for the next event. `received` comes pinned by the caller
    /// (as [`Connection::wait_for`]'s `until` does).
    async fn wait(
        &mut self,
        received: impl Future<Output = Result<Arc<Published>, RecvError>> + Unpin,
    ) -> Wait {
        match self.wait_for(received).await {
            Ok(Ok(published)) => Wait::Event(published),
            Ok(Err(RecvError::Lagged(_))) => Wait::Behind,
            Ok(Err(RecvError::Closed)) => Wait::Stop,
            Err(wait) => wait,
        }
    }

    /// After a failed database read: pauses before the next try, or says
    /// the stream should close (`false`: the read failed [`READ_RETRIES`]
    /// times, or the server is stopping). A database restart or failover
    /// drops every pooled connection at once; a read a moment later
    /// usually lands, and the page keeps its stream instead of
    /// reconnecting with every other page at the same moment.
    async fn pause_before_retry(&mut self, failures: u32) -> bool {
        if failures > READ_RETRIES {
            return false;
        }
        let pause = Duration::from_millis(100) * 2u32.pow(failures - 1);
        match self
            .wait_for(std::pin::pin!(tokio::time::sleep(pause)))
            .await
        {
            // A resync asks for the same read: try now.
            Ok(()) | Err(Wait::Resync) => true,
            Err(_) => false,
        }
    }

    /// Waits for `until`, sending keep-alives meanwhile; `Err` when
    /// something else must happen first (shutdown, resync, too far behind).
    ///
    /// `until` comes pinned by the caller (`pin!(recv())`): an async fn
    /// keeps its arguments for its whole life, so a future passed by value
    /// and pinned here would be held twice, and once more by `wait`. A
    /// stream holds this wait for its whole idle life.
    async fn wait_for<T>(&mut self, mut until: impl Future<Output = T> + Unpin) -> Result<T, Wait> {
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return Err(Wait::Stop),
                _ = self.resync.changed() => return Err(Wait::Resync),
                _ = self.keep_alive.as_mut() => {
                    if self.put(Bytes::from_static(frame::KEEP_ALIVE)).is_err() {
                        return Err(Wait::Behind);
                    }
                    yield_to_body().await;
                }
                done = &mut until => return Ok(done),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;

    async fn next(stream: &mut EventStream) -> Option<Bytes> {
        std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_frame(cx))
            .await
            .map(|frame| frame.unwrap().into_data().unwrap())
    }

    fn body(producer: impl Future<Output = ()> + Send + 'static, outbox: Outbox) -> EventStream {
        EventStream {
            producer: Box::pin(producer),
            outbox,
            finished: false,
        }
    }

    #[tokio::test]
    async fn a_driven_stream_hands_out_every_frame_put_and_ends_with_its_producer() {
        let outbox = Outbox::new(1024);
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let writer = outbox.clone();
        let mut stream = body(
            async move {
                writer.push(Bytes::from_static(b"1")).unwrap();
                writer.push(Bytes::from_static(b"2")).unwrap();
                yield_to_body().await;
                // Truly pending: the stream must be woken, not polled in a loop.
                let _ = wait.await;
                writer.push(Bytes::from_static(b"3")).unwrap();
            },
            outbox,
        );
        assert_eq!(next(&mut stream).await.unwrap(), "1");
        assert_eq!(next(&mut stream).await.unwrap(), "2");
        let third = tokio::time::timeout(Duration::from_millis(50), next(&mut stream)).await;
        assert!(
            third.is_err(),
            "nothing to hand out while the producer waits"
        );
        go.send(()).unwrap();
        assert_eq!(next(&mut stream).await.unwrap(), "3");
        assert!(
            next(&mut stream).await.is_none(),
            "the stream ends with its producer"
        );
    }

    #[test]
    fn an_event_and_its_id_line_go_in_together_whatever_their_size() {
        let outbox = Outbox::new(10);
        outbox
            .push_all([Bytes::from_static(b"id: 1\n"), Bytes::from(vec![b'x'; 100])])
            .unwrap();
        assert!(
            outbox
                .push_all([Bytes::from_static(b"id: 2\n"), Bytes::from_static(b"y")])
                .is_err(),
            "over the cap, and nothing of it is queued"
        );
        assert_eq!(outbox.take().unwrap(), "id: 1\n");
        assert_eq!(outbox.take().unwrap().len(), 100);
        assert!(outbox.take().is_none());
    }

    #[test]
    fn the_outbox_takes_one_frame_of_any_size_then_caps_bytes() {
        let outbox = Outbox::new(10);
        outbox.push(Bytes::from(vec![b'x'; 100])).unwrap();
        assert!(
            outbox.push(Bytes::from_static(b"y")).is_err(),
            "over the cap"
        );
        assert_eq!(outbox.take().unwrap().len(), 100);
        outbox.push(Bytes::from_static(b"12345")).unwrap();
        outbox.push(Bytes::from_static(b"12345")).unwrap();
        assert!(outbox.push(Bytes::from_static(b"1")).is_err());
        outbox.replace_all(Bytes::from_static(b"last"));
        assert_eq!(outbox.take().unwrap(), "last");
        assert!(outbox.take().is_none());
    }
}
