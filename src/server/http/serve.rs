//! The accept loop: our own, on hyper's HTTP/1.1 connection builder.
//!
//! `axum::serve` hides what a server on the internet must set: a client
//! that opens a socket and never finishes its request headers (or holds a
//! keep-alive connection idle) would keep it forever. Here every
//! connection gets a header-read timeout (`header_timeout_secs`; hyper
//! starts it whenever it waits for a request head, so idle keep-alive
//! connections close too), `TCP_NODELAY` (events are small writes that
//! must leave at once: with Nagle's algorithm the second of two quick
//! writes waits for the client's delayed ACK, 40 ms a push), and the peer
//! address the limits count against.
//!
//! On shutdown the loop stops accepting, asks every connection to finish
//! its request and close, and returns once all have.

use std::{convert::Infallible, net::SocketAddr, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt;

/// A request's largest head and the most a connection buffers for a
/// client that reads slowly; hyper's default (about 400 KiB) per
/// connection would be most of an idle stream's memory.
const MAX_BUF_SIZE: usize = 64 * 1024;

/// Serves `router` on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Option<Duration>,
    shutdown: CancellationToken,
) {
    let connections = TaskTracker::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .max_buf_size(MAX_BUF_SIZE);
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before
                    // we took it: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let router = router.clone();
        let service = service_fn(move |mut request: hyper::Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(peer));
            let router = router.clone();
            async move {
                Ok::<_, Infallible>(router.oneshot(request).await.unwrap_or_else(|e| match e {}))
            }
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            tokio::pin!(connection);
            let outcome = tokio::select! {
                outcome = connection.as_mut() => outcome,
                _ = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = outcome {
                // Timeouts and clients that hang up are routine.
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    connections.close();
    connections.wait().await;
}
