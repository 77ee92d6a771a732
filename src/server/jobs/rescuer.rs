//! The rescuer: one loop, one job. A job whose lease expired belongs to a
//! worker that died (or froze); the rescuer makes it due again so another
//! worker picks it up. With the default 30 s lease and a 15 s period, a job
//! whose process was killed runs again within 45 s.

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::JobContext;
use crate::{
    domain::{JobState, SnippetEvent},
    server::store::Rescued,
};

pub struct Rescuer {
    ctx: JobContext,
}

impl Rescuer {
    pub fn new(ctx: JobContext) -> Self {
        Rescuer { ctx }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let this = &self;
        crate::server::periodic::every(
            this.ctx.settings.rescue_interval,
            &shutdown,
            || async move {
                this.rescue_once(this.ctx.now()).await;
            },
        )
        .await;
    }

    /// One pass, as of `now`; returns how many jobs it rescued. Public so
    /// tests can drive it with a clock of their own.
    #[tracing::instrument(name = "rescue", skip_all)]
    pub async fn rescue_once(&self, now: chrono::DateTime<Utc>) -> usize {
        let rescued = match self.ctx.store.rescue_expired(now).await {
            Ok(rescued) => rescued,
            Err(e) => {
                tracing::warn!(error = ?e, "rescuer could not reach the store; will try again");
                return 0;
            }
        };
        let count = rescued.len();
        crate::server::metrics::attempts_abandoned(count);
        let mut requeued = 0;
        for job in rescued {
            match job {
                Rescued::Requeued(id, revision) => {
                    requeued += 1;
                    self.ctx
                        .events
                        .publish(&id, SnippetEvent::state(JobState::Queued, 0, revision));
                }
                Rescued::Failed(id, failed) => {
                    self.ctx.events.publish(&id, SnippetEvent::Failed(failed));
                }
            }
        }
        if requeued > 0 {
            tracing::info!(requeued, "rescued jobs whose lease expired");
            self.ctx.wake.notify_one();
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use super::*;
    use crate::{
        domain::SnippetId,
        server::jobs::testing::{RecordingStore, context},
    };

    #[tokio::test(start_paused = true)]
    async fn it_runs_every_period_and_announces_what_it_rescued() {
        let store = Arc::new(RecordingStore::default());
        let id = SnippetId::parse("abcdefabcdef").unwrap();
        *store.rescue_answers.lock().unwrap() = vec![
            Vec::new(),
            Vec::new(),
            vec![Rescued::Requeued(id.clone(), 1)],
        ];
        let ctx = context(Arc::clone(&store));
        let start = ctx.now();
        let mut events = ctx.events.hub().subscribe(&id);
        let wake = Arc::clone(&ctx.wake);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(Rescuer::new(ctx).run(shutdown.clone()));

        // Runs at once, then every 15 s (the default period).
        tokio::time::sleep(Duration::from_secs(31)).await;
        let calls = store.rescue_calls.lock().unwrap().clone();
        let offsets: Vec<i64> = calls.iter().map(|t| (*t - start).num_seconds()).collect();
        assert_eq!(offsets, [0, 15, 30]);

        // The third pass rescued a job: its pages hear it is queued again,
        // and the workers are woken.
        let published = events.recv().await.unwrap();
        assert_eq!(published.event.name(), "state");
        assert!(String::from_utf8_lossy(published.body.as_ref()).contains("\"queued\""));
        tokio::time::timeout(Duration::from_millis(1), wake.notified())
            .await
            .expect("workers woken");

        shutdown.cancel();
        task.await.unwrap();
    }
}
