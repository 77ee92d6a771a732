//! The long-tail engine: syntect with the grammars bat ships (two-face),
//! and Pygments' converted lexers (handed to `lexer.rs`, which runs
//! them), for every language the tree-sitter engine does not serve; JSON,
//! Nim, Pascal, Dockerfiles and reStructuredText go to scanners of our
//! own (`scan/`).
//!
//! Its TextMate scopes are folded into the shared [`Class`] vocabulary as
//! the parser pushes and pops them (one class per open scope, so finding a
//! token's class is a look at the top of a stack), and written by the
//! shared [`HtmlWriter`]. It works line by line, which is what makes its
//! progress and its limits simple: lines over 16 KiB are shown plain (a
//! minified megabyte on one line can make a regex engine backtrack for
//! minutes), and past its time budget the rest of the snippet is shown
//! plain rather than failed.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use syntect::parsing::{
    BasicScopeStackOp, ParseState, Scope, ScopeStack, SyntaxReference, SyntaxSet,
};

use super::{
    Budget, CancelFlag, EngineError, Languages,
    classes::{Class, ScopeClass},
    read_by_lines,
    render::Runs,
};
use crate::domain::Progress;

/// Loading the grammars takes tens of milliseconds, so it is done once and
/// the set shared by every job.
#[derive(Clone)]
pub struct SyntectEngine {
    languages: Languages,
    /// What each scope means for colour, worked out once per scope.
    classes: Arc<Mutex<HashMap<Scope, ScopeClass>>>,
}

impl SyntectEngine {
    pub fn new(languages: Languages) -> Self {
        SyntectEngine {
            languages,
            classes: Arc::default(),
        }
    }

    pub fn languages(&self) -> &Languages {
        &self.languages
    }

    /// The work itself, on the calling (blocking) thread. Past `budget`
    /// the remaining lines are written plain: the snippet still succeeds.
    pub fn highlight_blocking(
        &self,
        code: &str,
        language: &str,
        progress: &dyn Fn(Progress),
        cancel: &CancelFlag,
        budget: Budget,
    ) -> Result<String, EngineError> {
        let embed =
            |language: &str, block: &str| self.highlight_block(language, block, cancel, budget);
        if let Some(scanned) =
            super::scan::highlight(language, code, progress, cancel, budget, &embed)
        {
            return scanned;
        }
        if let Some(lexer) = self.languages.lexer(language) {
            return lexer.highlight(code, progress, cancel, budget);
        }
        let (syntaxes, syntax) = self.languages.syntax(language).unwrap_or_else(|| {
            let set = self.languages.syntaxes();
            (set.as_ref(), set.find_syntax_plain_text())
        });
        self.highlight_with(syntaxes, syntax, code, progress, cancel, budget)
    }

    /// A block of another language inside a snippet (a fenced block of
    /// Markdown), highlighted in the language its name or alias names,
    /// within the snippet's budget; `None` for a language this engine
    /// does not know, or Markdown itself.
    fn highlight_block(
        &self,
        language: &str,
        block: &str,
        cancel: &CancelFlag,
        budget: Budget,
    ) -> Option<String> {
        let name = self.languages.resolve(language)?;
        if name == "Markdown" {
            return None;
        }
        self.highlight_blocking(block, name, &|_| {}, cancel, budget)
            .ok()
    }

    /// syntect's reading of `code` with `syntax`.
    pub(super) fn highlight_with(
        &self,
        syntaxes: &SyntaxSet,
        syntax: &SyntaxReference,
        code: &str,
        progress: &dyn Fn(Progress),
        cancel: &CancelFlag,
        budget: Budget,
    ) -> Result<String, EngineError> {
        let mut state = ParseState::new(syntax);
        let mut scopes = ScopeStack::new();
        // The class in force under each open scope; the top is the class
        // of the text being read.
        let mut classes: Vec<Option<Class>> = Vec::new();
        let mut known = self.classes.lock().unwrap_or_else(|p| p.into_inner());
        let mut runs = Runs::with_capacity(code.len() / 8);
        read_by_lines(
            code,
            "syntect",
            progress,
            cancel,
            budget,
            |line_start, line, highlight| {
                if !highlight {
                    // The parse state carries on from the line before,
                    // which is the best guess for the lines after a plain one.
                    runs.push(line_start + line.len(), None);
                    return Ok(());
                }
                let ops = state
                    .parse_line(line, syntaxes)
                    .map_err(|e| EngineError::Permanent(format!("the grammar failed: {e}")))?;
                let mut at = 0;
                for (offset, op) in ops {
                    let offset = offset.min(line.len());
                    if offset > at {
                        runs.push(line_start + offset, classes.last().copied().flatten());
                        at = offset;
                    }
                    scopes
                        .apply_with_hook(&op, |basic, _| match basic {
                            BasicScopeStackOp::Push(scope) => {
                                let meaning = *known
                                    .entry(scope)
                                    .or_insert_with(|| Class::from_scope(&scope.build_string()));
                                let outer = classes.last().copied().flatten();
                                classes.push(match meaning {
                                    ScopeClass::Is(class) => Some(class),
                                    ScopeClass::Inherit => outer,
                                    ScopeClass::Plain => None,
                                });
                            }
                            BasicScopeStackOp::Pop => {
                                classes.pop();
                            }
                        })
                        .map_err(|e| EngineError::Permanent(format!("the grammar failed: {e}")))?;
                }
                if at < line.len() {
                    runs.push(line_start + line.len(), classes.last().copied().flatten());
                }
                Ok(())
            },
        )?;
        Ok(runs.render(code))
    }

