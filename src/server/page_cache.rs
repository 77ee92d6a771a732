//! The page cache's store: finished snippet pages, rendered once and kept
//! bounded in bytes, each forgotten when its snippet changes.
//!
//! Once its job has succeeded, a snippet's page is the same bytes for every
//! reader of one kind (its owner, or anyone else) until the snippet is
//! deleted, re-highlighted in another language, or expires. Every event
//! the hub publishes about a snippet (from this node, or relayed from
//! another) forgets its pages, and a resync (events may have been lost)
//! forgets them all. A render that raced such a change is not kept: each
//! snippet's stripe of [`PageCache::generation`] must be unchanged from
//! before the render began to after it ended.
//!
//! Which pages may be kept ([`Cacheable`]) is decided where the snippet is
//! read (`service.rs`); serving and keeping them, the nonce and `ETag`
//! included, is the middleware in `http/page_cache.rs`.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::http::{HeaderMap, HeaderValue};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};

use crate::{
    domain::SnippetId,
    server::{
        events::ChangeObserver,
        owner::{Credentials, OwnerHash},
    },
};

/// Stripes of the generation counter: a change to one snippet spoils the
/// renders in flight of 1 in this many others, not of all.
const STRIPES: usize = 64;
/// Pages larger than this are rendered every time rather than kept.
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;
/// Which rendering of a snippet's page: owners see controls others do not.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub id: SnippetId,
    pub for_owner: bool,
}

/// What the page's render says about keeping it.
#[derive(Clone, Debug)]
pub struct Cacheable {
    pub owner: Option<OwnerHash>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A kept page.
pub struct CachedPage {
    /// The document, cut where the nonce of the response it was rendered
    /// for appeared.
    pub pieces: Vec<Bytes>,
    pub headers: HeaderMap,
    pub etag: HeaderValue,
    pub owner: Option<OwnerHash>,
    pub expires_at: Option<DateTime<Utc>>,
    pub bytes: usize,
}

impl CachedPage {
    /// The document, with `nonce` where its own was.
    pub fn body(&self, nonce: &str) -> Bytes {
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
    pub fn generation(&self, id: &SnippetId) -> u64 {
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

    /// Whether the budget is 0: pages are then never kept.
    pub fn keeps_nothing(&self) -> bool {
        self.budget == 0
    }

    /// Kept pages and their bytes (for tests and metrics).
    pub fn usage(&self) -> (usize, usize) {
        let entries = self.entries();
        (entries.pages.len(), entries.bytes)
    }

    /// The kept page this reader would be shown, if it is still true.
    pub fn get(
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

    /// Keeps a page rendered while the snippet's stripe was at
    /// `rendered_at_generation`, unless a change came since.
    pub fn keep(&self, key: Key, page: CachedPage, rendered_at_generation: u64) {
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

#[cfg(test)]
pub(crate) mod tests {
    use axum::http::header;

    use super::*;

    fn id(n: u8) -> SnippetId {
        SnippetId::parse(&format!("{:0>12}", n)).unwrap()
    }

    pub(crate) fn page(bytes: usize) -> CachedPage {
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
}
