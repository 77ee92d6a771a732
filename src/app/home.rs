//! `/`: the paste form, the reader's own snippets, and the live list of
//! recent public snippets.
//!
//! The form is an island around a plain form that posts to a server
//! function: with JavaScript off the post is answered by a redirect to the
//! new snippet; with it on, the submit handler calls the same function and
//! the islands router shows the new snippet without a reload. "Add file"
//! and "Remove" add and take away a file in place; without JavaScript they
//! post the form to `/`, which shows it again with everything typed kept
//! (`server::http::drafts`). Both lists are one island on ONE event
//! stream (`/api/events`): the events of the snippets they show, `created`
//! for new public snippets, `yours` for new snippets of this browser.

use leptos::{prelude::*, server_fn::ServerFn};

use super::{lines_label, snippet::LanguageList};
use crate::{
    api::{SnippetLists, SubmitSnippet, home_lists, submit_snippet},
    domain::{
        Draft, FileText, JobState, LIST_LENGTH, SnippetEvent, SnippetSummary, UserError, Visibility,
    },
};

#[component]
pub fn HomePage() -> impl IntoView {
    let lists = Resource::new(|| (), |_| home_lists());
    // A form shown again (no JavaScript): what was typed, with a file more
    // or less.
    let draft = use_context::<Draft>().unwrap_or_else(Draft::empty);
    view! {
        <PasteForm draft/>
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

/// The fields of one file of a form: name, language and code, named
/// `files[{key}][...]` as the server function reads them. `key` is the
/// file's place when the server draws the form.
#[component]
pub fn FileFields(
    key: usize,
    file: FileText,
    /// Offer "Remove" (a form keeps at least one file).
    removable: Signal<bool>,
    /// Where the buttons post without JavaScript.
    draft_action: String,
    #[prop(optional)] on_remove: Option<Callback<usize>>,
    /// The language the file has now, shown when the field is blank.
    #[prop(optional)]
    placeholder_language: Option<String>,
) -> impl IntoView {
    let remove = move |ev: leptos::ev::MouseEvent| {
        if let Some(on_remove) = on_remove {
            ev.prevent_default();
            on_remove.run(key);
        }
    };
    view! {
        <fieldset class="file-fields" data-key=key.to_string()>
            <legend class="visually-hidden">{format!("File {}", key + 1)}</legend>
            <div class="file-line">
                <label>
                    "File name "
                    <input name=format!("files[{key}][name]") id=format!("name-{key}") class="file-name"
                        placeholder="main.rs" autocomplete="off" maxlength="255" value=file.name.unwrap_or_default()/>
                </label>
                <label>
                    "Language "
                    <input name=format!("files[{key}][language]") id=format!("language-{key}") class="file-language"
                        list="language-list" autocomplete="off"
                        placeholder=placeholder_language.unwrap_or_else(|| "Auto-detect".to_owned())
                        value=file.language.unwrap_or_default()/>
                </label>
                <Show when=move || removable.get()>
                    <button type="submit" class="remove-file" formaction=draft_action.clone() formnovalidate
                        name="do" value=format!("remove:{key}") on:click=remove>
                        "Remove"
                    </button>
                </Show>
            </div>
            <label class="visually-hidden" for=format!("code-{key}")>{format!("Code of file {}", key + 1)}</label>
            <textarea
                id=format!("code-{key}")
                name=format!("files[{key}][code]")
                class="file-code"
                required
                spellcheck="false"
                autocomplete="off"
                placeholder="Paste your code here…"
            >{file.code}</textarea>
        </fieldset>
    }
}

/// The paste form. Its language inputs offer the page's `LanguageList`.
#[island(lazy)]
fn PasteForm(draft: Draft) -> impl IntoView {
    let submit = super::FormCall::new(&[SubmitSnippet::PATH]);
    let form = NodeRef::<leptos::html::Form>::new();
    let expires_in = NodeRef::<leptos::html::Select>::new();
    let public = NodeRef::<leptos::html::Input>::new();
    let burn_after_reading = NodeRef::<leptos::html::Input>::new();
    let Draft {
        files,
        expires_in: expires_value,
        public: public_value,
        burn_after_reading: burn_value,
        error,
        ..
    } = draft;
    // Each file's key, and what it started with. Keys are never reused:
    // a removed file's fields go with it.
    let next_key = StoredValue::new(files.len());
    let rows = RwSignal::new(files.into_iter().enumerate().collect::<Vec<_>>());
    let removable = Signal::derive(move || rows.with(|r| r.len() > 1));
    let on_remove = Callback::new(move |key: usize| {
        rows.update(|r| {
            if r.len() > 1 {
                r.retain(|(k, _)| *k != key);
            }
        });
    });
    let add_file = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        rows.update(|r| r.push((key, FileText::default())));
    };
    let read_files = move || -> Vec<FileText> {
        #[cfg(feature = "hydrate")]
        {
            let data = form
                .get_untracked()
                .and_then(|form| web_sys::FormData::new_with_form(&form).ok());
            let Some(data) = data else {
                return Vec::new();
            };
            let field =
                |key: usize, name: &str| data.get(&format!("files[{key}][{name}]")).as_string();
            rows.with_untracked(|r| {
                r.iter()
                    .map(|(key, _)| FileText {
                        name: field(*key, "name"),
                        language: field(*key, "language"),
                        code: field(*key, "code").unwrap_or_default(),
                    })
                    .collect()
            })
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = form;
            Vec::new()
        }
    };
    let on_submit = submit.on_submit(
        move || {
            let ticked = |input: NodeRef<leptos::html::Input>| {
                input
                    .get_untracked()
                    .filter(|el| el.checked())
                    .map(|_| "on".to_owned())
            };
            send(
                read_files(),
                expires_in.get_untracked().map(|el| el.value()),
                ticked(public),
                ticked(burn_after_reading),
            )
        },
        |_| (),
    );
    let expires = expires_value.unwrap_or_default();
    let option = move |value: &'static str, label: &'static str| {
        let selected = expires == value;
        view! { <option value=value selected=selected>{label}</option> }
    };
    if let Some(error) = error {
        submit.fail(error);
    }
    view! {
        <section class="paste">
            <h1 class="visually-hidden">"Paste code to highlight"</h1>
            <form method="post" action=SubmitSnippet::url() id="paste-form" data-live=super::liveness()
                node_ref=form on:submit=on_submit>
                <For each=move || rows.get() key=|(key, _)| *key let:row>
                    <FileFields key=row.0 file=row.1 removable draft_action="/".to_owned() on_remove/>
                </For>
                <div class="controls">
                    <button type="submit" id="add-file" formaction="/" formnovalidate name="do" value="add"
                        on:click=add_file>
                        "Add file"
                    </button>
                    <label>
                        "Expires "
                        <select name="expires_in" node_ref=expires_in>
                            {option("", "never")}
                            {option("3600", "in 1 hour")}
                            {option("86400", "in 1 day")}
                            {option("604800", "in 1 week")}
                        </select>
                    </label>
                    <label class="check" title="Unlisted snippets are reachable only by their link">
                        <input type="checkbox" name="public" value="on" checked=public_value node_ref=public/>
                        " List on the front page"
                    </label>
                    <label class="check" title="Deleted the first time someone else reads it">
                        <input type="checkbox" name="burn_after_reading" value="on" checked=burn_value node_ref=burn_after_reading/>
                        " Burn after reading"
                    </label>
                    <button type="submit" id="submit" disabled=move || submit.pending()>
                        {move || if submit.pending() { "Submitting…" } else { "Highlight" }}
                    </button>
                </div>
                <p class="form-error" role="alert">{move || submit.error()}</p>
            </form>
        </section>
    }
}

/// Submits what a plain post of the form would send. (The server
/// redirects to the new snippet, through the islands router.)
fn send(
    files: Vec<FileText>,
    expires_in: Option<String>,
    public: Option<String>,
    burn_after_reading: Option<String>,
) -> impl std::future::Future<Output = Result<String, UserError>> {
    submit_snippet(files, expires_in, public, burn_after_reading)
}

/// The reader's snippets and the recent public ones, kept live by one
/// stream.
#[island(lazy)]
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
            row.progress = Some(p.progress());
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
        SnippetEvent::Revision(r) => {
            row.files = r.files.len() as u32;
            row.lines = r.files.iter().map(|f| f.lines).sum();
            if let Some(first) = r.files.first() {
                row.language = first.language.clone();
                row.filename = first.named.then(|| first.name.clone());
            }
        }
        SnippetEvent::File(_) | SnippetEvent::Created(_) | SnippetEvent::Deleted(_) => {}
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
                {(s.files > 1).then(|| view! { <span class="files-count">{format!("{} files", s.files)}</span> })}
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
            files: 1,
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
                revision: 1,
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
