//! The page cache: a finished snippet's page, rendered once.
//!
//! Once its job has succeeded, a snippet's page is the same bytes for every
//! reader of one kind (its owner, or anyone else) until the snippet is
//! deleted, re-highlighted in another language, or expires. Rendering it
//! again (a database read, then Leptos building the whole document) costs
//! several times what serving it does, so [`serve_cached_pages`] keeps the
//! rendered document, bounded in bytes, and answers `If-None-Match` with
//! 304 from a strong `ETag`.
//!
//! Two things keep it honest:
//! - **The CSP nonce stays fresh.** Every response must carry a nonce of
//!   its own, so a page is kept cut into pieces where its nonce was, and
//!   each hit joins them around this response's nonce. A 304 carries no
//!   policy at all: the browser keeps the one stored with the body it
//!   reuses, whose scripts carry that policy's nonce.
//! - **Changes forget pages.** Every event the hub publishes about a
//!   snippet (from this node, or relayed from another) forgets its pages,
//!   and a resync (events may have been lost) forgets them all. A render
//!   that raced such a change is not kept: each snippet's stripe of
//!   [`PageCache::generation`] must be unchanged from before the render
//!   began to after it ended.
//!
//! Which pages may be kept is decided where the snippet is read (the
//! server function behind the page), not here: it fills the request's
//! [`CacheSlot`] only for a succeeded snippet that is not burn after
//! reading, with its owner and expiry. Pending, failed and sealed pages
//! render live every time.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use leptos::nonce::Nonce;
use sha2::{Digest, Sha256};

use crate::{
    domain::SnippetId,
    server::{
        AppState,
        events::ChangeObserver,
        owner::{Credentials, OwnerHash},
    },
};

/// Stripes of the generation counter: a change to one snippet spoils the
/// renders in flight of 1 in this many others, not of all.
const STRIPES: usize = 64;
/// Pages larger than this are rendered every time rather than kept.
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;
/// Browsers may keep the page, but must ask (with the `ETag`) before
/// showing it again; no shared cache may keep it (unlisted ids are
/// secrets).
fn cache_control() -> HeaderValue {
    HeaderValue::from_static("private, no-cache")
}

/// Which rendering of a snippet's page: owners see controls others do not.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    id: SnippetId,
    for_owner: bool,
}

