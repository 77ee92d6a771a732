//! `/s/{id}`: one snippet. Finished, its highlighted HTML is in the first
//! response; pending, the escaped source shows with its state and a
//! progress bar, and the result is swapped in the moment it is pushed.
//! Reading aids: line numbers outside the code's text (so copying never
//! takes them), `#L10` / `#L10-L20` anchors, copy, raw and download.

use leptos::{either::EitherOf4, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use super::{NotFound, live::LiveSnippet, set_status};
use crate::{
    api::{ChangeLanguage, RetrySnippet, get_snippet},
    domain::{JobState, SnippetPage as Page, SnippetView},
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
                        EitherOf4::A(view! { <SnippetBody view html/> })
                    }
                    Ok(PageData { page: Page::Missing, .. }) => EitherOf4::B(view! { <NotFound/> }),
                    Ok(PageData { page: Page::Expired, .. }) => EitherOf4::C(view! { <Gone/> }),
                    Err(e) => {
                        set_status(503);
                        EitherOf4::D(view! {
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
/// kept apart and never serialised into the page for hydration. The server
/// has already written that HTML into the page, and hydrating `inner_html`
/// keeps what the server wrote; it is most of a snippet's bytes, and sending
/// it a second time, escaped into a script, made up most of the page's
/// weight and of the time to render it. A page reached by client-side
/// navigation fetches the snippet itself and so has the HTML here.
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

#[component]
fn Gone() -> impl IntoView {
    set_status(410);
    view! {
        <Title text="Expired · Highlighter"/>
        <section class="message gone">
            <h1>"This snippet has expired"</h1>
            <p>"Its author gave it a limited life, and it is over: the code was deleted. "
                <a href="/">"Paste something new"</a> "?"</p>
        </section>
    }
}

#[component]
fn SnippetBody(view: SnippetView, html: Option<String>) -> impl IntoView {
    let mut initial = LiveSnippet::from_view(&view);
    if view.state == JobState::Succeeded {
        // Hydrating, there is no HTML here: the page already shows it.
        initial.html = Some(html.unwrap_or_default());
    }
    let live = RwSignal::new(initial);
    // Bumped whenever the snippet is queued anew, to follow the new run.
    let generation = RwSignal::new(0u32);
    let retry = ServerAction::<RetrySnippet>::new();
    let relanguage = ServerAction::<ChangeLanguage>::new();
    Effect::new(move |_| {
        let retried = matches!(retry.value().get(), Some(Ok(())));
        let changed = matches!(relanguage.value().get(), Some(Ok(())));
        if retried || changed {
            live.update(LiveSnippet::requeued);
            generation.update(|g| *g += 1);
        }
    });
    #[cfg(feature = "hydrate")]
    {
        let id = view.id.clone();
        Effect::new(move |_| {
            generation.track();
            if !live.with_untracked(|l| l.state.is_final()) {
                super::live::follow(id.clone(), live);
            }
        });
    }
    let action_error = move || {
        retry
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| relanguage.value().get().and_then(|r| r.err()))
            .map(|e| e.message)
    };
    let id_text = StoredValue::new(view.id.to_string());
    let title = view
        .filename
        .clone()
        .unwrap_or_else(|| format!("Snippet {}", view.id));
    let lines = SnippetView::line_count(&view.code);
    let code = StoredValue::new(view.code.clone());
    let state = move || live.with(|l| l.state);
    let pending = move || !state().is_final();
    let raw_href = format!("/s/{}/raw", view.id);
    let download_href = format!("/s/{}/download", view.id);
    let expires = view
        .expires_at
        .map(|at| format!("expires {}", at.format("%Y-%m-%d %H:%M UTC")));
    view! {
        <Title text=format!("{title} · Highlighter")/>
        <article id="snippet" data-state=move || state().as_str()>
            <header class="snippet-head">
                <h1>{title}</h1>
                <span class="language">{move || live.with(|l| l.language.clone())}</span>
                <span class="lines">{format!("{lines} lines")}</span>
                {expires.map(|e| view! { <span class="expires">{e}</span> })}
                <span class=move || format!("state-label state-{}", state().as_str()) role="status">
                    {move || live.with(LiveSnippet::label)}
                </span>
                <span class="tools">
                    <CopyButton code/>
                    <a id="raw" href=raw_href rel="external">"Raw"</a>
                    <a id="download" href=download_href rel="external" download>"Download"</a>
                </span>
            </header>
            <ActionForm action=relanguage attr:class="language-form">
                <input type="hidden" name="id" value=move || id_text.get_value()/>
                <label>
                    "Language "
                    <input
                        name="language"
                        list="language-list"
                        placeholder=view.language.clone()
                        autocomplete="off"
                        required
                    />
                </label>
                <LanguageList/>
                <button type="submit" disabled=move || relanguage.pending().get()>"Re-highlight"</button>
            </ActionForm>
            <Show when=pending>
                <progress
                    max="100"
                    value=move || live.with(|l| l.progress.map(|p| p.percent()).unwrap_or(0))
                ></progress>
            </Show>
            <Show when=move || live.with(|l| l.attempts > 1 && !l.state.is_final() || l.state == JobState::Retrying)>
                <p class="attempts">
                    {move || live.with(|l| format!("Attempt {} of {}", l.attempts.max(1), l.max_attempts))}
                </p>
            </Show>
            <Show when=move || live.with(|l| l.error.is_some())>
                <p class="error" role="alert">
                    {move || live.with(|l| l.error.clone().unwrap_or_default())}
                </p>
            </Show>
            <Show when=move || state() == JobState::Failed>
                <ActionForm action=retry attr:class="retry-form">
                    <input type="hidden" name="id" value=move || id_text.get_value()/>
                    <button type="submit" disabled=move || retry.pending().get()>"Try again"</button>
                </ActionForm>
            </Show>
            <p class="form-error" role="alert">{action_error}</p>
            {move || match live.with(|l| l.html.clone()) {
                Some(html) if state() == JobState::Succeeded => {
                    leptos::either::Either::Left(view! { <CodeView html lines/> })
                }
                _ => leptos::either::Either::Right(view! { <pre class="source">{code.get_value()}</pre> }),
            }}
        </article>
    }
}

/// Every language name, for the `list` of language inputs.
///
/// The list is the same on every page and only the server knows it, so the
/// server writes it into the page as HTML prepared at startup, and it is
/// not sent a second time as hydration data: hydrating `inner_html` keeps
/// the children the server wrote. Rendering two hundred options and
/// serialising the list for every page was most of a page's cost. A page
/// reached by client-side navigation has no server HTML, so the client
/// fetches the names then.
#[component]
pub fn LanguageList() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let options: std::sync::Arc<str> = use_context::<crate::server::AppState>()
        .map(|state| state.languages.options_html())
        .unwrap_or_else(|| "".into());
    #[cfg(not(feature = "ssr"))]
    let options: std::sync::Arc<str> = "".into();
    let datalist = NodeRef::<leptos::html::Datalist>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(el) = datalist.get()
            && el.first_element_child().is_none()
        {
            leptos::task::spawn_local(async move {
                if let Ok(languages) = crate::api::list_languages().await {
                    let names = languages.iter().map(|l| l.name.as_str());
                    el.set_inner_html(&crate::domain::language_options_html(names));
                }
            });
        }
    });
    view! { <datalist id="language-list" node_ref=datalist inner_html=options></datalist> }
}

