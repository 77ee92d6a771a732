//! The life of a highlighting job, as every client sees it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a snippet's highlighting job stands.
///
/// Every state names who moves a job out of it; nothing else may.
///
/// Durability: on PostgreSQL the moves into `Processing` (a claim) and
/// into `Succeeded` (a completion) commit without waiting for the disk
/// (`synchronous_commit = off`). A crash can lose the last of them, never
/// corrupt them: a lost claim leaves the job `Queued`, a lost completion
/// leaves it `Processing` until the rescuer makes it due again. Either way
/// the job runs once more (a page may have been shown the lost result
/// already; it gets the same one again).
/// Snippets, and every other move, are committed durably.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum JobState {
    /// Waiting to be claimed. Left by a worker's claim, which moves it to
    /// `Processing` under a lease.
    Queued,
    /// Claimed by one worker, which holds a lease it renews by heartbeat.
    /// Left by that worker (to `Succeeded`, `Retrying`, `Failed`, or back to
    /// `Queued` when it shuts down), or by the rescuer once the lease has
    /// expired (its process died), back to `Queued`.
    Processing,
    /// An attempt failed with a transient error; the job waits for its next
    /// attempt at `run_at`. Left by a worker's claim once that time comes.
    Retrying,
    /// Final: the highlighted HTML is stored. Left only by "Try again" or a
    /// language change, which queue the snippet anew.
    Succeeded,
    /// Final: the last attempt failed, or the error was permanent. Left only
    /// by "Try again", which queues the snippet anew.
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Processing => "processing",
            JobState::Retrying => "retrying",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "queued" => JobState::Queued,
            "processing" => JobState::Processing,
            "retrying" => JobState::Retrying,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            _ => return None,
        })
    }

    /// `Succeeded` and `Failed` end a stream: nothing more will happen
    /// unless a person asks for it.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed)
    }
}

impl std::str::FromStr for JobState {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        JobState::parse(raw).ok_or_else(|| {
            "not a job state: use queued, processing, retrying, succeeded or failed".to_owned()
        })
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lines highlighted so far out of all lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Progress {
    pub done: u32,
    pub total: u32,
}

impl Progress {
    /// Whole percent, rounded down, so 100 means finished.
    pub fn percent(self) -> u32 {
        if self.total == 0 {
            100
        } else {
            ((u64::from(self.done) * 100) / u64::from(self.total)) as u32
        }
    }
}
