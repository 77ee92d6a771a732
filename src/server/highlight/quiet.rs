//! When a highlighting child may warm its grammars: in a quiet moment.
//!
//! A child compiles every grammar in a thread of its own after it starts,
//! so that the first job in each language does not pay for it. That
//! thread runs at the lowest priority, but a priority is weighed only
//! against the threads of the same session (Linux's autogroups): against
//! the database, a server in another session, it took a full share. The
//! queue drain on PostgreSQL measured it (bench/PROFILE.md, round 20):
//! with 10,000 jobs queued at a node's start, the warming thread took 40%
//! of the machine while the drain ran, and PostgreSQL as much.
//!
//! So the warming thread now compiles each grammar only once the child has
//! been without a job for [`QUIET`]: under a steady stream of jobs it
//! waits, and a job whose grammar is not compiled yet compiles it itself,
//! as before. So that a node under load from its first second still warms
//! (its readiness waits for that), it waits at most [`AT_MOST`] per
//! grammar.

use std::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::{Duration, Instant},
};

/// How long the child must have been without a job before a grammar is
/// compiled: several times the gap between two jobs of a busy queue.
pub const QUIET: Duration = Duration::from_millis(50);

/// The longest one grammar's compile waits for a quiet moment.
pub const AT_MOST: Duration = Duration::from_secs(2);

/// The child's jobs as the warming thread sees them: whether one is
/// running, and when the last one started or ended.
pub struct Activity {
    origin: Instant,
    /// Milliseconds from `origin` to the last start or end of a job.
    last_change_ms: AtomicU64,
    in_job: AtomicBool,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            origin: Instant::now(),
            last_change_ms: AtomicU64::new(0),
            in_job: AtomicBool::new(false),
        }
    }
}

impl Activity {
    pub fn job_started(&self) {
        self.in_job.store(true, Ordering::Release);
        self.touch();
    }

    pub fn job_ended(&self) {
        self.touch();
        self.in_job.store(false, Ordering::Release);
    }

    fn touch(&self) {
        let now = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_change_ms.store(now, Ordering::Release);
    }

    /// How long the child has been without a job (zero during one).
    fn idle_for(&self) -> Duration {
        if self.in_job.load(Ordering::Acquire) {
            return Duration::ZERO;
        }
        let last = Duration::from_millis(self.last_change_ms.load(Ordering::Acquire));
        self.origin.elapsed().saturating_sub(last)
    }

    /// Returns once the child has been without a job for `quiet`, or after
    /// `at_most` whatever happens.
    pub fn wait_for_quiet(&self, quiet: Duration, at_most: Duration) {
        let waited_since = Instant::now();
        loop {
            let idle = self.idle_for();
            let waited = waited_since.elapsed();
            if idle >= quiet || waited >= at_most {
                return;
            }
            std::thread::sleep((quiet - idle).min(at_most - waited));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_quiet_child_warms_at_once_and_a_busy_one_waits_as_long_as_allowed() {
        let activity = Arc::new(Activity::default());
        // No job since the start: quiet already once `quiet` has passed.
        let started = Instant::now();
        activity.wait_for_quiet(Duration::from_millis(10), Duration::from_secs(60));
        assert!(started.elapsed() < Duration::from_secs(30));

        // A job running: the wait lasts its whole allowance.
        activity.job_started();
        let started = Instant::now();
        activity.wait_for_quiet(Duration::from_millis(10), Duration::from_millis(300));
        assert!(started.elapsed() >= Duration::from_millis(300));
        activity.job_ended();

        // Jobs coming one after another: the same.
        let streaming = Arc::new(AtomicBool::new(true));
        let feeder = {
            let (activity, streaming) = (Arc::clone(&activity), Arc::clone(&streaming));
            std::thread::spawn(move || {
                while streaming.load(Ordering::Acquire) {
                    activity.job_started();
                    activity.job_ended();
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        };
        let started = Instant::now();
        activity.wait_for_quiet(Duration::from_millis(300), Duration::from_millis(600));
        assert!(started.elapsed() >= Duration::from_millis(600));
        streaming.store(false, Ordering::Release);
        feeder.join().unwrap();

        // Once they stop, quiet comes.
        let started = Instant::now();
        activity.wait_for_quiet(Duration::from_millis(10), Duration::from_secs(60));
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}
