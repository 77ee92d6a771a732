//! `/s/{id}` and `/s/{id}/r/{n}`: one snippet, at its latest revision or
//! at an old one. Finished, every file's highlighted HTML is in the first
//! response; pending, the escaped sources show with the job's state and a
//! progress bar, and the results are swapped in the moment they are
//! pushed. So is every new revision the owner saves, with the lines it
//! changed marked. Reading aids: line numbers outside the code's text (so
//! copying never takes them), `#file-main-rs-L10` anchors (`#L10` for the
//! first file), copy, raw, and "Download all".
//!
//! Only the owner (cookie or token) sees the controls that change the
//! snippet: Edit, the language, "Try again", and Delete (with a confirm
//! step that works without JavaScript). Anyone who can read it can fork
//! it. A burn-after-reading snippet is sealed for everyone else until
//! they ask to read it, once.
//!
//! The page is server-rendered; the snippet's live part is one island,
//! [`LiveSnippet`], whose props are the revision without its code or HTML.
//! The files (most of a page's bytes) are the island's children: written
//! once by the server, never serialized a second time for the client, and
//! rebuilt only when new results are pushed (`live::show_revision`).

use leptos::either::{Either, EitherOf5};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use super::{
    FormCall, NotFound, lines_label,
    live::{LiveSnippet as LiveState, PageSnippet},
    sections::{SectionFile, sections_html},
    set_status,
};
use crate::{
    api::{
        ChangeLanguage, DeleteSnippet, ForkSnippet, RetrySnippet, SnippetPageData, change_language,
        delete_snippet, fork_snippet, get_snippet, retry_snippet,
    },
    domain::{
        ForkOrigin, GoneReason, JobState, RevisionInfo, SealedSnippet, SnippetPage as Page,
        SnippetSummary, Visibility,
    },
};

/// `/s/{id}`: the latest revision.
#[component]
pub fn SnippetPage() -> impl IntoView {
    snippet_page(false)
}

/// `/s/{id}/r/{n}`: one revision, as it was.
#[component]
pub fn RevisionPage() -> impl IntoView {
    snippet_page(true)
}

fn snippet_page(at_revision: bool) -> impl IntoView {
    let params = use_params_map();
    let key = move || {
        params.with(|p| {
            let id = p.get("id").unwrap_or_default();
            // A revision that is not a number is one that does not exist.
            let revision = at_revision.then(|| {
                p.get("revision")
                    .and_then(|r| r.parse::<u32>().ok())
                    .unwrap_or(0)
            });
            (id, revision)
        })
    };
    let snippet = Resource::new(key, |(id, revision)| async move {
        get_snippet(id, revision).await.map(PageData::new)
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match snippet.await {
                    Ok(PageData { page: Shown::Found(page), files_html, revisions, forks, forked_from, first_revision, origin }) => {
                        let title = if page.pinned() {
                            format!("{} (revision {}) · Highlighter", page.title, page.revision)
                        } else {
                            format!("{} · Highlighter", page.title)
                        };
                        let owner = page.is_owner;
                        let about = About {
                            id: page.id.to_string(),
                            revision: page.revision,
                            revisions,
                            forks,
                            forked_from,
                            first_revision,
                            embed: (!page.burn_after_reading && !page.pinned())
                                .then(|| format!("<script src=\"{origin}/s/{}/embed.js\"></script>", page.id)),
                        };
                        EitherOf5::A(view! {
                            <Title text=title/>
                            {owner.then(|| view! { <LanguageList/> })}
                            <LiveSnippet snippet=page>
                                <div id="files" class="files" inner_html=files_html></div>
                            </LiveSnippet>
                            <AboutSnippet about/>
                        })
                    }
                    Ok(PageData { page: Shown::Sealed(sealed), .. }) => {
                        let title = sealed.title();
                        EitherOf5::B(view! {
                            <Title text=format!("{title} · Highlighter")/>
                            <Sealed sealed/>
                        })
                    }
                    Ok(PageData { page: Shown::Gone(reason), .. }) => {
                        EitherOf5::C(view! { <Title text="Gone · Highlighter"/> <Gone reason/> })
                    }
                    Ok(PageData { page: Shown::Missing, .. }) => EitherOf5::D(view! { <NotFound/> }),
                    Err(e) => {
                        set_status(503);
                        EitherOf5::E(view! {
                            <section class="message">
                                <h1>"Cannot show this snippet right now"</h1>
                                <p>{e.message}</p>
                            </section>
                        })
                    }
                }
            })}
        </Suspense>
    }
}

