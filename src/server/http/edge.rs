//! What every request passes before it is routed, and the shape of every
//! refusal on the way out.
//!
//! - [`check_request`]: a head of sane size (414 for a long URI, 431 for
//!   too many or too large headers), a query that is UTF-8 once decoded
//!   (400: a lenient decoder would store U+FFFD in its place), and a body
//!   that fits (413, from `Content-Length` alone when it says so) and keeps
//!   coming (408). The body is read here, whole, before any handler runs:
//!   every handler of this server buffers its body anyway, and reading it
//!   under one clock is what lets a trickling client be cut off at a pace
//!   a real slow link never falls to.
//! - [`json_errors`]: any refusal that is not already JSON or a page (an
//!   extractor's plain-text rejection, an empty 405) leaves as
//!   `{"error": "<a sentence>"}`.
//!
//! hyper answers a head larger than its buffer itself; the accept loop
//! (`serve.rs`) sizes that buffer above the limits here, so a client meets
//! these first.

use std::{pin::Pin, time::Duration};

use axum::{
    body::{Body, Bytes, to_bytes},
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body::Body as _;

use super::ApiError;
use crate::server::{AppState, settings::BodyPace};

/// The longest request target (path and query) answered: far above any
/// link of this site (the longest is a list stream of 500 ids, about
/// 6.6 KiB).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) a request may carry.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The most header fields a request may carry.
pub const MAX_HEADERS: usize = 100;

/// The largest body any route takes: a snippet's worth of JSON, where
/// escaping can make text up to six times longer, and some room for the
/// other fields. Each route applies its own, smaller limit after this.
pub fn max_body_bytes(max_snippet_bytes: usize) -> usize {
    max_snippet_bytes
        .saturating_mul(6)
        .saturating_add(64 * 1024)
}

/// Middleware: refuses a request whose head or body is out of bounds,
/// and hands the routes a body already read.
pub async fn check_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().to_string().len() > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!("The address is too long: at most {MAX_URI_BYTES} bytes."),
        )
        .into_response();
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "The request's headers are too large: at most {MAX_HEADERS} fields and {MAX_HEADER_BYTES} bytes."
            ),
        )
        .into_response();
    }
    if let Some(query) = request.uri().query()
        && !decodes_to_utf8(query.as_bytes())
    {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "The address's query is not valid UTF-8 once decoded.",
        )
        .into_response();
    }
    let (parts, body) = request.into_parts();
    if body.size_hint().exact() == Some(0) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let limit = max_body_bytes(state.settings.max_snippet_bytes);
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return too_large(limit);
    }
    match read_paced(body, limit, state.settings.limits.body_pace).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(BodyError::TooLarge) => too_large(limit),
        Err(BodyError::TooSlow(pace)) => {
            tracing::info!(path = parts.uri.path(), "request body too slow: cut off");
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "The request body came too slowly: after {} s it must arrive at {} bytes a second or faster.",
                    pace.grace.as_secs(),
                    pace.min_bytes_per_sec
                ),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        // The client went away or broke the framing: nobody to answer.
        Err(BodyError::Broken) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "The request body could not be read.",
        )
        .into_response(),
    }
}

fn too_large(limit: usize) -> Response {
    let mut response = ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("The request body is over the limit of {limit} bytes."),
    )
    .into_response();
    // The rest of the body is never read: the connection cannot carry
    // another request.
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[derive(Debug)]
enum BodyError {
    TooLarge,
    TooSlow(BodyPace),
    Broken,
}

/// Reads a body whole, at most `limit` bytes. With a `pace`, the body
/// must have come at `min_bytes_per_sec` on average since it began, once
/// `grace` has passed: a client that sends a byte every few seconds (or
/// declares a length and sends nothing) is cut off at about `grace`,
/// while a large paste over a slow link (far faster than the minimum)
/// goes through.
async fn read_paced(
    mut body: Body,
    limit: usize,
    pace: Option<BodyPace>,
) -> Result<Bytes, BodyError> {
    let started = tokio::time::Instant::now();
    let mut read = Vec::new();
    loop {
        let next_frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx));
        let frame = match pace {
            None => next_frame.await,
            Some(pace) => {
                // When the average falls below the minimum if nothing more
                // arrives: `read` bytes last until `read / min` seconds.
                let earned =
                    Duration::from_secs_f64(read.len() as f64 / pace.min_bytes_per_sec as f64);
                tokio::time::timeout_at(started + pace.grace.max(earned), next_frame)
                    .await
                    .map_err(|_| BodyError::TooSlow(pace))?
            }
        };
        match frame {
            None => return Ok(Bytes::from(read)),
            Some(Err(_)) => return Err(BodyError::Broken),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if read.len() + data.len() > limit {
                        return Err(BodyError::TooLarge);
                    }
                    read.extend_from_slice(&data);
                }
            }
        }
    }
}

