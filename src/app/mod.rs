//! The Leptos application: the HTML shell, the routes, one file per page.
//!
//! Every page is rendered completely on the server (`SsrMode::Async` waits
//! for its data), so it works without JavaScript and a finished snippet's
//! HTML is in the very first response. The pages are islands: the WASM
//! client hydrates only the parts that live (`#[island]` components: the
//! theme toggle, the forms, the live lists, a snippet's live state, the
//! dashboard), each from the props the server serialized beside it. The
//! rest of a page is plain HTML the client never touches.
//!
//! Navigation stays client-side without a client router: Leptos' islands
//! router (a small script, not WASM) fetches the next page on a link click
//! or a form post and patches the document, leaving hydrated islands alone.
//! An island therefore keeps its state across a navigation that renders it
//! at the same place with the same props; the dashboard follows its own
//! query string (see `admin`). An island the
//! router removes is disposed by us, not by Leptos (see `islands`).
mod admin;
mod diff;
mod edit;
mod home;
mod islands;
mod live;
mod reading;
mod sections;
mod snippet;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, Meta, MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    hooks::use_location,
    path,
};

pub use admin::{AdminLoginPage, AdminPage};
pub use diff::DiffPage;
pub use edit::EditPage;
pub use home::HomePage;
pub use snippet::{RevisionPage, SnippetPage};

/// Where the code's colours are: `/theme.{hash}.css` (see `AppState`).
fn theme_href() -> String {
    #[cfg(feature = "ssr")]
    if let Some(state) = use_context::<crate::server::AppState>() {
        return state.theme_href.to_string();
    }
    "/theme.css".to_owned()
}

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
                // Both named by their content where the build hashes files:
                // browsers keep them for good.
                <HashedStylesheet options=options.clone()/>
                <link rel="stylesheet" href=theme_href()/>
                <HydrationScripts options islands=true islands_router=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
                // Last in the page, so hydrated last: see `HydrationMarker`.
                <HydrationMarker/>
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
            <Robots/>
            <header class="site">
                <a href="/" class="brand">"Highlighter"</a>
                <span class="tagline">"Paste code. Watch it light up."</span>
                <ThemeToggle/>
            </header>
            <main>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/s/:id") view=SnippetPage ssr=SsrMode::Async/>
                    <Route path=path!("/s/:id/r/:revision") view=RevisionPage ssr=SsrMode::Async/>
                    <Route path=path!("/s/:id/diff/:from/:to") view=DiffPage ssr=SsrMode::Async/>
                    <Route path=path!("/s/:id/edit") view=EditPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/login") view=AdminLoginPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// The page's one `robots` meta tag, by path.
///
/// Every page's head has the same tags in the same order (this one, then
/// the title): the islands router patches the head node by node, and a tag
/// that one page has and the next lacks would shift everything after it.
#[component]
fn Robots() -> impl IntoView {
    let path = use_location().pathname.get_untracked();
    view! { <Meta name="robots" content=robots_for(&path)/> }
}

/// Ids in snippet URLs are secrets: snippet pages stay out of search
/// engines, and so does the dashboard.
fn robots_for(path: &str) -> &'static str {
    if path.starts_with("/s/") {
        "noindex, nofollow"
    } else if path == "/admin" || path.starts_with("/admin/") {
        "noindex"
    } else {
        "index, follow"
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

/// Marks `<html data-hydrated="true">` once every island of the page is
/// live: a signal for people and for the end-to-end tests.
///
/// Islands hydrate one after another in document order, and a lazy one
/// (the dashboard) is awaited before the next, so this one, the last in
/// the body, hydrates after all the others.
#[island]
fn HydrationMarker() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    if let Some(root) = document().document_element() {
        let _ = root.set_attribute("data-hydrated", "true");
    }
}

/// The value of `data-live` on an island's root element: `false` as the
/// server renders it, `true` once the island runs in the browser. Islands
/// that a navigation brings in hydrate after the page has been patched
/// (a lazy one after its code arrives), so `data-hydrated` on the document
/// cannot say it; this says it per island.
pub fn liveness() -> ReadSignal<&'static str> {
    let (live, set_live) = signal("false");
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| set_live.set("true"));
    #[cfg(not(feature = "hydrate"))]
    let _ = set_live;
    live
}

