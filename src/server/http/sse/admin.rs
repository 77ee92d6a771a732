//! The dashboard's live feed: `GET /api/admin/events`.
//!
//! It sends `stats` (the whole header of the dashboard, as
//! `GET /api/admin/stats` answers it) when the stream opens and whenever
//! it changed since the last one sent. It does not follow single events:
//! the hub's activity signal says that the queue moved, and the stream
//! then reads the stats again, at most once a second however busy the
//! queue, and every few seconds when nothing moved here (other nodes,
//! heartbeats, time passing through the charts' buckets). A burst of ten
//! thousand jobs costs the dashboard one query a second, not ten thousand
//! frames.

use std::time::Duration;

use axum::{Extension, extract::State, response::Response};
use bytes::Bytes;

use super::{Connection, event_stream};
use crate::{
    domain::operations::Stats,
    server::{
        AppState, board,
        events::{EventBody, frame},
        http::{ApiError, admin::Operator, client::ClientIp},
        limits::Permit,
    },
};

/// The least time between two reads of the stats.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest time between two reads when nothing here moved.
const MAX_INTERVAL: Duration = Duration::from_secs(5);

/// The dashboard's live feed.
#[utoipa::path(
    get,
    path = "/api/admin/events",
    tag = "admin",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Server-sent events: `stats` (the body of `GET /api/admin/stats`) at once and whenever it changes, at most once a second.", content_type = "text/event-stream", body = String),
        (status = 401, description = "No credentials.", body = super::super::rest::ErrorBody),
        (status = 403, description = "Not a dashboard token.", body = super::super::rest::ErrorBody),
        (status = 404, description = "The dashboard is off for this client.", body = super::super::rest::ErrorBody),
        (status = 429, description = "Too many open streams from this client.", body = super::super::rest::ErrorBody),
    ),
)]
pub async fn admin_events(
    _: Operator,
    State(state): State<AppState>,
    Extension(client): Extension<ClientIp>,
) -> Result<Response, ApiError> {
    let permit = state.limits.streams.acquire(client.limit_key())?;
    let feed = StatsFeed {
        state: state.clone(),
        _permit: permit,
    };
    Ok(event_stream(&state, move |connection| feed.run(connection)))
}

struct StatsFeed {
    state: AppState,
    _permit: Permit,
}

impl StatsFeed {
    async fn run(self, mut connection: Connection) {
        let mut activity = self.state.hub.activity_signal();
        let mut last_sent: Option<Stats> = None;
        loop {
            // Marked seen before reading, so a change during the read
            // wakes the next round.
            activity.borrow_and_update();
            match board::stats(&self.state).await {
                Ok(stats) => {
                    if changed(last_sent.as_ref(), &stats) {
                        if connection
                            .send_event(&EventBody::of("stats", &stats))
                            .await
                            .is_err()
                        {
                            return connection.resync_and_close();
                        }
                        last_sent = Some(stats);
                    }
                }
                Err(e) => {
                    // The page shows its last numbers; the next round tries again.
                    tracing::warn!(error = ?e, "dashboard stats could not be read");
                }
            }
            let earliest = tokio::time::Instant::now() + MIN_INTERVAL;
            let latest = tokio::time::Instant::now() + MAX_INTERVAL;
            if !self
                .idle_until(&mut connection, &mut activity, latest)
                .await
            {
                return;
            }
            if !self.sleep_until(&mut connection, earliest).await {
                return;
            }
        }
    }

    /// Waits for the queue to move (or `latest`), keeping the connection
    /// alive. `false`: stop.
    async fn idle_until(
        &self,
        connection: &mut Connection,
        activity: &mut tokio::sync::watch::Receiver<u64>,
        latest: tokio::time::Instant,
    ) -> bool {
        loop {
            tokio::select! {
                _ = connection.shutdown.cancelled() => return false,
                changed = activity.changed() => {
                    if changed.is_err() {
                        tracing::warn!("the hub is gone: closing the dashboard's stream");
                    }
                    return changed.is_ok();
                }
                _ = tokio::time::sleep_until(latest) => return true,
                _ = connection.keep_alive.as_mut() => {
                    if connection.put(Bytes::from_static(frame::KEEP_ALIVE)).is_err() {
                        connection.resync_and_close();
                        return false;
                    }
                    super::yield_to_body().await;
                }
            }
        }
    }

    /// Waits until `at` unless the server stops. `false`: stop.
    async fn sleep_until(&self, connection: &mut Connection, at: tokio::time::Instant) -> bool {
        tokio::select! {
            _ = connection.shutdown.cancelled() => false,
            _ = tokio::time::sleep_until(at) => true,
        }
    }
}

/// Whether `now` says anything `before` did not (the read time aside).
fn changed(before: Option<&Stats>, now: &Stats) -> bool {
    match before {
        None => true,
        Some(before) => {
            let mut before = before.clone();
            before.at = now.at;
            before != *now
        }
    }
}
