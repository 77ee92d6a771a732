//! Real engines for tests: they implement the engine trait the way a
//! slow or flaky engine would, and delegate the highlighting to syntect.

use std::sync::Arc;

use async_trait::async_trait;
use highlighter::server::highlight::{
    CancelFlag, Engine, EngineError, HighlightRequest, ProgressSink, SyntectEngine,
};
use tokio::sync::Semaphore;

/// Holds every job until the test opens the gate (one permit per job).
pub struct GatedEngine {
    pub gate: Arc<Semaphore>,
    inner: SyntectEngine,
}

impl GatedEngine {
    pub fn new() -> Arc<Self> {
        let languages = super::languages();
        Arc::new(GatedEngine {
            gate: Arc::new(Semaphore::new(0)),
            inner: SyntectEngine::new(Arc::clone(languages.syntaxes())),
        })
    }

    pub fn open(&self, jobs: usize) {
        self.gate.add_permits(jobs);
    }
}

#[async_trait]
impl Engine for GatedEngine {
    async fn highlight(
        &self,
        request: HighlightRequest,
        progress: ProgressSink,
        cancel: CancelFlag,
    ) -> Result<String, EngineError> {
        let permit = self
            .gate
            .acquire()
            .await
            .map_err(|_| EngineError::Cancelled)?;
        permit.forget();
        self.inner.highlight(request, progress, cancel).await
    }
}