/// The calls a form makes to server functions in the browser: whether one
/// is running, and the last one's error.
///
/// A form here posts to a server function (`action=S::url()
/// method="post"`). With the client running, its submit handler
/// ([`FormCall::on_submit`]) calls the function with arguments read from
/// the form's own fields, and the page stays; without it, the form posts as
/// written and the server answers with a redirect: back to the page with
/// the error in its address when the call failed, which the server's render
/// of the form shows ([`FormCall::new`]).
///
/// Leptos' `ServerAction` does the same, and in the browser it also reads
/// that error from the address (base64 and all) and keeps a reactive
/// history of every call: code every page's bundle paid for. `ActionForm`
/// parses the form's data into arguments, a query-string parser per server
/// function.
#[derive(Clone, Copy)]
pub struct FormCall {
    pending: RwSignal<bool>,
    error: RwSignal<Option<String>>,
}

impl FormCall {
    /// A form's calls to the server functions at `paths` (`S::PATH`). On
    /// the server it starts with the error of a post without JavaScript to
    /// one of them, if the page's address carries one this site signed
    /// (see `server::http::rpc`).
    pub fn new(paths: &[&str]) -> Self {
        // Only an error this site signed: a link could carry any words.
        #[cfg(feature = "ssr")]
        let error = use_context::<axum::http::request::Parts>()
            .zip(use_context::<crate::server::AppState>())
            .and_then(|(parts, state)| {
                crate::server::http::rpc::signed_form_error(&parts, &state.form_errors)
            })
            .filter(|(path, _)| paths.contains(&path.as_str()))
            .map(|(_, error)| {
                leptos::server_fn::error::ServerFnUrlError::<crate::domain::UserError>::decode_err(
                    &error,
                )
                .message
            });
        #[cfg(not(feature = "ssr"))]
        let error = {
            let _ = paths;
            None
        };
        FormCall {
            pending: RwSignal::new(false),
            error: RwSignal::new(error),
        }
    }

    /// Whether a call is running (tracked).
    pub fn pending(self) -> bool {
        self.pending.get()
    }

    /// The last call's error, in words (tracked).
    pub fn error(self) -> Option<String> {
        self.error.get()
    }

    /// Shows an error the server found before the page was drawn (a
    /// form posted without JavaScript, shown again).
    pub fn fail(self, message: String) {
        self.error.set(Some(message));
    }

    /// A submit handler that runs `call()` instead of posting the form (one
    /// call at a time), then `on_success` with what it returned.
    pub fn on_submit<T, F>(
        self,
        call: impl Fn() -> F + 'static,
        on_success: impl Fn(T) + Clone + 'static,
    ) -> impl Fn(leptos::ev::SubmitEvent) + 'static
    where
        T: 'static,
        F: std::future::Future<Output = Result<T, crate::domain::UserError>> + 'static,
    {
        move |ev| {
            ev.prevent_default();
            if self.pending.get_untracked() {
                return;
            }
            self.pending.set(true);
            self.error.set(None);
            let result = call();
            let on_success = on_success.clone();
            leptos::task::spawn_local(async move {
                let result = result.await;
                self.pending.set(false);
                match result {
                    Ok(value) => on_success(value),
                    Err(error) => self.error.set(Some(error.message)),
                }
            });
        }
    }
}

/// Where a server function sends the browser after it answers (the new
/// snippet after a submit, the front page after a delete): through the
/// islands router, so the page is fetched and patched without a reload.
///
/// The router follows clicks on same-origin links, so a click on a link
/// made for the purpose is the way to ask it; where no router runs, the
/// same click is an ordinary navigation.
#[cfg(feature = "hydrate")]
pub fn follow_redirects_client_side() {
    // The first hook set wins, and Leptos sets a full-page redirect where
    // none is set: this runs before any island.
    let _ = leptos::server_fn::redirect::set_redirect_hook(|location: &str| {
        let Some(body) = document().body() else {
            return;
        };
        let Ok(link) = document().create_element("a") else {
            return;
        };
        let _ = link.set_attribute("href", location);
        let _ = link.set_attribute("hidden", "");
        if body.append_child(&link).is_ok() {
            if let Some(link) = wasm_bindgen::JsCast::dyn_ref::<web_sys::HtmlElement>(&link) {
                link.click();
            }
            link.remove();
        }
    });
}

/// Light or dark, remembered. The page follows the system's preference
/// until the reader chooses; the choice is kept in `localStorage` and
/// applied by a tiny script in the head before the first paint.
#[island]
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

#[cfg(test)]
mod tests {
    use super::robots_for;

    #[test]
    fn snippets_and_the_dashboard_stay_out_of_search_engines() {
        assert_eq!(robots_for("/s/abcdefabcdef"), "noindex, nofollow");
        assert_eq!(robots_for("/admin"), "noindex");
        assert_eq!(robots_for("/admin/login"), "noindex");
        assert_eq!(robots_for("/"), "index, follow");
        assert_eq!(robots_for("/administrators"), "index, follow");
    }
}
