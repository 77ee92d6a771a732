//! Types shared by the server and the WASM client.
//!
//! Everything a user or the network hands us is parsed here, once, into a
//! type that carries its guarantee ("parse, don't validate"): a
//! [`SnippetId`] is always well-formed, a [`SourceCode`] is never empty, never
//! holds NUL and never exceeds the size limit. The form (through a server
//! function) and the REST API both go through these parsers, so both answer
//! the same input with the same words.

pub mod clock;
pub mod diff;
mod event;
pub mod files;
mod id;
mod job;
pub mod operations;
mod privacy;
pub mod source;
pub mod submission;
mod view;

pub use event::{
    Deleted, Failed, FileHighlighted, Highlighted, Progressed, Retrying, SnippetEvent, StateChanged,
};
pub use files::{FileMeta, FileView};
pub use id::{InvalidSnippetId, SnippetId};
pub use job::{JobState, Progress};
pub use privacy::{GoneReason, Visibility};
pub use source::{Expiry, Filename, LanguageRequest, SourceCode, SourceError};
pub use submission::{Draft, FileSubmission, FileText, Files, Submission, SubmissionText};
pub use view::{
    ChangedLines, ForkOrigin, LIST_LENGTH, LanguageInfo, RevisionInfo, SealedSnippet, SnippetPage,
    SnippetSummary, SnippetView, UserError,
};
