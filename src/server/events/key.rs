//! Snippet ids hashed once per event, for the sets every list stream keeps.
//!
//! Each open list stream looks every event up in sets of its own (the
//! snippets it follows, the states it has batched). With a thousand home
//! pages open, hashing the id in each of them, per event, was several per
//! cent of a busy server's time; the hub hashes it once, when it
//! publishes, and the sets use that hash as it is. It is keyed per
//! process, as std's maps are, so a client that picks the ids its page
//! follows still cannot make them collide.

use std::{
    collections::{HashMap, HashSet},
    hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState},
    sync::LazyLock,
};

use crate::domain::SnippetId;

/// A snippet id with its hash, worked out once.
#[derive(Clone, Debug)]
pub struct IdKey {
    hash: u64,
    id: SnippetId,
}

impl IdKey {
    pub fn new(id: SnippetId) -> Self {
        static KEYS: LazyLock<RandomState> = LazyLock::new(RandomState::new);
        IdKey {
            hash: KEYS.hash_one(&id),
            id,
        }
    }

    pub fn id(&self) -> &SnippetId {
        &self.id
    }
}

impl PartialEq for IdKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.id == other.id
    }
}

impl Eq for IdKey {}

impl Hash for IdKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The hasher of [`IdKeySet`] and [`IdKeyMap`]: an [`IdKey`] hands it its
/// hash whole, and that is the answer.
#[derive(Default)]
pub struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `IdKey` is hashed here, and it writes one `u64`; anything
        // else still gets a usable (FNV-1a) hash rather than a panic.
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

pub type IdKeySet = HashSet<IdKey, BuildHasherDefault<Prehashed>>;
pub type IdKeyMap<V> = HashMap<IdKey, V, BuildHasherDefault<Prehashed>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_one_id_are_equal_and_hash_alike_and_others_differ() {
        let id = SnippetId::random();
        let (a, b) = (IdKey::new(id.clone()), IdKey::new(id.clone()));
        assert_eq!(a, b);
        let build = BuildHasherDefault::<Prehashed>::default();
        assert_eq!(build.hash_one(&a), build.hash_one(&b));
        let other = IdKey::new(SnippetId::random());
        assert_ne!(a, other);
        let mut set = IdKeySet::default();
        set.insert(a);
        assert!(set.contains(&b));
        assert!(!set.contains(&other));
        assert_eq!(set.iter().next().map(IdKey::id), Some(&id));
    }
}
