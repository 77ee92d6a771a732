//! Highlighter: people paste code; a durable background job highlights it;
//! every page showing the snippet gets progress and the result pushed the
//! moment they happen, over server-sent events.
//!
//! The crate builds twice: once as the server (`ssr`), once as the WASM
//! client that hydrates the server-rendered pages (`hydrate`).
//!
//! - [`domain`]: types both sides share, parsed once at the edge.
//! - [`app`]: the Leptos pages and components.
//! - [`api`]: server functions the pages call.
//! - `server` (ssr only): settings, storage, jobs, engines, events, HTTP.
//!
//! The one data path: submit (snippet + job in one transaction) -> a
//! worker claims the job under a lease -> the engine highlights line by
//! line, pushing progress -> result and job state are stored in one
//! transaction -> the hub pushes the result to every stream that shows
//! the snippet. Streams subscribe before they read their snapshot, so no
//! result can slip between the two.

pub mod api;
pub mod app;
pub mod domain;
#[cfg(feature = "ssr")]
pub mod server;

/// The WASM entry point: take over the server-rendered page.
///
/// Hydration is asynchronous because the dashboard is a lazy route: a page
/// that shows it waits for its chunk before taking over (`hydrate_body`
/// refuses lazy routes).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::tachys::dom::body();
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        // A marker for people and tests: the page is live from here on.
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
