//! Storage for operating the queue: what the dashboard reads (counts,
//! history, latencies, a searchable list of jobs and each one's attempts,
//! the nodes) and what it steers (bulk retry and delete, the cluster-wide
//! pause). Kept apart from [`SnippetStore`](super::SnippetStore) and
//! [`JobStore`](super::JobStore), the product's own paths; implemented
//! for both databases in `sql/operations.rs`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::{
    SnippetId,
    operations::{AttemptRow, Finished, JobCounts, JobFilter, JobRow, NodeRow},
};

/// Where a page of jobs starts: after this (queued time, snippet,
/// revision).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobCursor {
    pub enqueued_at_ms: i64,
    pub id: SnippetId,
    pub revision: u32,
}

impl JobCursor {
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", self.enqueued_at_ms, self.id, self.revision)
    }

    pub fn parse(raw: &str) -> Option<JobCursor> {
        let mut parts = raw.split('.');
        let cursor = JobCursor {
            enqueued_at_ms: parts.next()?.parse().ok()?,
            id: SnippetId::parse(parts.next()?).ok()?,
            revision: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(cursor)
    }
}

#[async_trait]
pub trait Operations: Send + Sync + 'static {
    async fn job_counts(&self) -> Result<JobCounts, StoreError>;

    /// When the longest-waiting due job became due.
    async fn oldest_due(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Succeeded and failed attempts per `bucket` since `since`, oldest
    /// first; buckets with none are left out.
    async fn finished_per(
        &self,
        bucket: Duration,
        since: DateTime<Utc>,
    ) -> Result<Vec<Finished>, StoreError>;

    /// Submit -> done, in milliseconds, of the jobs that finished since.
    async fn latencies_since(&self, since: DateTime<Utc>) -> Result<Vec<u64>, StoreError>;

    /// A page of the jobs `filter` matches, newest queued first, after
    /// `cursor`.
    async fn search_jobs(
        &self,
        filter: &JobFilter,
        cursor: Option<&JobCursor>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<JobRow>, StoreError>;

    /// The row of a snippet's latest revision's job.
    async fn job_row(&self, id: &SnippetId) -> Result<Option<JobRow>, StoreError>;

    /// How many jobs `filter` matches, over every page.
    async fn count_jobs(&self, filter: &JobFilter, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Every attempt of a snippet's jobs (each revision's), oldest first.
    async fn attempts(&self, id: &SnippetId) -> Result<Vec<AttemptRow>, StoreError>;

    /// Queues anew (all attempts back) every failed or retrying job the
    /// filter matches. Returns them: each snippet and revision.
    async fn retry_matching(
        &self,
        filter: &JobFilter,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<(SnippetId, u32)>, StoreError>;

    /// Deletes the snippets (and jobs) the filter matches, with tombstones.
    async fn delete_matching(
        &self,
        filter: &JobFilter,
        now: DateTime<Utc>,
    ) -> Result<Vec<SnippetId>, StoreError>;

    async fn heartbeat(&self, node: &NodeRow) -> Result<(), StoreError>;

    /// Every node heard from, those silent since `gone_before` marked gone.
    async fn nodes(&self, gone_before: DateTime<Utc>) -> Result<Vec<NodeRow>, StoreError>;

    /// A node that stopped cleanly says goodbye.
    async fn remove_node(&self, id: &str) -> Result<(), StoreError>;

    /// Forgets nodes not heard from since `before`.
    async fn prune_nodes(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    async fn set_paused(&self, paused: bool) -> Result<(), StoreError>;

    async fn paused(&self) -> Result<bool, StoreError>;

    /// The secret every node of the cluster shares under `name`: the one
    /// stored, or `fresh` if none was, stored now. (The first node to ask
    /// decides it; every other node reads the same.)
    async fn shared_secret(&self, name: &str, fresh: &str) -> Result<String, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let cursor = JobCursor {
            enqueued_at_ms: 1_700_000_000_000,
            id: SnippetId::parse("abcdefABCDEF").unwrap(),
            revision: 3,
        };
        assert_eq!(JobCursor::parse(&cursor.encode()), Some(cursor));
        assert_eq!(JobCursor::parse("nonsense"), None);
    }
}