/// What the page shows, as the client may see it: no code, no HTML.
#[derive(Clone, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
enum Shown {
    Found(PageSnippet),
    Sealed(SealedSnippet),
    Gone(GoneReason),
    Missing,
}

/// What the page's resource holds. The files' HTML, the revisions and the
/// forks are written into the page once by the server and never
/// serialized as data: no island reads them.
#[derive(Clone, Serialize, Deserialize)]
struct PageData {
    page: Shown,
    #[serde(skip)]
    files_html: String,
    #[serde(skip)]
    revisions: Vec<RevisionInfo>,
    #[serde(skip)]
    forks: Vec<SnippetSummary>,
    #[serde(skip)]
    forked_from: Option<ForkOrigin>,
    #[serde(skip)]
    first_revision: u32,
    #[serde(skip)]
    origin: String,
}

impl PageData {
    fn new(data: SnippetPageData) -> Self {
        let mut page = PageData {
            page: Shown::Missing,
            files_html: String::new(),
            revisions: data.revisions,
            forks: data.forks,
            forked_from: None,
            first_revision: 1,
            origin: data.origin,
        };
        page.page = match data.page {
            Page::Found(view) => {
                let highlighted = view.state == JobState::Succeeded;
                let files: Vec<SectionFile<'_>> = view
                    .files
                    .iter()
                    .map(|f| SectionFile::of(f, highlighted))
                    .collect();
                page.files_html = sections_html(&view.id, &files);
                page.forked_from = view.forked_from.clone();
                page.first_revision = view.first_revision;
                Shown::Found(PageSnippet::of(&view))
            }
            Page::Sealed(sealed) => Shown::Sealed(sealed),
            Page::Gone(reason) => Shown::Gone(reason),
            Page::Missing => Shown::Missing,
        };
        page
    }
}

