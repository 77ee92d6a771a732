//! What the server pushes about a snippet, and how it is spelled on the
//! wire: the SSE event name is [`SnippetEvent::name`], its data the JSON of
//! the payload with the snippet's `id` added (so one stream can carry
//! several snippets).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{GoneReason, JobState, Progress, RevisionInfo, SnippetId, SnippetSummary};

/// Where a revision's job stands. (`revision` is 0 in events from before
/// revisions existed; every event of this server names one.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateChanged {
    pub state: JobState,
    pub progress: Option<Progress>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::maybe_utc")
    )]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub revision: u32,
}

/// How far a revision's job got: bytes of all its files, and the file it
/// is on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progressed {
    #[serde(default)]
    pub revision: u32,
    pub done: u32,
    pub total: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Progressed {
    pub fn progress(&self) -> Progress {
        Progress {
            done: self.done,
            total: self.total,
        }
    }
}

/// A revision is highlighted. A one-file revision's HTML comes with it
/// (as it did before snippets had several files); the files of a larger
/// one come before it, one `file` event each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Highlighted {
    #[serde(default)]
    pub revision: u32,
    pub html: String,
    /// The first file's language.
    pub language: String,
    pub highlighted_in_ms: u64,
}

/// One file of a revision, highlighted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileHighlighted {
    pub revision: u32,
    pub name: String,
    /// Its content's hash: a page that shows a file with this hash already
    /// has this HTML.
    pub hash: String,
    pub language: String,
    pub html: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Retrying {
    pub error: String,
    pub attempt: u32,
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub next_attempt_at: DateTime<Utc>,
    #[serde(default)]
    pub revision: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failed {
    pub error: String,
    pub attempts: u32,
    #[serde(default)]
    pub revision: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deleted {
    pub reason: GoneReason,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SnippetEvent {
    /// Where the job stands. Always the first event of a connection.
    State(StateChanged),
    /// Bytes highlighted so far; throttled by the worker.
    Progress(Progressed),
    /// A new revision was saved: its number and files (never their code).
    Revision(RevisionInfo),
    /// One file of a revision, highlighted (revisions of several files).
    File(FileHighlighted),
    /// Final: the result. A stream ends after it.
    Highlighted(Highlighted),
    /// An attempt failed; another is scheduled.
    Retrying(Retrying),
    /// Final: no more attempts. A stream ends after it.
    Failed(Failed),
    /// A new snippet (on the list stream only: `created` for a public one,
    /// `yours` for one of the stream's owner).
    Created(SnippetSummary),
    /// Final: the snippet is gone (deleted, expired, or burned after its
    /// one reading). A stream ends after it; lists drop the row.
    Deleted(Deleted),
}

#[derive(Serialize)]
struct WithId<'a, T: Serialize> {
    id: &'a SnippetId,
    #[serde(flatten)]
    body: &'a T,
}

impl SnippetEvent {
    /// A change of state with nothing else to say (no progress, no retry
    /// time): what claims, releases and requeues announce.
    pub fn state(state: JobState, attempts: u32, revision: u32) -> Self {
        SnippetEvent::State(StateChanged {
            state,
            progress: None,
            attempts,
            next_attempt_at: None,
            revision,
        })
    }

    /// The revision an event is about (0 for `created` and `deleted`,
    /// which are about the snippet).
    pub fn revision(&self) -> u32 {
        match self {
            SnippetEvent::State(s) => s.revision,
            SnippetEvent::Progress(p) => p.revision,
            SnippetEvent::Revision(r) => r.number,
            SnippetEvent::File(f) => f.revision,
            SnippetEvent::Highlighted(h) => h.revision,
            SnippetEvent::Retrying(r) => r.revision,
            SnippetEvent::Failed(f) => f.revision,
            SnippetEvent::Created(_) | SnippetEvent::Deleted(_) => 0,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            SnippetEvent::State(_) => "state",
            SnippetEvent::Progress(_) => "progress",
            SnippetEvent::Revision(_) => "revision",
            SnippetEvent::File(_) => "file",
            SnippetEvent::Highlighted(_) => "highlighted",
            SnippetEvent::Retrying(_) => "retrying",
            SnippetEvent::Failed(_) => "failed",
            SnippetEvent::Created(_) => "created",
            SnippetEvent::Deleted(_) => "deleted",
        }
    }

    /// After a final event nothing more happens to the snippet on its own.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            SnippetEvent::Highlighted(_) | SnippetEvent::Failed(_) | SnippetEvent::Deleted(_)
        )
    }

    /// What a list of snippets is sent instead of this event: the same,
    /// but a `highlighted` or `file` without its HTML. A row shows the
    /// state; sending every page's code to every open home page would cost
    /// the server and each browser the whole result, many times a second.
    /// (A page showing the snippet gets its files' HTML from `file` events,
    /// and the one-file HTML of `highlighted` from its own stream.)
    pub fn to_list_json(&self, id: &SnippetId) -> String {
        self.without_html().to_json(id)
    }

    /// The same event without any HTML it carries.
    pub fn without_html(&self) -> SnippetEvent {
        match self {
            SnippetEvent::Highlighted(h) => SnippetEvent::Highlighted(Highlighted {
                html: String::new(),
                ..h.clone()
            }),
            SnippetEvent::File(f) => SnippetEvent::File(FileHighlighted {
                html: String::new(),
                rendered: None,
                ..f.clone()
            }),
            other => other.clone(),
        }
    }

    /// Whether the event carries HTML (which lists and notices leave out).
    pub fn carries_html(&self) -> bool {
        matches!(self, SnippetEvent::Highlighted(_) | SnippetEvent::File(_))
    }

    /// The SSE `data:` line: the payload's JSON with the snippet id added.
    pub fn to_json(&self, id: &SnippetId) -> String {
        fn json<T: Serialize>(id: &SnippetId, body: &T) -> String {
            serde_json::to_string(&WithId { id, body })
                .expect("event payloads are plain data and always serialise")
        }
        match self {
            SnippetEvent::State(body) => json(id, body),
            SnippetEvent::Progress(body) => json(id, body),
            SnippetEvent::Revision(body) => json(id, body),
            SnippetEvent::File(body) => json(id, body),
            SnippetEvent::Highlighted(body) => json(id, body),
            SnippetEvent::Retrying(body) => json(id, body),
            SnippetEvent::Failed(body) => json(id, body),
            SnippetEvent::Deleted(body) => json(id, body),
            // A summary carries its id already.
            SnippetEvent::Created(body) => serde_json::to_string(body)
                .expect("event payloads are plain data and always serialise"),
        }
    }

    /// The snippet an event's `data:` is about: the `id` that
    /// [`to_json`](Self::to_json) adds (a `created` summary has its own).
    pub fn addressed_to(data: &str) -> Option<SnippetId> {
        #[derive(Deserialize)]
        struct Addressed {
            id: SnippetId,
        }
        serde_json::from_str::<Addressed>(data).ok().map(|a| a.id)
    }

    /// The inverse of [`name`](Self::name) and [`to_json`](Self::to_json),
    /// for clients. Unknown names are `None`: newer servers may add events.
    pub fn parse(name: &str, data: &str) -> Option<Result<Self, serde_json::Error>> {
        Some(match name {
            "state" => serde_json::from_str(data).map(SnippetEvent::State),
            "progress" => serde_json::from_str(data).map(SnippetEvent::Progress),
            "revision" => serde_json::from_str(data).map(SnippetEvent::Revision),
            "file" => serde_json::from_str(data).map(SnippetEvent::File),
            "highlighted" => serde_json::from_str(data).map(SnippetEvent::Highlighted),
            "retrying" => serde_json::from_str(data).map(SnippetEvent::Retrying),
            "failed" => serde_json::from_str(data).map(SnippetEvent::Failed),
            "created" | "yours" => serde_json::from_str(data).map(SnippetEvent::Created),
            "deleted" => serde_json::from_str(data).map(SnippetEvent::Deleted),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlighted_round_trips_and_carries_the_id() {
        let id = SnippetId::parse("abcdefABCDEF").unwrap();
        let event = SnippetEvent::Highlighted(Highlighted {
            revision: 1,
            html: "<pre>x</pre>".into(),
            language: "Rust".into(),
            highlighted_in_ms: 3,
        });
        let json = event.to_json(&id);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["id"], "abcdefABCDEF");
        assert_eq!(value["html"], "<pre>x</pre>");
        assert_eq!(value["highlighted_in_ms"], 3);
        let back = SnippetEvent::parse(event.name(), &json).unwrap().unwrap();
        assert_eq!(back, event);
        assert_eq!(SnippetEvent::addressed_to(&json), Some(id));
        assert_eq!(SnippetEvent::addressed_to(r#"{"id":"not an id"}"#), None);
        assert_eq!(SnippetEvent::addressed_to("{}"), None);
    }

    #[test]
    fn state_event_spells_state_in_lowercase() {
        let id = SnippetId::parse("abcdefABCDEF").unwrap();
        let json = SnippetEvent::State(StateChanged {
            state: JobState::Processing,
            progress: Some(Progress { done: 2, total: 5 }),
            attempts: 1,
            next_attempt_at: None,
            revision: 1,
        })
        .to_json(&id);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["state"], "processing");
        assert_eq!(value["progress"]["done"], 2);
    }
}
