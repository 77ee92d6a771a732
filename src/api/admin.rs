//! The dashboard page's server functions. Each asks who the operator is
//! (the same rule as the JSON API: token, session cookie, or loopback
//! with no token set) and answers a refusal with the same status and
//! sentence. Filters travel as the page's own query string
//! (`state=failed&q=timeout`), read by the parser the REST API uses, so a
//! dashboard URL and an API call mean the same jobs.

use leptos::prelude::*;

use crate::domain::{
    UserError,
    operations::{JobDetail, JobsPage, Matched, Overview},
};

#[cfg(feature = "ssr")]
mod operator {
    use axum::http::StatusCode;
    use chrono::Utc;

    use super::super::request;
    use crate::{
        domain::{
            UserError,
            operations::{AdminRole, BulkAction, JobFilter},
        },
        server::{AppState, http::admin::access},
    };

    /// The state and the role of the operator this request comes from.
    pub fn check() -> Result<(AppState, AdminRole), UserError> {
        let state = request::state()?;
        let parts = request::parts()
            .ok_or_else(|| UserError::new("The server is not set up to answer this request."))?;
        let role = access::role_of(
            &parts.headers,
            access::peer(&parts),
            &state.settings.admin,
            Utc::now(),
        )
        .map_err(|refusal| request::refuse(refusal.status(), refusal.message()))?;
        Ok((state, role))
    }

    /// As [`check`], for a change: read-only operators are refused.
    pub fn check_may_act() -> Result<AppState, UserError> {
        let (state, role) = check()?;
        if !role.may_act() {
            let refusal = access::Refusal::ReadOnly;
            return Err(request::refuse(refusal.status(), refusal.message()));
        }
        Ok(state)
    }

    pub fn action(raw: &str) -> Result<BulkAction, UserError> {
        BulkAction::parse(raw).ok_or_else(|| {
            request::refuse(
                StatusCode::BAD_REQUEST,
                "The action is `retry` or `delete`.",
            )
        })
    }

    /// The filter a query string names, read exactly as `GET /api/admin/jobs` reads it.
    pub fn filter(query: &str) -> Result<JobFilter, UserError> {
        let bad = |message: String| request::refuse(StatusCode::BAD_REQUEST, message);
        crate::server::http::admin::read_query::<JobFilter>(query)
            .map_err(bad)?
            .normalized()
            .map_err(bad)
    }
}

/// The dashboard's header, and who is looking.
#[server(prefix = "/rpc", endpoint = "admin/overview", output = super::JsonTextOutput)]
pub async fn admin_overview() -> Result<Overview, UserError> {
    use super::request;
    use crate::server::board;
    let (state, role) = operator::check()?;
    let stats = board::stats(&state)
        .await
        .map_err(|e| request::fail(e.into()))?;
    Ok(Overview {
        role,
        signed_in: state.settings.admin.any(),
        stats,
    })
}

/// A page of the jobs the filter (a query string) matches.
#[server(prefix = "/rpc", endpoint = "admin/jobs", output = super::JsonTextOutput)]
pub async fn admin_jobs(query: String, cursor: Option<String>) -> Result<JobsPage, UserError> {
    use super::request;
    use crate::server::board;
    let (state, _) = operator::check()?;
    let filter = operator::filter(&query)?;
    board::jobs(&state, &filter, cursor.as_deref())
        .await
        .map_err(request::fail)
}

/// One job and every attempt it made.
#[server(prefix = "/rpc", endpoint = "admin/job", output = super::JsonTextOutput)]
pub async fn admin_job(id: String) -> Result<JobDetail, UserError> {
    use super::request;
    use crate::server::board;
    let (state, _) = operator::check()?;
    let id = request::snippet_id(&id)?;
    board::job(&state, &id).await.map_err(request::fail)
}

/// How many jobs `action` would change: the number the operator confirms.
#[server(prefix = "/rpc", endpoint = "admin/preview", output = super::JsonTextOutput)]
pub async fn admin_preview(action: String, query: String) -> Result<u64, UserError> {
    use super::request;
    use crate::server::board;
    let state = operator::check_may_act()?;
    let action = operator::action(&action)?;
    let filter = operator::filter(&query)?;
    board::would_change(&state, action, &filter)
        .await
        .map_err(|e| request::fail(e.into()))
}

/// Retries or deletes every job the filter matches, across all pages.
/// (The page asks first, with the count; a confirmed "delete" with no
/// filter means everything, as `all=true` does for the API.)
#[server(prefix = "/rpc", endpoint = "admin/act", output = super::JsonTextOutput)]
pub async fn admin_act(action: String, query: String) -> Result<Matched, UserError> {
    use super::request;
    use crate::{domain::operations::BulkAction, server::board};
    let state = operator::check_may_act()?;
    let action = operator::action(&action)?;
    let filter = operator::filter(&query)?;
    let matched = match action {
        BulkAction::Retry => board::retry(&state, &filter).await,
        BulkAction::Delete => board::delete(&state, &filter).await,
    }
    .map_err(|e| request::fail(e.into()))?;
    Ok(Matched { matched })
}

/// Pauses (`true`) or resumes claiming on every node.
#[server(prefix = "/rpc", endpoint = "admin/pause", output = super::JsonTextOutput)]
pub async fn admin_pause(paused: bool) -> Result<bool, UserError> {
    use super::request;
    use crate::server::board;
    let state = operator::check_may_act()?;
    board::set_paused(&state, paused)
        .await
        .map_err(|e| request::fail(e.into()))?;
    Ok(paused)
}
