//! What pages and API clients read about a snippet: one revision of it
//! with its files ([`SnippetView`]), its revisions ([`RevisionInfo`]), and
//! the rows of lists ([`SnippetSummary`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    Failed, FileMeta, FileView, GoneReason, Highlighted, JobState, Progress, SnippetEvent,
    SnippetId, StateChanged, Visibility,
};

/// Rows the home page's lists show (recent, and the reader's own).
pub const LIST_LENGTH: usize = 20;

/// Everything known about one revision of a snippet, read in one go from
/// the database: the snapshot a page renders and a stream starts from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SnippetView {
    pub id: SnippetId,
    /// The revision shown.
    pub revision: u32,
    /// The newest revision (later than `revision` on an old revision's
    /// page).
    pub latest_revision: u32,
    /// The oldest revision kept: the ones before it were pruned
    /// (`max_revisions`).
    pub first_revision: u32,
    pub files: Vec<FileView>,
    /// Where the revision's highlighting job stands.
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
    /// When the snippet was created.
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub created_at: DateTime<Utc>,
    /// When this revision was saved.
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub revised_at: DateTime<Utc>,
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::maybe_utc")
    )]
    pub highlighted_at: Option<DateTime<Utc>>,
    pub highlighted_in_ms: Option<u64>,
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
    /// Lines added and removed by this revision, against the one before.
    #[serde(default)]
    pub lines_added: u32,
    #[serde(default)]
    pub lines_removed: u32,
    /// The snippet this one was forked from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<ForkOrigin>,
}

/// Where a fork came from. The original's id is named only while it is
/// public: forking an unlisted snippet must not hand its link to whoever
/// reads the fork.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ForkOrigin {
    /// `None`: the original is unlisted (or gone).
    pub id: Option<SnippetId>,
}

/// One revision, as a list of revisions and the `revision` event tell it:
/// its files' names and sizes, never their code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RevisionInfo {
    pub number: u32,
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub created_at: DateTime<Utc>,
    pub lines_added: u32,
    pub lines_removed: u32,
    pub files: Vec<FileMeta>,
    /// The lines of each file that this revision changed, as inclusive
    /// ranges of its new line numbers (only in the `revision` event).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<ChangedLines>,
}

/// The lines of one file a revision changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChangedLines {
    pub file: String,
    /// Inclusive ranges of line numbers, in the new file.
    pub lines: Vec<(u32, u32)>,
}

/// What a reader who is not the owner sees of a burn-after-reading
/// snippet before choosing to read it: enough to know what it is, none of
/// its content. Link previewers that fetch the page burn nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealedSnippet {
    pub id: SnippetId,
    pub files: Vec<FileMeta>,
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
    /// It never existed (404), or the revision asked for does not (or no
    /// longer: it was pruned).
    Missing,
}

impl SnippetView {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Whether this is the newest revision.
    pub fn is_latest(&self) -> bool {
        self.revision == self.latest_revision
    }

    /// The events that tell a new stream where this snapshot stands: its
    /// state, then its result if it has one (each file's HTML, then
    /// `highlighted`, which carries a one-file snippet's HTML itself, as
    /// it always has).
    pub fn snapshot_events(&self) -> Vec<SnippetEvent> {
        let mut events = vec![SnippetEvent::State(StateChanged {
            state: self.state,
            progress: self.progress,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
            revision: self.revision,
        })];
        match self.state {
            JobState::Succeeded => {
                // A one-file revision's result travels in `highlighted`.
                if self.files.len() > 1 {
                    events.extend(self.file_events());
                }
                events.push(SnippetEvent::Highlighted(self.highlighted()));
            }
            JobState::Failed => events.push(SnippetEvent::Failed(Failed {
                error: self.error.clone().unwrap_or_default(),
                attempts: self.attempts,
                revision: self.revision,
            })),
            _ => {}
        }
        events
    }

    /// Each file's result, as `file` events. (The hub carries them for
    /// every revision; a one-file revision's API stream leaves them out,
    /// its `highlighted` carries the same HTML.)
    pub fn file_events(&self) -> Vec<SnippetEvent> {
        self.files
            .iter()
            .map(|file| {
                SnippetEvent::File(super::FileHighlighted {
                    revision: self.revision,
                    name: file.name.clone(),
                    hash: file.hash.clone(),
                    language: file.language.clone(),
                    html: file.html.clone().unwrap_or_default(),
                    rendered: file.rendered.clone(),
                })
            })
            .collect()
    }

    /// The `highlighted` event of this revision.
    pub fn highlighted(&self) -> Highlighted {
        let one = (self.files.len() == 1).then(|| &self.files[0]);
        Highlighted {
            revision: self.revision,
            html: one.and_then(|f| f.html.clone()).unwrap_or_default(),
            language: self
                .files
                .first()
                .map(|f| f.language.clone())
                .unwrap_or_default(),
            highlighted_in_ms: self.highlighted_in_ms.unwrap_or(0),
        }
    }

    /// Lines of every file together.
    pub fn line_count(&self) -> u32 {
        self.files.iter().map(|f| f.lines).sum()
    }

    /// What its page and the browser's tab call it.
    pub fn title(&self) -> String {
        title_of(
            &self.id,
            self.files.iter().map(|f| (f.name.as_str(), f.named)),
        )
    }

    /// This revision as a list of revisions tells it.
    pub fn revision_info(&self) -> RevisionInfo {
        RevisionInfo {
            number: self.revision,
            created_at: self.revised_at,
            lines_added: self.lines_added,
            lines_removed: self.lines_removed,
            files: self.files.iter().map(FileView::meta).collect(),
            changed: Vec::new(),
        }
    }
}

impl SealedSnippet {
    /// What its page and the browser's tab call it, as for the snippet
    /// itself.
    pub fn title(&self) -> String {
        title_of(
            &self.id,
            self.files.iter().map(|f| (f.name.as_str(), f.named)),
        )
    }

    pub fn lines(&self) -> u32 {
        self.files.iter().map(|f| f.lines).sum()
    }
}

/// The first file's name, or "Snippet {id}" when its one file has no
/// name a person gave.
fn title_of<'a>(id: &SnippetId, mut files: impl Iterator<Item = (&'a str, bool)>) -> String {
    match files.next() {
        Some((name, named)) if named || files.next().is_some() => name.to_owned(),
        _ => format!("Snippet {id}"),
    }
}

/// A line of the "recent snippets" list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnippetSummary {
    pub id: SnippetId,
    /// The first file's language.
    pub language: String,
    /// The first file's name, when a person gave one.
    pub filename: Option<String>,
    /// How many files its latest revision has.
    #[serde(default = "one_file")]
    pub files: u32,
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

fn one_file() -> u32 {
    1
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
