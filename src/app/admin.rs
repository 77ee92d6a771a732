//! `/admin`: the operators' dashboard, and `/admin/login`, its sign-in.
//!
//! The header (counts by state, queue age, latency, the throughput charts,
//! the nodes, the pause) is one [`Stats`] snapshot, rendered on the server
//! and then replaced by every `stats` event of `/api/admin/events`. The
//! jobs table is driven by the URL: the filter form is a GET form, so a
//! filtered view is a link an operator can share, and the same query
//! string is what a bulk action acts on. The table reloads whenever jobs
//! move (`Stats::movement`: the counts, or the jobs finished this minute),
//! so jobs change state in front of the operator.
//!
//! The dashboard is one lazy island: only operators open it, so its code
//! is split out of the bundle every visitor downloads (`xtask
//! site`) and fetched when a page shows it. The server renders it with
//! its first data (the overview and the jobs the URL asks for). In the
//! browser it follows its own query string: the filter form, the count
//! links and the page links change the URL in place (`history.pushState`)
//! and reload the table, as does the back button.
//!
//! Read-only operators get the same page without a single action button;
//! the server refuses their changes anyway.

use chrono::{DateTime, Utc};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::{admin_act, admin_job, admin_jobs, admin_overview, admin_pause, admin_preview},
    domain::{
        clock,
        operations::{
            ALL_STATES, AdminRole, BulkAction, Finished, JobRow, JobsPage, Overview, Stats,
        },
    },
};

/// A query string as its pairs, in order: the dashboard's address.
type Query = Vec<(String, String)>;

/// `/admin`: the dashboard with the data for the address it was asked at.
#[component]
pub fn AdminPage() -> impl IntoView {
    let query: Query = use_query_map().with_untracked(|q| {
        q.clone()
            .into_iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    });
    let data = Resource::new(
        || (),
        move |_| {
            let query = query.clone();
            async move {
                let overview = admin_overview().await?;
                let jobs = admin_jobs(filter_of(&query), cursor_of(&query))
                    .await
                    .map_err(|e| e.message);
                Ok::<_, crate::domain::UserError>((overview, jobs, query))
            }
        },
    );
    view! {
        <Title text="Dashboard · Highlighter"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((overview, jobs, query)) => Either::Left(view! { <AdminDashboard overview query jobs/> }),
                    Err(e) => Either::Right(view! {
                        <section class="message"><h1>"Dashboard"</h1><p class="error">{e.message}</p></section>
                    }),
                }
            })}
        </Suspense>
    }
}

/// The dashboard, live: counts, vitals, charts and nodes from the stats
/// stream, and the jobs table for the address it shows.
#[island(lazy)]
fn AdminDashboard(
    overview: Overview,
    query: Query,
    jobs: Result<JobsPage, String>,
) -> impl IntoView {
    let root = NodeRef::<leptos::html::Section>::new();
    // Its stream and listeners go when the page is left (see `islands`).
    super::islands::dispose_when_detached(root);
    let query = RwSignal::new(query);
    let stats = RwSignal::new(overview.stats);
    let may_act = overview.role.may_act();
    #[cfg(feature = "hydrate")]
    super::live::listen(
        "/api/admin/events".to_owned(),
        &["stats"],
        move |_, data| {
            if let Ok(fresh) = serde_json::from_str::<Stats>(data) {
                stats.set(fresh);
            }
            true
        },
    );
    let counts = Memo::new(move |_| stats.with(|s| s.jobs));
    let movement = Memo::new(move |_| stats.with(Stats::movement));
    let paused = Memo::new(move |_| stats.with(|s| s.paused));
    view! {
        <section class="admin" data-live=super::liveness() node_ref=root>
            <div class="admin-title">
                <h1>"Dashboard"</h1>
                <span class="role">
                    {match overview.role {
                        AdminRole::Full => "full access",
                        AdminRole::ReadOnly => "read-only",
                    }}
                </span>
                {overview.signed_in.then(|| view! {
                    <form method="post" action="/admin/logout" class="sign-out">
                        <button type="submit">"Sign out"</button>
                    </form>
                })}
            </div>
            <PauseBanner paused may_act stats/>
            <div class="counts" id="counts">
                {ALL_STATES.into_iter().map(|state| view! {
                    <a class=format!("count {}", state.as_str()) href=format!("/admin?state={}", state.as_str())
                        data-state=state.as_str()
                        on:click=move |ev| go(ev, query, vec![("state".to_owned(), state.as_str().to_owned())])>
                        <span class="number">{move || counts.get().get(state)}</span>
                        <span class="label">{state.as_str()}</span>
                    </a>
                }).collect_view()}
            </div>
            <dl class="vitals">
                <div>
                    <dt>"Queue age"</dt>
                    <dd id="queue-age">{move || stats.with(|s| match s.queue_age_secs {
                        Some(secs) => duration_label(secs),
                        None => "empty".to_owned(),
                    })}</dd>
                </div>
                <div>
                    <dt>"Latency p50 / p95 (5 min)"</dt>
                    <dd id="latency">{move || stats.with(|s| match (s.latency_ms.p50, s.latency_ms.p95) {
                        (Some(p50), Some(p95)) => format!("{} / {}", millis_label(p50), millis_label(p95)),
                        _ => "no jobs finished".to_owned(),
                    })}</dd>
                </div>
            </dl>
            <div class="charts">
                <Chart title="Per minute, last hour" buckets=Signal::derive(move || stats.with(|s| s.per_minute.clone()))/>
                <Chart title="Per hour, last day" buckets=Signal::derive(move || stats.with(|s| s.per_hour.clone()))/>
            </div>
            <Nodes stats/>
            <Jobs may_act movement query jobs/>
        </section>
    }
}

