//! `/s/{id}`: one snippet. Finished, its highlighted HTML is in the first
//! response; pending, the escaped source shows with its state and a
//! progress bar, and the result is swapped in the moment it is pushed.
//! Reading aids: line numbers outside the code's text (so copying never
//! takes them), `#L10` / `#L10-L20` anchors, copy, raw and download.
//!
//! Only the owner (cookie or token) sees the controls that change the
//! snippet: the language, "Try again", and Delete (with a confirm step that
//! works without JavaScript). A burn-after-reading snippet is sealed for
//! everyone else until they ask to read it, once.
//!
//! The page is server-rendered; the snippet itself is one island,
//! [`LiveSnippet`], whose props are the snippet without its highlighted
//! HTML. That HTML (most of a page's bytes) is the island's children:
//! written once by the server, never serialized a second time for the
//! client, and replaced only when a new result is pushed.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use leptos::server_fn::ServerFn;
use leptos::{
    either::{Either, EitherOf5},
    prelude::*,
};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use super::{FormCall, NotFound, live::LiveSnippet as LiveState, set_status};
use crate::{
    api::{
        ChangeLanguage, DeleteSnippet, RetrySnippet, change_language, delete_snippet, get_snippet,
        retry_snippet,
    },
    domain::{GoneReason, JobState, SealedSnippet, SnippetPage as Page, SnippetView, Visibility},
};

