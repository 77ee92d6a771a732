//! What pages and API clients read about a snippet.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    Failed, GoneReason, Highlighted, JobState, Progress, SnippetEvent, SnippetId, StateChanged,
    Visibility,
};

/// Rows the home page's lists show (recent, and the reader's own).
pub const LIST_LENGTH: usize = 20;

/// Everything known about one snippet, read in one go from the database:
/// the snapshot a page renders and a stream starts from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SnippetView {
    pub id: SnippetId,
    /// The engine's name for the grammar, e.g. `Rust`.
    pub language: String,
    pub filename: Option<String>,
    pub code: String,
    pub state: JobState,
    pub progress: Option<Progress>,
    /// Attempts started so far, the current one included.
    pub attempts: u32,
    pub max_attempts: u32,
    /// When `state` is `retrying`: when the next attempt is due.
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::maybe_utc")
    )]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub created_at: DateTime<Utc>,
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::maybe_utc")
    )]
    pub highlighted_at: Option<DateTime<Utc>>,
    pub highlighted_in_ms: Option<u64>,
    /// The highlighted fragment, once `state` is `succeeded`.
    pub html: Option<String>,
    /// Why the last attempt failed, in words.
    pub error: Option<String>,
    /// When the snippet expires; `None` is never.
    #[serde(default)]
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::maybe_utc")
    )]
    pub expires_at: Option<DateTime<Utc>>,
    /// Listed on the front page, or reachable only by its link.
    #[serde(default)]
    pub visibility: Visibility,
    /// Deleted by the first reading of someone who is not its owner.
    #[serde(default)]
    pub burn_after_reading: bool,
    /// Whether the request that read this holds the owner's credentials
    /// (cookie or bearer token): the owner's controls show only then.
    #[serde(default)]
    pub is_owner: bool,
}

/// What a reader who is not the owner sees of a burn-after-reading
/// snippet before choosing to read it: enough to know what it is, none of
/// its content. Link previewers that fetch the page burn nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealedSnippet {
    pub id: SnippetId,
    pub language: String,
    pub filename: Option<String>,
    pub lines: u32,
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub created_at: DateTime<Utc>,
}

/// What a snippet page finds: the snippet, or why there is none.
// Built once per request and moved, never stored in bulk: boxing the big
// variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SnippetPage {
    Found(SnippetView),
    /// Burn after reading, and the reader is not the owner: shown only
    /// when they ask for it, once.
    Sealed(SealedSnippet),
    /// It existed and is gone, for this reason (410 Gone).
    Gone(GoneReason),
    /// It never existed (404).
    Missing,
}

impl SnippetView {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// The events that tell a new stream where this snapshot stands: its
    /// state, then its result if it has one.
    pub fn snapshot_events(&self) -> Vec<SnippetEvent> {
        let mut events = vec![SnippetEvent::State(StateChanged {
            state: self.state,
            progress: self.progress,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
        })];
        match self.state {
            JobState::Succeeded => events.push(SnippetEvent::Highlighted(Highlighted {
                html: self.html.clone().unwrap_or_default(),
                language: self.language.clone(),
                highlighted_in_ms: self.highlighted_in_ms.unwrap_or(0),
            })),
            JobState::Failed => events.push(SnippetEvent::Failed(Failed {
                error: self.error.clone().unwrap_or_default(),
                attempts: self.attempts,
            })),
            _ => {}
        }
        events
    }

    pub fn line_count(&self) -> u32 {
        super::source::line_count(&self.code)
    }

    /// What its page and the browser's tab call it.
    pub fn title(&self) -> String {
        title_of(self.filename.as_deref(), &self.id)
    }
}

impl SealedSnippet {
    /// What its page and the browser's tab call it, as for the snippet
    /// itself.
    pub fn title(&self) -> String {
        title_of(self.filename.as_deref(), &self.id)
    }
}

/// A snippet's file name, or "Snippet {id}" when it has none.
fn title_of(filename: Option<&str>, id: &SnippetId) -> String {
    filename.map_or_else(|| format!("Snippet {id}"), str::to_owned)
}

/// A line of the "recent snippets" list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnippetSummary {
    pub id: SnippetId,
    pub language: String,
    pub filename: Option<String>,
    /// The first non-blank line, shortened, to recognise the paste by.
    pub preview: String,
    pub lines: u32,
    pub state: JobState,
    pub progress: Option<Progress>,
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub visibility: Visibility,
}

/// One grammar the engine knows, with the other names it answers to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LanguageInfo {
    pub name: String,
    pub aliases: Vec<String>,
}

/// An error a person can act on, carried from a server function to the
/// page. The message is the whole story; causes go to the log.
///
/// On the wire it is `{"error": "<sentence>"}`, the same body the REST API
/// answers with, under the same HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct UserError {
    #[serde(rename = "error")]
    pub message: String,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        UserError {
            message: message.into(),
        }
    }
}