/// The highlighted code beside its line numbers. The numbers live in their
/// own column, outside the code's text, so selecting and copying the code
/// never picks them up.
#[component]
fn CodeView(html: String, lines: u32) -> impl IntoView {
    // The gutter is one string and one listener, not an element and a
    // handler per line: a 3,000-line file would otherwise cost 3,000 of each
    // to render on the server and to hydrate in the browser. Hydrating
    // `inner_html` keeps what the server wrote.
    let gutter = gutter_html(lines);
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| super::reading::mark_from_hash());
        let handle = window_event_listener(leptos::ev::hashchange, move |_| {
            super::reading::mark_from_hash()
        });
        on_cleanup(move || handle.remove());
    }
    view! {
        <div class="code-view">
            <div class="gutter" aria-hidden="true" on:click=on_gutter_click inner_html=gutter></div>
            <div class="code-scroll">
                <div class="line-mark" hidden></div>
                <div class="highlighted" inner_html=html></div>
            </div>
        </div>
    }
}

/// The line numbers: `<a id="L{n}" href="#L{n}">` links, so that each
/// works (and can be shared) without JavaScript too.
fn gutter_html(lines: u32) -> String {
    use std::fmt::Write;
    let mut html = String::with_capacity(lines as usize * 56);
    for n in 1..=lines.max(1) {
        let _ = write!(
            html,
            "<a class=\"line-number\" id=\"L{n}\" href=\"#L{n}\">{n}</a>"
        );
    }
    html
}

/// A click on a line number marks that line (shift-click: a range from the
/// marked line) by setting the location hash, which the page follows.
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
            "<a class=\"line-number\" id=\"L1\" href=\"#L1\">1</a>\
             <a class=\"line-number\" id=\"L2\" href=\"#L2\">2</a>"
        );
        assert_eq!(gutter_html(0).matches("line-number").count(), 1);
    }
}
