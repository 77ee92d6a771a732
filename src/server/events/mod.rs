//! Events: hints that something about a snippet changed, fanned out to
//! every stream that shows it.
//!
//! The [`Hub`] lives in the process. It numbers every event it publishes
//! with one rising sequence, which is what lets a stream that subscribed,
//! then read its snapshot, tell which events the snapshot already holds.

mod hub;

pub use hub::{Hub, Published, Subscription};
