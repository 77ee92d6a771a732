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
//! Read-only operators get the same page without a single action button;
//! the server refuses their changes anyway.

use chrono::{DateTime, Utc};
use leptos::{either::Either, prelude::*};
use leptos_meta::{Meta, Title};
use leptos_router::{
    LazyRoute,
    components::{A, Form},
    hooks::use_query_map,
    lazy_route,
};

use crate::{
    api::{admin_act, admin_job, admin_jobs, admin_overview, admin_pause, admin_preview},
    domain::{
        UserError, clock,
        operations::{ALL_STATES, AdminRole, BulkAction, Finished, JobRow, Overview, Stats},
    },
};

/// The dashboard, as a lazy route: only operators open it, so its code is
/// split out of the bundle every visitor downloads (`cargo leptos
/// --split`) and fetched when `/admin` is first shown. [`data`] starts
/// loading the overview at once, so the two downloads run side by side
/// rather than one after the other.
///
/// [`data`]: LazyRoute::data
pub struct AdminPage {
    overview: Resource<Result<Overview, UserError>>,
}

#[lazy_route]
impl LazyRoute for AdminPage {
    fn data() -> Self {
        AdminPage {
            overview: Resource::new(|| (), |_| admin_overview()),
        }
    }

    fn view(this: Self) -> AnyView {
        let overview = this.overview;
        view! {
            <Title text="Dashboard · Highlighter"/>
            <Meta name="robots" content="noindex"/>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(overview) => Either::Left(view! { <Dashboard overview/> }),
                        Err(e) => Either::Right(view! {
                            <section class="message"><h1>"Dashboard"</h1><p class="error">{e.message}</p></section>
                        }),
                    }
                })}
            </Suspense>
        }
        .into_any()
    }
}

#[component]
fn Dashboard(overview: Overview) -> impl IntoView {
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
        <section class="admin">
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
                        data-state=state.as_str()>
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
            <Jobs may_act movement/>
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
fn Jobs(may_act: bool, movement: Memo<crate::domain::operations::Movement>) -> impl IntoView {
    let query = use_query_map();
    // The filter as the URL says it, without the page cursor.
    let filter_query = Memo::new(move |_| {
        query.with(|q| {
            q.clone()
                .into_iter()
                .filter(|(key, value)| key != "cursor" && !value.is_empty())
                .map(|(key, value)| format!("{}={}", encode(&key), encode(&value)))
                .collect::<Vec<_>>()
                .join("&")
        })
    });
    let cursor = Memo::new(move |_| query.with(|q| q.get("cursor")));
    let field = move |name: &'static str| move || query.with(|q| q.get(name).unwrap_or_default());
    let refreshed = RwSignal::new(0u32);
    let jobs = Resource::new(
        move || {
            (
                filter_query.get(),
                cursor.get(),
                movement.get(),
                refreshed.get(),
            )
        },
        |(filter, cursor, _, _)| admin_jobs(filter, cursor),
    );
    view! {
        <h2>"Jobs"</h2>
        <Form method="GET" action="/admin" attr:class="filters" attr:id="job-filters">
            <label>"State "
                <select name="state" prop:value=field("state")>
                    <option value="">"any"</option>
                    {ALL_STATES.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || field("state")() == s.as_str()>{s.as_str()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Language " <input name="language" prop:value=field("language") placeholder="Rust" size="10"/></label>
            <label>"Text " <input name="q" type="search" prop:value=field("q") placeholder="in code or error" maxlength="200"/></label>
            <label>"Attempts ≥ " <input name="min_attempts" type="number" min="0" prop:value=field("min_attempts") size="3"/></label>
            <label>"Queued before "
                <select name="older_than_secs" prop:value=field("older_than_secs")>
                    <option value="">"any time"</option>
                    <option value="60" selected=move || field("older_than_secs")() == "60">"1 min ago"</option>
                    <option value="3600" selected=move || field("older_than_secs")() == "3600">"1 h ago"</option>
                    <option value="86400" selected=move || field("older_than_secs")() == "86400">"1 day ago"</option>
                </select>
            </label>
            <button type="submit">"Filter"</button>
            <A href="/admin" attr:class="clear">"Clear"</A>
        </Form>
        {may_act.then(|| view! { <Bulk filter_query refreshed/> })}
        <Transition fallback=|| view! { <p class="loading">"Loading jobs…"</p> }>
            {move || Suspend::new(async move {
                match jobs.await {
                    Ok(page) => {
                        let next = page.next_cursor.clone().map(|next| {
                            let filter = filter_query.get_untracked();
                            let sep = if filter.is_empty() { "" } else { "&" };
                            format!("/admin?{filter}{sep}cursor={}", encode(&next))
                        });
                        let first = cursor.get_untracked().is_some().then(|| {
                            let filter = filter_query.get_untracked();
                            if filter.is_empty() { "/admin".to_owned() } else { format!("/admin?{filter}") }
                        });
                        Either::Left(view! {
                            <p class="total" id="jobs-total">
                                {format!("{} matching", page.total)}
                            </p>
                            <JobsTable jobs=page.jobs/>
                            <nav class="pages">
                                {first.map(|href| view! { <A href=href>"First page"</A> })}
                                {next.map(|href| view! { <A href=href attr:id="next-page">"Next page"</A> })}
                            </nav>
                        })
                    }
                    Err(e) => Either::Right(view! { <p class="error">{e.message}</p> }),
                }
            })}
        </Transition>
    }
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
                    <th>"Queued"</th><th>"Error"</th><th></th>
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
        <Meta name="robots" content="noindex"/>
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
    fn durations_read_like_a_person_wrote_them() {
        assert_eq!(duration_label(59), "59 s");
        assert_eq!(duration_label(120), "2 min");
        assert_eq!(duration_label(5400), "1.5 h");
        assert_eq!(millis_label(1500), "1.5 s");
        assert_eq!(jobs_label(1), "1 job");
    }
}
