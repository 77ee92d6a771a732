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

use serde::{Deserialize, Serialize};

use super::Hub;
use crate::{
    domain::{Highlighted, SnippetEvent, SnippetId, SnippetSummary},
    server::owner::OwnerHash,
};

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
                let _ = outbox.send(encode_notice(id, &event, None));
            }
        }
    }

    /// Announces a new snippet to the list streams that may hear of it
    /// (see [`Hub::publish_created`]).
    pub fn publish_created(&self, summary: SnippetSummary, owner: Option<OwnerHash>) {
        match &self.remote {
            None => self.hub.publish_created(summary, owner),
            Some(outbox) => {
                let id = summary.id.clone();
                let _ = outbox.send(encode_notice(
                    &id,
                    &SnippetEvent::Created(summary),
                    owner.as_ref(),
                ));
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

/// A NOTIFY payload: the event's name, its data as the streams send it
/// (an object, with the id inside), and for `created` the owner who may
/// hear of an unlisted snippet.
#[derive(Serialize, Deserialize)]
struct Notice<'a> {
    event: &'a str,
    data: Box<serde_json::value::RawValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
}

/// The NOTIFY payload of an event, with the HTML of a result left out and
/// long error sentences cut.
pub fn encode_notice(id: &SnippetId, event: &SnippetEvent, owner: Option<&OwnerHash>) -> String {
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
    let notice = Notice {
        event: slim.name(),
        data: serde_json::value::RawValue::from_string(slim.to_json(id))
            .expect("event JSON is valid JSON"),
        owner: owner.map(|o| o.as_str().to_owned()),
    };
    serde_json::to_string(&notice).expect("a notice is plain data and always serialises")
}

/// A notice read back: the snippet, its event, and for `created` its owner.
#[derive(Debug, PartialEq)]
pub struct DecodedNotice {
    pub id: SnippetId,
    pub event: SnippetEvent,
    pub owner: Option<OwnerHash>,
}

/// The inverse of [`encode_notice`]. A `highlighted` event comes back
/// without its HTML: the relay fills it in from the database.
pub fn decode_notice(payload: &str) -> Option<DecodedNotice> {
    #[derive(Deserialize)]
    struct WithId {
        id: SnippetId,
    }
    let notice: Notice<'_> = serde_json::from_str(payload).ok()?;
    let data = notice.data.get();
    let event = SnippetEvent::parse(notice.event, data)?.ok()?;
    let id = match &event {
        SnippetEvent::Created(summary) => summary.id.clone(),
        _ => serde_json::from_str::<WithId>(data).ok()?.id,
    };
    Some(DecodedNotice {
        id,
        event,
        owner: notice.owner.and_then(OwnerHash::from_stored),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Failed, Progress};

    #[test]
    fn notices_round_trip_small() {
        let id = SnippetId::parse("abcdefabcdef").unwrap();
        let progress = SnippetEvent::Progress(Progress { done: 3, total: 9 });
        let notice = encode_notice(&id, &progress, None);
        assert!(
            !notice.contains("\\\""),
            "the data is an object, not JSON in a string: {notice}"
        );
        assert_eq!(
            decode_notice(&notice),
            Some(DecodedNotice {
                id: id.clone(),
                event: progress,
                owner: None
            })
        );

        let big = SnippetEvent::Highlighted(Highlighted {
            html: "<span>x</span>".repeat(100_000),
            language: "Rust".into(),
            highlighted_in_ms: 4,
        });
        let notice = encode_notice(&id, &big, None);
        assert!(notice.len() < 8000, "NOTIFY caps payloads at 8000 bytes");
        match decode_notice(&notice).map(|n| n.event) {
            Some(SnippetEvent::Highlighted(h)) => {
                assert!(h.html.is_empty());
                assert_eq!(h.language, "Rust");
            }
            other => panic!("{other:?}"),
        }

        let failed = SnippetEvent::Failed(Failed {
            error: "e".repeat(50_000),
            attempts: 5,
        });
        assert!(encode_notice(&id, &failed, None).len() < 8000);
    }

    #[test]
    fn a_created_notice_carries_its_owner() {
        let owner = crate::server::owner::OwnerSecret::random().hash();
        let summary = SnippetSummary {
            id: SnippetId::parse("abcdefabcdef").unwrap(),
            language: "Rust".into(),
            filename: None,
            preview: "fn main".into(),
            lines: 1,
            state: crate::domain::JobState::Queued,
            progress: None,
            created_at: chrono::Utc::now(),
            visibility: crate::domain::Visibility::Unlisted,
        };
        let notice = encode_notice(
            &summary.id,
            &SnippetEvent::Created(summary.clone()),
            Some(&owner),
        );
        let decoded = decode_notice(&notice).unwrap();
        assert_eq!(decoded.id, summary.id);
        assert_eq!(decoded.owner, Some(owner));
        assert_eq!(decoded.event, SnippetEvent::Created(summary));
    }
}
