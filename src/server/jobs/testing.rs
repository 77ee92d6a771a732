//! Test support for the maintenance loops: a store that records when the
//! loops call it and answers from a script. It answers at once, on the
//! test's own thread, so `tokio::time::pause` can drive the loops'
//! timers deterministically (a real database answers from another thread,
//! and paused time would race ahead of it).

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU32, Ordering},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::{JobContext, tokio_clock};
use crate::{
    domain::{Progress, SnippetId},
    server::{
        events::{EventBus, Hub},
        highlight::{CancelFlag, Engine, EngineError, HighlightRequest, ProgressSink},
        node::Node,
        settings::{JobSettings, Role},
        store::{ClaimedJob, Completed, JobStore, Lease, Rescued, StoreError},
    },
};

#[derive(Default)]
pub struct RecordingStore {
    /// The `now` of every `rescue_expired` call.
    pub rescue_calls: Mutex<Vec<DateTime<Utc>>>,
    /// What the next `rescue_expired` calls answer, in order.
    pub rescue_answers: Mutex<Vec<Vec<Rescued>>>,
    /// The cut-offs of every `prune_finished_jobs` call.
    pub prune_calls: Mutex<Vec<(DateTime<Utc>, DateTime<Utc>)>>,
    /// The `now` of every `sweep_expired` call.
    pub sweep_calls: Mutex<Vec<DateTime<Utc>>>,
    /// How many `complete_jobs` calls fail before they succeed.
    pub complete_failures: AtomicU32,
    pub complete_calls: AtomicU32,
    /// The reasons of every `retry_job` and `fail_job` call.
    pub recorded_errors: Mutex<Vec<String>>,
}

/// The job store of an empty queue that records what the loops ask of it:
/// claims find nothing, and a lease it never handed out does not hold.
#[async_trait]
impl JobStore for RecordingStore {
    async fn claim_jobs(
        &self,
        _: &str,
        _: u32,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
        _: &str,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        Ok(Vec::new())
    }
    async fn renew_lease(
        &self,
        _: &Lease,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn save_progress(&self, _: &Lease, _: Progress) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn complete_jobs(
        &self,
        done: &[Completed<'_>],
        _: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError> {
        self.complete_calls.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .complete_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(StoreError::from(sqlx::Error::PoolTimedOut).during("storing results"));
        }
        Ok(vec![true; done.len()])
    }
    async fn retry_job(
        &self,
        _: &Lease,
        error: &str,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.recorded_errors.lock().unwrap().push(error.to_owned());
        Ok(true)
    }
    async fn fail_job(&self, _: &Lease, error: &str, _: DateTime<Utc>) -> Result<bool, StoreError> {
        self.recorded_errors.lock().unwrap().push(error.to_owned());
        Ok(true)
    }
    async fn release_job(&self, _: &Lease, _: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn rescue_expired(&self, now: DateTime<Utc>) -> Result<Vec<Rescued>, StoreError> {
        self.rescue_calls.lock().unwrap().push(now);
        let mut answers = self.rescue_answers.lock().unwrap();
        Ok(if answers.is_empty() {
            Vec::new()
        } else {
            answers.remove(0)
        })
    }
    async fn prune_finished_jobs(
        &self,
        succeeded_before: DateTime<Utc>,
        failed_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.prune_calls
            .lock()
            .unwrap()
            .push((succeeded_before, failed_before));
        Ok(1)
    }
    async fn sweep_expired(&self, now: DateTime<Utc>) -> Result<Vec<SnippetId>, StoreError> {
        self.sweep_calls.lock().unwrap().push(now);
        Ok(Vec::new())
    }
    async fn unfinished_jobs(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}

struct NoEngine;

#[async_trait]
impl Engine for NoEngine {
    async fn highlight(
        &self,
        _: HighlightRequest,
        _: ProgressSink,
        _: CancelFlag,
    ) -> Result<String, EngineError> {
        Err(EngineError::Permanent(
            "the maintenance loops run no jobs".into(),
        ))
    }
}

/// A context around a recording store, on a clock that follows tokio's.
pub fn context(store: Arc<RecordingStore>) -> JobContext {
    JobContext {
        store,
        engine: Arc::new(NoEngine),
        languages: crate::server::highlight::Languages::load(),
        events: EventBus::local(Hub::new()),
        settings: JobSettings::default(),
        wake: Arc::new(Notify::new()),
        node: Arc::new(Node::new(Role::All, 1)),
        clock: tokio_clock(),
    }
}
