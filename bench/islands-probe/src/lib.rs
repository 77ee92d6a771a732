//! A size probe: the live parts of a paste page as Leptos islands (a
//! snippet's live state over an `EventSource`, the submit form through a
//! server function, the theme toggle), built for the browser only to weigh
//! the bundle. `bench/PROFILE.md`, round 9, has the command and the figure.
use futures_util::StreamExt;
use leptos::prelude::*;
use serde::Deserialize;

#[derive(Deserialize, Clone, Debug)]
struct Progress {
    done: u32,
    total: u32,
}

#[derive(Deserialize, Clone, Debug)]
struct StateEvent {
    state: String,
    progress: Option<Progress>,
}

#[derive(Deserialize, Clone, Debug)]
struct Highlighted {
    html: String,
    language: String,
}

#[server]
pub async fn submit(code: String, language: String) -> Result<String, ServerFnError> {
    Ok(format!("{code}{language}"))
}

#[island]
pub fn LiveSnippet(id: String, state: String) -> impl IntoView {
    let (state, set_state) = signal(state);
    let (progress, set_progress) = signal(None::<(u32, u32)>);
    let (html, set_html) = signal(String::new());
    Effect::new(move |_| {
        let url = format!("/api/snippets/{}/events", id);
        leptos::task::spawn_local(async move {
            let Ok(mut source) = gloo_net::eventsource::futures::EventSource::new(&url) else {
                return;
            };
            let Ok(states) = source.subscribe("state") else {
                return;
            };
            let Ok(results) = source.subscribe("highlighted") else {
                return;
            };
            let mut both = futures_util::stream::select(
                states.map(|e| (false, e)),
                results.map(|e| (true, e)),
            );
            while let Some((done, Ok((_, m)))) = both.next().await {
                let Some(text) = m.data().as_string() else {
                    continue;
                };
                if done {
                    if let Ok(h) = serde_json::from_str::<Highlighted>(&text) {
                        set_html.set(h.html);
                        set_state.set(h.language);
                    }
                    break;
                }
                if let Ok(s) = serde_json::from_str::<StateEvent>(&text) {
                    set_state.set(s.state);
                    set_progress.set(s.progress.map(|p| (p.done, p.total)));
                }
            }
            source.close();
        });
    });
    view! {
        <p class="state">{move || state.get()}</p>
        <Show when=move || progress.get().is_some()>
            <progress max=move || progress.get().map(|p| p.1).unwrap_or(0) value=move || progress.get().map(|p| p.0).unwrap_or(0)></progress>
        </Show>
        <pre inner_html=move || html.get()></pre>
    }
}

#[island]
pub fn SubmitForm() -> impl IntoView {
    let (code, set_code) = signal(String::new());
    let (language, set_language) = signal(String::new());
    let action = Action::new(move |(c, l): &(String, String)| submit(c.clone(), l.clone()));
    view! {
        <textarea on:input=move |ev| set_code.set(event_target_value(&ev))></textarea>
        <input on:input=move |ev| set_language.set(event_target_value(&ev))/>
        <button on:click=move |_| { action.dispatch((code.get(), language.get())); }>"Highlight"</button>
        <p>{move || action.value().get().map(|r| r.map_err(|e| e.to_string()))}</p>
    }
}

#[island]
pub fn ThemeToggle() -> impl IntoView {
    let (dark, set_dark) = signal(false);
    view! {
        <button on:click=move |_| {
            set_dark.update(|d| *d = !*d);
            if let Some(root) = document().document_element() {
                let _ = root.class_list().toggle("dark");
            }
        }>{move || if dark.get() { "Light" } else { "Dark" }}</button>
    }
}

#[component]
pub fn App() -> impl IntoView {
    view! { <ThemeToggle/> <SubmitForm/> <LiveSnippet id="x".into() state="queued".into()/> }
}

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_islands();
}
