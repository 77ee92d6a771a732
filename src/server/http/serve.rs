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
//! Connections are capped per node (`max_connections`) and per peer
//! address (`connections_per_peer`; a trusted proxy's connections count
//! toward the node's cap only): the excess is answered at once with 503
//! or 429 and closed, never held.
//!
//! hyper answers a request head it cannot parse (or that overflows its
//! buffer) by itself, with an empty body; [`JsonParseErrors`] gives that
//! answer the JSON sentence every other refusal has.
//!
//! On shutdown the loop stops accepting, asks every connection to finish
//! its request and close, and returns once all have.

use std::{
    convert::Infallible,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::{TcpListener, TcpStream},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt;

use super::{client::ClientIp, edge};
use crate::server::{
    limits::{Permits, Refusal},
    settings::Cidr,
};

/// A request's largest head and the most a connection buffers for a
/// client that reads slowly; hyper's default (about 400 KiB) per
/// connection would be most of an idle stream's memory. Above the head
/// limits of `edge.rs`, so a client meets those (and their sentence)
/// first.
const MAX_BUF_SIZE: usize = 64 * 1024;

/// Who may hold how many connections.
pub struct ConnectionLimits {
    pub permits: Arc<Permits>,
    /// Proxies, whose one address carries many clients.
    pub trusted_proxies: Vec<Cidr>,
}

/// Serves `router` on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Option<Duration>,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let connections = TaskTracker::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .max_buf_size(MAX_BUF_SIZE)
        .max_headers(edge::MAX_HEADERS * 2);
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
        let proxied = limits
            .trusted_proxies
            .iter()
            .any(|block| block.contains(peer.ip()));
        let permit = if proxied {
            limits.permits.acquire_for_node()
        } else {
            limits.permits.acquire(ClientIp(peer.ip()).limit_key())
        };
        let permit = match permit {
            Ok(permit) => permit,
            Err(refusal) => {
                tracing::info!(%peer, ?refusal, "connection refused: over the limit");
                connections.spawn(refuse(stream, refusal));
                continue;
            }
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
            // Boxed, so that it is freed once answered: hyper keeps a
            // connection's request future in a box it makes once, as
            // large as the future, for the connection's whole life. An
            // idle event stream kept about 600 bytes there for the one
            // request it answered long ago; a boxed future leaves a
            // pointer.
            Box::pin(async move {
                Ok::<_, Infallible>(router.oneshot(request).await.unwrap_or_else(|e| match e {}))
            }) as Pin<Box<dyn Future<Output = Result<_, Infallible>> + Send>>
        });
        let io = TokioIo::new(JsonParseErrors::new(stream));
        let connection = builder.serve_connection(io, service);
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let _permit = permit;
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

/// Answers a connection over the limit and closes it: the refusal, then
/// whatever the client sent meanwhile is read and dropped for a moment,
/// so that closing does not reset the connection before it is read.
async fn refuse(mut stream: TcpStream, refusal: Refusal) {
    let (status, sentence, retry_after) = match refusal {
        Refusal::NodeFull => (
            "503 Service Unavailable",
            "This server holds as many connections as it can; try again in a moment.".to_owned(),
            10,
        ),
        Refusal::TooManyFromClient(limit) => (
            "429 Too Many Requests",
            format!("Too many open connections from your address: at most {limit}."),
            5,
        ),
    };
    let body = serde_json::json!({ "error": sentence }).to_string();
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: {retry_after}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let answered = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        io::Result::Ok(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), answered).await;
}

/// A connection whose automatic answers to unparsable requests (hyper's
/// 400, 414 and 431, which have no body) carry a JSON sentence like every
/// other refusal. hyper writes such an answer as one head with
/// `content-length: 0` and closes; every response of the app to a
/// refusal has a body (`edge::json_errors`), so that shape is hyper's.
pub struct JsonParseErrors<T> {
    inner: T,
    /// Our answer, still to be written in place of hyper's.
    replacement: Option<(Vec<u8>, usize)>,
}

impl<T> JsonParseErrors<T> {
    pub fn new(inner: T) -> Self {
        JsonParseErrors {
            inner,
            replacement: None,
        }
    }
}

/// hyper's bodiless refusals are a status line and a few headers.
const MAX_REFUSAL_HEAD: usize = 512;

/// The answer to write instead of `head`, if `head` is one of hyper's
/// bodiless refusals of a request it could not parse.
fn replacement_for(head: &[u8]) -> Option<Vec<u8>> {
    // Every write of every response passes here: a page's or a stream's
    // bytes are let through on their first bytes, unread.
    if head.len() > MAX_REFUSAL_HEAD || !head.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    let status = text.strip_prefix("HTTP/1.1 ")?.get(..3)?;
    let sentence = match status {
        "400" => "The request could not be parsed as HTTP/1.1.".to_owned(),
        "414" => format!(
            "The address is too long: at most {} bytes.",
            edge::MAX_URI_BYTES
        ),
        "431" => format!(
            "The request's headers are too large: at most {} fields and {} bytes.",
            edge::MAX_HEADERS,
            edge::MAX_HEADER_BYTES
        ),
        _ => return None,
    };
    let lower = text.to_ascii_lowercase();
    if !lower.ends_with("\r\n\r\n") || !lower.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let status_line = text.lines().next()?;
    let body = serde_json::json!({ "error": sentence }).to_string();
    Some(
        format!(
            "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<T: AsyncWrite + Unpin> JsonParseErrors<T> {
    /// Writes what is left of the replacement; `Ready(Ok)` once it is all
    /// out.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written == bytes.len() {
                self.replacement = None;
                break;
            }
            let n =
                std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonParseErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonParseErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        std::task::ready!(this.poll_replacement(cx))?;
        if let Some(replacement) = replacement_for(buf) {
            // hyper's bytes count as written; ours go out in their place.
            this.replacement = Some((replacement, 0));
            let _ = this.poll_replacement(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        std::task::ready!(this.poll_replacement(cx))?;
        let mut nonempty = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(head), None) = (nonempty.next(), nonempty.next())
            && let Some(replacement) = replacement_for(head)
        {
            this.replacement = Some((replacement, 0));
            let _ = this.poll_replacement(cx)?;
            return Poll::Ready(Ok(head.len()));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        std::task::ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        std::task::ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bodiless_parse_refusals_are_replaced() {
        let hypers = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 04:00:00 GMT\r\n\r\n";
        let replaced = String::from_utf8(replacement_for(hypers).unwrap()).unwrap();
        assert!(replaced.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(replaced.contains("content-type: application/json"));
        let body = replaced.split("\r\n\r\n").nth(1).unwrap();
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(json["error"].as_str().unwrap().contains("headers"));
        // The app's own answers, and every other status, pass untouched.
        let app = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 23\r\n\r\n";
        assert!(replacement_for(app).is_none());
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement_for(ok).is_none());
        assert!(replacement_for(b"event: state\ndata: {}\n\n").is_none());
    }
}
