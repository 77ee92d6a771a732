//! What the dashboard does, whichever door it is asked through (the REST
//! API, the page's server functions, its event stream, `/metrics`): read
//! the queue's state, and act on the jobs a filter matches.
//!
//! Actions publish the same events a person's own "Try again" or "Delete"
//! would, so every page showing an affected snippet updates at once, and
//! idle workers are woken for the jobs queued anew.

use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use crate::{
    domain::{
        Deleted, GoneReason, JobState, SnippetEvent, SnippetId,
        operations::{BulkAction, Finished, JobDetail, JobFilter, JobsPage, Latency, Stats},
    },
    server::{
        AppState,
        metrics::Gauges,
        node::gone_before,
        service::ServiceError,
        store::{JobCursor, StoreError},
    },
};

/// Jobs per page of the table.
pub const PAGE_SIZE: u32 = 50;

/// The window the latency percentiles are taken over.
const LATENCY_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Reads the [`Gauges`] as of `now`.
pub async fn gauges(state: &AppState, now: DateTime<Utc>) -> Result<Gauges, StoreError> {
    let ops = &state.operations;
    let (jobs, paused, nodes, oldest) = tokio::try_join!(
        ops.job_counts(),
        ops.paused(),
        ops.nodes(gone_before(now, state.settings.jobs.heartbeat)),
        ops.oldest_due(now),
    )?;
    Ok(Gauges {
        jobs,
        paused,
        nodes,
        queue_age_secs: oldest.map(|at| (now - at).num_seconds().max(0) as u64),
    })
}

/// The whole header of the dashboard, read now: the gauges, the charts'
/// history and the latency.
pub async fn stats(state: &AppState) -> Result<Stats, StoreError> {
    let ops = &state.operations;
    let now = Utc::now();
    let minute = TimeDelta::minutes(1);
    let hour = TimeDelta::hours(1);
    let this_minute = now.duration_trunc(minute).unwrap_or(now);
    let this_hour = now.duration_trunc(hour).unwrap_or(now);
    let first_minute = this_minute - minute * 59;
    let first_hour = this_hour - hour * 23;
    let (gauges, minutes, hours, latencies) = tokio::try_join!(
        gauges(state, now),
        ops.finished_per(minute.to_std().unwrap_or_default(), first_minute),
        ops.finished_per(hour.to_std().unwrap_or_default(), first_hour),
        ops.latencies_since(now - TimeDelta::from_std(LATENCY_WINDOW).unwrap_or_default()),
    )?;
    Ok(Stats {
        jobs: gauges.jobs,
        paused: gauges.paused,
        nodes: gauges.nodes,
        per_minute: every_bucket(minutes, first_minute, minute, 60),
        per_hour: every_bucket(hours, first_hour, hour, 24),
        latency_ms: Latency::of(latencies),
        queue_age_secs: gauges.queue_age_secs,
        at: now,
    })
}

/// The store leaves out buckets with nothing in them; a chart wants every
/// one, in order.
fn every_bucket(
    found: Vec<Finished>,
    first: DateTime<Utc>,
    width: TimeDelta,
    count: i32,
) -> Vec<Finished> {
    (0..count)
        .map(|i| {
            let at = first + width * i;
            found
                .iter()
                .find(|f| f.at == at)
                .copied()
                .unwrap_or(Finished {
                    at,
                    succeeded: 0,
                    failed: 0,
                })
        })
        .collect()
}

/// A page of the jobs table, and how many match over every page.
pub async fn jobs(
    state: &AppState,
    filter: &JobFilter,
    cursor: Option<&str>,
) -> Result<JobsPage, ServiceError> {
    let cursor = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
        Some(raw) => Some(JobCursor::parse(raw).ok_or_else(|| {
            ServiceError::BadQuery("That page cursor is not one this server gave out.".into())
        })?),
        None => None,
    };
    let now = Utc::now();
    let ops = &state.operations;
    let (mut jobs, total) = tokio::try_join!(
        ops.search_jobs(filter, cursor.as_ref(), PAGE_SIZE + 1, now),
        ops.count_jobs(filter, now),
    )?;
    let next_cursor = if jobs.len() > PAGE_SIZE as usize {
        jobs.truncate(PAGE_SIZE as usize);
        jobs.last().map(|last| {
            JobCursor {
                enqueued_at_ms: last.enqueued_at.timestamp_millis(),
                id: last.id.clone(),
                revision: last.revision,
            }
            .encode()
        })
    } else {
        None
    };
    Ok(JobsPage {
        jobs,
        total,
        next_cursor,
    })
}

/// One job with every attempt it made.
pub async fn job(state: &AppState, id: &SnippetId) -> Result<JobDetail, ServiceError> {
    let ops = &state.operations;
    let (row, attempts) = tokio::try_join!(ops.job_row(id), ops.attempts(id))?;
    match row {
        Some(job) => Ok(JobDetail { job, attempts }),
        None => Err(ServiceError::NotFound),
    }
}

/// What a bulk action would change, counted before the operator confirms:
/// retry touches only failed and retrying jobs, delete every match.
pub async fn would_change(
    state: &AppState,
    action: BulkAction,
    filter: &JobFilter,
) -> Result<u64, StoreError> {
    let now = Utc::now();
    let ops = &state.operations;
    match action {
        BulkAction::Delete => ops.count_jobs(filter, now).await,
        BulkAction::Retry => {
            let mut total = 0;
            for retryable in [JobState::Failed, JobState::Retrying] {
                if filter.state.is_none_or(|s| s == retryable) {
                    let narrowed = JobFilter {
                        state: Some(retryable),
                        ..filter.clone()
                    };
                    total += ops.count_jobs(&narrowed, now).await?;
                }
            }
            Ok(total)
        }
    }
}

/// Queues anew every failed or retrying job the filter matches, with all
/// its attempts back. Returns how many.
pub async fn retry(state: &AppState, filter: &JobFilter) -> Result<u64, StoreError> {
    let ids = state
        .operations
        .retry_matching(filter, state.settings.jobs.max_attempts, Utc::now())
        .await?;
    for (id, revision) in &ids {
        state
            .events
            .publish(id, SnippetEvent::state(JobState::Queued, 0, *revision));
    }
    if !ids.is_empty() {
        state.wake.notify_one();
        tracing::info!(jobs = ids.len(), ?filter, "operator retried jobs");
    }
    Ok(ids.len() as u64)
}

/// Deletes the snippets of every job the filter matches, as their owners
/// could, leaving tombstones. Returns how many.
pub async fn delete(state: &AppState, filter: &JobFilter) -> Result<u64, StoreError> {
    let ids = state.operations.delete_matching(filter, Utc::now()).await?;
    for id in &ids {
        state.events.publish(
            id,
            SnippetEvent::Deleted(Deleted {
                reason: GoneReason::Deleted,
            }),
        );
    }
    if !ids.is_empty() {
        tracing::info!(snippets = ids.len(), ?filter, "operator deleted snippets");
    }
    Ok(ids.len() as u64)
}

/// Pauses or resumes claiming on every node: stored for the others (they
/// read it at their next heartbeat), obeyed here at once.
pub async fn set_paused(state: &AppState, paused: bool) -> Result<(), StoreError> {
    state.operations.set_paused(paused).await?;
    state.node.set_paused(paused);
    state.hub.touch();
    tracing::info!(
        paused,
        "operator {} claiming",
        if paused { "paused" } else { "resumed" }
    );
    Ok(())
}
