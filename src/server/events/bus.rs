//! The event bus: how a change becomes events on every node's hub.
//!
//! With SQLite (one node) an event goes straight into this process's hub.
//! With PostgreSQL (several nodes) it goes out as a `NOTIFY` on
//! [`CHANNEL`], and every node's relay (this one's too) puts it into its
//! own hub. Payloads stay small, well under NOTIFY's 8000-byte cap: ids,
//! states, progress, short error sentences, never the HTML. A node that
//! needs the HTML reads it from the database.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::Hub;
use crate::domain::{Highlighted, SnippetEvent, SnippetId};

/// The PostgreSQL channel every node listens on.
pub const CHANNEL: &str = "highlighter_events";

/// Error sentences in notices are cut to this many characters.
const MAX_ERROR_CHARS: usize = 1000;

#[derive(Clone)]
pub struct EventBus {
    hub: Arc<Hub>,
    /// Notices waiting to be sent by the publisher task, in order.
    remote: Option<mpsc::UnboundedSender<String>>,
}

impl EventBus {
    /// Events stay in this process.
    pub fn local(hub: Arc<Hub>) -> Self {
        EventBus { hub, remote: None }
    }

    /// Events go through PostgreSQL; `outbox` is drained by the publisher.
    pub fn postgres(hub: Arc<Hub>, outbox: mpsc::UnboundedSender<String>) -> Self {
        EventBus {
            hub,
            remote: Some(outbox),
        }
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Publishes an event about a change that is already committed.
    pub fn publish(&self, id: &SnippetId, event: SnippetEvent) {
        match &self.remote {
            None => self.hub.publish(id, event),
            Some(outbox) => {
                let _ = outbox.send(encode_notice(id, &event));
            }
        }
    }

    /// Publishes a completion. On PostgreSQL the store already sent its
    /// notice inside the completing transaction, so there is nothing to do.
    pub fn publish_completed(&self, id: &SnippetId, event: SnippetEvent) {
        if self.remote.is_none() {
            self.hub.publish(id, event);
        }
    }
}

/// The NOTIFY payload of an event: `{"id", "event", "data"}`, with the HTML
/// of a result left out and long error sentences cut.
pub fn encode_notice(id: &SnippetId, event: &SnippetEvent) -> String {
    let slim = match event {
        SnippetEvent::Highlighted(h) => SnippetEvent::Highlighted(Highlighted {
            html: String::new(),
            language: h.language.clone(),
            highlighted_in_ms: h.highlighted_in_ms,
        }),
        SnippetEvent::Retrying(r) => {
            let mut r = r.clone();
            r.error = r.error.chars().take(MAX_ERROR_CHARS).collect();
            SnippetEvent::Retrying(r)
        }
        SnippetEvent::Failed(f) => {
            let mut f = f.clone();
            f.error = f.error.chars().take(MAX_ERROR_CHARS).collect();
            SnippetEvent::Failed(f)
        }
        other => other.clone(),
    };
    serde_json::json!({ "id": id, "event": slim.name(), "data": slim.to_json(id) }).to_string()
}

/// The inverse of [`encode_notice`]. A `highlighted` event comes back
/// without its HTML: the relay fills it in from the database.
pub fn decode_notice(payload: &str) -> Option<(SnippetId, SnippetEvent)> {
    let value: serde_json::Value = serde_json::from_str(payload).ok()?;
    let id = SnippetId::parse(value.get("id")?.as_str()?).ok()?;
    let event =
        SnippetEvent::parse(value.get("event")?.as_str()?, value.get("data")?.as_str()?)?.ok()?;
    Some((id, event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Failed, Progress};

    #[test]
    fn notices_round_trip_small() {
        let id = SnippetId::parse("abcdefabcdef").unwrap();
        let progress = SnippetEvent::Progress(Progress { done: 3, total: 9 });
        assert_eq!(
            decode_notice(&encode_notice(&id, &progress)),
            Some((id.clone(), progress))
        );

        let big = SnippetEvent::Highlighted(Highlighted {
            html: "<span>x</span>".repeat(100_000),
            language: "Rust".into(),
            highlighted_in_ms: 4,
        });
        let notice = encode_notice(&id, &big);
        assert!(notice.len() < 8000, "NOTIFY caps payloads at 8000 bytes");
        match decode_notice(&notice) {
            Some((_, SnippetEvent::Highlighted(h))) => {
                assert!(h.html.is_empty());
                assert_eq!(h.language, "Rust");
            }
            other => panic!("{other:?}"),
        }

        let failed = SnippetEvent::Failed(Failed {
            error: "e".repeat(50_000),
            attempts: 5,
        });
        assert!(encode_notice(&id, &failed).len() < 8000);
    }
}
