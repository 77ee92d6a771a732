//! The completer: stores finished jobs' results in batches.
//!
//! A worker that has highlighted a snippet hands the result here and takes
//! its next job at once. The completer writes whatever results are waiting
//! in ONE transaction (group commit): a single result when the queue is
//! quiet, so nothing ever waits for a timer, and up to [`MAX_BATCH`] when
//! it is busy, so a burst of small jobs costs one commit per batch instead
//! of one per job. Commits, not highlighting, bound a queue of small jobs.
//!
//! `highlighted` is published only after the commit: a page that reads the
//! database because of the event must find the result there. This node's
//! streams get it with its HTML at once; other nodes get a notice that the
//! store sends with the commit. When the
//! database fails, the write is tried again with backoff for as long as the
//! leases can still hold; if it never succeeds, each job is scheduled again
//! (or failed, on its last attempt) with the true reason, and failing that
//! too, its lease expires and the rescuer makes it due again.

use std::time::Duration;

use tokio::{sync::mpsc, task::JoinHandle};

use super::{JobContext, retry_delay, worker::FileOutput};
use crate::{
    domain::{FileHighlighted, Highlighted, SnippetEvent},
    server::{
        metrics::{self, Outcome},
        store::{Completed, FileResult, Lease, StoreError},
    },
};

/// The first pause before a failed write is tried again; it doubles.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The most results written in one transaction.
const MAX_BATCH: usize = 256;
/// Results waiting to be written before workers wait to hand theirs over.
const BACKLOG: usize = 1024;

/// A highlighted revision whose result is not stored yet.
pub struct Finished {
    pub lease: Lease,
    pub max_attempts: u32,
    /// Every file, in order: those highlighted now and those reused.
    pub files: Vec<FileOutput>,
    /// The engine version that wrote them.
    pub engine: String,
    pub highlighted_in_ms: u64,
    /// When the job was queued (for the submit -> done latency).
    pub enqueued_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Finished {
    /// The `highlighted` event of this revision: a one-file revision's
    /// HTML with it (with `html`), or without.
    fn highlighted(&self, html: bool) -> Highlighted {
        let one = (self.files.len() == 1).then(|| &self.files[0]);
        Highlighted {
            revision: self.lease.revision,
            html: one
                .filter(|_| html)
                .map(|f| f.html.clone())
                .unwrap_or_default(),
            language: self
                .files
                .first()
                .map(|f| f.language.clone())
                .unwrap_or_default(),
            highlighted_in_ms: self.highlighted_in_ms,
        }
    }

    /// Each file's result as a `file` event: pages take results from
    /// these (and skip those they show already); a one-file revision's
    /// API stream takes it from `highlighted`.
    fn file_events(&self) -> Vec<SnippetEvent> {
        self.files
            .iter()
            .map(|f| {
                SnippetEvent::File(FileHighlighted {
                    revision: self.lease.revision,
                    name: f.name.clone(),
                    hash: f.hash.clone(),
                    language: f.language.clone(),
                    html: f.html.clone(),
                    rendered: f.rendered.clone(),
                })
            })
            .collect()
    }
}

/// The workers' end: hands results to the completer.
#[derive(Clone)]
pub struct Completer {
    tx: mpsc::Sender<Finished>,
}

impl Completer {
    /// Starts the completer. It stops once every handle is dropped and
    /// everything handed over is written; await the `JoinHandle` for that.
    pub fn start(ctx: JobContext) -> (Completer, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(BACKLOG);
        (Completer { tx }, tokio::spawn(run(ctx, rx)))
    }

    /// Hands a result over; waits only while the backlog is full.
    pub async fn complete(&self, finished: Finished) {
        if let Err(unsent) = self.tx.send(finished).await {
            // Only possible if the completer task died: the lease will
            // expire and the job will run again.
            tracing::error!(job = %unsent.0.lease.snippet_id, "the completer is gone; result dropped");
        }
    }
}

async fn run(ctx: JobContext, mut rx: mpsc::Receiver<Finished>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        store_batch(&ctx, &mut batch).await;
    }
}