/// The paused banner, and the button that pauses or resumes.
#[component]
fn PauseBanner(paused: Memo<bool>, may_act: bool, stats: RwSignal<Stats>) -> impl IntoView {
    let toggle = Action::new(move |pause: &bool| admin_pause(*pause));
    Effect::new(move |_| {
        // The stream will say so too; the operator should not wait for it.
        if let Some(Ok(now)) = toggle.value().get() {
            stats.update(|s| s.paused = now);
        }
    });
    let error = move || {
        toggle
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.message)
    };
    view! {
        <div class="pause" class:paused=move || paused.get() id="pause">
            <span class="pause-state">
                {move || if paused.get() {
                    "Paused: no node claims new jobs; running ones finish."
                } else {
                    "Running: every node claims jobs."
                }}
            </span>
            {may_act.then(|| view! {
                <button type="button" id="pause-toggle" disabled=move || toggle.pending().get()
                    on:click=move |_| { toggle.dispatch(!paused.get_untracked()); }>
                    {move || if paused.get() { "Resume" } else { "Pause" }}
                </button>
            })}
            <span class="error" role="alert">{error}</span>
        </div>
    }
}

/// Succeeded (below) and failed (on top) per bucket, as SVG bars.
#[component]
fn Chart(title: &'static str, buckets: Signal<Vec<Finished>>) -> impl IntoView {
    const HEIGHT: f64 = 60.0;
    let bars = move || {
        let buckets = buckets.get();
        let width = 100.0 / buckets.len().max(1) as f64;
        let peak = buckets
            .iter()
            .map(|b| b.succeeded + b.failed)
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        buckets
            .into_iter()
            .enumerate()
            .map(|(i, bucket)| {
                let x = i as f64 * width;
                let ok = bucket.succeeded as f64 / peak * HEIGHT;
                let failed = bucket.failed as f64 / peak * HEIGHT;
                let label = format!(
                    "{} UTC: {} succeeded, {} failed",
                    clock::hour_and_minute(&bucket.at),
                    bucket.succeeded,
                    bucket.failed
                );
                view! {
                    <g>
                        <title>{label}</title>
                        <rect class="ok" x=x y={HEIGHT - ok} width={width * 0.85} height=ok/>
                        <rect class="failed" x=x y={HEIGHT - ok - failed} width={width * 0.85} height=failed/>
                    </g>
                }
            })
            .collect_view()
    };
    let totals = move || {
        buckets.with(|b| {
            let ok: u64 = b.iter().map(|x| x.succeeded).sum();
            let failed: u64 = b.iter().map(|x| x.failed).sum();
            format!("{ok} succeeded, {failed} failed")
        })
    };
    view! {
        <figure class="chart">
            <figcaption>{title} <span class="totals">{totals}</span></figcaption>
            <svg viewBox=format!("0 0 100 {HEIGHT}") preserveAspectRatio="none" role="img" aria-label=title>
                {bars}
            </svg>
        </figure>
    }
}

