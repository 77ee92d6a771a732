//! This process as the cluster sees it: who it is, how busy it is, and
//! whether claiming is paused.
//!
//! Every process (web, worker or both) writes its row in the `nodes` table
//! on each heartbeat, so the dashboard of any node lists all of them, and
//! reads the cluster-wide pause flag back: a pause set on one node is
//! obeyed by every other within one heartbeat (and by the node that set it
//! at once). A node that stops cleanly deletes its row; one that dies
//! stops beating and is shown as gone after three missed heartbeats, then
//! forgotten after [`FORGET_AFTER`].

use std::{
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::Duration,
};

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::{
    domain::{SnippetId, operations::NodeRow},
    server::{settings::Role, store::DynOperations},
};

/// How long a gone node stays listed, for the operator to notice.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// Heartbeats a node may miss before it is shown as gone.
pub const MISSED_BEATS: u32 = 3;

pub struct Node {
    pub id: String,
    pub role: Role,
    pub host: String,
    /// Job slots; 0 where no workers run.
    pub workers: usize,
    pub started_at: DateTime<Utc>,
    /// Slots running a job right now (the worker pool keeps it).
    busy: AtomicUsize,
    /// Claiming is paused cluster-wide (as this node last read it).
    paused: watch::Sender<bool>,
    /// The highlighting engine has warmed up: until then the node says it
    /// is starting (`/api/ready`), so a load balancer sends it no traffic.
    warm: AtomicBool,
    /// A background task ended while the node ran: it is about to stop
    /// (see `supervisor`), and says so to readiness probes meanwhile.
    failed: AtomicBool,
}

impl Node {
    pub fn new(role: Role, workers: usize) -> Node {
        let random = SnippetId::random();
        Node {
            id: format!("{}-{}", std::process::id(), &random.as_str()[..6]),
            role,
            host: hostname(),
            workers: if role.runs_workers() { workers } else { 0 },
            started_at: Utc::now(),
            busy: AtomicUsize::new(0),
            paused: watch::Sender::new(false),
            // Only an engine with something to warm says otherwise.
            warm: AtomicBool::new(true),
            failed: AtomicBool::new(false),
        }
    }

    pub fn has_failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    pub fn set_failed(&self) {
        self.failed.store(true, Ordering::SeqCst);
    }

    pub fn is_warm(&self) -> bool {
        self.warm.load(Ordering::SeqCst)
    }

    pub fn set_warm(&self, warm: bool) {
        self.warm.store(warm, Ordering::SeqCst);
    }

    pub fn set_busy(&self, slots: usize) {
        self.busy.store(slots, Ordering::Relaxed);
    }

    pub fn busy(&self) -> usize {
        self.busy.load(Ordering::Relaxed)
    }

    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// Follows the pause flag (the worker pool waits on it).
    pub fn paused_signal(&self) -> watch::Receiver<bool> {
        self.paused.subscribe()
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused.send_if_modified(|now| {
            let changed = *now != paused;
            *now = paused;
            changed
        });
    }

    fn row(&self, now: DateTime<Utc>) -> NodeRow {
        NodeRow {
            id: self.id.clone(),
            role: format!("{:?}", self.role).to_lowercase(),
            host: self.host.clone(),
            workers: u32::try_from(self.workers).unwrap_or(u32::MAX),
            busy: u32::try_from(self.busy()).unwrap_or(u32::MAX),
            started_at: self.started_at,
            last_heartbeat: now,
            gone: false,
            paused: self.is_paused(),
        }
    }
}

/// The machine's name, as operators know it.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The heartbeat loop: one per process.
pub struct Heartbeat {
    pub node: std::sync::Arc<Node>,
    pub operations: DynOperations,
    pub every: Duration,
}

impl Heartbeat {
    /// Beats until shutdown, then says goodbye (a clean stop is not a
    /// crash, and should not be shown as one).
    pub async fn run(self, shutdown: CancellationToken) {
        let this = &self;
        crate::server::periodic::every(this.every, &shutdown, || async move {
            if let Err(e) = this.beat(Utc::now()).await {
                tracing::warn!(error = ?e, "node heartbeat failed; trying again next beat");
            }
        })
        .await;
        if let Err(e) = self.operations.remove_node(&self.node.id).await {
            tracing::warn!(error = ?e, "could not remove this node's row on shutdown");
        }
    }

    async fn beat(&self, now: DateTime<Utc>) -> Result<(), crate::server::store::StoreError> {
        // The pause first, so the row written says what this node now
        // obeys: operators (and tests) see a pause take hold on each node.
        let paused = self.operations.paused().await?;
        if paused != self.node.is_paused() {
            tracing::info!(
                paused,
                "claiming {} cluster-wide",
                if paused { "paused" } else { "resumed" }
            );
        }
        self.node.set_paused(paused);
        self.operations.heartbeat(&self.node.row(now)).await?;
        let forget = now - chrono::Duration::from_std(FORGET_AFTER).unwrap_or_default();
        self.operations.prune_nodes(forget).await?;
        Ok(())
    }
}

/// Nodes whose last heartbeat is older than this are gone.
pub fn gone_before(now: DateTime<Utc>, every: Duration) -> DateTime<Utc> {
    now - chrono::Duration::from_std(every * MISSED_BEATS).unwrap_or_default()
}
