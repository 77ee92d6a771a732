//! One snippet's stream: `GET /api/snippets/{id}/events`.
//!
//! It sends the snapshot (`state`, then `highlighted` or `failed` if there
//! is a result), then every event newer than the snapshot, and ends after a
//! final one (`highlighted`, `failed`, `deleted`). A reader who may not see
//! the result (burn after reading, not the owner) gets `highlighted`
//! without its HTML: reading it is what burns the snippet.

use axum::{
    Extension,
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
};

use super::{Connection, Wait, event_stream};
use crate::{
    domain::{Deleted, SnippetEvent, SnippetId, SnippetView},
    server::{
        AppState,
        events::{EventBody, Subscription},
        http::{ApiError, client::ClientIp},
        limits::Permit,
        owner::Credentials,
        service::{Lookup, ServiceError},
    },
};

/// Pushes one snippet's progress and result.
#[utoipa::path(
    get,
    path = "/api/snippets/{id}/events",
    tag = "streams",
    params(("id" = String, Path, description = "The snippet's id.")),
    responses(
        (status = 200, description = "Server-sent events: `state` first, then `progress`, `retrying`, and `highlighted`, `failed` or `deleted`, after which the stream ends.", content_type = "text/event-stream", body = String),
        (status = 404, description = "No snippet has this id.", body = super::super::rest::ErrorBody),
        (status = 410, description = "Gone.", body = super::super::rest::ErrorBody),
        (status = 429, description = "Too many open streams from this client.", body = super::super::rest::ErrorBody),
        (status = 503, description = "This node holds as many streams as it can.", body = super::super::rest::ErrorBody),
    ),
)]
pub async fn snippet_events(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIp>,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = SnippetId::parse(&raw_id).map_err(|_| ApiError::not_found())?;
    let permit = state.limits.streams.acquire(client.limit_key())?;
    let subscription = state.hub.subscribe(&id);
    let seen = state.hub.current_seq();
    let stored = match state.find(&id).await? {
        Lookup::Found(stored) => stored,
        Lookup::Gone(reason) => return Err(ServiceError::Gone(reason).into()),
        Lookup::Missing => return Err(ApiError::not_found()),
    };
    let sealed = stored.view.burn_after_reading
        && !Credentials::from_headers(&headers).owns(stored.owner.as_ref());
    let follower = Follower {
        state: state.clone(),
        subscription,
        sealed,
        _permit: permit,
    };
    Ok(event_stream(&state, move |connection| {
        follower.run(seen, stored.view, connection)
    }))
}

struct Follower {
    state: AppState,
    subscription: Subscription,
    /// Burn after reading, and this reader is not the owner.
    sealed: bool,
    /// Counted as an open stream until dropped with it.
    _permit: Permit,
}

impl Follower {
    /// Feeds the stream until its final event is sent, the client leaves,
    /// or the server shuts down.
    async fn run(mut self, mut seen: u64, mut snapshot: SnippetView, mut connection: Connection) {
        let id = self.subscription.snippet_id().clone();
        loop {
            if self
                .send_snapshot(&id, &snapshot, &mut connection)
                .await
                .is_err()
            {
                return connection.resync_and_close();
            }
            if snapshot.state.is_final() {
                return;
            }
            // Forward live events until the result, or until events may
            // have been lost.
            loop {
                match connection.wait(self.subscription.recv()).await {
                    Wait::Stop => return,
                    Wait::Behind => return connection.resync_and_close(),
                    Wait::Resync => break,
                    Wait::Event(published) if published.seq <= seen => continue,
                    Wait::Event(published) => {
                        let body = if self.sealed {
                            &published.list_body
                        } else {
                            &published.body
                        };
                        if connection.send_event(body).await.is_err() {
                            return connection.resync_and_close();
                        }
                        if published.event.is_final() {
                            return;
                        }
                    }
                }
            }
            // The database has the truth: re-read it.
            let mut failures = 0;
            snapshot = loop {
                seen = self.state.hub.current_seq();
                match self.state.find(&id).await {
                    Ok(Lookup::Found(stored)) => break stored.view,
                    Ok(Lookup::Gone(reason)) => {
                        let event = SnippetEvent::Deleted(Deleted { reason });
                        let _ = connection
                            .send_event(&EventBody::new(event.name(), &event.to_json(&id)))
                            .await;
                        return;
                    }
                    Ok(Lookup::Missing) => return,
                    Err(e) => {
                        crate::server::metrics::stream_snapshot_failed();
                        failures += 1;
                        if !connection.pause_before_retry(failures).await {
                            tracing::warn!(error = ?e, snippet = %id, "resync failed; closing stream so the client reconnects");
                            return;
                        }
                        tracing::info!(error = ?e, snippet = %id, failures, "resync failed; trying again");
                    }
                }
            };
        }
    }

    async fn send_snapshot(
        &self,
        id: &SnippetId,
        snapshot: &SnippetView,
        connection: &mut Connection,
    ) -> Result<(), super::Overflow> {
        for event in snapshot.snapshot_events() {
            let json = if self.sealed {
                event.to_list_json(id)
            } else {
                event.to_json(id)
            };
            connection
                .send_event(&EventBody::new(event.name(), &json))
                .await?;
        }
        Ok(())
    }
}
