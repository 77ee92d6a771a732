//! Events: hints that something about a snippet changed, fanned out to
//! every stream that shows it.
//!
//! The [`EventBus`] carries events to every node's hub: directly with
//! SQLite, through PostgreSQL NOTIFY and each node's [`Relay`] with several
//! nodes. The [`Hub`] lives in the process. It numbers every event it publishes
//! with one rising sequence, which is what lets a stream that subscribed,
//! then read its snapshot, tell which events the snapshot already holds.

//!
//! `frame.rs` owns the server-sent-events wire format: every byte a
//! stream sends is written there.

mod bus;
pub mod frame;
mod hub;
mod key;
mod relay;

pub use bus::{DecodedNotice, EventBus, decode_notice, encode_notice};
pub use frame::{EventBody, EventIds};
pub use hub::{Audience, ChangeObserver, Hub, Published, Subscription};
pub use key::{IdKey, IdKeyMap, IdKeySet};
pub use relay::{Relay, publisher};
