//! A node's background tasks (the worker pool, the maintenance loops, the
//! heartbeat, the event relay and its publisher, the engine's warm-up),
//! each named and watched.
//!
//! Every one of them runs until shutdown. One that ends before (it
//! panicked, or returned) leaves the node half alive: a dead worker pool
//! means jobs accepted and never run, a dead relay means pages that never
//! hear of other nodes' results. So the node fails loudly instead: the
//! end is logged with its cause and counted
//! (`highlighter_background_task_failures_total`), the node says it is
//! not ready (`/api/ready` answers 503, so a load balancer stops sending
//! it traffic), and a moment later it shuts down and the process exits
//! non-zero, for its supervisor (systemd, Kubernetes) to start it again.
//! A fresh process is a known state; a task restarted inside a process
//! that just lost one may not be.

use std::collections::HashMap;

use tokio::task::{Id, JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

/// Why a node stopped on its own.
#[derive(Debug, thiserror::Error)]
#[error("the background task `{task}` ended while the node ran: {cause}")]
pub struct TaskEnded {
    pub task: &'static str,
    pub cause: String,
}

/// The tasks, by name.
#[derive(Default)]
pub struct Supervised {
    tasks: JoinSet<()>,
    names: HashMap<Id, &'static str>,
}

impl Supervised {
    /// Starts `task` under `name`. It must run until shutdown.
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        let handle = self.tasks.spawn(task);
        self.names.insert(handle.id(), name);
    }

    /// Waits for the next task to end; `None` when none are left. Its end
    /// is an error unless the node was stopping by then (`shutdown`).
    pub async fn next_end(
        &mut self,
        shutdown: &CancellationToken,
    ) -> Option<Result<(), TaskEnded>> {
        let ended = self.tasks.join_next_with_id().await?;
        let stopping = shutdown.is_cancelled();
        let (id, cause) = match ended {
            Ok((id, ())) => (id, "it returned".to_owned()),
            Err(error) => (error.id(), describe(error)),
        };
        let task = self.names.remove(&id).unwrap_or("unnamed");
        if stopping {
            return Some(Ok(()));
        }
        Some(Err(TaskEnded { task, cause }))
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

/// A task's failure in words: its panic message, when it panicked.
fn describe(error: JoinError) -> String {
    if !error.is_panic() {
        return "it was cancelled".to_owned();
    }
    let panic = error.into_panic();
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    format!("it panicked: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_end_before_shutdown_names_its_task_and_cause() {
        let running = CancellationToken::new();
        let mut tasks = Supervised::default();
        tasks.spawn("forever", std::future::pending());
        tasks.spawn("doomed", async { panic!("boom") });
        let ended = tasks.next_end(&running).await.unwrap().unwrap_err();
        assert_eq!(ended.task, "doomed");
        assert_eq!(ended.cause, "it panicked: boom");

        let mut tasks = Supervised::default();
        tasks.spawn("quitter", async {});
        let ended = tasks.next_end(&running).await.unwrap().unwrap_err();
        assert_eq!(
            (ended.task, ended.cause.as_str()),
            ("quitter", "it returned")
        );

        let stopped = CancellationToken::new();
        stopped.cancel();
        let mut tasks = Supervised::default();
        tasks.spawn("done", async {});
        assert!(tasks.next_end(&stopped).await.unwrap().is_ok());
        assert!(tasks.next_end(&stopped).await.is_none());
    }
}
