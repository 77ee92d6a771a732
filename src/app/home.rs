//! `/`: the paste form and the live list of recent snippets.
//!
//! The form is an `ActionForm` bound to a server function: with
//! JavaScript off it is a plain POST answered by a redirect to the new
//! snippet; with it on, the same request goes through `fetch` and the
//! router navigates without a reload. The list holds ONE event stream
//! (`/api/events`) for all its snippets and the snippets others submit.

use leptos::{either::Either, prelude::*};
use leptos_router::components::A;

use super::snippet::LanguageList;
use crate::{
    api::{SubmitSnippet, recent_snippets},
    domain::SnippetSummary,
};

/// Rows the list shows.
const LIST_LENGTH: usize = 20;

#[component]
pub fn HomePage() -> impl IntoView {
    let submit = ServerAction::<SubmitSnippet>::new();
    let recent = Resource::new(|| (), |_| recent_snippets());
    let error = move || {
        submit
            .value()
            .get()
            .and_then(|result| result.err())
            .map(|e| e.message)
    };
    view! {
        <section class="paste">
            <ActionForm action=submit attr:id="paste-form">
                <label class="visually-hidden" for="code">"Code"</label>
                <textarea
                    id="code"
                    name="code"
                    required
                    spellcheck="false"
                    autocomplete="off"
                    placeholder="Paste your code here…"
                ></textarea>
                <div class="controls">
                    <label>
                        "Language "
                        <input
                            name="language"
                            list="language-list"
                            placeholder="Auto-detect"
                            autocomplete="off"
                        />
                    </label>
                    <LanguageList/>
                    <label>
                        "File name "
                        <input name="filename" placeholder="main.rs" autocomplete="off" maxlength="255"/>
                    </label>
                    <label>
                        "Expires "
                        <select name="expires_in">
                            <option value="" selected>"never"</option>
                            <option value="3600">"in 1 hour"</option>
                            <option value="86400">"in 1 day"</option>
                            <option value="604800">"in 1 week"</option>
                        </select>
                    </label>
                    <button type="submit" disabled=move || submit.pending().get()>
                        {move || if submit.pending().get() { "Submitting…" } else { "Highlight" }}
                    </button>
                </div>
                <p class="form-error" role="alert">{error}</p>
            </ActionForm>
        </section>
        <section class="recent">
            <h2>"Recent snippets"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match recent.await {
                        Ok(list) => Either::Left(view! { <LiveList initial=list/> }),
                        Err(e) => Either::Right(view! { <p class="error">{e.message}</p> }),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The recent snippets, kept live by one stream.
#[component]
fn LiveList(initial: Vec<SnippetSummary>) -> impl IntoView {
    let list = RwSignal::new(initial);
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            let ids = list
                .with_untracked(|l| l.iter().map(|s| s.id.to_string()).collect::<Vec<_>>())
                .join(",");
            let mut names = super::live::SNIPPET_EVENTS.to_vec();
            names.push("created");
            super::live::listen(
                format!("/api/events?snippets={ids}"),
                &names,
                move |name, data| {
                    if let Some(Ok(event)) = crate::domain::SnippetEvent::parse(name, data) {
                        let id = serde_json::from_str::<serde_json::Value>(data)
                            .ok()
                            .and_then(|v| v.get("id")?.as_str().map(str::to_owned));
                        list.update(|l| apply_to_list(l, id.as_deref(), event));
                    }
                    true
                },
            );
        });
    }
    view! {
        {move || {
            let items = list.get();
            if items.is_empty() {
                Either::Left(view! {
                    <p class="empty">"Nothing yet. Be the first to paste something."</p>
                })
            } else {
                Either::Right(view! {
                    <ul id="recent">
                        {items.into_iter().map(|s| view! { <RecentRow s/> }).collect_view()}
                    </ul>
                })
            }
        }}
    }
}

/// Folds one pushed event into the list.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn apply_to_list(
    list: &mut Vec<SnippetSummary>,
    id: Option<&str>,
    event: crate::domain::SnippetEvent,
) {
    use crate::domain::{JobState, SnippetEvent};
    if let SnippetEvent::Created(summary) = event {
        if !list.iter().any(|s| s.id == summary.id) {
            list.insert(0, summary);
            list.truncate(LIST_LENGTH);
        }
        return;
    }
    let Some(row) = id.and_then(|id| list.iter_mut().find(|s| s.id.as_str() == id)) else {
        return;
    };
    match event {
        SnippetEvent::State(s) => {
            row.state = s.state;
            row.progress = s.progress;
        }
        SnippetEvent::Progress(p) => {
            row.state = JobState::Processing;
            row.progress = Some(p);
        }
        SnippetEvent::Highlighted(h) => {
            row.state = JobState::Succeeded;
            row.progress = None;
            row.language = h.language;
        }
        SnippetEvent::Retrying(_) => {
            row.state = JobState::Retrying;
            row.progress = None;
        }
        SnippetEvent::Failed(_) => {
            row.state = JobState::Failed;
            row.progress = None;
        }
        SnippetEvent::Created(_) => {}
    }
}

#[component]
fn RecentRow(s: SnippetSummary) -> impl IntoView {
    let title = s.filename.clone().unwrap_or_else(|| s.preview.clone());
    let when = s.created_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let state = match s.progress {
        Some(p) if s.state == crate::domain::JobState::Processing => {
            format!("{} {}%", s.state.as_str(), p.percent())
        }
        _ => s.state.as_str().to_owned(),
    };
    view! {
        <li data-id=s.id.to_string()>
            <A href=s.id.url()>
                <span class="title">{title}</span>
            </A>
            <span class="language">{s.language}</span>
            <span class="lines">{format!("{} lines", s.lines)}</span>
            <span class=format!("state state-{}", s.state.as_str())>{state}</span>
            <time>{when}</time>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Highlighted, JobState, SnippetEvent, SnippetId};

    fn summary(id: &str) -> SnippetSummary {
        SnippetSummary {
            id: SnippetId::parse(id).unwrap(),
            language: "Plain Text".into(),
            filename: None,
            preview: "x".into(),
            lines: 1,
            state: JobState::Queued,
            progress: None,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn new_snippets_go_on_top_and_results_update_their_row() {
        let mut list = vec![summary("aaaaaaaaaaaa")];
        apply_to_list(
            &mut list,
            None,
            SnippetEvent::Created(summary("bbbbbbbbbbbb")),
        );
        assert_eq!(list[0].id.as_str(), "bbbbbbbbbbbb");
        apply_to_list(
            &mut list,
            Some("aaaaaaaaaaaa"),
            SnippetEvent::Highlighted(Highlighted {
                html: String::new(),
                language: "Rust".into(),
                highlighted_in_ms: 1,
            }),
        );
        assert_eq!(list[1].state, JobState::Succeeded);
        assert_eq!(list[1].language, "Rust");
        // A duplicate creation (a resync) changes nothing.
        apply_to_list(
            &mut list,
            None,
            SnippetEvent::Created(summary("bbbbbbbbbbbb")),
        );
        assert_eq!(list.len(), 2);
    }
}
