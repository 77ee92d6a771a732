//! Highlighter: people paste code; a durable background job highlights it;
//! every page showing the snippet gets progress and the result pushed the
//! moment they happen, over server-sent events.
//!
//! The crate builds twice: once as the server (`ssr`), once as the WASM
//! client that brings the live parts of the server-rendered pages to life
//! (`hydrate`: the pages are islands, see [`app`]). The workspace's other
//! member, `xtask/`, builds the client into the site the server serves.
//!
//! - [`domain`]: types both sides share, parsed once at the edge.
//! - [`app`]: the Leptos pages and components.
//! - [`api`]: server functions the pages call.
//! - `server` (ssr only): settings, storage, jobs, engines, events, HTTP.
//! - `client` (ssr only): a client of the REST API and its event streams.
//! - `cli` (ssr only): the command line: `serve`, `paste`, `edit`,
//!   `delete`, `check`, `backup`.
//!
//! The one data path: submit (snippet + job in one transaction) -> a
//! worker claims the job under a lease -> the engine highlights line by
//! line, pushing progress -> result and job state are stored in one
//! transaction -> the hub pushes the result to every stream that shows
//! the snippet. Streams subscribe before they read their snapshot, so no
//! result can slip between the two.

// The pages' view types nest deeply (Leptos builds each view as one
// type); release builds, which do not erase component types as dev builds
// do (`scripts/test.sh`, `xtask site`), need the room.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod client;
pub mod domain;
#[cfg(feature = "ssr")]
pub mod server;

/// The WASM entry point. The pages are islands: the server renders each
/// page whole, and the browser hydrates only the live parts (`#[island]`
/// components, each from its serialized props), after this returns.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Panic messages in the console for dev builds; a release build saves
    // the hook's bytes (bench/PROFILE.md, round 10) and a panic there shows
    // as a trap.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    app::follow_redirects_client_side();
    leptos::mount::hydrate_islands();
}
