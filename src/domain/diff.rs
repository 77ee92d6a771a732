//! What changed between two revisions, file by file: what the diff page
//! shows and `GET /api/snippets/{id}/diff/{a}/{b}` answers. (The server
//! computes it: `server/diff.rs`.)

use serde::{Deserialize, Serialize};

/// Two revisions of a snippet, compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RevisionDiff {
    pub from: u32,
    pub to: u32,
    pub lines_added: u32,
    pub lines_removed: u32,
    /// In the new revision's order, then the files it removed.
    pub files: Vec<FileDiff>,
}

/// What became of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum FileChange {
    Added,
    Removed,
    Modified,
    /// Under another name, its content the same or much alike.
    Renamed,
    Unchanged,
}

impl FileChange {
    pub fn as_str(self) -> &'static str {
        match self {
            FileChange::Added => "added",
            FileChange::Removed => "removed",
            FileChange::Modified => "modified",
            FileChange::Renamed => "renamed",
            FileChange::Unchanged => "unchanged",
        }
    }
}

/// One file's changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FileDiff {
    pub old_name: Option<String>,
    pub new_name: Option<String>,
    pub change: FileChange,
    pub language: String,
    pub lines_added: u32,
    pub lines_removed: u32,
    pub hunks: Vec<Hunk>,
}

impl FileDiff {
    /// The name a reader knows it by: the new one, or the old one when it
    /// was removed.
    pub fn name(&self) -> &str {
        self.new_name
            .as_deref()
            .or(self.old_name.as_deref())
            .unwrap_or("")
    }
}

/// A run of changed lines with a little context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Hunk {
    pub old_start: u32,
    pub old_lines: u32,
    pub new_start: u32,
    pub new_lines: u32,
    pub lines: Vec<DiffLine>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LineKind {
    Context,
    Added,
    Removed,
}

/// One line of a hunk: its text, and its number on each side it is on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DiffLine {
    pub kind: LineKind,
    pub old: Option<u32>,
    pub new: Option<u32>,
    /// The line without its line ending.
    pub text: String,
    /// The line highlighted (an HTML fragment), on the diff page only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}