/// What the page's render says about keeping it.
#[derive(Clone, Debug)]
pub struct Cacheable {
    pub owner: Option<OwnerHash>,
    pub expires_at: Option<DateTime<Utc>>,
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

/// A kept page.
struct CachedPage {
    /// The document, cut where the nonce of the response it was rendered
    /// for appeared.
    pieces: Vec<Bytes>,
    headers: HeaderMap,
    etag: HeaderValue,
    owner: Option<OwnerHash>,
    expires_at: Option<DateTime<Utc>>,
    bytes: usize,
}

impl CachedPage {
    fn body(&self, nonce: &str) -> Bytes {
        let mut body = BytesMut::with_capacity(self.bytes + self.pieces.len() * nonce.len());
        for (n, piece) in self.pieces.iter().enumerate() {
            if n > 0 {
                body.extend_from_slice(nonce.as_bytes());
            }
            body.extend_from_slice(piece);
        }
        body.freeze()
    }
}

#[derive(Default)]
struct Entries {
    pages: HashMap<Key, Arc<CachedPage>>,
    /// Keys in the order they were kept: the oldest go first when the
    /// budget is spent. May name pages already forgotten.
    order: VecDeque<Key>,
    bytes: usize,
}

impl Entries {
    fn remove(&mut self, key: &Key) {
        if let Some(page) = self.pages.remove(key) {
            self.bytes -= page.bytes;
        }
    }
}

/// Finished pages, bounded in bytes.
pub struct PageCache {
    budget: usize,
    entries: Mutex<Entries>,
    generations: [AtomicU64; STRIPES],
    hasher: std::hash::RandomState,
}

impl PageCache {
    /// A cache of at most `budget` bytes of pages; 0 keeps nothing.
    pub fn new(budget: usize) -> Self {
        PageCache {
            budget,
            entries: Mutex::default(),
            generations: std::array::from_fn(|_| AtomicU64::new(0)),
            hasher: std::hash::RandomState::new(),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stripe(&self, id: &SnippetId) -> &AtomicU64 {
        use std::hash::BuildHasher;
        &self.generations[(self.hasher.hash_one(id) as usize) % STRIPES]
    }

    /// The counter a render compares before and after: it moves whenever
    /// a page of this snippet (or of another in its stripe) is forgotten.
    fn generation(&self, id: &SnippetId) -> u64 {
        self.stripe(id).load(Ordering::SeqCst)
    }

    /// The snippet changed: its pages are no longer true.
    pub fn forget(&self, id: &SnippetId) {
        self.stripe(id).fetch_add(1, Ordering::SeqCst);
        let mut entries = self.entries();
        for for_owner in [false, true] {
            entries.remove(&Key {
                id: id.clone(),
                for_owner,
            });
        }
    }

    /// Events may have been lost: no page is known to be true.
    pub fn forget_all(&self) {
        for generation in &self.generations {
            generation.fetch_add(1, Ordering::SeqCst);
        }
        *self.entries() = Entries::default();
    }

    /// Kept pages and their bytes (for tests and metrics).
    pub fn usage(&self) -> (usize, usize) {
        let entries = self.entries();
        (entries.pages.len(), entries.bytes)
    }

    /// The kept page this reader would be shown, if it is still true.
    fn get(
        &self,
        id: &SnippetId,
        reader: &Credentials,
        now: DateTime<Utc>,
    ) -> Option<Arc<CachedPage>> {
        let entries = self.entries();
        // Ownership is decided by the owner of the kept page (the visitor's
        // rendering knows it too), so no database read is needed.
        let any = entries
            .pages
            .get(&Key {
                id: id.clone(),
                for_owner: false,
            })
            .or_else(|| {
                entries.pages.get(&Key {
                    id: id.clone(),
                    for_owner: true,
                })
            })?;
        let key = Key {
            id: id.clone(),
            for_owner: reader.owns(any.owner.as_ref()),
        };
        let page = entries.pages.get(&key)?;
        if page.expires_at.is_some_and(|at| at <= now) {
            return None;
        }
        Some(Arc::clone(page))
    }

    fn keep(&self, key: Key, page: CachedPage, rendered_at_generation: u64) {
        if page.bytes > MAX_PAGE_BYTES.min(self.budget) {
            return;
        }
        let mut entries = self.entries();
        // Checked under the lock `forget` also takes: a change that came
        // after this check forgets the page kept here.
        if self.generation(&key.id) != rendered_at_generation {
            return;
        }
        entries.remove(&key);
        while entries.bytes + page.bytes > self.budget {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            entries.remove(&oldest);
        }
        entries.bytes += page.bytes;
        entries.order.push_back(key.clone());
        entries.pages.insert(key, Arc::new(page));
        // Forgotten and replaced pages leave their keys behind in `order`;
        // drop them before they outnumber the pages.
        if entries.order.len() > 2 * entries.pages.len() + 64 {
            let Entries { pages, order, .. } = &mut *entries;
            let mut seen = std::collections::HashSet::new();
            order.retain(|key| pages.contains_key(key) && seen.insert(key.clone()));
        }
    }
}

impl ChangeObserver for PageCache {
    fn changed(&self, snippet_id: &SnippetId) {
        self.forget(snippet_id);
    }

    fn all_may_have_changed(&self) {
        self.forget_all();
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
    if cache.budget == 0 {
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
    use super::*;

    fn id(n: u8) -> SnippetId {
        SnippetId::parse(&format!("{:0>12}", n)).unwrap()
    }

    fn page(bytes: usize) -> CachedPage {
        CachedPage {
            pieces: vec![Bytes::from(vec![b'x'; bytes])],
            headers: HeaderMap::new(),
            etag: HeaderValue::from_static("\"e\""),
            owner: None,
            expires_at: None,
            bytes,
        }
    }

    fn visitor() -> Credentials {
        Credentials::from_headers(&HeaderMap::new())
    }

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
    fn the_budget_bounds_the_bytes_kept() {
        let cache = PageCache::new(1000);
        for n in 0..10 {
            let key = Key {
                id: id(n),
                for_owner: false,
            };
            cache.keep(key, page(300), cache.generation(&id(n)));
            assert!(cache.usage().1 <= 1000);
        }
        assert_eq!(cache.usage(), (3, 900));
        // The newest stay.
        assert!(cache.get(&id(9), &visitor(), Utc::now()).is_some());
        assert!(cache.get(&id(0), &visitor(), Utc::now()).is_none());
        cache.keep(
            Key {
                id: id(20),
                for_owner: false,
            },
            page(2000),
            0,
        );
        assert!(
            cache.get(&id(20), &visitor(), Utc::now()).is_none(),
            "larger than the budget"
        );
    }

    #[test]
    fn a_change_forgets_and_spoils_renders_in_flight() {
        let cache = PageCache::new(1 << 20);
        let key = Key {
            id: id(1),
            for_owner: false,
        };
        let before = cache.generation(&id(1));
        cache.keep(key.clone(), page(10), before);
        assert!(cache.get(&id(1), &visitor(), Utc::now()).is_some());
        cache.forget(&id(1));
        assert!(cache.get(&id(1), &visitor(), Utc::now()).is_none());
        // A render that began before the change is not kept.
        cache.keep(key.clone(), page(10), before);
        assert!(cache.get(&id(1), &visitor(), Utc::now()).is_none());
        cache.keep(key.clone(), page(10), cache.generation(&id(1)));
        assert!(cache.get(&id(1), &visitor(), Utc::now()).is_some());
        cache.forget_all();
        assert_eq!(cache.usage(), (0, 0));
    }

    #[test]
    fn owners_and_visitors_get_their_own_rendering() {
        let secret = crate::server::owner::OwnerSecret::random();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", secret.expose())).unwrap(),
        );
        let owner = Credentials::from_headers(&headers);
        let cache = PageCache::new(1 << 20);
        let visitors_page = CachedPage {
            owner: Some(secret.hash()),
            ..page(10)
        };
        cache.keep(
            Key {
                id: id(1),
                for_owner: false,
            },
            visitors_page,
            cache.generation(&id(1)),
        );
        assert!(cache.get(&id(1), &visitor(), Utc::now()).is_some());
        assert!(
            cache.get(&id(1), &owner, Utc::now()).is_none(),
            "the owner's rendering is not kept yet"
        );
    }

    #[test]
    fn an_expired_page_is_not_served() {
        let cache = PageCache::new(1 << 20);
        let now = Utc::now();
        let expiring = CachedPage {
            expires_at: Some(now + chrono::Duration::seconds(5)),
            ..page(10)
        };
        cache.keep(
            Key {
                id: id(1),
                for_owner: false,
            },
            expiring,
            cache.generation(&id(1)),
        );
        assert!(cache.get(&id(1), &visitor(), now).is_some());
        assert!(
            cache
                .get(&id(1), &visitor(), now + chrono::Duration::seconds(5))
                .is_none()
        );
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
