//! `/`: the paste form and the recent snippets.
//!
//! The form is an `ActionForm` bound to a server function: with
//! JavaScript off it is a plain POST answered by a redirect to the new
//! snippet; with it on, the same request goes through `fetch` and the
//! router navigates without a reload.

use leptos::{either::Either, prelude::*};
use leptos_router::components::A;

use crate::{
    api::{SubmitSnippet, list_languages, recent_snippets},
    domain::{LanguageInfo, SnippetSummary},
};

#[component]
pub fn HomePage() -> impl IntoView {
    let submit = ServerAction::<SubmitSnippet>::new();
    let languages = Resource::new(|| (), |_| list_languages());
    let recent = Resource::new(move || submit.version().get(), |_| recent_snippets());
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
                        <Suspense fallback=|| view! { <LanguageSelect languages=Vec::new()/> }>
                            {move || Suspend::new(async move {
                                view! { <LanguageSelect languages=languages.await.unwrap_or_default()/> }
                            })}
                        </Suspense>
                    </label>
                    <label>
                        "File name "
                        <input name="filename" placeholder="main.rs" autocomplete="off" maxlength="255"/>
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
                        Ok(list) if list.is_empty() => Either::Left(view! {
                            <p class="empty">"Nothing yet. Be the first to paste something."</p>
                        }.into_any()),
                        Ok(list) => Either::Left(view! { <RecentList list/> }.into_any()),
                        Err(e) => Either::Right(view! { <p class="error">{e.message}</p> }),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn LanguageSelect(languages: Vec<LanguageInfo>) -> impl IntoView {
    view! {
        <select name="language">
            <option value="auto" selected>"Auto-detect"</option>
            {languages
                .into_iter()
                .map(|l| {
                    let label = l.name.clone();
                    view! { <option value=l.name>{label}</option> }
                })
                .collect_view()}
        </select>
    }
}

#[component]
fn RecentList(list: Vec<SnippetSummary>) -> impl IntoView {
    view! {
        <ul id="recent">
            {list
                .into_iter()
                .map(|s| {
                    let title = s.filename.clone().unwrap_or_else(|| s.preview.clone());
                    let when = s.created_at.format("%Y-%m-%d %H:%M UTC").to_string();
                    view! {
                        <li data-id=s.id.to_string()>
                            <A href=s.id.url()>
                                <span class="title">{title}</span>
                            </A>
                            <span class="language">{s.language}</span>
                            <span class="lines">{format!("{} lines", s.lines)}</span>
                            <span class=format!("state state-{}", s.state.as_str())>{s.state.as_str()}</span>
                            <time>{when}</time>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
