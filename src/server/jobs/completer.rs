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
//! database because of the event must find the result there. A result the
//! completer cannot store is not lost for good: its lease expires and the
//! rescuer makes the job due again.

use tokio::{sync::mpsc, task::JoinHandle};

use super::JobContext;
use crate::{
    domain::{Highlighted, SnippetEvent},
    server::store::{Completed, Lease},
};

/// The most results written in one transaction.
const MAX_BATCH: usize = 256;
/// Results waiting to be written before workers wait to hand theirs over.
const BACKLOG: usize = 1024;

/// A highlighted snippet whose result is not stored yet.
pub struct Finished {
    pub lease: Lease,
    pub html: String,
    pub language: String,
    pub highlighted_in_ms: u64,
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

async fn store_batch(ctx: &JobContext, batch: &mut Vec<Finished>) {
    let done: Vec<Completed<'_>> = batch
        .iter()
        .map(|f| Completed {
            lease: &f.lease,
            html: &f.html,
            highlighted_in_ms: f.highlighted_in_ms,
        })
        .collect();
    let stored = ctx.store.complete_jobs(&done, ctx.now()).await;
    drop(done);
    match stored {
        Ok(stored) => {
            for (finished, stored) in batch.drain(..).zip(stored) {
                let id = finished.lease.snippet_id;
                if stored {
                    ctx.events.publish_completed(
                        &id,
                        SnippetEvent::Highlighted(Highlighted {
                            html: finished.html,
                            language: finished.language,
                            highlighted_in_ms: finished.highlighted_in_ms,
                        }),
                    );
                } else {
                    tracing::warn!(job = %id, "lease lost before completion; result discarded");
                }
            }
        }
        Err(e) => {
            tracing::error!(
                error = ?e,
                jobs = batch.len(),
                "could not store results; their leases will expire and they run again"
            );
            batch.clear();
        }
    }
}
