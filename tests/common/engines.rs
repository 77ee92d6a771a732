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
            inner: SyntectEngine::new(languages.clone()),
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

/// Fails the first `failures` attempts with a transient error (as a remote
/// engine that is down would), then highlights for real.
pub struct FlakyEngine {
    /// Attempts wait here until the test opens it (so it can subscribe first).
    pub gate: Arc<Semaphore>,
    failures_left: std::sync::atomic::AtomicUsize,
    pub permanent: std::sync::atomic::AtomicBool,
    inner: SyntectEngine,
}

impl FlakyEngine {
    pub fn new(failures: usize) -> Arc<Self> {
        Arc::new(FlakyEngine {
            gate: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
            failures_left: std::sync::atomic::AtomicUsize::new(failures),
            permanent: std::sync::atomic::AtomicBool::new(false),
            inner: SyntectEngine::new(super::languages().clone()),
        })
    }

    /// Like `new`, but attempts wait until `open` is called.
    pub fn gated(failures: usize) -> Arc<Self> {
        let engine = Self::new(failures);
        engine.gate.forget_permits(Semaphore::MAX_PERMITS);
        engine
    }

    pub fn open(&self) {
        self.gate.add_permits(1 << 20);
    }

    /// While set, every attempt fails permanently.
    pub fn fail_permanently(&self, on: bool) {
        self.permanent
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait]
impl Engine for FlakyEngine {
    async fn highlight(
        &self,
        request: HighlightRequest,
        progress: ProgressSink,
        cancel: CancelFlag,
    ) -> Result<String, EngineError> {
        use std::sync::atomic::Ordering;
        drop(
            self.gate
                .acquire()
                .await
                .map_err(|_| EngineError::Cancelled)?,
        );
        if self.permanent.load(Ordering::SeqCst) {
            return Err(EngineError::Permanent(
                "the engine refuses this input".into(),
            ));
        }
        let left = self.failures_left.load(Ordering::SeqCst);
        if left > 0 {
            self.failures_left.store(left - 1, Ordering::SeqCst);
            return Err(EngineError::Transient(format!(
                "engine unavailable ({left} more failures)"
            )));
        }
        self.inner.highlight(request, progress, cancel).await
    }
}

/// Panics on code containing `PANIC`, in the engine's own future (not on a
/// blocking thread); highlights anything else.
pub struct PanickingEngine {
    inner: SyntectEngine,
}

impl PanickingEngine {
    pub fn new() -> Arc<Self> {
        Arc::new(PanickingEngine {
            inner: SyntectEngine::new(super::languages().clone()),
        })
    }
}

#[async_trait]
impl Engine for PanickingEngine {
    async fn highlight(
        &self,
        request: HighlightRequest,
        progress: ProgressSink,
        cancel: CancelFlag,
    ) -> Result<String, EngineError> {
        if request.code.contains("PANIC") {
            panic!("the engine hit a bug");
        }
        self.inner.highlight(request, progress, cancel).await
    }
}

/// Burns CPU on a blocking thread, line after line, until cancelled: a
/// grammar that never finishes. Records when it noticed the cancellation,
/// so tests can check no thread keeps spinning.
pub struct SpinningEngine {
    /// Set when an attempt's thread starts spinning.
    pub started: Arc<std::sync::atomic::AtomicBool>,
    pub stopped: Arc<std::sync::atomic::AtomicBool>,
    /// Set by [`SpinGuard`]: the test is over, spin no more.
    abandoned: Arc<std::sync::atomic::AtomicBool>,
}

/// Stops every spinning thread of its engine when dropped. A test holds
/// one for its whole body: if it fails before the app is stopped, a thread
/// still spinning would keep the test's runtime from ever shutting down,
/// and the suite would hang rather than report the failure.
pub struct SpinGuard(Arc<std::sync::atomic::AtomicBool>);

impl Drop for SpinGuard {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl SpinningEngine {
    pub fn new() -> Arc<Self> {
        Arc::new(SpinningEngine {
            started: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            stopped: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            abandoned: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        })
    }

    pub fn guard(&self) -> SpinGuard {
        SpinGuard(Arc::clone(&self.abandoned))
    }

    /// Waits (at most `limit`) until an attempt is spinning; whether one is.
    /// A page's stream is no witness: it may open after the first progress,
    /// and a spinning attempt's progress never moves again.
    pub async fn spinning_within(&self, limit: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while !self.started.load(std::sync::atomic::Ordering::SeqCst) {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        true
    }
}

#[async_trait]
impl Engine for SpinningEngine {
    async fn highlight(
        &self,
        _request: HighlightRequest,
        progress: ProgressSink,
        cancel: CancelFlag,
    ) -> Result<String, EngineError> {
        let started = Arc::clone(&self.started);
        let stopped = Arc::clone(&self.stopped);
        let abandoned = Arc::clone(&self.abandoned);
        tokio::task::spawn_blocking(move || {
            started.store(true, std::sync::atomic::Ordering::SeqCst);
            let mut x = 0u64;
            let mut rounds = 0u32;
            while !cancel.is_cancelled() {
                if abandoned.load(std::sync::atomic::Ordering::SeqCst) {
                    // Not a cancellation the app made: `stopped` stays
                    // false, and the test that checks it fails.
                    return Err(EngineError::Cancelled);
                }
                for i in 0..100_000u64 {
                    x = x.wrapping_mul(31).wrapping_add(i);
                }
                std::hint::black_box(x);
                // Never done: it reports rounds out of twice as many.
                rounds = rounds.saturating_add(1);
                progress.report(highlighter::domain::Progress {
                    done: rounds,
                    total: rounds.saturating_mul(2),
                });
            }
            stopped.store(true, std::sync::atomic::Ordering::SeqCst);
            Err(EngineError::Cancelled)
        })
        .await
        .unwrap_or(Err(EngineError::Cancelled))
    }
}