/// Does every name and value of a query string (or of an
/// `application/x-www-form-urlencoded` body) decode to UTF-8?
pub fn decodes_to_utf8(encoded: &[u8]) -> bool {
    encoded
        .split(|&b| b == b'&')
        .flat_map(|pair| pair.split(|&b| b == b'='))
        .all(|field| std::str::from_utf8(&percent_decode(field)).is_ok())
}

pub(super) fn percent_decode(field: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        match field[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                field.get(i + 1).and_then(|&b| hex(b)),
                field.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                // A stray `%` stays itself, as form decoders do.
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The sentence of a refusal that came without one.
fn sentence_for(status: StatusCode) -> String {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            "This address does not answer that method; the OpenAPI document (/api/openapi.json) lists what each one takes.".to_owned()
        }
        StatusCode::NOT_FOUND => "Not found.".to_owned(),
        other => format!(
            "The request was refused ({}).",
            other.canonical_reason().unwrap_or("error")
        ),
    }
}

/// Middleware: every refusal leaves as JSON `{"error"}`, but for pages
/// (HTML, which the page's own 404 and 410 are) and what is already JSON.
/// A plain-text refusal (axum's extractors write one, such as a query
/// with a field given twice) keeps its words.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_text = content_type.starts_with("text/plain");
    if !content_type.is_empty() && !is_text {
        return response;
    }
    let (parts, body) = response.into_parts();
    // A body already compressed is not text to read: the status says it.
    let is_text = is_text && !parts.headers.contains_key(header::CONTENT_ENCODING);
    let text = if is_text {
        to_bytes(body, 64 * 1024)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
    } else {
        None
    };
    let message = match text {
        Some(text) => {
            let mut sentence = text;
            if !sentence.ends_with('.') {
                sentence.push('.');
            }
            sentence
        }
        None => sentence_for(status),
    };
    let mut json = ApiError::new(status, message).into_response();
    // Keep what the refusal said besides its body (Allow on a 405,
    // Retry-After, Connection: close).
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && name != header::CONTENT_ENCODING
        {
            json.headers_mut().insert(name.clone(), value.clone());
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_and_forms_must_decode_to_utf8() {
        assert!(decodes_to_utf8(b"code=fn+main%28%29&language="));
        assert!(decodes_to_utf8("code=h%C3%A9llo".as_bytes()));
        assert!(decodes_to_utf8(b"code=100%"));
        assert!(!decodes_to_utf8(b"filename=%ff%fe"));
        assert!(!decodes_to_utf8(b"code=ok&filename=%C3"));
        assert!(!decodes_to_utf8(b"code=\xff"));
        assert_eq!(percent_decode(b"a+b%2Bc"), b"a b+c");
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_is_cut_off_after_the_grace_and_a_steady_body_is_not() {
        let pace = BodyPace {
            grace: Duration::from_secs(10),
            min_bytes_per_sec: 1024,
        };
        // One byte every 3 s: cut off at the end of the grace.
        let (tx, body) = body_channel();
        let started = tokio::time::Instant::now();
        let reading = tokio::spawn(read_paced(body, 1 << 20, Some(pace)));
        for _ in 0..20 {
            if tx.send(Bytes::from_static(b"x")).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        let outcome = reading.await.unwrap();
        assert!(matches!(outcome, Err(BodyError::TooSlow(_))), "{outcome:?}");
        let waited = tokio::time::Instant::now() - started;
        assert!(waited <= Duration::from_secs(13), "{waited:?}");

        // 512 KiB at 16 KiB a second (a slow link, far above the minimum).
        let (tx, body) = body_channel();
        let reading = tokio::spawn(read_paced(body, 1 << 20, Some(pace)));
        for _ in 0..32 {
            tx.send(Bytes::from(vec![b'y'; 16 * 1024])).await.unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        drop(tx);
        assert_eq!(reading.await.unwrap().unwrap().len(), 512 * 1024);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused() {
        let (tx, body) = body_channel();
        let reading = tokio::spawn(read_paced(body, 10, None));
        let _ = tx.send(Bytes::from_static(b"0123456789ab")).await;
        drop(tx);
        assert!(matches!(reading.await.unwrap(), Err(BodyError::TooLarge)));
    }

    /// A body fed by the test, a chunk at a time.
    fn body_channel() -> (tokio::sync::mpsc::Sender<Bytes>, Body) {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
        });
        (tx, Body::from_stream(stream))
    }
}
