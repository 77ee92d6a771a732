//! The event bus: how a change becomes events on every node's hub.
//!
//! An event goes straight into this process's hub, whole (a result with
//! its HTML). With PostgreSQL (several nodes) it also goes out as a notice
//! on the store's [`NOTICE_CHANNEL`](crate::server::store::NOTICE_CHANNEL),
//! and every other node's relay puts it into its own hub.
//!
//! This file owns the wire format. A notice is one line of JSON: who sent
//! it (so a relay skips its own node's), the event's name, and its data as
//! the streams send it (an object with the id inside). Notices stay small:
//! ids, states, progress, short error sentences, never the HTML, which a
//! node that needs it reads from the database. The publisher sends the
//! notices waiting at once as few `NOTIFY`s as fit NOTIFY's 8000-byte cap,
//! one line each: a `NOTIFY` is a commit of its own, and one per event
//! would make commits the limit of a busy queue. A completion's notice
//! instead goes out with the commit that stores the result, so other nodes
//! hear of it if and only if it is stored.

use std::sync::Arc;

use tokio::sync::mpsc;

use serde::{Deserialize, Serialize};

use super::Hub;
use crate::{
    domain::{SnippetEvent, SnippetId, SnippetSummary},
    server::owner::OwnerHash,
};

/// Error sentences in notices are cut to this many characters.
const MAX_ERROR_CHARS: usize = 1000;

#[derive(Clone)]
pub struct EventBus {
    hub: Arc<Hub>,
    remote: Option<Remote>,
}

/// Where notices for other nodes go.
#[derive(Clone)]
struct Remote {
    /// Notices waiting to be sent by the publisher task, in order.
    outbox: mpsc::UnboundedSender<String>,
    /// Names this node in its notices.
    sender: Arc<str>,
}

impl EventBus {
    /// Events stay in this process.
    pub fn local(hub: Arc<Hub>) -> Self {
        EventBus { hub, remote: None }
    }

    /// Events also go to other nodes through PostgreSQL; `outbox` is
    /// drained by the publisher, and `sender` (this node's id) is how this
    /// node's relay knows its own notices.
    pub fn postgres(hub: Arc<Hub>, outbox: mpsc::UnboundedSender<String>, sender: &str) -> Self {
        EventBus {
            hub,
            remote: Some(Remote {
                outbox,
                sender: sender.into(),
            }),
        }
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Publishes an event about a change that is already committed.
    pub fn publish(&self, id: &SnippetId, event: SnippetEvent) {
        if let Some(remote) = &self.remote {
            remote.send(encode_notice(&remote.sender, id, &event, None));
        }
        self.hub.publish(id, event);
    }

    /// The notice of an event whose change the caller commits itself, to
    /// go out with that commit (a completion: see `JobStore::complete_jobs`);
    /// `None` where events stay in this process.
    pub fn notice_for(&self, id: &SnippetId, event: &SnippetEvent) -> Option<String> {
        self.remote
            .as_ref()
            .map(|remote| encode_notice(&remote.sender, id, event, None))
    }

    /// Publishes an event whose notice, if it needed one, went out with
    /// its commit ([`notice_for`](Self::notice_for)): only this node's
    /// hub is left to tell.
    pub fn publish_committed(&self, id: &SnippetId, event: SnippetEvent) {
        self.hub.publish(id, event);
    }

    /// Announces a new snippet to the list streams that may hear of it
    /// (see [`Hub::publish_created`]).
    pub fn publish_created(&self, summary: SnippetSummary, owner: Option<OwnerHash>) {
        if let Some(remote) = &self.remote {
            let id = summary.id.clone();
            remote.send(encode_notice(
                &remote.sender,
                &id,
                &SnippetEvent::Created(summary.clone()),
                owner.as_ref(),
            ));
        }
        self.hub.publish_created(summary, owner);
    }
}

impl Remote {
    /// Hands a notice to the publisher. It is gone only when the node is
    /// stopping (or its publisher died, which the node's supervision
    /// reports): other nodes then miss this event and catch up when their
    /// streams next read a snapshot.
    fn send(&self, notice: String) {
        if self.outbox.send(notice).is_err() {
            tracing::warn!("the notice publisher is gone: an event did not reach the other nodes");
            crate::server::metrics::notice_dropped("closed", 1);
        }
    }
}

/// One notice: the node that sent it, the event's name, its data as the
/// streams send it (an object, with the id inside), and for `created` the
/// owner who may hear of an unlisted snippet.
#[derive(Serialize, Deserialize)]
struct Notice<'a> {
    from: &'a str,
    event: &'a str,
    data: Box<serde_json::value::RawValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
}

