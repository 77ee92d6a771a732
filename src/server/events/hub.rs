//! In-process fan-out of snippet events, one channel per snippet.
//!
//! A channel per snippet (rather than one for everything) means an event
//! wakes only the streams that show its snippet: with ten thousand open
//! pages, a progress tick costs one wake-up, not ten thousand. Channels are
//! made on first subscription and dropped with their last subscriber.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio::sync::broadcast;

use super::{EventBody, IdKey};
use crate::{
    domain::{SnippetEvent, SnippetId, SnippetSummary, Visibility},
    server::owner::OwnerHash,
};

/// Events a slow subscriber may fall behind by before it must resync from
/// the database (which is always possible: events are only hints).
const CHANNEL_CAPACITY: usize = 64;

/// One event, numbered and encoded once for every subscriber: however many
/// streams send it, its bytes exist once (they are shared, not copied).
#[derive(Debug)]
pub struct Published {
    /// Rises with every publish in this process: what tells a stream which
    /// events its snapshot already holds. (Never sent: each stream numbers
    /// its own events, see `frame.rs`.)
    pub seq: u64,
    /// The snippet, hashed once for the sets of every list stream.
    pub key: IdKey,
    pub event: SnippetEvent,
    /// The event as streams send it, but its `id:`.
    pub body: EventBody,
    /// The body for lists, and for readers who may not see the result
    /// (burn after reading): a `highlighted` without its HTML
    /// ([`SnippetEvent::to_list_json`]). The same bytes as `body` for
    /// every other event.
    pub list_body: EventBody,
    /// Who may hear of a `created` on a list stream.
    pub audience: Audience,
}

/// Who a new snippet is announced to. Unlisted snippets are never
/// announced to anyone but their owner's own pages.
#[derive(Clone, Debug)]
pub struct Audience {
    /// Listed: every open home page hears of it.
    pub public: bool,
    /// Its owner's home pages hear of it as `yours`, listed or not: the
    /// owner, and the `yours` event, encoded once.
    pub owner: Option<(OwnerHash, EventBody)>,
}

impl Published {
    pub fn snippet_id(&self) -> &SnippetId {
        self.key.id()
    }
}

/// Events the all-snippets channel may buffer per subscriber before it
/// must resync.
const ALL_CAPACITY: usize = 1024;

pub struct Hub {
    channels: Mutex<HashMap<SnippetId, broadcast::Sender<Arc<Published>>>>,
    /// Every event of every snippet, for streams that follow many (the
    /// home page's live list). Empty of receivers most of the time.
    all: broadcast::Sender<Arc<Published>>,
    seq: AtomicU64,
    /// Bumped when events may have been lost (the relay reconnected):
    /// every stream then re-reads its snapshot.
    resync: tokio::sync::watch::Sender<u64>,
    /// Bumped by every event, whoever listens: the operators' dashboard
    /// waits on it to know that the queue moved, without following every
    /// event (which would cost an encoded frame, and on PostgreSQL a read
    /// of every result, per event).
    activity: tokio::sync::watch::Sender<u64>,
    /// Told of every change (the page cache, which forgets what changed).
    observer: std::sync::OnceLock<Arc<dyn ChangeObserver>>,
}

/// Something that must know when a snippet may have changed: every event
/// published about it, and every resync (when events may have been lost).
pub trait ChangeObserver: Send + Sync {
    fn changed(&self, snippet_id: &SnippetId);
    fn all_may_have_changed(&self);
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            channels: Mutex::default(),
            all: broadcast::channel(ALL_CAPACITY).0,
            seq: AtomicU64::new(0),
            resync: tokio::sync::watch::channel(0).0,
            activity: tokio::sync::watch::channel(0).0,
            observer: std::sync::OnceLock::new(),
        }
    }
}

