//! The relay: one loop per node that LISTENs on PostgreSQL and feeds the
//! node's hub, so a stream held by node A hears of a job node C ran. A
//! node's own events are already in its hub (the bus put them there), so
//! its own notices are skipped. The publisher, at the end of this file,
//! sends what the bus queued.
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
    bus::{DecodedNotice, decode_notice},
};
use crate::{
    domain::{JobState, SnippetEvent},
    server::store::{DynSnippetStore, NOTICE_CHANNEL, pack_notices},
};

pub struct Relay {
    pub pool: PgPool,
    pub snippets: DynSnippetStore,
    pub hub: Arc<Hub>,
    pub wake: Arc<Notify>,
    /// This node's id, as its own notices name their sender.
    pub node_id: String,
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
                    Ok(Some(notification)) => {
                        for notice in notification.payload().lines() {
                            self.deliver(notice).await;
                        }
                    }
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
        listener.listen(NOTICE_CHANNEL).await?;
        Ok(listener)
    }

    async fn deliver(&self, payload: &str) {
        // The queue moved somewhere, whether or not anyone here follows
        // this snippet.
        self.hub.touch();
        let Some(DecodedNotice {
            from,
            id,
            event,
            owner,
        }) = decode_notice(payload)
        else {
            tracing::warn!(payload, "relay got a notice it cannot read");
            return;
        };
        if from == self.node_id {
            return;
        }
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
            // The notice leaves the HTML out. Lists never show it; read it
            // once for this node, and only if a stream here shows this
            // snippet (the hub drops what nobody follows).
            SnippetEvent::Highlighted(h) if !self.hub.follows(&id) => SnippetEvent::Highlighted(h),
            SnippetEvent::Highlighted(h) => {
                match self.snippets.snippet_revision(&id, h.revision).await {
                    Ok(Some(stored)) if stored.view.state == JobState::Succeeded => {
                        for event in stored.view.file_events() {
                            self.hub.publish(&id, event);
                        }
                        SnippetEvent::Highlighted(stored.view.highlighted())
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
            // A new revision's notice names it only: its files, and the
            // lines it changed, are read here for the pages that show it.
            SnippetEvent::Revision(r) if !self.hub.follows(&id) => SnippetEvent::Revision(r),
            SnippetEvent::Revision(r) => match self.revision_event(&id, r.number).await {
                Ok(Some(event)) => event,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!(error = ?e, snippet = %id, "relay could not read a revision; resyncing streams");
                    self.hub.resync_all();
                    return;
                }
            },
            other => other,
        };
        self.hub.publish(&id, event);
    }
}

impl Relay {
    /// The `revision` event of revision `number`, as the node that saved
    /// it published it: its files, and the lines it changed against the
    /// one before. `None` when it is gone since.
    async fn revision_event(
        &self,
        id: &crate::domain::SnippetId,
        number: u32,
    ) -> Result<Option<SnippetEvent>, crate::server::store::StoreError> {
        let Some(new) = self.snippets.snippet_revision(id, number).await? else {
            return Ok(None);
        };
        let old = match number {
            1 => None,
            n => self.snippets.snippet_revision(id, n - 1).await?,
        };
        let info = crate::server::diff::revision_info(&new.view, old.as_ref().map(|o| &o.view));
        Ok(Some(SnippetEvent::Revision(info)))
    }
}

/// Notices sent in one transaction, at most.
const MAX_BATCH: usize = 512;

/// Sends the notices the bus queues, in order, on a pooled connection:
/// all that are waiting in one transaction, packed into as few NOTIFYs as
/// fit. Its commit need not wait for the disk (`synchronous_commit =
/// off`): a notice is a hint, and a crash that loses it loses the
/// listeners' connections too, which makes every node resync.
pub async fn publisher(
    pool: PgPool,
    mut outbox: mpsc::UnboundedReceiver<String>,
    shutdown: CancellationToken,
) {
    let mut waiting = Vec::with_capacity(MAX_BATCH);
    loop {
        tokio::select! {
            received = outbox.recv_many(&mut waiting, MAX_BATCH) => if received == 0 {
                return;
            },
            _ = shutdown.cancelled() => return,
        }
        let payloads = pack_notices(waiting.drain(..));
        if let Err(e) = notify(&pool, &payloads).await {
            // Hints lost; streams resync when the relay reconnects.
            tracing::warn!(error = ?e, notices = payloads.len(), "could not NOTIFY events");
        }
    }
}

async fn notify(pool: &PgPool, payloads: &[String]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    for payload in payloads {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(NOTICE_CHANNEL)
            .bind(payload)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}
