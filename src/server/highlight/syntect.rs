//! The embedded engine: syntect with the grammars bat ships (two-face),
//! writing class-based HTML so one stylesheet themes every snippet.

use std::{sync::Arc, time::Instant};

use async_trait::async_trait;
use syntect::{
    html::{ClassStyle, line_tokens_to_classed_spans},
    parsing::{ParseState, ScopeStack, SyntaxSet},
    util::LinesWithEndings,
};

use super::{
    CancelFlag, Engine, EngineError, HighlightRequest, MAX_HIGHLIGHTED_LINE_BYTES, ProgressSink,
    escape_html_into,
};
use crate::domain::Progress;

/// Classes are prefixed so that grammar scopes (`source`, `string`, …)
/// never collide with the page's own class names.
pub const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };

/// Loading the grammars takes tens of milliseconds, so it is done once and
/// the set shared by every job.
#[derive(Clone)]
pub struct SyntectEngine {
    syntaxes: Arc<SyntaxSet>,
}

impl SyntectEngine {
    pub fn new(syntaxes: Arc<SyntaxSet>) -> Self {
        SyntectEngine { syntaxes }
    }

    /// The work itself, on the calling (blocking) thread.
    pub fn highlight_blocking(
        &self,
        code: &str,
        language: &str,
        progress: &dyn Fn(Progress),
        cancel: &CancelFlag,
    ) -> Result<String, EngineError> {
        let syntax = self
            .syntaxes
            .find_syntax_by_name(language)
            .unwrap_or_else(|| self.syntaxes.find_syntax_plain_text());
        let total = crate::domain::source::line_count(code);
        let mut state = ParseState::new(syntax);
        let mut scopes = ScopeStack::new();
        let mut open_spans: isize = 0;
        // Highlighted HTML runs about four times the size of the code.
        let mut html = String::with_capacity(code.len() * 4 + 64);
        html.push_str("<pre class=\"hl-code\"><code>");
        for (index, line) in LinesWithEndings::from(code).enumerate() {
            if cancel.is_cancelled() {
                return Err(EngineError::Cancelled);
            }
            if line.len() > MAX_HIGHLIGHTED_LINE_BYTES {
                // Shown plain; the parse state carries on from the line
                // before, which is the best guess for the lines after.
                escape_html_into(&mut html, line);
            } else {
                let ops = state
                    .parse_line(line, &self.syntaxes)
                    .map_err(|e| EngineError::Permanent(format!("the grammar failed: {e}")))?;
                let (spans, delta) =
                    line_tokens_to_classed_spans(line, &ops, CLASS_STYLE, &mut scopes)
                        .map_err(|e| EngineError::Permanent(format!("the grammar failed: {e}")))?;
                html.push_str(&spans);
                open_spans += delta;
            }
            progress(Progress {
                done: u32::try_from(index + 1).unwrap_or(u32::MAX),
                total,
            });
        }
        for _ in 0..open_spans.max(0) {
            html.push_str("</span>");
        }
        html.push_str("</code></pre>");
        Ok(html)
    }
}

#[async_trait]
impl Engine for SyntectEngine {
    async fn highlight(
        &self,
        request: HighlightRequest,
        progress: ProgressSink,
        cancel: CancelFlag,
    ) -> Result<String, EngineError> {
        let engine = self.clone();
        let started = Instant::now();
        // Highlighting is CPU work measured in milliseconds to seconds: it
        // runs on the blocking pool so it never stalls the async runtime
        // (streams, heartbeats, the HTTP server).
        let joined = tokio::task::spawn_blocking(move || {
            engine.highlight_blocking(
                &request.code,
                &request.language,
                &|p| progress.report(p),
                &cancel,
            )
        })
        .await;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "syntect finished"
        );
        match joined {
            Ok(result) => result,
            Err(e) if e.is_panic() => Err(EngineError::Permanent(
                "The highlighter crashed on this input.".to_owned(),
            )),
            Err(_) => Err(EngineError::Cancelled),
        }
    }
}
