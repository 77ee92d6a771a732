//! Running a pass every period until shutdown: the one shape of every
//! maintenance loop (`jobs/`) and of the node heartbeat (`node.rs`). Kept
//! apart from both so neither imports the other for it.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Runs `pass` every `period`, the first at once, until `shutdown`: the
/// one shape of every maintenance loop (River's `startstop` base). A pass
/// that overruns its period delays the next one rather than bunching them
/// up, and shutdown never waits for a period to end.
pub async fn every<Pass, Done>(period: Duration, shutdown: &CancellationToken, mut pass: Pass)
where
    Pass: FnMut() -> Done,
    Done: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => pass().await,
        }
    }
}
