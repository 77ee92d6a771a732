//! The rescuer: one loop, one job. A job whose lease expired belongs to a
//! worker that died (or froze); the rescuer makes it due again so another
//! worker picks it up. With the default 30 s lease and a 15 s period, a job
//! whose process was killed runs again within 45 s.

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::JobContext;
use crate::{
    domain::{Failed, JobState, SnippetEvent, StateChanged},
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
        let mut ticks = tokio::time::interval(self.ctx.settings.rescue_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => { self.rescue_once(Utc::now()).await; }
            }
        }
    }

    /// One pass, as of `now`; returns how many jobs it rescued. Public so
    /// tests can drive it with a clock of their own.
    pub async fn rescue_once(&self, now: chrono::DateTime<Utc>) -> usize {
        let rescued = match self.ctx.store.rescue_expired(now).await {
            Ok(rescued) => rescued,
            Err(e) => {
                tracing::warn!(error = ?e, "rescuer could not reach the store; will try again");
                return 0;
            }
        };
        let count = rescued.len();
        let mut requeued = 0;
        for job in rescued {
            match job {
                Rescued::Requeued(id) => {
                    requeued += 1;
                    self.ctx.hub.publish(
                        &id,
                        SnippetEvent::State(StateChanged {
                            state: JobState::Queued,
                            progress: None,
                            attempts: 0,
                            next_attempt_at: None,
                        }),
                    );
                }
                Rescued::Failed(id) => {
                    let view = self.ctx.store.snippet(&id).await.ok().flatten();
                    self.ctx.hub.publish(
                        &id,
                        SnippetEvent::Failed(Failed {
                            error: view
                                .as_ref()
                                .and_then(|v| v.error.clone())
                                .unwrap_or_default(),
                            attempts: view.map_or(0, |v| v.attempts),
                        }),
                    );
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
