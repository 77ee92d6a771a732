//! Snippet ids: short, random, unguessable.
//!
//! Row numbers would let anyone enumerate every paste, so an id is 12
//! characters drawn uniformly from `[0-9A-Za-z]`: 62^12 is about 2^71, well
//! over the 64 random bits we promise.

use serde::{Deserialize, Serialize};
use std::fmt;

#[cfg(feature = "ssr")]
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const LEN: usize = 12;

/// The public identifier of a snippet, as it appears in `/s/{id}`.
///
/// Held inline (twelve ASCII bytes, no allocation): every event names its
/// snippet, and a busy server clones and compares ids in every open list
/// stream for every event.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(value_type = String, pattern = "^[0-9A-Za-z]{12}$"))]
pub struct SnippetId([u8; LEN]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a snippet id: ids are 12 letters and digits")]
pub struct InvalidSnippetId(pub String);

impl SnippetId {
    /// A fresh id from the operating system's CSPRNG (through `rand`'s
    /// thread-local generator, which is seeded from it and reseeds itself).
    #[cfg(feature = "ssr")]
    pub fn random() -> Self {
        use rand::Rng;
        let mut rng = rand::rng();
        let mut id = [0; LEN];
        for byte in &mut id {
            *byte = ALPHABET[rng.random_range(0..ALPHABET.len())];
        }
        SnippetId(id)
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidSnippetId> {
        match <[u8; LEN]>::try_from(raw.as_bytes()) {
            Ok(id) if id.iter().all(u8::is_ascii_alphanumeric) => Ok(SnippetId(id)),
            _ => Err(InvalidSnippetId(raw.chars().take(40).collect())),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters and digits ever get in (`random`, `parse`).
        std::str::from_utf8(&self.0).expect("a snippet id is ASCII")
    }

    /// The page that shows this snippet.
    pub fn url(&self) -> String {
        format!("/s/{}", self.as_str())
    }
}

impl fmt::Debug for SnippetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SnippetId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for SnippetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for SnippetId {
    type Error = InvalidSnippetId;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        SnippetId::parse(&raw)
    }
}

impl From<SnippetId> for String {
    fn from(id: SnippetId) -> String {
        id.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_only_twelve_alphanumerics() {
        assert!(SnippetId::parse("abcDEF012345").is_ok());
        assert!(SnippetId::parse("abcDEF01234").is_err());
        assert!(SnippetId::parse("abcDEF0123456").is_err());
        assert!(SnippetId::parse("abcDEF01234-").is_err());
        assert!(SnippetId::parse("../../etc/pa").is_err());
        assert!(SnippetId::parse("").is_err());
    }

    #[test]
    fn an_id_reads_writes_and_sorts_as_its_text() {
        let (a, b) = ("0aZ000000000", "0a0zzzzzzzzz");
        let (id_a, id_b) = (SnippetId::parse(a).unwrap(), SnippetId::parse(b).unwrap());
        assert_eq!(id_a.as_str(), a);
        assert_eq!(id_a.to_string(), a);
        assert_eq!(format!("{id_a:?}"), format!("SnippetId({a:?})"));
        assert_eq!(serde_json::to_string(&id_a).unwrap(), format!("{a:?}"));
        assert_eq!(
            serde_json::from_str::<SnippetId>(&format!("{a:?}")).unwrap(),
            id_a
        );
        assert!(serde_json::from_str::<SnippetId>("\"short\"").is_err());
        assert_eq!(id_a.cmp(&id_b), a.cmp(b));
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn random_ids_parse_and_differ() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| SnippetId::random()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(SnippetId::parse(id.as_str()).as_ref(), Ok(id));
        }
    }
}
