//! What the operators' dashboard shows: the queue by state, its history,
//! the jobs (searchable, with every attempt), the nodes, the cluster-wide
//! pause. Shared by the server, which reads them from the database, and
//! the page, which draws them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{JobState, SnippetId};

/// Which jobs an operator means: every field that is set narrows the set.
/// The same filter lists a page of jobs and picks the jobs a bulk action
/// changes, so what an operator saw counted is what the action touches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct JobFilter {
    /// Only jobs in this state.
    #[serde(default, deserialize_with = "blank_is_none")]
    #[cfg_attr(feature = "ssr", param(value_type = Option<JobState>))]
    pub state: Option<JobState>,
    /// Only jobs with a file in this language (its catalogue name,
    /// exactly).
    pub language: Option<String>,
    /// Only jobs whose code (of any file) or error holds this text (any
    /// case).
    pub q: Option<String>,
    /// Only jobs that have been tried at least this many times.
    #[serde(default, deserialize_with = "blank_is_none")]
    #[cfg_attr(feature = "ssr", param(value_type = Option<u32>))]
    pub min_attempts: Option<u32>,
    /// Only jobs queued at least this many seconds ago.
    #[serde(default, deserialize_with = "blank_is_none")]
    #[cfg_attr(feature = "ssr", param(value_type = Option<u64>))]
    pub older_than_secs: Option<u64>,
}

/// A form sends an empty field for "any": that is no value, not a bad
/// one. Numbers arrive as text in a query string and as numbers in JSON;
/// both are read.
fn blank_is_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    match Option::<Raw>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Raw::Number(n)) => n
            .to_string()
            .parse()
            .map(Some)
            .map_err(serde::de::Error::custom),
        Some(Raw::Text(text)) if text.trim().is_empty() => Ok(None),
        Some(Raw::Text(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("`{text}`: {e}"))),
    }
}

/// Longest search text: a filter is not a place to paste a file.
pub const MAX_FILTER_TEXT: usize = 200;

impl JobFilter {
    /// Drops empty fields (a form sends `q=` for "any") and refuses what
    /// no job could match sensibly.
    pub fn normalized(mut self) -> Result<JobFilter, String> {
        let trim = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        self.language = trim(self.language);
        self.q = trim(self.q);
        if self
            .q
            .as_ref()
            .is_some_and(|q| q.chars().count() > MAX_FILTER_TEXT)
        {
            return Err(format!(
                "The search text is too long: at most {MAX_FILTER_TEXT} characters."
            ));
        }
        if self
            .language
            .as_ref()
            .is_some_and(|l| l.chars().count() > MAX_FILTER_TEXT)
        {
            return Err("That is not a language name.".to_owned());
        }
        if self.older_than_secs.is_some_and(|s| s > 100 * 365 * 86_400) {
            return Err("The age is too large.".to_owned());
        }
        Ok(self)
    }

    /// Matches every job.
    pub fn is_everything(&self) -> bool {
        *self == JobFilter::default()
    }
}

/// One row of the jobs table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JobRow {
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub id: SnippetId,
    /// The revision this job highlights (a snippet has one job a
    /// revision).
    #[serde(default = "first_revision")]
    pub revision: u32,
    pub state: JobState,
    pub language: String,
    pub filename: Option<String>,
    /// The first line of the code, cut short.
    pub preview: String,
    pub attempts: u32,
    pub max_attempts: u32,
    /// When the job was (last) queued.
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub enqueued_at: DateTime<Utc>,
    /// When it is (or was) due.
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub run_at: DateTime<Utc>,
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::maybe_utc")
    )]
    pub finished_at: Option<DateTime<Utc>>,
    /// Who holds the running attempt: `node/claim`.
    pub holder: Option<String>,
    /// The last attempt's error, or the final one.
    pub error: Option<String>,
}

fn first_revision() -> u32 {
    1
}

