//! Workers: claim -> run -> complete.
//!
//! One claim loop per process owns `slots` job slots and a small local
//! queue in front of them. While jobs are short it claims ahead, several
//! jobs in one commit, once the local queue runs low (a claim per job
//! would make commits the limit of a busy queue); while they are long it
//! claims only for free slots, so other nodes get the rest. Each claimed
//! job gets its own task, which waits for a slot, and sleeps until woken
//! (a new job), a slot frees up, or the fallback poll comes round. A job
//! renews its lease by heartbeat from the moment it is claimed, waiting or
//! running, streams throttled progress, and ends in exactly one of:
//! succeeded, retrying, failed, released (shutdown), or abandoned (its
//! lease was taken over). A success is handed to the [`Completer`], which
//! stores results in batches, and the slot is free for the next job at
//! once.

use std::{
    panic::AssertUnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::FutureExt;

use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use super::{
    JobContext,
    completer::{Completer, Finished},
    retry_delay,
};
use crate::{
    domain::{Failed, JobState, Progress, Progressed, Retrying, SnippetEvent},
    server::{
        highlight::{CancelFlag, EngineError, HighlightRequest, ProgressSink},
        metrics::{self, Outcome},
        store::{ClaimedJob, JobFile, Lease},
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
    Finished(Result<Vec<FileOutput>, EngineError>),
    TimedOut,
    Released,
    LostLease,
}

/// Jobs that run longer than this on average are claimed only for free
/// slots: a node holding long jobs it cannot start yet would keep them
/// from idle nodes, and the claims they would save are few.
const PREFETCH_BELOW: Duration = Duration::from_millis(50);

/// The local queue: jobs this node has claimed, waiting for a slot. It
/// only needs refilling when it has run low, and then in one claim.
struct LocalQueue {
    slots: Arc<Semaphore>,
    slot_count: usize,
    /// Jobs claimed ahead of free slots, per slot, while jobs are short
    /// (the `claim_ahead` setting): a claim is a commit, and claiming one
    /// job per finished job makes the commits, not the highlighting, the
    /// limit of a busy queue of small jobs.
    ahead_per_slot: usize,
    recent: RecentRuns,
}

/// How long jobs ran lately: a moving average over about the last eight,
/// in microseconds, shared by the pool and its jobs.
#[derive(Clone, Default)]
struct RecentRuns(Arc<AtomicU64>);

impl RecentRuns {
    fn mean(&self) -> Duration {
        Duration::from_micros(self.0.load(Ordering::Relaxed))
    }

    fn record(&self, took: Duration) {
        let took = took.as_micros().min(u128::from(u32::MAX)) as u64;
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |mean| {
                Some(mean - mean / 8 + took / 8)
            });
    }
}

impl LocalQueue {
    fn new(slot_count: usize, ahead_per_slot: usize) -> Self {
        LocalQueue {
            slots: Arc::new(Semaphore::new(slot_count)),
            slot_count,
            ahead_per_slot,
            recent: RecentRuns::default(),
        }
    }

    fn prefetch(&self) -> usize {
        if self.recent.mean() < PREFETCH_BELOW {
            self.slot_count * self.ahead_per_slot
        } else {
            0
        }
    }

    /// How many jobs to claim with `held` claimed and not finished: none
    /// while the queue holds enough to keep every slot busy until a claim
    /// returns, otherwise enough to fill it.
    fn to_claim(&self, held: usize) -> usize {
        let capacity = self.slot_count + self.prefetch();
        let low_water = self.slot_count + self.prefetch() / 2;
        if held > low_water || held >= capacity {
            0
        } else {
            capacity - held
        }
    }
}

impl WorkerPool {
    pub fn new(ctx: JobContext, slots: usize) -> Self {
        WorkerPool {
            ctx,
            slots: slots.max(1),
        }
    }

    /// Runs until `shutdown`; then stops claiming, releases the jobs that
    /// have not started, gives running jobs the grace period to finish, and
    /// releases the rest back to the queue.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut in_flight = JoinSet::new();
        // Cancelled when the grace period is over: running jobs release.
        let release = CancellationToken::new();
        let mut failures = 0u32;
        let mut claims = 0u64;
        let queue = LocalQueue::new(self.slots, self.ctx.settings.claim_ahead);
        let (completer, mut completing) = Completer::start(self.ctx.clone());
        // Set when the completer ended on its own: results would go nowhere.
        let mut completer_ended = None;
        let node = &self.ctx.node;
        let mut paused = node.paused_signal();
        // Stored results are this engine's to reuse (a file unchanged
        // since it was last highlighted is not highlighted again).
        let engine = self.ctx.engine.version();
        tracing::info!(node = %node.id, slots = self.slots, %engine, "worker pool started");
        while !shutdown.is_cancelled() {
            while in_flight.try_join_next().is_some() {}
            node.set_busy(in_flight.len().min(self.slots));
            let wanted = queue.to_claim(in_flight.len());
            // Paused: running jobs go on, nothing new is claimed.
            if wanted > 0 && !*paused.borrow_and_update() {
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
                    .claim_jobs(&holder, wanted as u32, now, lease_until, &engine)
                    .await
                {
                    Ok(jobs) => {
                        failures = 0;
                        let claimed_all = jobs.len() == wanted;
                        for job in jobs {
                            let run = Run {
                                ctx: self.ctx.clone(),
                                job,
                                completer: completer.clone(),
                                slots: Arc::clone(&queue.slots),
                                recent: queue.recent.clone(),
                                shutdown: shutdown.clone(),
                                release: release.clone(),
                            };
                            in_flight.spawn(run.run());
                        }
                        node.set_busy(in_flight.len().min(self.slots));
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
                ended = &mut completing => {
                    // Jobs could still run, and every result would be lost:
                    // the pool stops, and with it the node (its supervision
                    // in `startup` sees the pool end).
                    completer_ended = Some(ended);
                    break;
                }
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
        let ended = match completer_ended {
            Some(ended) => {
                tracing::error!(outcome = ?ended, "the completer ended while the pool ran: stopping the pool");
                crate::server::metrics::background_task_failed("completer");
                ended
            }
            None => completing.await,
        };
        if let Err(e) = ended {
            tracing::error!(error = %e, "the completer failed; results it held were not stored (their jobs run again once their leases expire)");
        }
        node.set_busy(0);
        tracing::info!(node = %node.id, "worker pool stopped");
    }
}

/// One claimed job, from the local queue to one of its ends. Never panics
/// out: an engine panic arrives as an error.
struct Run {
    ctx: JobContext,
    job: ClaimedJob,
    completer: Completer,
    slots: Arc<Semaphore>,
    recent: RecentRuns,
    /// The pool is stopping: a job that has not started goes back at once.
    shutdown: CancellationToken,
    /// The grace period is over: a running job goes back too.
    release: CancellationToken,
}

impl Run {
    #[tracing::instrument(name = "job", skip_all, fields(snippet = %self.job.lease.snippet_id, revision = self.job.lease.revision, attempt = self.job.lease.attempt))]
    async fn run(mut self) {
        let Some(_slot) = self.wait_for_slot().await else {
            return;
        };
        let started = Instant::now();
        let lease = self.job.lease.clone();
        let max_attempts = self.job.max_attempts;
        let enqueued_at = self.job.enqueued_at;
        let language = self
            .job
            .files
            .first()
            .map(|f| f.language.clone())
            .unwrap_or_default();
        self.ctx.events.publish(
            &lease.snippet_id,
            SnippetEvent::state(JobState::Processing, lease.attempt, lease.revision),
        );
        let end = self.highlight().await;
        let ran_for = started.elapsed();
        self.recent.record(ran_for);
        if let RunEnd::Finished(_) = &end {
            metrics::engine_ran(&language, ran_for);
        }
        let ended = Ended {
            ran_for,
            enqueued_at,
        };
        let ctx = &self.ctx;
        let id = &lease.snippet_id;
        match end {
            RunEnd::Finished(Ok(files)) => {
                self.completer
                    .complete(Finished {
                        lease,
                        max_attempts,
                        files,
                        engine: ctx.engine.version(),
                        highlighted_in_ms: ran_for.as_millis() as u64,
                        enqueued_at,
                    })
                    .await;
            }
            RunEnd::Finished(Err(EngineError::Permanent(reason))) => {
                fail(ctx, &lease, &reason, ended).await
            }
            RunEnd::Finished(Err(EngineError::Transient(reason))) => {
                if lease.attempt >= max_attempts {
                    fail(ctx, &lease, &reason, ended).await;
                } else {
                    retry(ctx, &lease, reason, ended).await;
                }
            }
            RunEnd::TimedOut => {
                let limit = ctx.settings.timeout.as_secs_f64();
                // The engine as a whole ran past the job's limit. The
                // default engine does not: a tree-sitter child past its
                // share of the budget is killed (and replaced), and syntect
                // finishes in the time left, writing plain text past its
                // own budget (`highlight::native`, `highlight::isolate`).
                // A remote engine, or one that ignores its budget, can; the
                // same input would time out again: a permanent failure.
                let reason =
                    format!("Highlighting timed out: it took longer than the {limit} s limit.");
                fail(ctx, &lease, &reason, ended).await;
            }
            RunEnd::Released | RunEnd::Finished(Err(EngineError::Cancelled)) => {
                release(ctx, &lease, Some(ran_for)).await
            }
            RunEnd::LostLease => {
                tracing::warn!(job = %id, "lease taken over by another worker; stopped");
            }
        }
    }

    /// Waits in the local queue for a free slot, renewing the lease as a
    /// running job would. `None`: the job will not run here (the pool is
    /// stopping and it went back to the queue, or its lease was lost).
    async fn wait_for_slot(&self) -> Option<OwnedSemaphorePermit> {
        let ctx = &self.ctx;
        let lease = &self.job.lease;
        let mut heartbeat = heartbeat(ctx);
        let acquire = Arc::clone(&self.slots).acquire_owned();
        tokio::pin!(acquire);
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => {
                    release(ctx, lease, None).await;
                    return None;
                }
                permit = &mut acquire => return permit.ok(),
                _ = heartbeat.tick() => {
                    if !renew(ctx, lease).await {
                        tracing::warn!(job = %lease.snippet_id, "lease taken over while queued here");
                        return None;
                    }
                }
            }
        }
    }

    /// Highlights every file of the revision in turn (a file whose result
    /// this engine stored before, because it did not change, is taken as
    /// it is), under the job's time limit, with lease heartbeats and
    /// throttled progress in bytes of all its files. A Markdown file is
    /// also rendered, its fences highlighted by the same engine.
    async fn highlight(&mut self) -> RunEnd {
        let files = std::mem::take(&mut self.job.files);
        let to_do: u64 = files
            .iter()
            .filter(|f| f.code.is_some())
            .map(|f| f.bytes)
            .sum();
        let mut driver = Driver {
            deadline: Box::pin(tokio::time::sleep(self.ctx.settings.timeout)),
            ends_at: tokio::time::Instant::now() + self.ctx.settings.timeout,
            heartbeat: heartbeat(&self.ctx),
            tick: {
                let mut tick = tokio::time::interval(PROGRESS_EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                tick
            },
            last_pushed: None,
            last_saved: Instant::now(),
            done_bytes: 0,
            total_bytes: to_do,
            current: None,
            latest: None,
        };
        let mut outputs = Vec::with_capacity(files.len());
        let mut left_to_do = to_do;
        for file in files {
            let JobFile {
                name,
                language,
                hash,
                bytes,
                code,
                cached_html,
                cached_rendered,
                ..
            } = file;
            let Some(code) = code else {
                outputs.push(FileOutput {
                    name,
                    hash,
                    language,
                    html: cached_html.unwrap_or_default(),
                    rendered: cached_rendered,
                    fresh: false,
                    took_ms: 0,
                });
                continue;
            };
            let started = Instant::now();
            // Each file gets the share of the time left that its size is of
            // the work left, so every file is done before the limit.
            let left = driver
                .ends_at
                .saturating_duration_since(tokio::time::Instant::now());
            let share = bytes as f64 / left_to_do.max(1) as f64;
            let budget = left.mul_f64(0.8 * share.clamp(0.05, 1.0));
            let markdown = crate::domain::files::is_markdown(&name);
            let markdown_source = markdown.then(|| code.clone());
            let request = HighlightRequest {
                code,
                language: language.clone(),
                budget,
            };
            driver.start_file(&name, bytes);
            // Pages say which file is under way from its first moment.
            driver.push_latest_of_file(&self.ctx, &self.job.lease);
            let html = match self.drive(&mut driver, request, true).await {
                Ok(Ok(html)) => html,
                Ok(Err(e)) => return RunEnd::Finished(Err(e)),
                Err(end) => return end,
            };
            let rendered = match markdown_source {
                Some(source) => match self.render_markdown(&mut driver, &source).await {
                    Ok(rendered) => Some(rendered),
                    Err(end) => return end,
                },
                None => None,
            };
            driver.finish_file(bytes);
            left_to_do = left_to_do.saturating_sub(bytes);
            outputs.push(FileOutput {
                name,
                hash,
                language,
                html,
                rendered,
                fresh: true,
                took_ms: started.elapsed().as_millis() as u64,
            });
        }
        // The last progress is always sent, even inside the throttle window.
        driver.push_latest(&self.ctx, &self.job.lease);
        RunEnd::Finished(Ok(outputs))
    }

    /// A Markdown file rendered, each fence highlighted in the language
    /// its info string names (plain where it names none this server
    /// knows).
    async fn render_markdown(&self, driver: &mut Driver, code: &str) -> Result<String, RunEnd> {
        let fences = crate::server::highlight::markdown::fences(code);
        let mut highlighted = Vec::with_capacity(fences.len());
        for fence in fences {
            let Some(language) = self
                .ctx
                .languages
                .resolve(&fence.language)
                .map(str::to_owned)
            else {
                highlighted.push(None);
                continue;
            };
            let left = driver
                .ends_at
                .saturating_duration_since(tokio::time::Instant::now());
            let request = HighlightRequest {
                code: fence.code,
                language,
                budget: left.mul_f64(0.2),
            };
            highlighted.push(match self.drive(driver, request, false).await? {
                Ok(html) => Some(html),
                // A fence is a courtesy: shown plain rather than fail the file.
                Err(EngineError::Cancelled) => return Err(RunEnd::Released),
                Err(_) => None,
            });
        }
        Ok(crate::server::highlight::markdown::render(
            code,
            &highlighted,
        ))
    }

    /// Runs the engine on one request under the job's limit, renewing the
    /// lease and (with `report`) pushing progress meanwhile. `Err`: the
    /// job ended otherwise (time, release, lost lease).
    async fn drive(
        &self,
        driver: &mut Driver,
        request: HighlightRequest,
        report: bool,
    ) -> Result<Result<String, EngineError>, RunEnd> {
        let ctx = &self.ctx;
        let lease = &self.job.lease;
        let cancel = CancelFlag::default();
        // Whatever happens, an engine still running must stop using CPU:
        // when this returns, and when this future is dropped unfinished.
        let _stop_engine = cancel.cancel_on_drop();
        let (sink, mut progress) = ProgressSink::new();
        let engine = Arc::clone(&ctx.engine);
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
        let outcome = loop {
            tokio::select! {
                biased;
                result = &mut work => break Ok(result),
                _ = driver.deadline.as_mut() => break Err(RunEnd::TimedOut),
                _ = self.release.cancelled() => break Err(RunEnd::Released),
                _ = driver.heartbeat.tick() => {
                    if !renew(ctx, lease).await {
                        break Err(RunEnd::LostLease);
                    }
                }
                _ = driver.tick.tick(), if report => {
                    let latest = *progress.borrow_and_update();
                    if !driver.push(ctx, lease, latest).await {
                        break Err(RunEnd::LostLease);
                    }
                }
            }
        };
        if report {
            driver.note(*progress.borrow());
        }
        outcome
    }
}

/// One file's result, as the worker hands it to the completer.
pub struct FileOutput {
    pub name: String,
    pub hash: String,
    pub language: String,
    pub html: String,
    pub rendered: Option<String>,
    /// Highlighted now (`false`: this engine's stored result, reused).
    pub fresh: bool,
    pub took_ms: u64,
}

/// What runs one job's engine calls share: the job's time limit, its
/// lease heartbeat, and its progress across files.
struct Driver {
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    ends_at: tokio::time::Instant,
    heartbeat: tokio::time::Interval,
    tick: tokio::time::Interval,
    last_pushed: Option<Progressed>,
    last_saved: Instant,
    /// Bytes of the files done, and of the one under way as far as it got.
    done_bytes: u64,
    total_bytes: u64,
    /// The file under way: its name, its bytes, and the bytes done before it.
    current: Option<(String, u64, u64)>,
    /// The latest progress seen (pushed or not).
    latest: Option<Progressed>,
}

impl Driver {
    fn start_file(&mut self, name: &str, bytes: u64) {
        self.current = Some((name.to_owned(), bytes, self.done_bytes));
    }

    fn finish_file(&mut self, bytes: u64) {
        if let Some((_, _, before)) = self.current.take() {
            self.done_bytes = before + bytes;
        }
    }

    /// The engine's progress in the current file (lines) as bytes of all.
    fn progressed(&self, lines: Option<Progress>, revision: u32) -> Option<Progressed> {
        let (name, bytes, before) = self.current.as_ref()?;
        let within = match lines {
            Some(p) if p.total > 0 => bytes * u64::from(p.done.min(p.total)) / u64::from(p.total),
            _ => 0,
        };
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        Some(Progressed {
            revision,
            done: clamp(before + within),
            total: clamp(self.total_bytes),
            file: Some(name.clone()),
        })
    }

    fn note(&mut self, lines: Option<Progress>) {
        if let Some(p) = self.progressed(lines, 0) {
            self.latest = Some(p);
        }
    }

    /// Pushes the progress (throttled by the caller's tick) and saves it
    /// now and then. `false`: the lease is lost.
    async fn push(&mut self, ctx: &JobContext, lease: &Lease, lines: Option<Progress>) -> bool {
        let Some(mut p) = self.progressed(lines, lease.revision) else {
            return true;
        };
        p.revision = lease.revision;
        self.latest = Some(p.clone());
        if self.last_pushed.as_ref() != Some(&p) {
            self.last_pushed = Some(p.clone());
            ctx.events
                .publish(&lease.snippet_id, SnippetEvent::Progress(p.clone()));
        }
        // Saved now and then even when it did not move (a long line, or
        // bytes too few to count): the save is also how a worker learns
        // that its lease was taken.
        if self.last_saved.elapsed() >= PROGRESS_SAVE_EVERY {
            self.last_saved = Instant::now();
            match ctx.store.save_progress(lease, p.progress()).await {
                Ok(true) => {}
                // Someone else holds the job now: this attempt is over,
                // whatever it would produce.
                Ok(false) => return false,
                // Progress is a courtesy; the heartbeat decides.
                Err(e) => {
                    tracing::warn!(error = ?e, job = %lease.snippet_id, "could not save progress")
                }
            }
        }
        true
    }

    /// The file just started, at its first byte.
    fn push_latest_of_file(&mut self, ctx: &JobContext, lease: &Lease) {
        if let Some(p) = self.progressed(None, lease.revision) {
            self.latest = Some(p);
            self.push_latest(ctx, lease);
        }
    }

    /// The last progress, if it was not pushed yet.
    fn push_latest(&mut self, ctx: &JobContext, lease: &Lease) {
        if let Some(mut latest) = self.latest.clone() {
            latest.revision = lease.revision;
            if self.last_pushed.as_ref() != Some(&latest) {
                self.last_pushed = Some(latest.clone());
                ctx.events
                    .publish(&lease.snippet_id, SnippetEvent::Progress(latest));
            }
        }
    }
}

/// Lease renewals, one heartbeat apart, the first one heartbeat from now.
fn heartbeat(ctx: &JobContext) -> tokio::time::Interval {
    tokio::time::interval_at(
        tokio::time::Instant::now() + ctx.settings.heartbeat,
        ctx.settings.heartbeat,
    )
}

/// Extends the lease. `false`: it was lost (someone else holds the job).
/// A failed write keeps the lease as it is: it holds until it expires, and
/// the next heartbeat tries again.
async fn renew(ctx: &JobContext, lease: &Lease) -> bool {
    let now = ctx.now();
    match ctx
        .store
        .renew_lease(lease, now, now + ctx.settings.lease)
        .await
    {
        Ok(renewed) => renewed,
        Err(e) => {
            tracing::warn!(error = ?e, job = %lease.snippet_id, "heartbeat failed");
            true
        }
    }
}

/// Gives the job back to the queue; the attempt does not count. `ran_for`
/// is `None` for a job that never started.
async fn release(ctx: &JobContext, lease: &Lease, ran_for: Option<Duration>) {
    let id = &lease.snippet_id;
    match ctx.store.release_job(lease, ctx.now()).await {
        Ok(true) => {
            metrics::attempt_ended(Outcome::Released, ran_for.unwrap_or_default(), None);
            ctx.events.publish(
                id,
                SnippetEvent::state(JobState::Queued, lease.attempt - 1, lease.revision),
            )
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = ?e, job = %id, "could not release; the rescuer will")
        }
    }
}

/// Schedules the next attempt after a transient failure.
async fn retry(ctx: &JobContext, lease: &Lease, reason: String, ended: Ended) {
    let id = &lease.snippet_id;
    let delay = retry_delay(
        lease.attempt,
        ctx.settings.retry_base,
        ctx.settings.retry_cap,
    );
    let now = ctx.now();
    let next_attempt_at = now + delay;
    match ctx
        .store
        .retry_job(lease, &reason, next_attempt_at, now)
        .await
    {
        Ok(true) => {
            metrics::attempt_ended(Outcome::Retrying, ended.ran_for, None);
            ctx.events.publish(
                id,
                SnippetEvent::Retrying(Retrying {
                    error: reason,
                    attempt: lease.attempt,
                    next_attempt_at,
                    revision: lease.revision,
                }),
            )
        }
        Ok(false) => tracing::warn!(job = %id, "lease lost before retry was scheduled"),
        Err(e) => tracing::error!(error = ?e, job = %id, "could not schedule a retry"),
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
                    revision: lease.revision,
                }),
            )
        }
        Ok(false) => tracing::warn!(job = %id, "lease lost before failure was recorded"),
        Err(e) => tracing::error!(error = ?e, job = %id, "could not record the failure"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_jobs_are_claimed_ahead_and_only_when_the_queue_runs_low() {
        let queue = LocalQueue::new(2, 8);
        let capacity = 2 + 2 * 8;
        assert_eq!(queue.to_claim(0), capacity, "an empty queue fills up");
        let low_water = 2 + 8;
        assert_eq!(queue.to_claim(low_water), capacity - low_water);
        assert_eq!(
            queue.to_claim(low_water + 1),
            0,
            "no claim while enough wait"
        );
        assert_eq!(queue.to_claim(capacity), 0);
        // `claim_ahead = 0`: only for free slots, whatever the jobs' length.
        let exact = LocalQueue::new(2, 0);
        assert_eq!(exact.to_claim(0), 2);
        assert_eq!(exact.to_claim(1), 1);
        assert_eq!(exact.to_claim(2), 0);
    }

    #[test]
    fn long_jobs_are_claimed_only_for_free_slots() {
        let queue = LocalQueue::new(2, 8);
        for _ in 0..32 {
            queue.recent.record(PREFETCH_BELOW * 2);
        }
        assert_eq!(queue.to_claim(0), 2);
        assert_eq!(queue.to_claim(1), 1);
        assert_eq!(queue.to_claim(2), 0);
        // Short again: the prefetch comes back.
        for _ in 0..64 {
            queue.recent.record(Duration::from_micros(100));
        }
        assert_eq!(queue.to_claim(2), 2 * 8);
    }
}
