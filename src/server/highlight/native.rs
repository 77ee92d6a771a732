//! The default engine: the best engine that knows each snippet's language.
//!
//! tree-sitter first, for the languages it serves: it is several times
//! faster than syntect and knows more about the code (a call from a name,
//! a type from a variable). It runs in child processes and gets at most a
//! third of the snippet's budget (and never more than [`TREE_SITTER_MAX`]):
//! a snippet too costly for it (a 400,000-character expression nests past
//! what its query can match in time) goes to syntect with what is left,
//! as does one whose child crashed or that found no child ready. syntect
//! never fails for time: past its budget it writes the rest plain.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;

use super::{
    Budget, CancelFlag, Engine, EngineError, HighlightRequest, IsolatedTreeSitter, ProgressSink,
    SyntectEngine, TreeSitter, isolate::IsolatedError, treesitter::TreeSitterError,
};

/// The most time tree-sitter gets on one snippet. At its speed (MB/s) a
/// 512 KiB paste takes well under a second.
const TREE_SITTER_MAX: Duration = Duration::from_secs(3);

pub struct NativeEngine {
    syntect: SyntectEngine,
    tree_sitter: Option<Arc<IsolatedTreeSitter>>,
}

impl NativeEngine {
    /// `tree_sitter`: the child pool, or `None` for syntect alone.
    pub fn new(syntect: SyntectEngine, tree_sitter: Option<Arc<IsolatedTreeSitter>>) -> Self {
        NativeEngine {
            syntect,
            tree_sitter,
        }
    }

    /// Which engine a language gets first.
    pub fn engine_for(&self, language: &str) -> &'static str {
        if self.tree_sitter_serves(language) {
            "tree-sitter"
        } else {
            "syntect"
        }
    }

    /// Whether tree-sitter gets `language` first: one of its grammars
    /// knows it, and `served.txt` does not give it to Pygments' lexer.
    fn tree_sitter_serves(&self, language: &str) -> bool {
        self.tree_sitter.is_some()
            && !self.syntect.languages().is_served(language)
            && TreeSitter::languages().any(|l| l == language)
    }
}

#[async_trait]
impl Engine for NativeEngine {
    fn version(&self) -> String {
        // Without children, syntect highlights everything: other HTML.
        let kind = if self.tree_sitter.is_some() {
            "native"
        } else {
            "native-syntect"
        };
        format!("{kind}/{}", super::ENGINE_VERSION)
    }

    async fn highlight(
        &self,
        request: HighlightRequest,
        progress: ProgressSink,
        cancel: CancelFlag,
    ) -> Result<String, EngineError> {
        let budget = Budget::new(request.budget);
        if let Some(pool) = &self.tree_sitter
            && self.tree_sitter_serves(&request.language)
        {
            let share = (request.budget / 3).min(TREE_SITTER_MAX);
            match pool
                .highlight(&request.code, &request.language, &progress, &cancel, share)
                .await
            {
                Ok(html) => return Ok(html),
                Err(
                    IsolatedError::Cancelled
                    | IsolatedError::TreeSitter(TreeSitterError::Cancelled),
                ) => {
                    return Err(EngineError::Cancelled);
                }
                Err(IsolatedError::NotReady) => {
                    tracing::debug!(language = %request.language, "no tree-sitter child ready; syntect takes it");
                }
                Err(IsolatedError::TreeSitter(TreeSitterError::TooCostly(why))) => {
                    tracing::info!(language = %request.language, bytes = request.code.len(), why, "too costly for tree-sitter; syntect takes it");
                }
                Err(e) => {
                    tracing::warn!(language = %request.language, bytes = request.code.len(), error = %e, "tree-sitter failed; syntect takes it");
                }
            }
        }
        self.syntect
            .highlight_with_budget(
                request.code,
                request.language,
                progress,
                cancel,
                Budget::new(budget.remaining()),
            )
            .await
    }
}
