//! `/`: the paste form, the reader's own snippets, and the live list of
//! recent public snippets.
//!
//! The form is an island around a plain form that posts to a server
//! function: with JavaScript off the post is answered by a redirect to the
//! new snippet; with it on, the submit handler calls the same function and
//! the islands router shows the new snippet without a reload. Both
//! lists are one island on ONE event stream (`/api/events`): the events of
//! the snippets they show, `created` for new public snippets, `yours` for
//! new snippets of this browser.

use leptos::{prelude::*, server_fn::ServerFn};

use super::{lines_label, snippet::LanguageList};
use crate::{
    api::{SnippetLists, SubmitSnippet, home_lists, submit_snippet},
    domain::{JobState, LIST_LENGTH, SnippetEvent, SnippetSummary, UserError, Visibility},
};

#[component]
pub fn HomePage() -> impl IntoView {
    let lists = Resource::new(|| (), |_| home_lists());
    view! {
        <PasteForm/>
        <LanguageList/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match lists.await {
                    Ok(lists) => leptos::either::Either::Left(view! { <LiveLists initial=lists/> }),
                    Err(e) => leptos::either::Either::Right(view! {
                        <section class="recent"><p class="error">{e.message}</p></section>
                    }),
                }
            })}
        </Suspense>
    }
}

/// The paste form. Its language input offers the page's `LanguageList`.
#[island]
fn PasteForm() -> impl IntoView {
    let submit = super::FormCall::new(&[SubmitSnippet::PATH]);
    let fields = PasteFields::default();
    view! {
        <section class="paste">
            <h1 class="visually-hidden">"Paste code to highlight"</h1>
            <form method="post" action=SubmitSnippet::url() id="paste-form" data-live=super::liveness()
                on:submit=submit.on_submit(move || fields.submit(), |_| ())>
                <label class="visually-hidden" for="code">"Code"</label>
                <textarea
                    id="code"
                    name="code"
                    required
                    spellcheck="false"
                    autocomplete="off"
                    placeholder="Paste your code here…"
                    node_ref=fields.code
                ></textarea>
                <div class="controls">
                    <label>
                        "Language "
                        <input
                            name="language"
                            list="language-list"
                            placeholder="Auto-detect"
                            autocomplete="off"
                            node_ref=fields.language
                        />
                    </label>
                    <label>
                        "File name "
                        <input name="filename" placeholder="main.rs" autocomplete="off" maxlength="255" node_ref=fields.filename/>
                    </label>
                    <label>
                        "Expires "
                        <select name="expires_in" node_ref=fields.expires_in>
                            <option value="" selected>"never"</option>
                            <option value="3600">"in 1 hour"</option>
                            <option value="86400">"in 1 day"</option>
                            <option value="604800">"in 1 week"</option>
                        </select>
                    </label>
                    <label class="check" title="Unlisted snippets are reachable only by their link">
                        <input type="checkbox" name="public" value="on" node_ref=fields.public/>
                        " List on the front page"
                    </label>
                    <label class="check" title="Deleted the first time someone else reads it">
                        <input type="checkbox" name="burn_after_reading" value="on" node_ref=fields.burn_after_reading/>
                        " Burn after reading"
                    </label>
                    <button type="submit" disabled=move || submit.pending()>
                        {move || if submit.pending() { "Submitting…" } else { "Highlight" }}
                    </button>
                </div>
                <p class="form-error" role="alert">{move || submit.error()}</p>
            </form>
        </section>
    }
}

/// The paste form's fields, read when it is submitted. (The server
/// redirects to the new snippet, through the islands router.)
#[derive(Clone, Copy, Default)]
struct PasteFields {
    code: NodeRef<leptos::html::Textarea>,
    language: NodeRef<leptos::html::Input>,
    filename: NodeRef<leptos::html::Input>,
    expires_in: NodeRef<leptos::html::Select>,
    public: NodeRef<leptos::html::Input>,
    burn_after_reading: NodeRef<leptos::html::Input>,
}

impl PasteFields {
    /// Submits what a plain post of the form would send: every text field,
    /// even empty, and a ticked checkbox as `on`.
    fn submit(&self) -> impl std::future::Future<Output = Result<String, UserError>> + use<> {
        let text = |input: NodeRef<leptos::html::Input>| input.get_untracked().map(|el| el.value());
        let ticked = |input: NodeRef<leptos::html::Input>| {
            input
                .get_untracked()
                .filter(|el| el.checked())
                .map(|_| "on".to_owned())
        };
        submit_snippet(
            self.code
                .get_untracked()
                .map(|el| el.value())
                .unwrap_or_default(),
            text(self.language),
            text(self.filename),
            self.expires_in.get_untracked().map(|el| el.value()),
            ticked(self.public),
            ticked(self.burn_after_reading),
        )
    }
}

