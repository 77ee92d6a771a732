//! Who may see a snippet, and why one is gone.
//!
//! A paste is unlisted unless its owner lists it: its id (a secret in the
//! URL) is the only way to it. Only public snippets appear in the recent
//! list and in `created` events. A snippet that is gone says why, so its
//! page can tell a reader whether it expired, was deleted, or was burned
//! after its one reading.

use serde::{Deserialize, Serialize};

/// Whether a snippet is listed on the front page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Reachable only by its link; never listed or broadcast.
    #[default]
    Unlisted,
    /// Listed in the recent snippets and announced to every open home page.
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Unlisted => "unlisted",
            Visibility::Public => "public",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "unlisted" => Some(Visibility::Unlisted),
            "public" => Some(Visibility::Public),
            _ => None,
        }
    }
}

/// Why a snippet that existed is no longer there (HTTP 410 Gone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum GoneReason {
    /// Its time was up; the sweeper deleted it.
    Expired,
    /// Its owner deleted it.
    Deleted,
    /// It was to be read once, and it was.
    Burned,
}

impl GoneReason {
    pub fn as_str(self) -> &'static str {
        match self {
            GoneReason::Expired => "expired",
            GoneReason::Deleted => "deleted",
            GoneReason::Burned => "burned",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "expired" => Some(GoneReason::Expired),
            "deleted" => Some(GoneReason::Deleted),
            "burned" => Some(GoneReason::Burned),
            _ => None,
        }
    }

    /// The sentence every route answers with (page, JSON, streams).
    pub fn message(self) -> &'static str {
        match self {
            GoneReason::Expired => "This snippet has expired and was deleted.",
            GoneReason::Deleted => "This snippet was deleted by its owner.",
            GoneReason::Burned => {
                "This snippet could be read only once, and it has been: it was deleted."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(Visibility::default(), Visibility::Unlisted);
        for reason in [GoneReason::Expired, GoneReason::Deleted, GoneReason::Burned] {
            assert_eq!(GoneReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(
            serde_json::to_string(&Visibility::Public).unwrap(),
            "\"public\""
        );
    }
}