/// Writes the batch, trying again with backoff while the leases can still
/// hold (they were renewed at most one heartbeat ago, and last `lease`).
async fn write_with_backoff(ctx: &JobContext, batch: &[Finished]) -> Result<Vec<bool>, StoreError> {
    // Other nodes hear of a result through a notice sent with its commit.
    let notices: Vec<Option<String>> = batch
        .iter()
        .map(|f| {
            ctx.events.notice_for(
                &f.lease.snippet_id,
                &SnippetEvent::Highlighted(f.highlighted(false)),
            )
        })
        .collect();
    // Only what was highlighted now is stored: a reused result is there.
    let results: Vec<Vec<FileResult<'_>>> = batch
        .iter()
        .map(|f| {
            f.files
                .iter()
                .filter(|file| file.fresh)
                .map(|file| FileResult {
                    hash: &file.hash,
                    language: &file.language,
                    html: &file.html,
                    rendered: file.rendered.as_deref(),
                    highlighted_in_ms: file.took_ms,
                })
                .collect()
        })
        .collect();
    let done: Vec<Completed<'_>> = batch
        .iter()
        .zip(&notices)
        .zip(&results)
        .map(|((f, notice), files)| Completed {
            lease: &f.lease,
            files,
            engine: &f.engine,
            highlighted_in_ms: f.highlighted_in_ms,
            notice: notice.as_deref(),
        })
        .collect();
    let give_up_at =
        tokio::time::Instant::now() + ctx.settings.lease.saturating_sub(ctx.settings.heartbeat);
    let mut pause = FIRST_BACKOFF;
    let mut tries = 1u32;
    loop {
        match ctx.store.complete_jobs(&done, ctx.now()).await {
            Ok(stored) => return Ok(stored),
            Err(e) if tokio::time::Instant::now() + pause < give_up_at => {
                tracing::warn!(error = ?e, jobs = batch.len(), tries, ?pause, "could not store results; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_BACKOFF);
                tries += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The results could not be stored at all: say so on each job, so its
/// error is the truth ("could not be saved"), not "stopped responding".
async fn record_lost_results(ctx: &JobContext, batch: &[Finished], cause: &StoreError) {
    let reason = format!("The result could not be saved: the database failed ({cause}).");
    for finished in batch {
        let lease = &finished.lease;
        let now = ctx.now();
        let recorded = if lease.attempt >= finished.max_attempts {
            ctx.store.fail_job(lease, &reason, now).await
        } else {
            let delay = retry_delay(
                lease.attempt,
                ctx.settings.retry_base,
                ctx.settings.retry_cap,
            );
            ctx.store.retry_job(lease, &reason, now + delay, now).await
        };
        if let Err(e) = recorded {
            tracing::error!(error = ?e, job = %lease.snippet_id, "could not record the lost result either; the rescuer will run it again");
        }
    }
}

#[tracing::instrument(name = "store_results", skip_all, fields(jobs = batch.len()))]
async fn store_batch(ctx: &JobContext, batch: &mut Vec<Finished>) {
    let stored = write_with_backoff(ctx, batch).await;
    match stored {
        Ok(stored) => {
            for (finished, stored) in batch.drain(..).zip(stored) {
                let id = &finished.lease.snippet_id;
                if stored {
                    metrics::attempt_ended(
                        Outcome::Succeeded,
                        Duration::from_millis(finished.highlighted_in_ms),
                        finished.enqueued_at,
                    );
                    for event in finished.file_events() {
                        ctx.events.publish_committed(id, event);
                    }
                    ctx.events.publish_committed(
                        id,
                        SnippetEvent::Highlighted(finished.highlighted(true)),
                    );
                } else {
                    tracing::warn!(job = %id, "lease lost before completion; result discarded");
                }
            }
        }
        Err(e) => {
            tracing::error!(error = ?e, jobs = batch.len(), "could not store results; giving up on them");
            record_lost_results(ctx, batch, &e).await;
            // The pages of these jobs re-read the database, which says
            // what happened (or will, once the rescuer has run).
            ctx.events.hub().resync_all();
            batch.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, atomic::Ordering};

    use super::*;
    use crate::{
        domain::SnippetId,
        server::jobs::testing::{RecordingStore, context},
    };

    fn finished(id: &SnippetId, attempt: u32) -> Finished {
        Finished {
            lease: Lease {
                snippet_id: id.clone(),
                revision: 1,
                worker: "w/1".into(),
                attempt,
            },
            max_attempts: 5,
            files: vec![FileOutput {
                name: "file1".into(),
                hash: "abc".into(),
                language: "Plain Text".into(),
                html: "<pre>x</pre>".into(),
                rendered: None,
                fresh: true,
                took_ms: 1,
            }],
            engine: "test".into(),
            enqueued_at: None,
            highlighted_in_ms: 1,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_write_is_tried_again_until_it_lands() {
        let store = Arc::new(RecordingStore::default());
        store.complete_failures.store(3, Ordering::SeqCst);
        let ctx = context(Arc::clone(&store));
        let id = SnippetId::random();
        let mut events = ctx.events.hub().subscribe(&id);
        let (completer, done) = Completer::start(ctx);
        completer.complete(finished(&id, 1)).await;
        // Each file's result, then the revision's.
        let file = events.recv().await.unwrap();
        assert_eq!(file.event.name(), "file");
        let published = events.recv().await.unwrap();
        assert_eq!(published.event.name(), "highlighted");
        assert_eq!(store.complete_calls.load(Ordering::SeqCst), 4);
        assert!(store.recorded_errors.lock().unwrap().is_empty());
        drop(completer);
        done.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_never_lands_records_the_true_reason() {
        let store = Arc::new(RecordingStore::default());
        store.complete_failures.store(u32::MAX, Ordering::SeqCst);
        let ctx = context(Arc::clone(&store));
        let started = tokio::time::Instant::now();
        let (completer, done) = Completer::start(ctx);
        completer.complete(finished(&SnippetId::random(), 1)).await;
        completer.complete(finished(&SnippetId::random(), 5)).await;
        drop(completer);
        done.await.unwrap();
        // It kept trying while the leases could hold (30 s lease, 10 s
        // heartbeat by default), not longer.
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(15) && waited <= Duration::from_secs(20),
            "{waited:?}"
        );
        assert!(store.complete_calls.load(Ordering::SeqCst) > 3);
        let errors = store.recorded_errors.lock().unwrap().clone();
        assert_eq!(errors.len(), 2, "one retry, one final failure: {errors:?}");
        assert!(
            errors.iter().all(|e| e.contains("could not be saved")),
            "{errors:?}"
        );
    }
}
