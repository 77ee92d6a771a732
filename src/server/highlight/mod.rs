//! Highlighting engines and the catalogue of languages they know.
//!
//! An [`Engine`] turns code into an HTML fragment, reporting line progress
//! and honouring cancellation between lines. `syntect.rs` is the embedded
//! engine, `remote.rs` a hilite.me-compatible service; tests plug in
//! engines of their own through the same trait.

mod languages;
mod remote;
mod syntect;
pub mod theme;

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use async_trait::async_trait;
use tokio::sync::watch;

use crate::domain::Progress;

pub use languages::Languages;
pub use remote::RemoteEngine;
pub use syntect::SyntectEngine;

/// Lines longer than this are shown plain, as bat does: grammars are
/// written for code, and a minified megabyte on one line can make a regex
/// engine backtrack for minutes.
pub const MAX_HIGHLIGHTED_LINE_BYTES: usize = 16 * 1024;

/// Why an attempt produced no HTML. The worker decides from the kind
/// whether another attempt could help.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The same input will fail again: fail the job now.
    #[error("{0}")]
    Permanent(String),
    /// Might work next time (a network blip, an overloaded service).
    #[error("{0}")]
    Transient(String),
    /// Asked to stop (time limit, lost lease, shutdown).
    #[error("cancelled")]
    Cancelled,
}

/// What to highlight.
#[derive(Clone, Debug)]
pub struct HighlightRequest {
    pub code: String,
    /// A name from [`Languages`].
    pub language: String,
}

/// A flag the worker raises to stop an engine between two lines. Blocking
/// threads cannot be killed, so engines check it: work that was given up
/// on stops costing CPU within one line.
#[derive(Clone, Debug, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Where an engine reports progress. It keeps only the latest value: the
/// worker samples it at its own pace, so a fast engine is never slowed by
/// a slow reader.
#[derive(Clone, Debug)]
pub struct ProgressSink(Arc<watch::Sender<Option<Progress>>>);

impl ProgressSink {
    pub fn new() -> (ProgressSink, watch::Receiver<Option<Progress>>) {
        let (tx, rx) = watch::channel(None);
        (ProgressSink(Arc::new(tx)), rx)
    }

    pub fn report(&self, progress: Progress) {
        self.0.send_replace(Some(progress));
    }
}

#[async_trait]
pub trait Engine: Send + Sync + 'static {
    /// Highlights `request`, returning an HTML fragment whose text is the
    /// code, byte for byte, with every character escaped.
    async fn highlight(
        &self,
        request: HighlightRequest,
        progress: ProgressSink,
        cancel: CancelFlag,
    ) -> Result<String, EngineError>;
}

pub type DynEngine = Arc<dyn Engine>;

/// Escapes text for HTML element content and attribute values.
pub fn escape_html_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}
