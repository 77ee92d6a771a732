//! The relay: one loop per node that LISTENs on PostgreSQL and feeds the
//! node's hub, so a stream held by node A hears of a job node C ran.
//!
//! NOTIFY is not durable: while the LISTEN connection is down, notices are
//! lost. That is fine because events are only hints. When the connection
//! comes back, every open stream on this node is told to resync from a
//! fresh snapshot (what a SignalR backplane would have lost, we re-read).
//! Notices about new or requeued jobs also wake this node's workers.

use std::{sync::Arc, time::Duration};

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::{
    Hub,
    bus::{CHANNEL, DecodedNotice, decode_notice},
};
use crate::{
    domain::{Highlighted, JobState, SnippetEvent},
    server::store::DynStore,
};

pub struct Relay {
    pub pool: PgPool,
    pub store: DynStore,
    pub hub: Arc<Hub>,
    pub wake: Arc<Notify>,
}

impl Relay {
    /// Listens until shutdown, reconnecting with backoff.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut failures = 0u32;
        loop {
            let mut listener = match self.connect().await {
                Ok(listener) => listener,
                Err(e) => {
                    failures += 1;
                    let pause = Duration::from_millis(100 * 2u64.pow(failures.min(6)));
                    tracing::warn!(error = ?e, ?pause, "relay cannot LISTEN; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(pause) => continue,
                    }
                }
            };
            failures = 0;
            tracing::info!("relay listening; resyncing open streams");
            // Whatever was notified while we were not listening is lost:
            // every open stream re-reads its snapshot, and idle workers
            // look for jobs.
            self.hub.resync_all();
            self.wake.notify_one();
            loop {
                let received = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    received = listener.try_recv() => received,
                };
                match received {
                    Ok(Some(notification)) => self.deliver(notification.payload()).await,
                    // `None`: the connection dropped (and notices with it).
                    Ok(None) | Err(_) => {
                        tracing::warn!("relay lost its LISTEN connection");
                        break;
                    }
                }
            }
        }
    }

    async fn connect(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        // We reconnect ourselves, so that we know to resync.
        listener.ignore_pool_close_event(false);
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }

    async fn deliver(&self, payload: &str) {
        // The queue moved somewhere, whether or not anyone here follows
        // this snippet.
        self.hub.touch();
        let Some(DecodedNotice { id, event, owner }) = decode_notice(payload) else {
            tracing::warn!(payload, "relay got a notice it cannot read");
            return;
        };
        let event = match event {
            SnippetEvent::Created(summary) => {
                self.wake.notify_one();
                self.hub.publish_created(summary, owner);
                return;
            }
            SnippetEvent::State(ref s) if s.state == JobState::Queued => {
                self.wake.notify_one();
                event
            }
            // The notice leaves the HTML out; read it once for this node,
            // and only if someone here is watching.
            SnippetEvent::Highlighted(h) => {
                if !self.hub.has_interest(&id) {
                    return;
                }
                match self.store.snippet(&id).await {
                    Ok(Some(stored)) if stored.view.state == JobState::Succeeded => {
                        let view = stored.view;
                        SnippetEvent::Highlighted(Highlighted {
                            html: view.html.unwrap_or_default(),
                            language: view.language,
                            highlighted_in_ms: view
                                .highlighted_in_ms
                                .unwrap_or(h.highlighted_in_ms),
                        })
                    }
                    // Requeued or deleted since: the notice of that follows.
                    Ok(_) => return,
                    Err(e) => {
                        // The streams waiting for this result must not wait
                        // forever: they re-read the database themselves.
                        tracing::error!(error = ?e, snippet = %id, "relay could not read a result; resyncing streams");
                        self.hub.resync_all();
                        return;
                    }
                }
            }
            other => other,
        };
        self.hub.publish(&id, event);
    }
}

/// Sends the notices the bus queues, in order, on a pooled connection.
pub async fn publisher(
    pool: PgPool,
    mut outbox: mpsc::UnboundedReceiver<String>,
    shutdown: CancellationToken,
) {
    loop {
        let payload = tokio::select! {
            payload = outbox.recv() => match payload {
                Some(payload) => payload,
                None => return,
            },
            _ = shutdown.cancelled() => return,
        };
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&payload)
            .execute(&pool)
            .await;
        if let Err(e) = sent {
            // A hint lost; streams resync when the relay reconnects.
            tracing::warn!(error = ?e, "could not NOTIFY an event");
        }
    }
}