/// A page of the jobs table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JobsPage {
    pub jobs: Vec<JobRow>,
    /// How many jobs the filter matches, over every page.
    pub total: u64,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// One attempt of a job, as it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttemptRow {
    /// The revision whose job made it.
    #[serde(default = "first_revision")]
    pub revision: u32,
    pub attempt: u32,
    /// The node that ran it, and its claim: `node/claim`.
    pub holder: String,
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub started_at: DateTime<Utc>,
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// `succeeded`, `retrying` (failed, tried again later), `failed` (for
    /// good), `released` (its node shut down; it did not count) or
    /// `abandoned` (its node vanished; the lease ran out).
    pub outcome: String,
    pub error: Option<String>,
}

/// One job with its whole history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JobDetail {
    pub job: JobRow,
    pub attempts: Vec<AttemptRow>,
}

/// Jobs by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JobCounts {
    pub queued: u64,
    pub processing: u64,
    pub retrying: u64,
    pub succeeded: u64,
    pub failed: u64,
}

impl JobCounts {
    pub fn get(&self, state: JobState) -> u64 {
        match state {
            JobState::Queued => self.queued,
            JobState::Processing => self.processing,
            JobState::Retrying => self.retrying,
            JobState::Succeeded => self.succeeded,
            JobState::Failed => self.failed,
        }
    }

    pub fn set(&mut self, state: JobState, n: u64) {
        *match state {
            JobState::Queued => &mut self.queued,
            JobState::Processing => &mut self.processing,
            JobState::Retrying => &mut self.retrying,
            JobState::Succeeded => &mut self.succeeded,
            JobState::Failed => &mut self.failed,
        } = n;
    }
}

/// Every state, in the order a job moves through them.
pub const ALL_STATES: [JobState; 5] = [
    JobState::Queued,
    JobState::Processing,
    JobState::Retrying,
    JobState::Succeeded,
    JobState::Failed,
];

/// A running process, as its heartbeat last said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NodeRow {
    pub id: String,
    /// `all`, `web` or `worker`.
    pub role: String,
    pub host: String,
    /// Job slots (0 on a web-only node).
    pub workers: u32,
    /// Slots running a job at the last heartbeat.
    pub busy: u32,
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub started_at: DateTime<Utc>,
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub last_heartbeat: DateTime<Utc>,
    /// Missed three heartbeats: it crashed, hangs, or lost the database.
    pub gone: bool,
    /// Whether it had seen the cluster-wide pause at its last heartbeat:
    /// a paused worker claims nothing more.
    #[serde(default)]
    pub paused: bool,
}

/// Succeeded and failed jobs in one stretch of time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Finished {
    /// The stretch's start.
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub at: DateTime<Utc>,
    pub succeeded: u64,
    pub failed: u64,
}

/// Submit -> done, over the jobs that finished lately.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Latency {
    pub p50: Option<u64>,
    pub p95: Option<u64>,
    /// How many jobs these are over.
    pub samples: u64,
}

impl Latency {
    /// Nearest-rank percentiles of `millis` (any order).
    pub fn of(mut millis: Vec<u64>) -> Latency {
        millis.sort_unstable();
        let rank = |p: f64| {
            let n = millis.len();
            (n > 0).then(|| millis[((p * n as f64).ceil() as usize).clamp(1, n) - 1])
        };
        Latency {
            p50: rank(0.50),
            p95: rank(0.95),
            samples: millis.len() as u64,
        }
    }
}

/// Everything the dashboard's header shows, as one snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Stats {
    pub jobs: JobCounts,
    /// Claiming is paused for the whole cluster.
    pub paused: bool,
    pub nodes: Vec<NodeRow>,
    /// Per minute over the last hour, oldest first, every minute present.
    pub per_minute: Vec<Finished>,
    /// Per hour over the last day, oldest first, every hour present.
    pub per_hour: Vec<Finished>,
    /// Over the jobs that finished in the last five minutes.
    pub latency_ms: Latency,
    /// How long the longest-waiting due job has waited, in seconds.
    pub queue_age_secs: Option<u64>,
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::utc")
    )]
    pub at: DateTime<Utc>,
}