/// A snippet, kept live: its job's state, progress and results, and every
/// new revision, arrive as pushed events. `children` is the files as the
/// server showed them (`#files`).
#[island]
fn LiveSnippet(snippet: PageSnippet, children: Children) -> impl IntoView {
    let live_state = RwSignal::new(LiveState::from_page(&snippet));
    let files = RwSignal::new(snippet.files.clone());
    let article = NodeRef::<leptos::html::Article>::new();
    // Its stream and listeners go when the page is left (see `islands`).
    super::islands::dispose_when_detached(article);
    #[cfg(feature = "hydrate")]
    {
        use crate::domain::SnippetEvent;
        let id = snippet.id.clone();
        let url = live_state.with_untracked(|l| l.stream_url(&id));
        super::live::listen(url, &super::live::SNIPPET_EVENTS, move |name, data| {
            let Some(Ok(event)) = SnippetEvent::parse(name, data) else {
                return true;
            };
            let deleted = matches!(event, SnippetEvent::Deleted(_));
            if let Some(switch) = live_state.try_update(|l| l.apply(event)).flatten() {
                let shown = files.try_update(|f| super::live::show_revision(&id, &switch, f));
                if shown == Some(false)
                    && let Some(window) = web_sys::window()
                {
                    let _ = window.location().reload();
                }
                super::reading::mark_from_hash();
            }
            !deleted
        });
        // Lines named by the hash are marked once the page is live, and
        // again whenever the hash changes.
        Effect::new(move |_| super::reading::mark_from_hash());
        let handle = window_event_listener(leptos::ev::hashchange, move |_| {
            super::reading::mark_from_hash()
        });
        on_cleanup(move || handle.remove());
    }
    // The owner's forms: one call at a time, one error line.
    let owner_call = FormCall::new(&[
        RetrySnippet::PATH,
        ChangeLanguage::PATH,
        DeleteSnippet::PATH,
    ]);
    let fork_call = FormCall::new(&[ForkSnippet::PATH]);
    // A new run is told by the stream (`state: queued`, then its results):
    // setting it here too could undo a result that came before the answer.
    let requeued = |()| ();
    let language_input = NodeRef::<leptos::html::Input>::new();
    let file_select = NodeRef::<leptos::html::Select>::new();
    let id = snippet.id.to_string();
    let id_text = StoredValue::new(id.clone());
    let is_owner = snippet.is_owner;
    let pinned = snippet.pinned();
    let revision = snippet.revision;
    let visibility = match snippet.visibility {
        Visibility::Public => "public",
        Visibility::Unlisted => "unlisted",
    };
    let burns = snippet.burn_after_reading;
    let download_href = format!("/s/{id}/download");
    let raw_href = format!("/s/{id}/raw");
    let edit_href = format!("/s/{id}/edit");
    let latest_href = format!("/s/{id}");
    let state = move || live_state.with(|l| l.state);
    let pending = move || !state().is_final();
    let gone = move || live_state.with(|l| l.gone);
    let file_count = move || files.with(Vec::len);
    let lines = move || files.with(|f| f.iter().map(|f| f.lines).sum::<u32>());
    let diff_href = {
        let id = id.clone();
        move |from: u32, to: u32| format!("/s/{id}/diff/{from}/{to}")
    };
    let newer = {
        let diff_href = diff_href.clone();
        let latest_href = latest_href.clone();
        move || {
            live_state.with(|l| {
                (pinned && l.newest > revision).then(|| {
                    view! {
                        <p class="newer" role="status">
                            {format!("You are reading revision {revision}. The latest is revision {}. ", l.newest)}
                            <a href=latest_href.clone()>"Read the latest"</a>
                            " · "
                            <a href=diff_href(revision, l.newest)>"Compare"</a>
                        </p>
                    }
                })
            })
        }
    };
    let updated = {
        let diff_href = diff_href.clone();
        move || {
            live_state.with(|l| {
                l.updated.map(|u| {
                    view! {
                        <p class="updated" role="status">
                            "Updated just now: "
                            <a href=diff_href(u.from, u.to)>{super::live::updated_label(&u)}</a>
                        </p>
                    }
                })
            })
        }
    };
    view! {
        // Gone while the page was open: said, and the files hidden. (The
        // files are the island's children, drawn once: they are hidden,
        // not taken down.)
        {move || gone().map(|reason| view! { <Gone reason/> })}
        <article id="snippet" data-state=move || state().as_str() data-owner=is_owner.to_string()
            hidden=move || gone().is_some()
            data-revision=move || live_state.with(|l| l.shown.to_string())
            data-live=super::liveness() on:click=super::reading::on_files_click node_ref=article>
            <header class="snippet-head">
                <h1>{snippet.title.clone()}</h1>
                <span class="revision">{move || format!("revision {}", live_state.with(|l| l.shown))}</span>
                <span class="count">{move || match file_count() { 1 => "1 file".to_owned(), n => format!("{n} files") }}</span>
                <span class="lines">{move || lines_label(lines())}</span>
                <span class="visibility">{visibility}</span>
                {burns.then(|| view! { <span class="burns">"burns after reading"</span> })}
                {snippet.expires.clone().map(|e| view! { <span class="expires">{e}</span> })}
                <span class=move || format!("state-label state-{}", state().as_str()) role="status">
                    {move || live_state.with(LiveState::label)}
                </span>
                <span class="tools">
                    {move || (file_count() == 1).then(|| view! {
                        <a id="raw" href=raw_href.clone() rel="external">"Raw"</a>
                    })}
                    <a id="download" href=download_href.clone() rel="external" download>
                        {move || if file_count() > 1 { "Download all" } else { "Download" }}
                    </a>
                    {(!burns).then(|| view! {
                        <form method="post" action=ForkSnippet::url() class="fork-form"
                            on:submit=fork_call.on_submit(move || fork_snippet(id_text.get_value()), |_| ())>
                            <input type="hidden" name="id" value=move || id_text.get_value()/>
                            <button id="fork" type="submit" disabled=move || fork_call.pending()>"Fork"</button>
                        </form>
                    })}
                    {(is_owner && !burns && !pinned).then(|| view! {
                        <a id="edit" href=edit_href.clone()>"Edit"</a>
                    })}
                </span>
            </header>
            <p class="form-error" role="alert">{move || fork_call.error()}</p>
            {newer}
            {updated}
            {(is_owner && !pinned).then(|| {
                view! {
                <div class="owner-controls">
                    // The language list is the page's (`LanguageList`): it
                    // is written by the server, outside this island.
                    <form method="post" action=ChangeLanguage::url() class="language-form"
                        on:submit=owner_call.on_submit(move || change_language(
                            id_text.get_value(),
                            language_input.get_untracked().map(|input| input.value()).unwrap_or_default(),
                            file_select.get_untracked().map(|select| select.value()),
                        ), requeued)>
                        <input type="hidden" name="id" value=move || id_text.get_value()/>
                        <label>
                            "Language "
                            <input
                                name="language"
                                list="language-list"
                                placeholder="e.g. Rust"
                                autocomplete="off"
                                required
                                node_ref=language_input
                            />
                        </label>
                        <label>
                            "for "
                            <select name="file" node_ref=file_select>
                                <option value="">"every file"</option>
                                {move || files.get().into_iter().map(|f| view! {
                                    <option value=f.name.clone()>{format!("{} ({})", f.name, f.language)}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <button type="submit" disabled=move || owner_call.pending()>"Re-highlight"</button>
                    </form>
                    <details class="delete">
                        <summary>"Delete…"</summary>
                        <form method="post" action=DeleteSnippet::url() class="delete-form"
                            on:submit=owner_call.on_submit(move || delete_snippet(id_text.get_value()), |()| ())>
                            <input type="hidden" name="id" value=move || id_text.get_value()/>
                            <span>"Delete this snippet and every revision of it for good? Its link will stop working."</span>
                            <button id="delete" type="submit" disabled=move || owner_call.pending()>"Delete"</button>
                        </form>
                    </details>
                </div>
            }})}
            <Show when=move || pending() && !pinned>
                <progress
                    aria-label="Highlighting progress"
                    max="100"
                    value=move || live_state.with(|l| l.progress.map(|p| p.percent()).unwrap_or(0))
                ></progress>
            </Show>
            <Show when=move || live_state.with(|l| l.attempts > 1 && !l.state.is_final() || l.state == JobState::Retrying)>
                <p class="attempts">
                    {move || live_state.with(|l| format!("Attempt {} of {}", l.attempts.max(1), l.max_attempts))}
                </p>
            </Show>
            <Show when=move || live_state.with(|l| l.error.is_some())>
                <p class="error" role="alert">
                    {move || live_state.with(|l| l.error.clone().unwrap_or_default())}
                </p>
            </Show>
            <Show when=move || is_owner && !pinned && state() == JobState::Failed>
                <form method="post" action=RetrySnippet::url() class="retry-form"
                    on:submit=owner_call.on_submit(move || retry_snippet(id_text.get_value()), requeued)>
                    <input type="hidden" name="id" value=move || id_text.get_value()/>
                    <button type="submit" disabled=move || owner_call.pending()>"Try again"</button>
                </form>
            </Show>
            <p class="form-error" role="alert">{move || owner_call.error()}</p>
            {children()}
        </article>
    }
}

/// The snippet's history and family, below its files: its revisions
/// (with what each changed), where it was forked from, its public forks,
/// and the code to embed it.
struct About {
    id: String,
    revision: u32,
    revisions: Vec<RevisionInfo>,
    forks: Vec<SnippetSummary>,
    forked_from: Option<ForkOrigin>,
    first_revision: u32,
    embed: Option<String>,
}

#[component]
fn AboutSnippet(about: About) -> impl IntoView {
    let About {
        id,
        revision,
        revisions,
        forks,
        forked_from,
        first_revision,
        embed,
    } = about;
    let forked_from = forked_from.map(|origin| match origin.id {
        Some(original) => Either::Left(view! {
            <p class="forked-from">"Forked from " <a href=original.url()>{original.to_string()}</a></p>
        }),
        None => Either::Right(view! { <p class="forked-from">"Forked from an unlisted snippet"</p> }),
    });
    let pruned = (first_revision > 1).then(|| {
        view! {
            <p class="pruned">
                {format!("Revisions before {first_revision} were pruned: this server keeps a snippet's latest ones only.")}
            </p>
        }
    });
    let history = (revisions.len() > 1 || first_revision > 1).then(|| {
        let rows = revisions
            .iter()
            .rev()
            .map(|r| {
                let number = r.number;
                let href = format!("/s/{id}/r/{number}");
                let when = format!(
                    "{} UTC",
                    crate::domain::clock::date_and_minute(&r.created_at)
                );
                let diff = (number > first_revision)
                    .then(|| format!("/s/{id}/diff/{}/{number}", number - 1));
                let files = match r.files.len() {
                    1 => "1 file".to_owned(),
                    n => format!("{n} files"),
                };
                view! {
                    <li class:current=number == revision data-revision=number.to_string()>
                        <a href=href>{format!("Revision {number}")}</a>
                        <time>{when}</time>
                        <span class="files-count">{files}</span>
                        <span class="added">{format!("+{}", r.lines_added)}</span>
                        <span class="removed">{format!("−{}", r.lines_removed)}</span>
                        {diff.map(|d| view! { <a class="diff-link" href=d>"changes"</a> })}
                    </li>
                }
            })
            .collect_view();
        view! {
            <section class="revisions">
                <h2>"Revisions"</h2>
                <ol reversed>{rows}</ol>
            </section>
        }
    });
    let forks = (!forks.is_empty()).then(|| {
        let rows = forks
            .into_iter()
            .map(|f| {
                let title = f.filename.clone().unwrap_or_else(|| f.preview.clone());
                view! { <li><a href=f.id.url()>{title}</a> " " <span class="language">{f.language}</span></li> }
            })
            .collect_view();
        view! {
            <section class="forks">
                <h2>"Forks"</h2>
                <ul>{rows}</ul>
            </section>
        }
    });
    let embed = embed.map(|code| {
        view! {
            <details class="embed-code">
                <summary>"Embed"</summary>
                <label>
                    "Paste this into a web page; it follows every new revision: "
                    <input readonly value=code size="60"/>
                </label>
            </details>
        }
    });
    view! {
        <aside class="about">
            {forked_from}
            {history}
            {pruned}
            {forks}
            {embed}
        </aside>
    }
}

#[component]
fn Gone(reason: GoneReason) -> impl IntoView {
    set_status(410);
    let heading = match reason {
        GoneReason::Expired => "This snippet has expired",
        GoneReason::Deleted => "This snippet was deleted",
        GoneReason::Burned => "This snippet was burned after reading",
    };
    view! {
        <section class="message gone" data-reason=reason.as_str()>
            <h1>{heading}</h1>
            <p>{reason.message()} " " <a href="/">"Paste something new"</a> "?"</p>
        </section>
    }
}

/// A burn-after-reading snippet, seen by someone who is not its owner:
/// nothing of its content until they ask for it. With JavaScript the code
/// is fetched and shown here; without, the form posts to `/s/{id}/reveal`,
/// which answers the code as plain text. Either way it is then deleted.
#[island(lazy)]
fn Sealed(sealed: SealedSnippet) -> impl IntoView {
    let revealed = RwSignal::new(None::<Result<String, String>>);
    let pending = RwSignal::new(false);
    let id = sealed.id.to_string();
    let on_submit = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            if pending.get_untracked() {
                return;
            }
            pending.set(true);
            let id = id.clone();
            leptos::task::spawn_local(async move {
                let result = crate::api::reveal_snippet(id)
                    .await
                    .map(|view| {
                        let highlighted = view.state == JobState::Succeeded;
                        let files: Vec<SectionFile<'_>> = view
                            .files
                            .iter()
                            .map(|f| SectionFile::of(f, highlighted))
                            .collect();
                        sections_html(&view.id, &files)
                    })
                    .map_err(|e| e.message);
                revealed.set(Some(result));
                pending.set(false);
            });
        }
    };
    let title = sealed.title();
    let action = format!("/s/{id}/reveal");
    let live = super::liveness();
    let about = {
        let languages: Vec<&str> = sealed.files.iter().map(|f| f.language.as_str()).collect();
        let files = match sealed.files.len() {
            1 => String::new(),
            n => format!("{n} files · "),
        };
        format!(
            "{files}{} · {}",
            languages.join(", "),
            lines_label(sealed.lines())
        )
    };
    view! {
        {move || match revealed.get() {
            Some(Ok(files_html)) => Either::Left(view! {
                <article id="snippet" data-state="succeeded" on:click=super::reading::on_files_click>
                    <header class="snippet-head"><h1>{title.clone()}</h1></header>
                    <p class="burned-note">"This was its only reading: it is deleted now."</p>
                    <div id="files" class="files" inner_html=files_html></div>
                </article>
            }),
            other => Either::Right(view! {
                <section class="message sealed" data-live=live>
                    <h1>{title.clone()}</h1>
                    <p class="sealed-info">{about.clone()}</p>
                    <p>"This snippet can be read only once: showing it deletes it, for you and for everyone."</p>
                    <form method="post" action=action.clone() on:submit=on_submit.clone()>
                        <button id="reveal" type="submit" disabled=move || pending.get()>"Show it once"</button>
                    </form>
                    {other.and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e}</p> })}
                </section>
            }),
        }}
    }
}

/// Every language name, for the `list` of language inputs.
///
/// The list is the same on every page and only the server knows it: it is
/// HTML prepared at startup, written into the page outside any island, so
/// it is never sent as data nor hydrated. Every page, even one reached by
/// client-side navigation, is rendered by the server, so it always has it.
#[component]
pub fn LanguageList() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let options: std::sync::Arc<str> = use_context::<crate::server::AppState>()
        .map(|state| state.languages.options_html())
        .unwrap_or_else(|| "".into());
    #[cfg(not(feature = "ssr"))]
    let options: std::sync::Arc<str> = "".into();
    view! { <datalist id="language-list" inner_html=options></datalist> }
}