/// The NOTIFY payload of an event, with the HTML of a result left out, a
/// revision's files left out, and long error sentences cut.
pub fn encode_notice(
    from: &str,
    id: &SnippetId,
    event: &SnippetEvent,
    owner: Option<&OwnerHash>,
) -> String {
    let slim = match event {
        SnippetEvent::Highlighted(_) | SnippetEvent::File(_) => event.without_html(),
        // Its files and changed lines may not fit: the relay reads them.
        SnippetEvent::Revision(r) => SnippetEvent::Revision(crate::domain::RevisionInfo {
            files: Vec::new(),
            changed: Vec::new(),
            ..r.clone()
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
        from,
        event: slim.name(),
        data: serde_json::value::RawValue::from_string(slim.to_json(id))
            .expect("event JSON is valid JSON"),
        owner: owner.map(|o| o.as_str().to_owned()),
    };
    serde_json::to_string(&notice).expect("a notice is plain data and always serialises")
}

/// A notice read back: who sent it, the snippet, its event, and for
/// `created` its owner.
#[derive(Debug, PartialEq)]
pub struct DecodedNotice {
    pub from: String,
    pub id: SnippetId,
    pub event: SnippetEvent,
    pub owner: Option<OwnerHash>,
}

/// The inverse of [`encode_notice`], for one line of a payload. A
/// `highlighted` event comes back without its HTML: the relay fills it in
/// from the database where a stream needs it.
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
        from: notice.from.to_owned(),
        id,
        event,
        owner: notice.owner.and_then(OwnerHash::from_stored),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Failed, Highlighted, Progressed};

    #[test]
    fn notices_round_trip_small() {
        let id = SnippetId::parse("abcdefabcdef").unwrap();
        let progress = SnippetEvent::Progress(Progressed {
            revision: 1,
            done: 3,
            total: 9,
            file: Some("main.rs".into()),
        });
        let notice = encode_notice("node-a", &id, &progress, None);
        assert!(
            !notice.contains("\\\""),
            "the data is an object, not JSON in a string: {notice}"
        );
        assert_eq!(
            decode_notice(&notice),
            Some(DecodedNotice {
                from: "node-a".into(),
                id: id.clone(),
                event: progress,
                owner: None
            })
        );

        let big = SnippetEvent::Highlighted(Highlighted {
            revision: 1,
            html: "<span>x</span>".repeat(100_000),
            language: "Rust".into(),
            highlighted_in_ms: 4,
        });
        let notice = encode_notice("node-a", &id, &big, None);
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
            revision: 1,
        });
        assert!(encode_notice("node-a", &id, &failed, None).len() < 8000);
    }

    #[test]
    fn a_created_notice_carries_its_owner() {
        let owner = crate::server::owner::OwnerSecret::random().hash();
        let summary = SnippetSummary {
            id: SnippetId::parse("abcdefabcdef").unwrap(),
            language: "Rust".into(),
            filename: None,
            preview: "fn main".into(),
            files: 1,
            lines: 1,
            state: crate::domain::JobState::Queued,
            progress: None,
            created_at: chrono::Utc::now(),
            visibility: crate::domain::Visibility::Unlisted,
        };
        let notice = encode_notice(
            "node-a",
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