/// What says that jobs moved between two snapshots of [`Stats`].
///
/// The counts alone do not: snapshots are read at most once a second, and
/// a retried job can go failed -> queued -> failed between two of them,
/// leaving every count as it was. The latest minute's finished tally moves
/// with every job that finishes, so the pair changes whenever the jobs
/// table could look different.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Movement {
    pub counts: JobCounts,
    pub latest_minute: Option<Finished>,
}

impl Stats {
    pub fn movement(&self) -> Movement {
        Movement {
            counts: self.jobs,
            latest_minute: self.per_minute.last().copied(),
        }
    }
}

/// What the signed-in operator may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    /// Sees everything and may act: retry, delete, pause.
    Full,
    /// Sees everything, changes nothing.
    ReadOnly,
}

impl AdminRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Full => "full",
            AdminRole::ReadOnly => "read_only",
        }
    }

    pub fn parse(raw: &str) -> Option<AdminRole> {
        match raw {
            "full" => Some(AdminRole::Full),
            "read_only" => Some(AdminRole::ReadOnly),
            _ => None,
        }
    }

    pub fn may_act(self) -> bool {
        self == AdminRole::Full
    }
}

/// What a bulk action does to the jobs its filter matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    /// Queue anew, with all attempts back (failed and retrying jobs only).
    Retry,
    /// Delete the snippets, as their owners could.
    Delete,
}

impl BulkAction {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Retry => "retry",
            BulkAction::Delete => "delete",
        }
    }

    pub fn parse(raw: &str) -> Option<BulkAction> {
        match raw {
            "retry" => Some(BulkAction::Retry),
            "delete" => Some(BulkAction::Delete),
            _ => None,
        }
    }
}

/// What the dashboard page is given when it opens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub role: AdminRole,
    /// Tokens are configured: the operator signed in and may sign out.
    pub signed_in: bool,
    pub stats: Stats,
}

/// The answer to a bulk action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Matched {
    /// How many jobs the action changed.
    pub matched: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_that_fails_again_between_snapshots_is_movement() {
        let minute = DateTime::<Utc>::UNIX_EPOCH;
        let snapshot = |failed_this_minute| Stats {
            jobs: JobCounts {
                failed: 2,
                ..JobCounts::default()
            },
            paused: false,
            nodes: vec![],
            per_minute: vec![Finished {
                at: minute,
                succeeded: 0,
                failed: failed_this_minute,
            }],
            per_hour: vec![],
            latency_ms: Latency::default(),
            queue_age_secs: None,
            at: minute,
        };
        // Same counts, two more failures this minute: the table is stale.
        assert_ne!(snapshot(2).movement(), snapshot(4).movement());
        let mut later = snapshot(2);
        later.at = minute + chrono::TimeDelta::seconds(5);
        assert_eq!(snapshot(2).movement(), later.movement());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(Latency::of(vec![]).p50, None);
        let one = Latency::of(vec![7]);
        assert_eq!((one.p50, one.p95), (Some(7), Some(7)));
        let hundred = Latency::of((1..=100).rev().collect());
        assert_eq!((hundred.p50, hundred.p95), (Some(50), Some(95)));
        assert_eq!(hundred.samples, 100);
    }

    #[test]
    fn filters_drop_empty_fields_and_refuse_nonsense() {
        let filter = JobFilter {
            language: Some("  ".into()),
            q: Some(" panic ".into()),
            ..Default::default()
        }
        .normalized()
        .unwrap();
        assert_eq!(filter.language, None);
        assert_eq!(filter.q.as_deref(), Some("panic"));
        assert!(
            JobFilter {
                q: Some("x".repeat(MAX_FILTER_TEXT + 1)),
                ..Default::default()
            }
            .normalized()
            .is_err()
        );
        assert!(JobFilter::default().is_everything());
    }
}
