//! Workers: claim -> run -> complete.
//!
//! One claim loop per process owns `slots` job slots. It claims only as
//! many jobs as it has free slots, runs each in its own task, and sleeps
//! until woken (a new job), a slot frees up, or the fallback poll comes
//! round. Each running job renews its lease by heartbeat, streams throttled
//! progress, and ends in exactly one of: succeeded, retrying, failed,
//! released (shutdown), or abandoned (its lease was taken over). A success
//! is handed to the [`Completer`], which stores results in batches, and the
//! slot is free for the next job at once.

use std::{
    panic::AssertUnwindSafe,
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::FutureExt;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{
    JobContext,
    completer::{Completer, Finished},
    retry_delay,
};
use crate::{
    domain::{Failed, JobState, Progress, Retrying, SnippetEvent},
    server::{
        highlight::{CancelFlag, EngineError, HighlightRequest, ProgressSink},
        metrics::{self, Outcome},
        store::{ClaimedJob, Lease},
    },
};

/// Progress events per job per second, at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// Progress is written to the database less often than it is pushed: the
/// database copy only serves pages that open mid-way.
const PROGRESS_SAVE_EVERY: Duration = Duration::from_secs(1);

pub struct WorkerPool {
    ctx: JobContext,
    slots: usize,
}

/// How one run of a job ended, before its outcome is written.
enum RunEnd {
    Finished(Result<String, EngineError>),
    TimedOut,
    Released,
    LostLease,
}

impl WorkerPool {
    pub fn new(ctx: JobContext, slots: usize) -> Self {
        WorkerPool {
            ctx,
            slots: slots.max(1),
        }
    }

    /// Runs until `shutdown`; then stops claiming, gives in-flight jobs the
    /// grace period to finish, and releases the rest back to the queue.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut in_flight = JoinSet::new();
        // Cancelled when the grace period is over: running jobs release.
        let release = CancellationToken::new();
        let mut failures = 0u32;
        let mut claims = 0u64;
        let (completer, completing) = Completer::start(self.ctx.clone());
        let node = &self.ctx.node;
        let mut paused = node.paused_signal();
        tracing::info!(node = %node.id, slots = self.slots, "worker pool started");
        while !shutdown.is_cancelled() {
            while in_flight.try_join_next().is_some() {}
            node.set_busy(in_flight.len());
            let free = self.slots - in_flight.len().min(self.slots);
            // Paused: running jobs go on, nothing new is claimed.
            if free > 0 && !*paused.borrow_and_update() {
                let now = self.ctx.now();
                let lease_until = now + self.ctx.settings.lease;
                // Each claim holds its jobs under a name of its own. The
                // fence is (holder, attempt), and a requeued job starts its
                // attempts again: were the holder the pool, an attempt of
                // the old job and of the new one could carry the same token.
                claims += 1;
                let holder = format!("{}/{claims}", node.id);
                match self
                    .ctx
                    .store
                    .claim_jobs(&holder, free as u32, now, lease_until)
                    .await
                {
                    Ok(jobs) => {
                        failures = 0;
                        let claimed_all = jobs.len() == free;
                        for job in jobs {
                            in_flight.spawn(run_job(
                                self.ctx.clone(),
                                job,
                                completer.clone(),
                                release.clone(),
                            ));
                        }
                        node.set_busy(in_flight.len());
                        if claimed_all {
                            // There may be more: look again once a slot frees.
                            continue;
                        }
                    }
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(error = ?e, "claiming jobs failed; backing off");
                        let pause = Duration::from_millis(200 * u64::from(failures.min(25)));
                        tokio::select! {
                            _ = shutdown.cancelled() => break,
                            _ = tokio::time::sleep(pause) => continue,
                        }
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.ctx.wake.notified() => {}
                _ = paused.changed() => {}
                _ = tokio::time::sleep(self.ctx.settings.poll_interval) => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            }
        }
        if !in_flight.is_empty() {
            tracing::info!(
                jobs = in_flight.len(),
                "shutting down: waiting for in-flight jobs"
            );
            let grace = self.ctx.settings.shutdown_grace;
            let drained = tokio::time::timeout(grace, async {
                while in_flight.join_next().await.is_some() {}
            })
            .await;
            if drained.is_err() {
                tracing::info!(jobs = in_flight.len(), "grace period over: releasing jobs");
                release.cancel();
                while in_flight.join_next().await.is_some() {}
            }
        }
        // Every result handed over is stored before the pool says it stopped.
        drop(completer);
        let _ = completing.await;
        node.set_busy(0);
        tracing::info!(node = %node.id, "worker pool stopped");
    }
}

/// Runs one claimed job to one of its ends. Never panics out: an engine
/// panic arrives here as an error.
async fn run_job(
    ctx: JobContext,
    job: ClaimedJob,
    completer: Completer,
    release: CancellationToken,
) {
    let lease = job.lease.clone();
    let id = lease.snippet_id.clone();
    ctx.events.publish(
        &id,
        SnippetEvent::state(JobState::Processing, lease.attempt),
    );

    let cancel = CancelFlag::default();
    let (sink, mut progress) = ProgressSink::new();
    let started = Instant::now();
    let language = job.language.clone();
    let engine = Arc::clone(&ctx.engine);
    let request = HighlightRequest {
        code: job.code,
        language: job.language,
        // The engine's fallbacks must end before the worker's own limit
        // cuts the job off as failed.
        budget: ctx.settings.timeout.mul_f64(0.8),
    };
    // A panic inside the engine's own future (not only on its blocking
    // thread) must fail the job, never take the worker down with it.
    let work = AssertUnwindSafe(engine.highlight(request, sink, cancel.clone()))
        .catch_unwind()
        .map(|caught| {
            caught.unwrap_or_else(|_| {
                Err(EngineError::Permanent(
                    "The highlighter crashed on this input.".to_owned(),
                ))
            })
        });
    tokio::pin!(work);
    let deadline = tokio::time::sleep(ctx.settings.timeout);
    tokio::pin!(deadline);
    let mut heartbeat = tokio::time::interval_at(
        tokio::time::Instant::now() + ctx.settings.heartbeat,
        ctx.settings.heartbeat,
    );
    let mut progress_tick = tokio::time::interval(PROGRESS_EVERY);
    progress_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_pushed: Option<Progress> = None;
    let mut last_saved = Instant::now();

    let end = loop {
        tokio::select! {
            biased;
            result = &mut work => break RunEnd::Finished(result),
            _ = &mut deadline => break RunEnd::TimedOut,
            _ = release.cancelled() => break RunEnd::Released,
            _ = heartbeat.tick() => {
                let now = ctx.now();
                match ctx.store.renew_lease(&lease, now, now + ctx.settings.lease).await {
                    Ok(true) => {}
                    Ok(false) => break RunEnd::LostLease,
                    // The lease is still good until it expires; try again.
                    Err(e) => tracing::warn!(error = ?e, job = %id, "heartbeat failed"),
                }
            }
            _ = progress_tick.tick() => {
                let latest = *progress.borrow_and_update();
                if let Some(p) = latest.filter(|p| Some(*p) != last_pushed) {
                    last_pushed = Some(p);
                    ctx.events.publish(&id, SnippetEvent::Progress(p));
                    if last_saved.elapsed() >= PROGRESS_SAVE_EVERY {
                        last_saved = Instant::now();
                        match ctx.store.save_progress(&lease, p).await {
                            Ok(true) => {}
                            // Someone else holds the job now: this attempt
                            // is over, whatever it would produce.
                            Ok(false) => break RunEnd::LostLease,
                            // Progress is a courtesy; the heartbeat decides.
                            Err(e) => tracing::warn!(error = ?e, job = %id, "could not save progress"),
                        }
                    }
                }
            }
        }
    };
    // Whatever happened, an engine still running must stop using CPU.
    cancel.cancel();
    let ran_for = started.elapsed();
    if let RunEnd::Finished(_) = &end {
        metrics::engine_ran(&language, ran_for);
    }
    let ended = Ended {
        ran_for,
        enqueued_at: job.enqueued_at,
    };

    match end {
        RunEnd::Finished(Ok(html)) => {
            // The last progress is always sent, even inside the throttle window.
            let latest = *progress.borrow();
            if let Some(p) = latest.filter(|p| Some(*p) != last_pushed) {
                ctx.events.publish(&id, SnippetEvent::Progress(p));
            }
            completer
                .complete(Finished {
                    lease,
                    max_attempts: job.max_attempts,
                    html,
                    language,
                    highlighted_in_ms: ran_for.as_millis() as u64,
                    enqueued_at: job.enqueued_at,
                })
                .await;
        }
        RunEnd::Finished(Err(EngineError::Permanent(reason))) => {
            fail(&ctx, &lease, &reason, ended).await
        }
        RunEnd::Finished(Err(EngineError::Transient(reason))) => {
            if lease.attempt >= job.max_attempts {
                fail(&ctx, &lease, &reason, ended).await;
            } else {
                let delay = retry_delay(
                    lease.attempt,
                    ctx.settings.retry_base,
                    ctx.settings.retry_cap,
                );
                let now = ctx.now();
                let next_attempt_at = now + delay;
                match ctx
                    .store
                    .retry_job(&lease, &reason, next_attempt_at, now)
                    .await
                {
                    Ok(true) => {
                        metrics::attempt_ended(Outcome::Retrying, ran_for, None);
                        ctx.events.publish(
                            &id,
                            SnippetEvent::Retrying(Retrying {
                                error: reason,
                                attempt: lease.attempt,
                                next_attempt_at,
                            }),
                        )
                    }
                    Ok(false) => tracing::warn!(job = %id, "lease lost before retry was scheduled"),
                    Err(e) => tracing::error!(error = ?e, job = %id, "could not schedule a retry"),
                }
            }
        }
        RunEnd::TimedOut => {
            let limit = ctx.settings.timeout.as_secs_f64();
            // The same input would time out again: a permanent failure.
            let reason =
                format!("Highlighting timed out: it took longer than the {limit} s limit.");
            fail(&ctx, &lease, &reason, ended).await;
        }
        RunEnd::Released | RunEnd::Finished(Err(EngineError::Cancelled)) => {
            match ctx.store.release_job(&lease, ctx.now()).await {
                Ok(true) => {
                    metrics::attempt_ended(Outcome::Released, ran_for, None);
                    ctx.events.publish(
                        &id,
                        SnippetEvent::state(JobState::Queued, lease.attempt - 1),
                    )
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = ?e, job = %id, "could not release; the rescuer will")
                }
            }
        }
        RunEnd::LostLease => {
            tracing::warn!(job = %id, "lease taken over by another worker; stopped");
        }
    }
}

/// What the metrics want to know about an attempt that ended.
#[derive(Clone, Copy)]
struct Ended {
    ran_for: std::time::Duration,
    enqueued_at: Option<chrono::DateTime<chrono::Utc>>,
}

async fn fail(ctx: &JobContext, lease: &Lease, reason: &str, ended: Ended) {
    let id = &lease.snippet_id;
    match ctx.store.fail_job(lease, reason, ctx.now()).await {
        Ok(true) => {
            metrics::attempt_ended(Outcome::Failed, ended.ran_for, ended.enqueued_at);
            ctx.events.publish(
                id,
                SnippetEvent::Failed(Failed {
                    error: reason.to_owned(),
                    attempts: lease.attempt,
                }),
            )
        }
        Ok(false) => tracing::warn!(job = %id, "lease lost before failure was recorded"),
        Err(e) => tracing::error!(error = ?e, job = %id, "could not record the failure"),
    }
}
