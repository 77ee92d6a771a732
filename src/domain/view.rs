//! What pages and API clients read about a snippet.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{JobState, Progress, SnippetId};

/// Everything known about one snippet, read in one go from the database:
/// the snapshot a page renders and a stream starts from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub highlighted_at: Option<DateTime<Utc>>,
    pub highlighted_in_ms: Option<u64>,
    /// The highlighted fragment, once `state` is `succeeded`.
    pub html: Option<String>,
    /// Why the last attempt failed, in words.
    pub error: Option<String>,
    /// When the snippet expires; `None` is never.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a snippet page finds: the snippet, or why there is none.
// Built once per request and moved, never stored in bulk: boxing the big
// variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SnippetPage {
    Found(SnippetView),
    /// It existed and expired (410 Gone).
    Expired,
    /// It never existed (404).
    Missing,
}

impl SnippetView {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Lines as a person counts them: a last line without a newline counts.
    pub fn line_count(code: &str) -> u32 {
        let newlines = code.bytes().filter(|&b| b == b'\n').count();
        let unterminated = usize::from(!code.is_empty() && !code.ends_with('\n'));
        u32::try_from(newlines + unterminated).unwrap_or(u32::MAX)
    }
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
    pub created_at: DateTime<Utc>,
}

/// One grammar the engine knows, with the other names it answers to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageInfo {
    pub name: String,
    pub aliases: Vec<String>,
}

/// The `<option>`s of a `<datalist>` offering every language name.
pub fn language_options_html<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut html = String::new();
    for name in names {
        html.push_str("<option value=\"");
        for c in name.chars() {
            match c {
                '&' => html.push_str("&amp;"),
                '"' => html.push_str("&quot;"),
                '<' => html.push_str("&lt;"),
                '>' => html.push_str("&gt;"),
                c => html.push(c),
            }
        }
        html.push_str("\"></option>");
    }
    html
}

/// An error a person can act on, carried from a server function to the
/// page. The message is the whole story; causes go to the log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct UserError {
    pub message: String,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        UserError {
            message: message.into(),
        }
    }
}
