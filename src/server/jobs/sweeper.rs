//! The sweeper: one loop, one job. Snippets whose time is up are deleted
//! (their jobs with them), leaving a tombstone so their pages answer
//! 410 Gone. (Hangfire.Highlighter ran a daily clean-up job; here each
//! snippet goes when its own time comes, give or take one period.)

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::JobContext;
use crate::domain::{Deleted, GoneReason, SnippetEvent};

pub struct Sweeper {
    ctx: JobContext,
}

impl Sweeper {
    pub fn new(ctx: JobContext) -> Self {
        Sweeper { ctx }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let this = &self;
        crate::server::periodic::every(
            this.ctx.settings.sweep_interval,
            &shutdown,
            || async move {
                this.sweep_once(this.ctx.now()).await;
            },
        )
        .await;
    }

    /// One pass, as of `now`; returns how many snippets went.
    #[tracing::instrument(name = "sweep", skip_all)]
    pub async fn sweep_once(&self, now: DateTime<Utc>) -> usize {
        match self.ctx.store.sweep_expired(now).await {
            Ok(gone) if gone.is_empty() => 0,
            Ok(gone) => {
                tracing::info!(deleted = gone.len(), "swept expired snippets");
                // Pages still open on them learn they are gone; lists drop them.
                for id in &gone {
                    self.ctx.events.publish(
                        id,
                        SnippetEvent::Deleted(Deleted {
                            reason: GoneReason::Expired,
                        }),
                    );
                }
                gone.len()
            }
            Err(e) => {
                tracing::warn!(error = ?e, "sweeper could not reach the store; will try again");
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use super::*;
    use crate::server::jobs::testing::{RecordingStore, context};

    #[tokio::test(start_paused = true)]
    async fn it_sweeps_every_period_until_shutdown() {
        let store = Arc::new(RecordingStore::default());
        let ctx = context(Arc::clone(&store));
        let start = ctx.now();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(Sweeper::new(ctx).run(shutdown.clone()));
        // Default period 60 s: passes at 0, 60 and 120 s.
        tokio::time::sleep(Duration::from_secs(121)).await;
        let offsets: Vec<i64> = store
            .sweep_calls
            .lock()
            .unwrap()
            .iter()
            .map(|t| (*t - start).num_seconds())
            .collect();
        assert_eq!(offsets, [0, 60, 120]);
        shutdown.cancel();
        task.await.unwrap();
    }
}
