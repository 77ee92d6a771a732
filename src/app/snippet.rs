//! `/s/{id}`: one snippet. Finished, its highlighted HTML is in the first
//! response; pending, the escaped source shows with its state and a
//! progress bar, and the result is swapped in the moment it is pushed.

use leptos::{either::EitherOf3, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{NotFound, live::LiveSnippet, set_status};
use crate::{
    api::{RetrySnippet, get_snippet},
    domain::{JobState, SnippetView},
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
                    Ok(Some(view)) => EitherOf3::A(view! { <SnippetBody view/> }),
                    Ok(None) => EitherOf3::B(view! { <NotFound/> }),
                    Err(e) => {
                        set_status(503);
                        EitherOf3::C(view! {
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
fn SnippetBody(view: SnippetView) -> impl IntoView {
    let live = RwSignal::new(LiveSnippet::from_view(&view));
    // Bumped whenever the snippet is queued anew, to follow the new run.
    let generation = RwSignal::new(0u32);
    let retry = ServerAction::<RetrySnippet>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = retry.value().get() {
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
    let retry_error = move || retry.value().get().and_then(|r| r.err()).map(|e| e.message);
    let id_text = StoredValue::new(view.id.to_string());
    let title = view
        .filename
        .clone()
        .unwrap_or_else(|| format!("Snippet {}", view.id));
    let lines = crate::domain::SnippetView::line_count(&view.code);
    let code = view.code.clone();
    let state = move || live.with(|l| l.state);
    let pending = move || !state().is_final();
    view! {
        <Title text=format!("{title} · Highlighter")/>
        <article id="snippet" data-state=move || state().as_str()>
            <header class="snippet-head">
                <h1>{title}</h1>
                <span class="language">{view.language.clone()}</span>
                <span class="lines">{format!("{lines} lines")}</span>
                <span class=move || format!("state-label state-{}", state().as_str()) role="status">
                    {move || live.with(LiveSnippet::label)}
                </span>
            </header>
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
                    <span class="form-error" role="alert">{retry_error}</span>
                </ActionForm>
            </Show>
            {move || match live.with(|l| l.html.clone()) {
                Some(html) if state() == JobState::Succeeded => {
                    leptos::either::Either::Left(view! { <div class="highlighted" inner_html=html></div> })
                }
                _ => leptos::either::Either::Right(view! { <pre class="source">{code.clone()}</pre> }),
            }}
        </article>
    }
}
