//! Everything that runs only on the server (`ssr` feature).
//!
//! - `settings.rs`: `Leptos.toml` + `HIGHLIGHTER_*` + flags.
//! - `telemetry.rs`: logging.
//! - `startup.rs`: settings -> store -> workers -> hub -> router; the
//!   [`Application`](startup::Application) tests spawn on port 0.
//! - `service.rs`: shared state and the submit operation.
//! - `store/`: the [`Store`](store::Store) trait and its SQLite driver.
//! - `jobs/`: workers and maintenance loops.
//! - `highlight/`: engines, languages, the theme stylesheet.
//! - `events/`: the in-process event hub.
//! - `http/`: REST, SSE and health routes.

pub mod events;
pub mod highlight;
pub mod http;
pub mod jobs;
pub mod service;
pub mod settings;
pub mod startup;
pub mod store;
pub mod telemetry;

pub use service::AppState;