#[component]
pub fn SnippetPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let snippet = Resource::new(
        id,
        |id| async move { get_snippet(id).await.map(PageData::new) },
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match snippet.await {
                    Ok(PageData { page: Page::Found(view), html }) => {
                        let title = view.title();
                        let owner = view.is_owner;
                        let lines = view.line_count();
                        let code = match html {
                            Some(html) if view.state == JobState::Succeeded => {
                                Either::Left(view! { <CodeView html lines/> })
                            }
                            _ => Either::Right(view! { <pre class="source">{view.code.clone()}</pre> }),
                        };
                        EitherOf5::A(view! {
                            <Title text=format!("{title} · Highlighter")/>
                            {owner.then(|| view! { <LanguageList/> })}
                            <LiveSnippet view>{code}</LiveSnippet>
                        })
                    }
                    Ok(PageData { page: Page::Sealed(sealed), .. }) => {
                        let title = sealed.title();
                        EitherOf5::B(view! {
                            <Title text=format!("{title} · Highlighter")/>
                            <Sealed sealed/>
                        })
                    }
                    Ok(PageData { page: Page::Gone(reason), .. }) => {
                        EitherOf5::C(view! { <Title text="Gone · Highlighter"/> <Gone reason/> })
                    }
                    Ok(PageData { page: Page::Missing, .. }) => EitherOf5::D(view! { <NotFound/> }),
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

/// What the page's resource holds: the snippet, with its highlighted HTML
/// kept apart so that it is written into the page once, as the island's
/// children, and never serialized as data.
#[derive(Clone, Serialize, Deserialize)]
struct PageData {
    page: Page,
    #[serde(skip)]
    html: Option<String>,
}

impl PageData {
    fn new(mut page: Page) -> Self {
        let html = match &mut page {
            Page::Found(view) => view.html.take(),
            _ => None,
        };
        PageData { page, html }
    }
}

/// A snippet, kept live: its state, progress and result arrive as pushed
/// events. `children` is what the server showed of the code (the
/// highlighted HTML, or the escaped source while pending).
#[island]
fn LiveSnippet(view: SnippetView, children: Children) -> impl IntoView {
    view! { <SnippetBody view server_code=children live=true/> }
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
#[island]
fn Sealed(sealed: SealedSnippet) -> impl IntoView {
    let revealed = RwSignal::new(None::<Result<SnippetView, String>>);
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
                let result = crate::api::reveal_snippet(id).await.map_err(|e| e.message);
                revealed.set(Some(result));
                pending.set(false);
            });
        }
    };
    let title = sealed.title();
    let action = format!("/s/{id}/reveal");
    let live = super::liveness();
    view! {
        {move || match revealed.get() {
            Some(Ok(view)) => Either::Left(view! { <SnippetBody view live=false/> }),
            other => Either::Right(view! {
                <section class="message sealed" data-live=live>
                    <h1>{title.clone()}</h1>
                    <p class="sealed-info">
                        {format!("{} · {}", sealed.language, super::lines_label(sealed.lines))}
                    </p>
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

/// The snippet's article. `server_code` is the code as the server showed
/// it (see [`LiveSnippet`]); without it (a sealed snippet revealed in the
/// browser) the code is drawn from `view`.
#[component]
fn SnippetBody(
    view: SnippetView,
    #[prop(optional)] server_code: Option<Children>,
    live: bool,
) -> impl IntoView {
    let live_state = RwSignal::new(LiveState::from_view(&view));
    // Bumped whenever the snippet is queued anew, to follow the new run.
    let generation = RwSignal::new(0u32);
    // The owner's three forms: one call at a time, one error line.
    let owner_call = FormCall::new(&[
        RetrySnippet::PATH,
        ChangeLanguage::PATH,
        DeleteSnippet::PATH,
    ]);
    let requeued = move |()| {
        live_state.update(LiveState::requeued);
        generation.update(|g| *g += 1);
    };
    let language_input = NodeRef::<leptos::html::Input>::new();
    let article = NodeRef::<leptos::html::Article>::new();
    // Its stream and listeners go when the page is left (see `islands`).
    super::islands::dispose_when_detached(article);
    #[cfg(feature = "hydrate")]
    if live {
        let id = view.id.clone();
        Effect::new(move |_| {
            generation.track();
            if !live_state.with_untracked(|l| l.state.is_final() || l.gone.is_some()) {
                super::live::follow(id.clone(), live_state);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = live;
    let id_text = StoredValue::new(view.id.to_string());
    let title = view.title();
    let lines = view.line_count();
    let code = StoredValue::new(view.code.clone());
    let state = move || live_state.with(|l| l.state);
    let pending = move || !state().is_final();
    // Whether a result pushed to this page is to be shown. What the server
    // showed stays until this (or `generation`) changes: progress events
    // move the label and the bar, not the code.
    let shows_pushed_result =
        Memo::new(move |_| live_state.with(|l| l.state == JobState::Succeeded && l.html.is_some()));
    // The server's code is written once, outside any reactive branch: in
    // the browser it is the island's children, which the client hydrates
    // but does not own, so a branch could not take it down. The first
    // change removes it from the page by hand and draws its successor.
    let has_server_code = server_code.is_some();
    let server_code = Arc::new(Mutex::new(server_code.map(|children| children())));
    let take_server_code = move || server_code.lock().ok().and_then(|mut code| code.take());
    let first_run = Arc::new(AtomicBool::new(true));
    let pushed_code = move || {
        generation.track();
        let pushed_result = shows_pushed_result.get();
        if first_run.swap(false, Ordering::Relaxed) && has_server_code {
            return None;
        }
        #[cfg(feature = "hydrate")]
        if let Some(Ok(Some(shown))) = article
            .get_untracked()
            .map(|article| article.query_selector(":scope > leptos-children"))
        {
            shown.remove();
        }
        Some(if pushed_result {
            let html = live_state.with_untracked(|l| l.html.clone().unwrap_or_default());
            Either::Left(view! { <CodeView html lines/> })
        } else {
            Either::Right(view! { <pre class="source">{code.get_value()}</pre> })
        })
    };
    #[cfg(feature = "hydrate")]
    {
        // Lines named by the hash are marked once the code is there, and
        // again whenever the hash changes or a new result replaces the code.
        Effect::new(move |_| {
            shows_pushed_result.track();
            super::reading::mark_from_hash();
        });
        let handle = window_event_listener(leptos::ev::hashchange, move |_| {
            super::reading::mark_from_hash()
        });
        on_cleanup(move || handle.remove());
    }
    let raw_href = format!("/s/{}/raw", view.id);
    let download_href = format!("/s/{}/download", view.id);
    let expires = view
        .expires_at
        .map(|at| format!("expires {} UTC", crate::domain::clock::date_and_minute(&at)));
    let is_owner = view.is_owner;
    let visibility = match view.visibility {
        Visibility::Public => "public",
        Visibility::Unlisted => "unlisted",
    };
    let burns = view.burn_after_reading.then_some("burns after reading");
    let current_language = view.language.clone();
    let gone = move || live_state.with(|l| l.gone);
    view! {
        <Show
            when=move || gone().is_none()
            fallback=move || view! { <Gone reason=gone().unwrap_or(GoneReason::Deleted)/> }
        >
        // One listener for every line number, here or pushed later.
        <article id="snippet" data-state=move || state().as_str() data-owner=is_owner.to_string()
            data-live=super::liveness() on:click=on_gutter_click node_ref=article>
            <header class="snippet-head">
                <h1>{title.clone()}</h1>
                <span class="language">{move || live_state.with(|l| l.language.clone())}</span>
                <span class="lines">{super::lines_label(lines)}</span>
                <span class="visibility">{visibility}</span>
                {burns.map(|b| view! { <span class="burns">{b}</span> })}
                {expires.clone().map(|e| view! { <span class="expires">{e}</span> })}
                <span class=move || format!("state-label state-{}", state().as_str()) role="status">
                    {move || live_state.with(LiveState::label)}
                </span>
                <span class="tools">
                    <CopyButton code/>
                    <a id="raw" href=raw_href.clone() rel="external">"Raw"</a>
                    <a id="download" href=download_href.clone() rel="external" download>"Download"</a>
                </span>
            </header>
            {is_owner.then(|| {
                let current_language = current_language.clone();
                view! {
                <div class="owner-controls">
                    // The language list is the page's (`LanguageList`): it
                    // is written by the server, outside this island.
                    <form method="post" action=ChangeLanguage::url() class="language-form"
                        on:submit=owner_call.on_submit(move || change_language(
                            id_text.get_value(),
                            language_input.get_untracked().map(|input| input.value()).unwrap_or_default(),
                        ), requeued)>
                        <input type="hidden" name="id" value=move || id_text.get_value()/>
                        <label>
                            "Language "
                            <input
                                name="language"
                                list="language-list"
                                placeholder=current_language
                                autocomplete="off"
                                required
                                node_ref=language_input
                            />
                        </label>
                        <button type="submit" disabled=move || owner_call.pending()>"Re-highlight"</button>
                    </form>
                    <details class="delete">
                        <summary>"Delete…"</summary>
                        <form method="post" action=DeleteSnippet::url() class="delete-form"
                            on:submit=owner_call.on_submit(move || delete_snippet(id_text.get_value()), |()| ())>
                            <input type="hidden" name="id" value=move || id_text.get_value()/>
                            <span>"Delete this snippet for good? Its link will stop working."</span>
                            <button id="delete" type="submit" disabled=move || owner_call.pending()>"Delete"</button>
                        </form>
                    </details>
                </div>
            }})}
            <Show when=pending>
                <progress
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
            <Show when=move || is_owner && state() == JobState::Failed>
                <form method="post" action=RetrySnippet::url() class="retry-form"
                    on:submit=owner_call.on_submit(move || retry_snippet(id_text.get_value()), requeued)>
                    <input type="hidden" name="id" value=move || id_text.get_value()/>
                    <button type="submit" disabled=move || owner_call.pending()>"Try again"</button>
                </form>
            </Show>
            <p class="form-error" role="alert">{move || owner_call.error()}</p>
            {take_server_code()}
            {pushed_code.clone()}
        </article>
        </Show>
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

/// The highlighted code beside its line numbers. The numbers live in their
/// own column, outside the code's text, so selecting and copying the code
/// never picks them up.
#[component]
fn CodeView(html: String, lines: u32) -> impl IntoView {
    // The gutter is one string, not an element per line: a 3,000-line file
    // would otherwise cost 3,000 of them to render. Clicks on it are
    // handled by the article around it (`on_gutter_click`).
    let gutter = gutter_html(lines);
    view! {
        <div class="code-view">
            <div class="gutter" aria-hidden="true" inner_html=gutter></div>
            <div class="code-scroll">
                <div class="line-mark" hidden></div>
                <div class="highlighted" inner_html=html></div>
            </div>
        </div>
    }
}

/// The line numbers: `<a id="L{n}" href="#L{n}">` links, so that each
/// works (and can be shared) without JavaScript too. The gutter is hidden
/// from screen readers (a number per line is noise read aloud), so its
/// links stay out of the tab order too (`tabindex="-1"`): a keyboard
/// would otherwise stop on thousands of links it cannot hear.
fn gutter_html(lines: u32) -> String {
    use std::fmt::Write;
    let mut html = String::with_capacity(lines as usize * 56);
    for n in 1..=lines.max(1) {
        let _ = write!(
            html,
            "<a class=\"line-number\" id=\"L{n}\" href=\"#L{n}\" tabindex=\"-1\">{n}</a>"
        );
    }
    html
}

/// A click on a line number marks that line (shift-click: a range from the
/// marked line) by setting the location hash, which the page follows. It
/// is handled before the islands router sees it, so it never fetches the
/// page again.
fn on_gutter_click(ev: leptos::ev::MouseEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let line = ev
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.closest("a.line-number").ok().flatten())
            .and_then(|link| link.id().strip_prefix('L')?.parse::<u32>().ok());
        if let Some(line) = line {
            ev.prevent_default();
            super::reading::set_hash_for_click(line, ev.shift_key());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

#[component]
fn CopyButton(code: StoredValue<String>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        super::reading::copy_to_clipboard(code.get_value(), copied);
        #[cfg(not(feature = "hydrate"))]
        let _ = (code, copied);
    };
    view! {
        <button id="copy" type="button" on:click=on_click>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::gutter_html;

    #[test]
    fn the_gutter_links_every_line_and_an_empty_snippet_has_one() {
        assert_eq!(
            gutter_html(2),
            "<a class=\"line-number\" id=\"L1\" href=\"#L1\" tabindex=\"-1\">1</a>\
             <a class=\"line-number\" id=\"L2\" href=\"#L2\" tabindex=\"-1\">2</a>"
        );
        assert_eq!(gutter_html(0).matches("line-number").count(), 1);
    }
}
