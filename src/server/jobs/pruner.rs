//! The pruner: one loop, one job. Finished job records are history, not
//! state: after their retention (succeeded 24 h, failed 7 days by default)
//! they are deleted. Snippets are never touched: their outcome (HTML or
//! error) lives on the snippet row, so pages read the same after pruning.

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::JobContext;

pub struct Pruner {
    ctx: JobContext,
}

impl Pruner {
    pub fn new(ctx: JobContext) -> Self {
        Pruner { ctx }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let this = &self;
        crate::server::periodic::every(
            this.ctx.settings.prune_interval,
            &shutdown,
            || async move {
                this.prune_once(this.ctx.now()).await;
            },
        )
        .await;
    }

    /// One pass, as of `now`. Returns how many records went.
    #[tracing::instrument(name = "prune", skip_all)]
    pub async fn prune_once(&self, now: chrono::DateTime<Utc>) -> u64 {
        let settings = &self.ctx.settings;
        match self
            .ctx
            .store
            .prune_finished_jobs(
                now - settings.succeeded_retention,
                now - settings.failed_retention,
            )
            .await
        {
            Ok(0) => 0,
            Ok(pruned) => {
                tracing::info!(pruned, "pruned finished job records");
                pruned
            }
            Err(e) => {
                tracing::warn!(error = ?e, "pruner could not reach the store; will try again");
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
    async fn it_prunes_every_period_with_each_retention() {
        let store = Arc::new(RecordingStore::default());
        let ctx = context(Arc::clone(&store));
        let start = ctx.now();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(Pruner::new(ctx).run(shutdown.clone()));

        // Default period 5 minutes: passes at 0, 300 and 600 s.
        tokio::time::sleep(Duration::from_secs(601)).await;
        let calls = store.prune_calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 3);
        for (pass, (succeeded_before, failed_before)) in calls.iter().enumerate() {
            let now = start + chrono::Duration::seconds(300 * pass as i64);
            assert_eq!(now - *succeeded_before, chrono::Duration::hours(24));
            assert_eq!(now - *failed_before, chrono::Duration::days(7));
        }

        // It stops with the shutdown token.
        shutdown.cancel();
        task.await.unwrap();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(store.prune_calls.lock().unwrap().len(), 3);
    }
}