/// The reader's snippets and the recent public ones, kept live by one
/// stream.
#[island]
fn LiveLists(initial: SnippetLists) -> impl IntoView {
    let root = NodeRef::<leptos::html::Div>::new();
    // Its stream closes when the page is left (see `islands`).
    super::islands::dispose_when_detached(root);
    let mine = RwSignal::new(initial.mine);
    let recent = RwSignal::new(initial.recent);
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            let mut ids: Vec<String> = Vec::new();
            for s in mine
                .get_untracked()
                .iter()
                .chain(recent.get_untracked().iter())
            {
                let id = s.id.to_string();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            let mut names = super::live::SNIPPET_EVENTS.to_vec();
            names.extend(["created", "yours", "deleted"]);
            super::live::listen(
                format!("/api/events?snippets={}", ids.join(",")),
                &names,
                move |name, data| {
                    if let Some(Ok(event)) = SnippetEvent::parse(name, data) {
                        let id = SnippetEvent::addressed_to(data);
                        apply_to_lists(
                            name,
                            id.as_ref().map(crate::domain::SnippetId::as_str),
                            event,
                            mine,
                            recent,
                        );
                    }
                    true
                },
            );
        });
    }
    let live = super::liveness();
    view! {
        <div class="lists" data-live=live node_ref=root>
        <Show when=move || mine.with(|m| !m.is_empty())>
            <section class="mine">
                <h2>"Your snippets"</h2>
                <SnippetList list=mine list_id="mine"/>
            </section>
        </Show>
        <section class="recent">
            <h2>"Recent snippets"</h2>
            <Show
                when=move || recent.with(|r| !r.is_empty())
                fallback=|| view! { <p class="empty">"Nothing listed yet. Tick “List on the front page” to share yours here."</p> }
            >
                <SnippetList list=recent list_id="recent"/>
            </Show>
        </section>
        </div>
    }
}

/// Folds one pushed event into both lists.
#[cfg(feature = "hydrate")]
fn apply_to_lists(
    name: &str,
    id: Option<&str>,
    event: SnippetEvent,
    mine: RwSignal<Vec<SnippetSummary>>,
    recent: RwSignal<Vec<SnippetSummary>>,
) {
    if let SnippetEvent::Created(summary) = event {
        if name == "yours" {
            if summary.visibility == Visibility::Public {
                recent.update(|l| insert_new(l, summary.clone()));
            }
            mine.update(|l| insert_new(l, summary));
        } else {
            recent.update(|l| insert_new(l, summary));
        }
        return;
    }
    let Some(id) = id else { return };
    for list in [mine, recent] {
        list.update(|l| apply_to_list(l, id, &event));
    }
}

/// Puts a new snippet on top of a list, once.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn insert_new(list: &mut Vec<SnippetSummary>, summary: SnippetSummary) {
    if !list.iter().any(|s| s.id == summary.id) {
        list.insert(0, summary);
        list.truncate(LIST_LENGTH);
    }
}

/// Folds one event about snippet `id` into a list: its row's state moves,
/// or the row goes when the snippet is gone.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn apply_to_list(list: &mut Vec<SnippetSummary>, id: &str, event: &SnippetEvent) {
    if matches!(event, SnippetEvent::Deleted(_)) {
        list.retain(|s| s.id.as_str() != id);
        return;
    }
    let Some(row) = list.iter_mut().find(|s| s.id.as_str() == id) else {
        return;
    };
    match event {
        SnippetEvent::State(s) => {
            row.state = s.state;
            row.progress = s.progress;
        }
        SnippetEvent::Progress(p) => {
            row.state = JobState::Processing;
            row.progress = Some(*p);
        }
        SnippetEvent::Highlighted(h) => {
            row.state = JobState::Succeeded;
            row.progress = None;
            row.language = h.language.clone();
        }
        SnippetEvent::Retrying(_) => {
            row.state = JobState::Retrying;
            row.progress = None;
        }
        SnippetEvent::Failed(_) => {
            row.state = JobState::Failed;
            row.progress = None;
        }
        SnippetEvent::Created(_) | SnippetEvent::Deleted(_) => {}
    }
}

#[component]
fn SnippetList(list: RwSignal<Vec<SnippetSummary>>, list_id: &'static str) -> impl IntoView {
    view! {
        <ul id=list_id class="snippet-list">
            {move || list.get().into_iter().map(|s| view! { <Row s/> }).collect_view()}
        </ul>
    }
}

#[component]
fn Row(s: SnippetSummary) -> impl IntoView {
    let title = s.filename.clone().unwrap_or_else(|| s.preview.clone());
    let when = format!(
        "{} UTC",
        crate::domain::clock::date_and_minute(&s.created_at)
    );
    let state = match s.progress {
        Some(p) if s.state == JobState::Processing => {
            format!("{} {}%", s.state.as_str(), p.percent())
        }
        _ => s.state.as_str().to_owned(),
    };
    let unlisted = (s.visibility == Visibility::Unlisted).then_some("unlisted");
    view! {
        <li data-id=s.id.to_string()>
            <a href=s.id.url() class="title">{title}</a>
            <span class="meta">
                <span class="language">{s.language}</span>
                <span class="lines">{lines_label(s.lines)}</span>
                {unlisted.map(|u| view! { <span class="visibility">{u}</span> })}
                <time>{when}</time>
                <span class=format!("state state-{}", s.state.as_str())>{state}</span>
            </span>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Deleted, GoneReason, Highlighted, SnippetId};

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
            visibility: Visibility::Public,
        }
    }

    #[test]
    fn new_snippets_go_on_top_results_update_their_row_and_deletions_drop_it() {
        let mut list = vec![summary("aaaaaaaaaaaa")];
        insert_new(&mut list, summary("bbbbbbbbbbbb"));
        assert_eq!(list[0].id.as_str(), "bbbbbbbbbbbb");
        apply_to_list(
            &mut list,
            "aaaaaaaaaaaa",
            &SnippetEvent::Highlighted(Highlighted {
                html: String::new(),
                language: "Rust".into(),
                highlighted_in_ms: 1,
            }),
        );
        assert_eq!(list[1].state, JobState::Succeeded);
        assert_eq!(list[1].language, "Rust");
        // A duplicate creation (a resync) changes nothing.
        insert_new(&mut list, summary("bbbbbbbbbbbb"));
        assert_eq!(list.len(), 2);
        apply_to_list(
            &mut list,
            "bbbbbbbbbbbb",
            &SnippetEvent::Deleted(Deleted {
                reason: GoneReason::Deleted,
            }),
        );
        assert_eq!(list.len(), 1);
    }
}