/// A live subscription to one snippet. Dropping it unsubscribes.
pub struct Subscription {
    hub: Arc<Hub>,
    snippet_id: SnippetId,
    receiver: Option<broadcast::Receiver<Arc<Published>>>,
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub::default())
    }

    /// Tells `observer` of every change from now on (one observer per hub).
    pub fn observe(&self, observer: Arc<dyn ChangeObserver>) {
        if self.observer.set(observer).is_err() {
            tracing::error!("the hub already has an observer; this one is ignored");
        }
    }

    /// The sequence number of the newest event published so far. Read it
    /// after subscribing and before reading a snapshot: every event at or
    /// below it was committed before the snapshot was read.
    pub fn current_seq(&self) -> u64 {
        self.seq.load(Ordering::SeqCst)
    }

    pub fn subscribe(self: &Arc<Self>, snippet_id: &SnippetId) -> Subscription {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        let receiver = channels
            .entry(snippet_id.clone())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe();
        Subscription {
            hub: Arc::clone(self),
            snippet_id: snippet_id.clone(),
            receiver: Some(receiver),
        }
    }

    /// Publishes an event to the snippet's subscribers, if it has any. Call
    /// it only after the change the event describes is committed.
    pub fn publish(&self, snippet_id: &SnippetId, event: SnippetEvent) {
        self.publish_to(snippet_id, event, false, None);
    }

    /// Announces a new snippet to the list streams allowed to hear of it:
    /// every one if it is public, its owner's if it has one.
    pub fn publish_created(&self, summary: SnippetSummary, owner: Option<OwnerHash>) {
        let public = summary.visibility == Visibility::Public;
        if !public && owner.is_none() {
            return;
        }
        let id = summary.id.clone();
        self.publish_to(&id, SnippetEvent::Created(summary), public, owner);
    }

    fn publish_to(
        &self,
        snippet_id: &SnippetId,
        event: SnippetEvent,
        public: bool,
        owner: Option<OwnerHash>,
    ) {
        self.touch();
        if let Some(observer) = self.observer.get() {
            observer.changed(snippet_id);
        }
        // The lock is held while numbering and sending so that sequence
        // order and delivery order agree for every subscriber.
        let channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let sender = channels.get(snippet_id);
        if sender.is_none() && self.all.receiver_count() == 0 {
            return;
        }
        let json = event.to_json(snippet_id);
        let body = EventBody::new(event.name(), &json);
        let list_body = if event.carries_html() {
            EventBody::new(event.name(), &event.to_list_json(snippet_id))
        } else {
            body.clone()
        };
        let audience = Audience {
            public,
            owner: owner.map(|owner| (owner, EventBody::new("yours", &json))),
        };
        let published = Arc::new(Published {
            seq,
            key: IdKey::new(snippet_id.clone()),
            event,
            body,
            list_body,
            audience,
        });
        if let Some(sender) = sender {
            let _ = sender.send(Arc::clone(&published));
        }
        let _ = self.all.send(published);
    }

    /// Says the queue moved, without an event (a pause, a relayed event
    /// nobody here follows).
    pub fn touch(&self) {
        self.activity.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes whenever the queue may have moved.
    pub fn activity_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.activity.subscribe()
    }

    /// Tells every open stream to re-read its snapshot.
    pub fn resync_all(&self) {
        if let Some(observer) = self.observer.get() {
            observer.all_may_have_changed();
        }
        self.resync.send_modify(|generation| *generation += 1);
    }

    /// Changes when streams must resync.
    pub fn resync_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.resync.subscribe()
    }

    /// Does a stream here show this snippet (not only a list)?
    pub fn follows(&self, snippet_id: &SnippetId) -> bool {
        self.channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(snippet_id)
    }

    /// Every event of every snippet from now on.
    pub fn subscribe_all(&self) -> broadcast::Receiver<Arc<Published>> {
        self.all.subscribe()
    }

    /// Snippets with at least one subscriber (for resyncing after a relay
    /// outage, and for tests).
    pub fn subscribed_count(&self) -> usize {
        self.channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

impl Subscription {
    pub fn snippet_id(&self) -> &SnippetId {
        &self.snippet_id
    }

    /// The next event. `Err(Lagged)` means events were missed: resync.
    pub async fn recv(&mut self) -> Result<Arc<Published>, broadcast::error::RecvError> {
        match self.receiver.as_mut() {
            Some(receiver) => receiver.recv().await,
            None => Err(broadcast::error::RecvError::Closed),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut channels = self.hub.channels.lock().unwrap_or_else(|p| p.into_inner());
        // Drop our receiver first, under the lock, so the count is exact.
        self.receiver.take();
        if let Some(sender) = channels.get(&self.snippet_id)
            && sender.receiver_count() == 0
        {
            channels.remove(&self.snippet_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> SnippetId {
        SnippetId::parse(&format!("aaaaaaaaaaa{n}")).unwrap()
    }

    #[tokio::test]
    async fn subscribers_get_only_their_snippets_events_in_order() {
        let hub = Hub::new();
        let mut one = hub.subscribe(&id(1));
        let mut two = hub.subscribe(&id(2));
        hub.publish(
            &id(1),
            SnippetEvent::Progress(crate::domain::Progressed {
                revision: 1,
                done: 1,
                total: 2,
                file: None,
            }),
        );
        hub.publish(
            &id(2),
            SnippetEvent::Progress(crate::domain::Progressed {
                revision: 1,
                done: 5,
                total: 9,
                file: None,
            }),
        );
        hub.publish(
            &id(1),
            SnippetEvent::Progress(crate::domain::Progressed {
                revision: 1,
                done: 2,
                total: 2,
                file: None,
            }),
        );
        let a = one.recv().await.unwrap();
        let b = one.recv().await.unwrap();
        assert!(a.seq < b.seq);
        assert_eq!(
            b.event,
            SnippetEvent::Progress(crate::domain::Progressed {
                revision: 1,
                done: 2,
                total: 2,
                file: None
            })
        );
        let c = two.recv().await.unwrap();
        assert_eq!(c.snippet_id(), &id(2));
        assert!(a.seq < c.seq && c.seq < b.seq);
    }

    #[tokio::test]
    async fn channels_go_away_with_their_last_subscriber() {
        let hub = Hub::new();
        let a = hub.subscribe(&id(1));
        let b = hub.subscribe(&id(1));
        assert_eq!(hub.subscribed_count(), 1);
        drop(a);
        assert_eq!(hub.subscribed_count(), 1);
        drop(b);
        assert_eq!(hub.subscribed_count(), 0);
        // Publishing to nobody still numbers the event.
        let before = hub.current_seq();
        hub.publish(
            &id(1),
            SnippetEvent::Progress(crate::domain::Progressed {
                revision: 1,
                done: 1,
                total: 1,
                file: None,
            }),
        );
        assert_eq!(hub.current_seq(), before + 1);
    }
}
