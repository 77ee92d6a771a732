//! The job engine: workers that claim, run and finish highlighting jobs,
//! and the maintenance loops that keep the queue healthy, one per file.
//!
//! - `worker.rs`: claim -> run -> complete, with lease heartbeats, progress,
//!   the time limit, retries and graceful shutdown.
//! - `completer.rs`: results stored in batches, one commit per batch.
//! - `rescuer.rs`: jobs whose lease expired (their process died) are made
//!   due again.
//! - `pruner.rs`: finished job records are deleted after their retention.
//! - `sweeper.rs`: expired snippets are deleted.
//! - `backoff.rs`: when a failed attempt runs again.
//!
//! The maintenance loops (and the node heartbeat) all tick with
//! [`every`](crate::server::periodic::every).
//!
//! Job states and who moves a job between them are documented on
//! [`JobState`](crate::domain::JobState).

mod backoff;
mod completer;
mod pruner;
mod rescuer;
mod sweeper;
#[cfg(test)]
mod testing;
mod worker;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::server::{
    events::EventBus,
    highlight::{DynEngine, Languages},
    node::Node,
    settings::JobSettings,
    store::DynJobStore,
};

pub use backoff::retry_delay;
pub use pruner::Pruner;
pub use rescuer::Rescuer;
pub use sweeper::Sweeper;
pub use worker::WorkerPool;

/// What every part of the job engine shares.
#[derive(Clone)]
pub struct JobContext {
    pub store: DynJobStore,
    pub engine: DynEngine,
    /// The languages a Markdown fence may name.
    pub languages: Languages,
    pub events: EventBus,
    pub settings: JobSettings,
    /// Rung after a job is enqueued (or made due) so idle workers claim it
    /// at once instead of at their next poll.
    pub wake: Arc<Notify>,
    /// This process: its id names every claim, its pause flag stops them.
    pub node: Arc<Node>,
    /// Where the job engine reads the time. Production reads the system
    /// clock; tests hand in a clock that follows tokio's paused time.
    pub clock: Clock,
}

impl JobContext {
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

/// A source of "now".
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// A clock that starts at the system time and then moves with tokio's
/// clock, so `tokio::time::pause` and `advance` move it too.
pub fn tokio_clock() -> Clock {
    let wall = Utc::now();
    let start = tokio::time::Instant::now();
    Arc::new(move || wall + (tokio::time::Instant::now() - start))
}