    /// Highlights on the blocking pool, so that CPU work measured in
    /// milliseconds to seconds never stalls the async runtime (streams,
    /// heartbeats, the HTTP server).
    pub async fn highlight_with_budget(
        &self,
        code: String,
        language: String,
        progress: super::ProgressSink,
        cancel: CancelFlag,
        budget: Budget,
    ) -> Result<String, EngineError> {
        let engine = self.clone();
        let started = Instant::now();
        let joined = tokio::task::spawn_blocking(move || {
            engine.highlight_blocking(&code, &language, &|p| progress.report(p), &cancel, budget)
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

/// syntect alone, for every language (`engine = "syntect"`).
#[async_trait::async_trait]
impl super::Engine for SyntectEngine {
    fn version(&self) -> String {
        format!("syntect/{}", super::ENGINE_VERSION)
    }

    async fn highlight(
        &self,
        request: super::HighlightRequest,
        progress: super::ProgressSink,
        cancel: CancelFlag,
    ) -> Result<String, EngineError> {
        self.highlight_with_budget(
            request.code,
            request.language,
            progress,
            cancel,
            Budget::new(request.budget),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::highlight::Languages;
    use std::time::Duration;

    fn engine() -> SyntectEngine {
        SyntectEngine::new(Languages::load())
    }

    fn html(code: &str, language: &str) -> String {
        engine()
            .highlight_blocking(
                code,
                language,
                &|_| {},
                &CancelFlag::default(),
                Budget::new(Duration::from_secs(10)),
            )
            .unwrap()
    }

    /// A converted Pygments lexer (Alloy's `/\*[\w\W]*?\*/`) colours a block
    /// comment on every line it spans, though syntect reads line by line.
    #[test]
    fn converted_lexers_colour_comments_across_lines() {
        let html = html("sig A {}\n/* one\ntwo\nthree */\nsig B {}\n", "Alloy");
        assert!(html.contains("<x-c>/* one\ntwo\nthree */</x-c>"), "{html}");
        assert!(html.contains("<x-k>sig</x-k>"), "{html}");
    }

    /// Python through syntect (a Markdown file's fenced block): the module
    /// a `from` import names, as Pygments colours it. (Sublime's grammar
    /// gives a plain `import os`'s module no scope of its own.)
    #[test]
    fn python_imports_name_their_modules() {
        let html = html(
            "from pygments import token\nfrom os.path import join\n",
            "Python",
        );
        assert!(html.contains("<x-m>pygments</x-m>"), "{html}");
        assert!(
            html.contains("<x-m>os</x-m><x-p>.</x-p><x-m>path</x-m>"),
            "{html}"
        );
    }

    #[test]
    fn rust_gets_the_shared_classes() {
        let html = html(
            "fn main() { let s = \"hi\\n\"; // done\n let n = 42; }\n",
            "Rust",
        );
        for class in ["k", "s", "se", "c", "n", "f"] {
            assert!(html.contains(&format!("<x-{class}>")), "{class}: {html}");
        }
        assert!(
            html.contains("<x-s>&quot;") || html.contains("<x-s>\"hi"),
            "{html}"
        );
    }

    #[test]
    fn a_spent_budget_makes_the_rest_plain_not_a_failure() {
        let code = "let x = 1;\n".repeat(100);
        let html = engine()
            .highlight_blocking(
                &code,
                "Rust",
                &|_| {},
                &CancelFlag::default(),
                Budget::new(Duration::ZERO),
            )
            .unwrap();
        assert!(!html.contains("<x-"), "{html}");
        assert_eq!(html.matches("let x = 1;").count(), 100);
    }
}
