//! Highlighting engines and the catalogue of languages they know.
//!
//! An [`Engine`] turns code into an HTML fragment, reporting progress and
//! honouring cancellation and a time budget.
//!
//! - `native.rs`: the default engine. For each snippet it picks the best
//!   engine that knows the language: tree-sitter (`treesitter/`, run in
//!   child processes by `isolate.rs`, which warm their grammars in quiet
//!   moments, `quiet.rs`) for the languages people paste most,
//!   syntect (`syntect.rs`) for the long tail, Pygments' lexers converted
//!   (`pygments.rs`) and run by `lexer.rs` for the longer tail and where
//!   they beat the base grammar, and falls back from one to
//!   the next (then to plain text) when one fails or runs out of time.
//! - `scan/`: JSON, Nim, Pascal, Dockerfiles, reStructuredText, Lisp,
//!   makefiles, OCaml, Markdown and PowerShell, read by scanners of our
//!   own (one forward pass each, several times faster than the grammars
//!   they replace; Lisp, makefiles and OCaml still in the children, where
//!   tree-sitter read them).
//! - `classes.rs` and `render.rs`: the one class vocabulary and the one
//!   compact HTML writer both engines share; `theme.rs` its stylesheet.
//! - `remote.rs`: a hilite.me-compatible service.
//! - `languages.rs`: the catalogue of names and aliases, and detection.
//! - `markdown.rs`: Markdown files rendered (their fences highlighted by
//!   the engine), and sanitised.
//!
//! Tests plug in engines of their own through the same trait.

pub mod classes;
pub mod isolate;
mod languages;
pub mod lexer;
pub mod markdown;
mod native;
mod pygments;
mod quiet;
mod remote;
pub mod render;
mod scan;
mod syntect;
pub mod theme;
pub mod treesitter;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use async_trait::async_trait;
use tokio::sync::watch;

use crate::domain::Progress;

pub use isolate::IsolatedTreeSitter;
pub use languages::Languages;
pub use native::NativeEngine;
pub use remote::RemoteEngine;
pub use syntect::SyntectEngine;
pub use treesitter::TreeSitter;

/// How long an engine may work on one snippet: past it, an engine hands
/// over to a cheaper one rather than fail.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    deadline: Instant,
}

impl Budget {
    pub fn new(time: Duration) -> Self {
        Budget {
            deadline: Instant::now() + time,
        }
    }

    pub fn is_spent(&self) -> bool {
        Instant::now() >= self.deadline
    }

    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// Lines longer than this are shown plain, as bat does: grammars are
/// written for code, and a minified megabyte on one line can make a regex
/// engine backtrack for minutes.
pub const MAX_HIGHLIGHTED_LINE_BYTES: usize = 16 * 1024;

/// The line policy of the engines that read a line at a time (syntect and
/// the converted lexers): `read` gets each line (with its ending) and its
/// offset, and whether to highlight it, which it is not past the budget
/// (the rest of the snippet is plain, and the job still succeeds) or over
/// [`MAX_HIGHLIGHTED_LINE_BYTES`]. A cancel is honoured between lines,
/// and progress reported after each.
fn read_by_lines(
    code: &str,
    engine: &str,
    progress: &dyn Fn(Progress),
    cancel: &CancelFlag,
    budget: Budget,
    mut read: impl FnMut(usize, &str, bool) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    let total = crate::domain::source::line_count(code);
    let mut line_start = 0;
    let mut plain_from_here = false;
    for (index, line) in ::syntect::util::LinesWithEndings::from(code).enumerate() {
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        if !plain_from_here && budget.is_spent() {
            tracing::info!(engine, line = index + 1, "budget spent; the rest is plain");
            plain_from_here = true;
        }
        let highlight = !plain_from_here && line.len() <= MAX_HIGHLIGHTED_LINE_BYTES;
        read(line_start, line, highlight)?;
        line_start += line.len();
        progress(Progress {
            done: u32::try_from(index + 1).unwrap_or(u32::MAX),
            total,
        });
    }
    Ok(())
}

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
    /// How long the engine may take, fallbacks included. The worker's
    /// own time limit is a little longer.
    pub budget: Duration,
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

    /// A guard that raises the flag when dropped. The worker holds one for
    /// each engine call: however the call ends, the future returned, or
    /// dropped half way (its task aborted, its runtime shutting down), the
    /// blocking thread beneath it stops instead of spinning on for nobody.
    pub fn cancel_on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.clone())
    }
}

/// See [`CancelFlag::cancel_on_drop`].
#[derive(Debug)]
pub struct CancelOnDrop(CancelFlag);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
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

/// The version of what the built-in engines write. Results are stored by
/// it (a file that did not change is not highlighted again by the same
/// engine): bump it with any change to the HTML they write (classes,
/// grammars, the writer), and every file is highlighted anew as it is
/// next saved or retried.
pub const ENGINE_VERSION: &str = "2026-12-07.10";

#[async_trait]
pub trait Engine: Send + Sync + 'static {
    /// What this engine writes, as a version: stored results are reused
    /// only by the engine that wrote them (see [`ENGINE_VERSION`]).
    fn version(&self) -> String {
        "unversioned".to_owned()
    }

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