#[component]
fn Nodes(stats: RwSignal<Stats>) -> impl IntoView {
    view! {
        <h2>"Nodes"</h2>
        <div class="table-wrap">
            <table class="nodes" id="nodes">
                <thead><tr>
                    <th>"Node"</th><th>"Role"</th><th>"Host"</th><th>"Busy"</th>
                    <th>"Started"</th><th>"Last heartbeat"</th>
                </tr></thead>
                <tbody>
                    {move || stats.with(|s| s.nodes.iter().map(|node| {
                        let now = s.at;
                        view! {
                            <tr class:gone=node.gone>
                                <td data-label="Node">
                                    <code>{node.id.clone()}</code>
                                    {node.gone.then(|| view! { <span class="badge gone">"gone"</span> })}
                                </td>
                                <td data-label="Role">{node.role.clone()}</td>
                                <td data-label="Host">{node.host.clone()}</td>
                                <td data-label="Busy">{format!("{} / {}", node.busy, node.workers)}</td>
                                <td data-label="Started">{ago(node.started_at, now)}</td>
                                <td data-label="Last heartbeat">{ago(node.last_heartbeat, now)}</td>
                            </tr>
                        }
                    }).collect_view())}
                </tbody>
            </table>
        </div>
    }
}

/// The filter form, the bulk actions and the jobs table.
#[component]
fn Jobs(
    may_act: bool,
    movement: Memo<crate::domain::operations::Movement>,
    query: RwSignal<Query>,
    jobs: Result<JobsPage, String>,
) -> impl IntoView {
    // The filter as the URL says it, without the page cursor.
    let filter_query = Memo::new(move |_| query.with(|q| filter_of(q)));
    let cursor = Memo::new(move |_| query.with(|q| cursor_of(q)));
    let field = move |name: &'static str| move || query.with(|q| field_of(q, name));
    let refreshed = RwSignal::new(0u32);
    let page = RwSignal::new(jobs);
    #[cfg(feature = "hydrate")]
    {
        // The server's page is current when the island wakes; from then on
        // the table follows the address, the movement and bulk actions. A
        // reply that a newer request overtook is dropped.
        let latest = StoredValue::new(0u64);
        Effect::new(move |woken: Option<()>| {
            let (filter, cursor, _, _) = (
                filter_query.get(),
                cursor.get(),
                movement.get(),
                refreshed.get(),
            );
            if woken.is_none() {
                return;
            }
            latest.update_value(|n| *n += 1);
            let ticket = latest.get_value();
            leptos::task::spawn_local(async move {
                let result = admin_jobs(filter, cursor).await.map_err(|e| e.message);
                if latest.get_value() == ticket {
                    page.set(result);
                }
            });
        });
        let handle = window_event_listener(leptos::ev::popstate, move |_| {
            if let Ok(search) = window().location().search() {
                query.set(parse_query(&search));
            }
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = movement;
    let form = FilterForm::default();
    let on_filter = move |ev: leptos::ev::SubmitEvent| go(ev, query, form.pairs());
    view! {
        <h2>"Jobs"</h2>
        <form method="GET" action="/admin" class="filters" id="job-filters" on:submit=on_filter>
            <label>"State "
                <select name="state" prop:value=field("state") node_ref=form.state>
                    <option value="">"any"</option>
                    {ALL_STATES.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || field("state")() == s.as_str()>{s.as_str()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Language " <input name="language" prop:value=field("language") placeholder="Rust" size="10"
                node_ref=form.language/></label>
            <label>"Text " <input name="q" type="search" prop:value=field("q") placeholder="in code or error" maxlength="200"
                node_ref=form.text/></label>
            <label>"Attempts ≥ " <input name="min_attempts" type="number" min="0" prop:value=field("min_attempts") size="3"
                node_ref=form.min_attempts/></label>
            <label>"Queued before "
                <select name="older_than_secs" prop:value=field("older_than_secs") node_ref=form.older_than>
                    <option value="">"any time"</option>
                    <option value="60" selected=move || field("older_than_secs")() == "60">"1 min ago"</option>
                    <option value="3600" selected=move || field("older_than_secs")() == "3600">"1 h ago"</option>
                    <option value="86400" selected=move || field("older_than_secs")() == "86400">"1 day ago"</option>
                </select>
            </label>
            <button type="submit">"Filter"</button>
            <a href="/admin" class="clear" on:click=move |ev| go(ev, query, Vec::new())>"Clear"</a>
        </form>
        {may_act.then(|| view! { <Bulk filter_query refreshed/> })}
        {move || match page.get() {
            Ok(page) => {
                let filter = filter_query.get_untracked();
                let next = page.next_cursor.clone().map(|next| {
                    let mut pairs = parse_query(&filter);
                    pairs.push(("cursor".to_owned(), next));
                    pairs
                });
                let first = cursor.get_untracked().is_some().then(|| parse_query(&filter));
                Either::Left(view! {
                    <p class="total" id="jobs-total">
                        {format!("{} matching", page.total)}
                    </p>
                    <JobsTable jobs=page.jobs/>
                    <nav class="pages">
                        {first.map(|pairs| view! {
                            <a href=address_of(&pairs) on:click=move |ev| go(ev, query, pairs.clone())>"First page"</a>
                        })}
                        {next.map(|pairs| view! {
                            <a href=address_of(&pairs) id="next-page" on:click=move |ev| go(ev, query, pairs.clone())>"Next page"</a>
                        })}
                    </nav>
                })
            }
            Err(message) => Either::Right(view! { <p class="error">{message}</p> }),
        }}
    }
}

/// The filter form's fields, read when it is submitted.
#[derive(Clone, Copy, Default)]
struct FilterForm {
    state: NodeRef<leptos::html::Select>,
    language: NodeRef<leptos::html::Input>,
    text: NodeRef<leptos::html::Input>,
    min_attempts: NodeRef<leptos::html::Input>,
    older_than: NodeRef<leptos::html::Select>,
}

impl FilterForm {
    /// The filled fields, as the query a plain GET of the form would send.
    fn pairs(&self) -> Query {
        let selects = [("state", self.state), ("older_than_secs", self.older_than)]
            .map(|(name, node)| (name, node.get_untracked().map(|el| el.value())));
        let inputs = [
            ("language", self.language),
            ("q", self.text),
            ("min_attempts", self.min_attempts),
        ]
        .map(|(name, node)| (name, node.get_untracked().map(|el| el.value())));
        let [state, older_than] = selects;
        [state]
            .into_iter()
            .chain(inputs)
            .chain([older_than])
            .filter_map(|(name, value)| Some((name.to_owned(), value?)))
            .filter(|(_, value)| !value.is_empty())
            .collect()
    }
}

/// Shows the dashboard for `pairs` in place: the address changes (so it
/// can be shared, and the back button returns), the table reloads, and
/// the page is not fetched again.
fn go(ev: impl AsRef<leptos::web_sys::Event>, query: RwSignal<Query>, pairs: Query) {
    #[cfg(feature = "hydrate")]
    {
        ev.as_ref().prevent_default();
        if let Ok(history) = window().history() {
            let _ = history.push_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&address_of(&pairs)),
            );
        }
        query.set(pairs);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, query, pairs);
}

/// `/admin`, with `pairs` as its query string.
fn address_of(pairs: &[(String, String)]) -> String {
    let query = query_string(pairs.iter());
    if query.is_empty() {
        "/admin".to_owned()
    } else {
        format!("/admin?{query}")
    }
}

fn query_string<'a>(pairs: impl Iterator<Item = &'a (String, String)>) -> String {
    pairs
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The filter part of a query: everything but the page cursor and empty
/// fields.
fn filter_of(query: &[(String, String)]) -> String {
    query_string(
        query
            .iter()
            .filter(|(key, value)| key != "cursor" && !value.is_empty()),
    )
}

fn cursor_of(query: &[(String, String)]) -> Option<String> {
    query
        .iter()
        .find(|(key, _)| key == "cursor")
        .map(|(_, value)| value.clone())
}

fn field_of(query: &[(String, String)], name: &str) -> String {
    query
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
        .unwrap_or_default()
}

/// Reads a query string (`?a=1&b=x%20y`, the `?` optional) as a form
/// would have sent it: `+` is a space, `%XX` a byte.
fn parse_query(search: &str) -> Query {
    let decode = |part: &str| {
        let bytes = part.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let escaped = (bytes[i] == b'%')
                .then(|| bytes.get(i + 1..i + 3))
                .flatten()
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            match (bytes[i], escaped) {
                (_, Some(byte)) => {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                (b'+', None) => out.push(b' '),
                (byte, None) => out.push(byte),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    search
        .trim_start_matches('?')
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

/// Retry or delete everything the filter matches: the count first, then
/// the operator's confirmation.
#[component]
fn Bulk(filter_query: Memo<String>, refreshed: RwSignal<u32>) -> impl IntoView {
    let asking = RwSignal::new(None::<(BulkAction, u64)>);
    let done = RwSignal::new(None::<Result<String, String>>);
    let preview = Action::new(move |action: &BulkAction| {
        let action = *action;
        let query = filter_query.get_untracked();
        async move {
            (
                action,
                admin_preview(action.as_str().to_owned(), query).await,
            )
        }
    });
    let act = Action::new(move |action: &BulkAction| {
        let action = *action;
        let query = filter_query.get_untracked();
        async move { (action, admin_act(action.as_str().to_owned(), query).await) }
    });
    Effect::new(move |_| match preview.value().get() {
        Some((action, Ok(count))) => {
            done.set(None);
            asking.set(Some((action, count)));
        }
        Some((_, Err(e))) => done.set(Some(Err(e.message))),
        None => {}
    });
    Effect::new(move |_| {
        if let Some((action, result)) = act.value().get() {
            asking.set(None);
            done.set(Some(match result {
                Ok(matched) => Ok(format!(
                    "{} {}.",
                    match action {
                        BulkAction::Retry => "Queued anew:",
                        BulkAction::Delete => "Deleted:",
                    },
                    jobs_label(matched.matched)
                )),
                Err(e) => Err(e.message),
            }));
            refreshed.update(|n| *n += 1);
        }
    });
    view! {
        <div class="bulk" id="bulk">
            <span>"Every job matching the filter, on every page: "</span>
            <button type="button" id="bulk-retry" on:click=move |_| { preview.dispatch(BulkAction::Retry); }>"Retry…"</button>
            <button type="button" id="bulk-delete" class="danger" on:click=move |_| { preview.dispatch(BulkAction::Delete); }>"Delete…"</button>
            {move || asking.get().map(|(action, count)| {
                let (verb, what) = match action {
                    BulkAction::Retry => ("Retry", "failed or retrying jobs"),
                    BulkAction::Delete => ("Delete", "snippets, for good"),
                };
                view! {
                    <div class="confirm" role="alertdialog" id="bulk-confirm">
                        <p>{format!("{verb} {count} {what}?")}</p>
                        <button type="button" id="bulk-confirm-yes" class=if action == BulkAction::Delete { "danger" } else { "" }
                            disabled={move || act.pending().get() || count == 0}
                            on:click=move |_| { act.dispatch(action); }>
                            {format!("{verb} {count}")}
                        </button>
                        <button type="button" on:click=move |_| asking.set(None)>"Cancel"</button>
                    </div>
                }
            })}
            {move || done.get().map(|result| match result {
                Ok(message) => Either::Left(view! { <p class="done" role="status" id="bulk-done">{message}</p> }),
                Err(message) => Either::Right(view! { <p class="error" role="alert">{message}</p> }),
            })}
        </div>
    }
}

#[component]
fn JobsTable(jobs: Vec<JobRow>) -> impl IntoView {
    if jobs.is_empty() {
        return Either::Left(view! { <p class="empty">"No job matches."</p> });
    }
    let open = RwSignal::new(None::<String>);
    Either::Right(view! {
        <div class="table-wrap">
            <table class="jobs" id="jobs">
                <thead><tr>
                    <th>"Snippet"</th><th>"State"</th><th>"Language"</th><th>"Attempts"</th>
                    <th>"Queued"</th><th>"Error"</th><th><span class="visually-hidden">"Attempts"</span></th>
                </tr></thead>
                <tbody>
                    {jobs.into_iter().map(|job| {
                        let id = job.id.to_string();
                        let toggle_id = id.clone();
                        let row_id = id.clone();
                        let shown = move || open.get().as_deref() == Some(row_id.as_str());
                        let shown_detail = shown.clone();
                        let detail_id = id.clone();
                        view! {
                            <tr class="job" data-id=id.clone() data-state=job.state.as_str()>
                                <td data-label="Snippet">
                                    <a href=format!("/s/{id}")><code>{short_id(&id)}</code></a>
                                    " " <span class="preview">{job.filename.clone().unwrap_or(job.preview.clone())}</span>
                                </td>
                                <td data-label="State"><span class=format!("badge {}", job.state.as_str())>{job.state.as_str()}</span></td>
                                <td data-label="Language">{job.language.clone()}</td>
                                <td data-label="Attempts">{format!("{} / {}", job.attempts, job.max_attempts)}</td>
                                <td data-label="Queued">{clock::date_and_second(&job.enqueued_at)}</td>
                                <td data-label="Error" class="error-text">{job.error.clone().unwrap_or_default()}</td>
                                <td>
                                    <button type="button" class="details"
                                        on:click=move |_| open.update(|o| {
                                            *o = if o.as_deref() == Some(toggle_id.as_str()) { None } else { Some(toggle_id.clone()) };
                                        })>
                                        {move || if shown() { "Hide" } else { "Attempts" }}
                                    </button>
                                </td>
                            </tr>
                            {move || shown_detail().then(|| view! { <JobAttempts id=detail_id.clone()/> })}
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    })
}

/// A job's attempts, under its row.
#[component]
fn JobAttempts(id: String) -> impl IntoView {
    let detail = Resource::new(move || id.clone(), admin_job);
    view! {
        <tr class="attempts-row">
            <td colspan="7">
                <Suspense fallback=|| view! { <p class="loading">"Loading attempts…"</p> }>
                    {move || Suspend::new(async move {
                        match detail.await {
                            Ok(detail) if detail.attempts.is_empty() => Either::Left(view! {
                                <p class="empty">"No attempt has ended yet."</p>
                            }.into_any()),
                            Ok(detail) => Either::Left(view! {
                                <ol class="attempt-list">
                                    {detail.attempts.into_iter().map(|a| view! {
                                        <li class=format!("attempt {}", a.outcome)>
                                            <span class="badge">{a.outcome.clone()}</span>
                                            {format!(" #{} on {} at {}, {}", a.attempt, a.holder, clock::time_of_day(&a.started_at), millis_label(a.duration_ms))}
                                            {a.error.map(|e| view! { <pre class="attempt-error">{e}</pre> })}
                                        </li>
                                    }).collect_view()}
                                </ol>
                            }.into_any()),
                            Err(e) => Either::Right(view! { <p class="error">{e.message}</p> }),
                        }
                    })}
                </Suspense>
            </td>
        </tr>
    }
}

/// `/admin/login`: the token, for a session cookie (a plain form post:
/// it works before the page hydrates, and the token never reaches a script).
#[component]
pub fn AdminLoginPage() -> impl IntoView {
    let query = use_query_map();
    let failed = move || {
        query.with(|q| match q.get("failed").as_deref() {
            Some("token") => Some("That token is not a dashboard token."),
            Some("limit") => Some("Too many sign-in attempts; wait a minute."),
            _ => None,
        })
    };
    view! {
        <Title text="Sign in · Highlighter"/>
        <section class="message sign-in">
            <h1>"Dashboard sign-in"</h1>
            <form method="post" action="/admin/login" id="sign-in">
                <label>"Token "
                    <input type="password" name="token" required autocomplete="current-password" autofocus/>
                </label>
                <button type="submit">"Sign in"</button>
            </form>
            <p class="error" role="alert">{failed}</p>
        </section>
    }
}

/// Percent-encodes a query value (the router decodes what it reads).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

fn jobs_label(n: u64) -> String {
    if n == 1 {
        "1 job".to_owned()
    } else {
        format!("{n} jobs")
    }
}

fn millis_label(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

fn duration_label(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86400 => format!("{:.1} h", secs as f64 / 3600.0),
        _ => format!("{:.1} days", secs as f64 / 86400.0),
    }
}

fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0) as u64;
    format!("{} ago", duration_label(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded_so_the_router_reads_them_back() {
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode("Plain-Text_1.0~"), "Plain-Text_1.0~");
    }

    #[test]
    fn an_address_reads_back_as_the_query_it_was_made_from() {
        let pairs: Query = vec![
            ("state".into(), "failed".into()),
            ("q".into(), "a b&c=d/é%".into()),
        ];
        let address = address_of(&pairs);
        assert_eq!(address, "/admin?state=failed&q=a%20b%26c%3Dd%2F%C3%A9%25");
        assert_eq!(parse_query(address.trim_start_matches("/admin")), pairs);
        assert_eq!(
            parse_query("?q=x+y&empty=&bad=%zz"),
            vec![
                ("q".to_owned(), "x y".to_owned()),
                ("empty".to_owned(), String::new()),
                ("bad".to_owned(), "%zz".to_owned()),
            ]
        );
        assert_eq!(address_of(&[]), "/admin");
        assert_eq!(filter_of(&parse_query("state=&cursor=abc&q=t")), "q=t");
        assert_eq!(
            cursor_of(&parse_query("cursor=abc")).as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        assert_eq!(duration_label(59), "59 s");
        assert_eq!(duration_label(120), "2 min");
        assert_eq!(duration_label(5400), "1.5 h");
        assert_eq!(millis_label(1500), "1.5 s");
        assert_eq!(jobs_label(1), "1 job");
    }
}
