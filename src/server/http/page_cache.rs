//! Finished snippet pages served from the page cache (`server/page_cache.rs`),
//! with a strong `ETag` that answers `If-None-Match` with 304.
//!
//! Rendering a page again (a database read, then Leptos building the whole
//! document) costs several times what serving it does. The CSP nonce stays
//! fresh: every response must carry a nonce of its own, so a page is kept
//! cut into pieces where its nonce was, and each hit joins them around this
//! response's nonce. A 304 carries no policy at all: the browser keeps the
//! one stored with the body it reuses, whose scripts carry that policy's
//! nonce.
//!
//! The server function behind the page fills the request's [`CacheSlot`]
//! only for a snippet whose page may be kept (a succeeded snippet that is
//! not burn after reading, with its owner and expiry). Pending, failed and
//! sealed pages render live every time.

use std::sync::{Arc, OnceLock};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chrono::Utc;
use leptos::nonce::Nonce;
use sha2::{Digest, Sha256};

use crate::{
    domain::SnippetId,
    server::{
        AppState,
        owner::Credentials,
        page_cache::{Cacheable, CachedPage, Key},
    },
};

/// Browsers may keep the page, but must ask (with the `ETag`) before
/// showing it again; no shared cache may keep it (unlisted ids are
/// secrets).
fn cache_control() -> HeaderValue {
    HeaderValue::from_static("private, no-cache")
}

/// Where the render leaves its [`Cacheable`]: the middleware puts one in
/// the request's extensions, the server function fills it.
#[derive(Clone, Default)]
pub struct CacheSlot(Arc<OnceLock<Cacheable>>);

impl CacheSlot {
    pub fn offer(&self, cacheable: Cacheable) {
        let _ = self.0.set(cacheable);
    }
}

/// The snippet a `GET /s/{id}` names (and nothing else: `/s/{id}/raw` is
/// not a page).
fn page_id(request: &Request) -> Option<SnippetId> {
    if request.method() != Method::GET || request.uri().query().is_some() {
        return None;
    }
    let id = request.uri().path().strip_prefix("/s/")?;
    SnippetId::parse(id).ok()
}

/// Does any `If-None-Match` value (the request's, from
/// `headers.get_all(IF_NONE_MATCH)`) name `etag`?
fn if_none_match<'h>(asked: impl IntoIterator<Item = &'h HeaderValue>, etag: &HeaderValue) -> bool {
    asked
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        // If-None-Match compares weakly: `W/"x"` matches `"x"`.
        .map(|tag| tag.strip_prefix("W/").unwrap_or(tag))
        .any(|tag| tag == "*" || tag.as_bytes() == etag.as_bytes())
}

fn not_modified(etag: &HeaderValue) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    response.headers_mut().insert(header::ETAG, etag.clone());
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, cache_control());
    response
}

fn respond(page: &CachedPage, nonce: &str) -> Response {
    let mut response = Response::new(Body::from(page.body(nonce)));
    *response.headers_mut() = page.headers.clone();
    response
}

/// Middleware (inside the security layer, which makes the nonce, and the
/// compression layer, which must see the finished document): serves kept
/// pages, and keeps the pages the render offers.
pub async fn serve_cached_pages(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let cache = &state.pages;
    let (Some(id), Some(nonce)) = (
        page_id(&request),
        request.extensions().get::<Nonce>().cloned(),
    ) else {
        return next.run(request).await;
    };
    if cache.keeps_nothing() {
        return next.run(request).await;
    }
    let reader = Credentials::from_headers(request.headers());
    if let Some(page) = cache.get(&id, &reader, Utc::now()) {
        if if_none_match(request.headers().get_all(header::IF_NONE_MATCH), &page.etag) {
            return not_modified(&page.etag);
        }
        return respond(&page, &nonce);
    }

    let generation = cache.generation(&id);
    let slot = CacheSlot::default();
    request.extensions_mut().insert(slot.clone());
    let asked: Vec<HeaderValue> = request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .cloned()
        .collect();
    let response = next.run(request).await;
    let Some(cacheable) = slot.0.get().cloned() else {
        return response;
    };
    if response.status() != StatusCode::OK || response.headers().contains_key(header::SET_COOKIE) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // The body is our own render, finite; only keeping it is bounded.
    let document = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(document) => document,
        Err(e) => {
            tracing::warn!(error = %e, snippet = %id, "could not read a rendered page");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let for_owner = reader.owns(cacheable.owner.as_ref());
    let pieces = split_at(&document, nonce.as_bytes());
    let etag = etag_of(&pieces, for_owner);
    parts.headers.insert(header::ETAG, etag.clone());
    parts.headers.insert(header::CACHE_CONTROL, cache_control());
    parts.headers.remove(header::CONTENT_LENGTH);
    let key = Key { id, for_owner };
    cache.keep(
        key,
        CachedPage {
            bytes: document.len(),
            pieces,
            headers: parts.headers.clone(),
            etag: etag.clone(),
            owner: cacheable.owner,
            expires_at: cacheable.expires_at,
        },
        generation,
    );
    if if_none_match(&asked, &etag) {
        return not_modified(&etag);
    }
    Response::from_parts(parts, Body::from(document))
}

/// `document` cut at every occurrence of `separator`.
fn split_at(document: &Bytes, separator: &[u8]) -> Vec<Bytes> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while !separator.is_empty() && at + separator.len() <= document.len() {
        if &document[at..at + separator.len()] == separator {
            pieces.push(document.slice(start..at));
            at += separator.len();
            start = at;
        } else {
            at += 1;
        }
    }
    pieces.push(document.slice(start..));
    pieces
}

/// A strong validator: the SHA-256 of the document without its nonce, and
/// of which rendering it is.
fn etag_of(pieces: &[Bytes], for_owner: bool) -> HeaderValue {
    let mut hasher = Sha256::new();
    hasher.update([u8::from(for_owner)]);
    for piece in pieces {
        hasher.update((piece.len() as u64).to_le_bytes());
        hasher.update(piece);
    }
    let digest = hasher.finalize();
    let hex = crate::server::hex(&digest[..16]);
    HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex in quotes is a valid header value")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::*;
    use crate::server::page_cache::tests::page;

    #[test]
    fn pieces_join_around_each_nonce() {
        let document =
            Bytes::from_static(b"<script nonce=\"N0N\">a</script><style nonce=\"N0N\"></style>");
        let pieces = split_at(&document, b"N0N");
        assert_eq!(pieces.len(), 3);
        let page = CachedPage {
            bytes: document.len(),
            pieces,
            ..page(0)
        };
        assert_eq!(
            &page.body("fresh")[..],
            b"<script nonce=\"fresh\">a</script><style nonce=\"fresh\"></style>"
        );
        assert_eq!(split_at(&Bytes::from_static(b"none here"), b"N0N").len(), 1);
    }

    #[test]
    fn if_none_match_reads_lists_and_stars() {
        let etag = HeaderValue::from_static("\"abc\"");
        let mut headers = HeaderMap::new();
        assert!(!if_none_match(
            headers.get_all(header::IF_NONE_MATCH),
            &etag
        ));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", \"abc\""),
        );
        assert!(if_none_match(headers.get_all(header::IF_NONE_MATCH), &etag));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("W/\"abc\""));
        assert!(
            if_none_match(headers.get_all(header::IF_NONE_MATCH), &etag),
            "If-None-Match compares weakly"
        );
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"abd\""));
        assert!(!if_none_match(
            headers.get_all(header::IF_NONE_MATCH),
            &etag
        ));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(if_none_match(headers.get_all(header::IF_NONE_MATCH), &etag));
    }
}
