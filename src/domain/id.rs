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
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(value_type = String, pattern = "^[0-9A-Za-z]{12}$"))]
pub struct SnippetId(String);

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
        let id = (0..LEN)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        SnippetId(id)
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidSnippetId> {
        if raw.len() == LEN && raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(SnippetId(raw.to_owned()))
        } else {
            Err(InvalidSnippetId(raw.chars().take(40).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The page that shows this snippet.
    pub fn url(&self) -> String {
        format!("/s/{}", self.0)
    }
}

impl fmt::Display for SnippetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
        id.0
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
