//! The Leptos application: the HTML shell, the routes, one file per page.
//!
//! Every page is rendered completely on the server first (`SsrMode::Async`
//! waits for its data), so it works without JavaScript and a finished
//! snippet's HTML is in the very first response. The WASM client then
//! hydrates it and keeps it live.

mod admin;
mod home;
mod live;
mod reading;
mod snippet;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    Lazy, SsrMode,
    components::{Route, Router, Routes},
    path,
};

pub use admin::{AdminLoginPage, AdminPage};
pub use home::HomePage;
pub use snippet::SnippetPage;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // The reader's theme choice, applied before the first paint.
                // It carries this response's CSP nonce: the policy allows no
                // other inline script.
                <script nonce=leptos::nonce::use_nonce()>
                    "try{var t=localStorage.getItem('highlighter-theme');if(t==='dark'||t==='light')document.documentElement.dataset.theme=t}catch(e){}"
                </script>
                <link rel="stylesheet" href="/pkg/highlighter.css"/>
                <link rel="stylesheet" href="/theme.css"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Highlighter"/>
        <Router>
            <header class="site">
                <a href="/" class="brand">"Highlighter"</a>
                <span class="tagline">"Paste code. Watch it light up."</span>
                <ThemeToggle/>
            </header>
            <main>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/s/:id") view=SnippetPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view={Lazy::<AdminPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/login") view=AdminLoginPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// "1 line", "12 lines".
pub fn lines_label(lines: u32) -> String {
    if lines == 1 {
        "1 line".to_owned()
    } else {
        format!("{lines} lines")
    }
}

/// Sets the HTTP status of the server-rendered response (no-op once the
/// client navigates: there is no response then).
pub fn set_status(code: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(options), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        axum::http::StatusCode::from_u16(code),
    ) {
        options.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}

#[component]
pub fn NotFound() -> impl IntoView {
    set_status(404);
    view! {
        <Title text="Not found · Highlighter"/>
        <section class="message">
            <h1>"Nothing here"</h1>
            <p>"This page does not exist. " <a href="/">"Paste some code"</a> " instead?"</p>
        </section>
    }
}

/// Light or dark, remembered. The page follows the system's preference
/// until the reader chooses; the choice is kept in `localStorage` and
/// applied by a tiny script in the head before the first paint.
#[component]
fn ThemeToggle() -> impl IntoView {
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        toggle_theme();
    };
    view! {
        <button id="theme-toggle" type="button" title="Switch between light and dark" on:click=on_click>
            "◐ Theme"
        </button>
    }
}

#[cfg(feature = "hydrate")]
fn toggle_theme() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(root) = window.document().and_then(|d| d.document_element()) else {
        return;
    };
    let current = root.get_attribute("data-theme").unwrap_or_else(|| {
        let dark = window
            .match_media("(prefers-color-scheme: dark)")
            .ok()
            .flatten()
            .is_some_and(|m| m.matches());
        if dark { "dark" } else { "light" }.to_owned()
    });
    let next = if current == "dark" { "light" } else { "dark" };
    let _ = root.set_attribute("data-theme", next);
    if let Ok(Some(storage)) = window.local_storage() {
        let _ = storage.set_item("highlighter-theme", next);
    }
}
