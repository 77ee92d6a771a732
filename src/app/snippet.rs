//! `/s/{id}`: one snippet. Finished, its highlighted HTML is in the first
//! response; pending, the escaped source shows with its state and a
//! progress bar, and the result is swapped in the moment it is pushed.
//! Reading aids: line numbers outside the code's text (so copying never
//! takes them), `#L10` / `#L10-L20` anchors, copy, raw and download.

use leptos::{either::EitherOf4, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{NotFound, live::LiveSnippet, set_status};
use crate::{
    api::{ChangeLanguage, RetrySnippet, get_snippet, list_languages},
    domain::{JobState, SnippetPage as Page, SnippetView},
};

#[component]
pub fn SnippetPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let snippet = Resource::new(id, get_snippet);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match snippet.await {
                    Ok(Page::Found(view)) => EitherOf4::A(view! { <SnippetBody view/> }),
                    Ok(Page::Missing) => EitherOf4::B(view! { <NotFound/> }),
                    Ok(Page::Expired) => EitherOf4::C(view! { <Gone/> }),
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
fn SnippetBody(view: SnippetView) -> impl IntoView {
    let live = RwSignal::new(LiveSnippet::from_view(&view));
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
#[component]
pub fn LanguageList() -> impl IntoView {
    let languages = Resource::new(|| (), |_| list_languages());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let names = languages.await.unwrap_or_default();
                view! {
                    <datalist id="language-list">
                        {names
                            .into_iter()
                            .map(|l| view! { <option value=l.name></option> })
                            .collect_view()}
                    </datalist>
                }
            })}
        </Suspense>
    }
}

/// The highlighted code beside its line numbers. The numbers live in their
/// own column, outside the code's text, so selecting and copying the code
/// never picks them up.
#[component]
fn CodeView(html: String, lines: u32) -> impl IntoView {
    let gutter = (1..=lines.max(1))
        .map(|n| {
            view! {
                <a class="line-number" id=format!("L{n}") href=format!("#L{n}") on:click=move |ev| on_line_click(ev, n)>
                    {n}
                </a>
            }
        })
        .collect_view();
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
            <div class="gutter" aria-hidden="true">{gutter}</div>
            <div class="code-scroll">
                <div class="line-mark" hidden></div>
                <div class="highlighted" inner_html=html></div>
            </div>
        </div>
    }
}

/// A click on a line number marks that line (shift-click: a range from the
/// marked line) by setting the location hash, which the page follows.
fn on_line_click(ev: leptos::ev::MouseEvent, line: u32) {
    #[cfg(feature = "hydrate")]
    {
        ev.prevent_default();
        super::reading::set_hash_for_click(line, ev.shift_key());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, line);
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
