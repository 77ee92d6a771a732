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
        let mut ticks = tokio::time::interval(self.ctx.settings.prune_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => { self.prune_once(Utc::now()).await; }
            }
        }
    }

    /// One pass, as of `now`. Returns how many records went.
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
