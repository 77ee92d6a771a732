//! Owners: who may change, delete, and read without burning a snippet.
//!
//! Whoever creates a snippet holds a secret: the API answers with an
//! `owner_token`, shown once; a browser gets an owner key in an `HttpOnly`
//! cookie, kept for all its snippets. The database keeps only the SHA-256
//! of the secret ([`OwnerHash`]), so a leaked database changes nobody's
//! snippets. A request proves ownership with `Authorization: Bearer
//! <token>` or the cookie ([`Credentials`]).

use axum::http::{HeaderMap, HeaderValue, header};
use rand::Rng;
use sha2::{Digest, Sha256};

/// The owner cookie's name.
pub const COOKIE: &str = "hl_owner";
/// How long a browser keeps its owner key: a year, renewed by each submit.
const COOKIE_MAX_AGE_SECS: u64 = 365 * 24 * 3600;
/// 32 characters from 62: about 190 random bits, well over the 128 promised.
const SECRET_LEN: usize = 32;
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// An owner's secret: the token or the cookie's value. Never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct OwnerSecret(String);

impl std::fmt::Debug for OwnerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OwnerSecret(…)")
    }
}

impl OwnerSecret {
    /// A fresh secret from the operating system's CSPRNG (through `rand`'s
    /// thread-local generator, seeded from it).
    pub fn random() -> Self {
        let mut rng = rand::rng();
        OwnerSecret(
            (0..SECRET_LEN)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect(),
        )
    }

    /// A secret as a client presents it; anything not shaped like one we
    /// issue is no secret at all.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == SECRET_LEN && raw.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| OwnerSecret(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> OwnerHash {
        OwnerHash(super::hex(&Sha256::digest(self.0.as_bytes())))
    }
}

/// What the database keeps of an owner's secret: its SHA-256, in hex.
/// Comparing hashes leaks nothing about the secret, so plain equality is
/// fine here.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OwnerHash(String);

impl OwnerHash {
    /// A hash read back from storage (or a notice from another node).
    pub fn from_stored(raw: String) -> Option<Self> {
        (raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit())).then_some(OwnerHash(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The owner credentials a request carries: a bearer token, an owner
/// cookie, both or neither.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    bearer: Option<OwnerHash>,
    cookie: Option<OwnerHash>,
}

impl Credentials {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then_some(token.trim())
            })
            .and_then(OwnerSecret::parse)
            .map(|s| s.hash());
        let cookie = cookie_secret(headers).map(|s| s.hash());
        Credentials { bearer, cookie }
    }

    /// Does this request own a snippet owned by `owner`? A snippet without
    /// an owner is owned by nobody.
    pub fn owns(&self, owner: Option<&OwnerHash>) -> bool {
        owner.is_some_and(|owner| {
            self.bearer.as_ref() == Some(owner) || self.cookie.as_ref() == Some(owner)
        })
    }

    /// The browser's owner key, whose snippets the home page lists.
    pub fn cookie_owner(&self) -> Option<&OwnerHash> {
        self.cookie.as_ref()
    }

    /// Credentials that hold only this cookie owner (tests, and the
    /// server function that just set the cookie).
    pub fn with_cookie(owner: OwnerHash) -> Self {
        Credentials {
            bearer: None,
            cookie: Some(owner),
        }
    }
}

/// The owner secret in the request's cookie, if it holds a valid one.
pub fn cookie_secret(headers: &HeaderMap) -> Option<OwnerSecret> {
    crate::server::cookie::named(headers, COOKIE).and_then(OwnerSecret::parse)
}

/// The `Set-Cookie` value that gives a browser its owner key: never
/// readable by scripts, sent with top-level navigations but not with
/// cross-site subrequests, and only over HTTPS when the site is served so.
pub fn set_cookie(secret: &OwnerSecret, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{COOKIE}={}; Path=/; Max-Age={COOKIE_MAX_AGE_SECS}; HttpOnly; SameSite=Lax{secure}",
        secret.expose()
    );
    HeaderValue::from_str(&value).expect("the cookie is ASCII letters, digits and punctuation")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_hash_to_hex() {
        let a = OwnerSecret::random();
        let b = OwnerSecret::random();
        assert_ne!(a, b);
        assert_eq!(OwnerSecret::parse(a.expose()).as_ref(), Some(&a));
        assert_eq!(a.hash().as_str().len(), 64);
        assert_eq!(a.hash(), a.hash());
        assert_ne!(a.hash(), b.hash());
        assert!(OwnerSecret::parse("short").is_none());
        assert!(OwnerSecret::parse(&"!".repeat(32)).is_none());
        assert!(OwnerHash::from_stored(a.hash().as_str().to_owned()).is_some());
        assert!(OwnerHash::from_stored("xyz".into()).is_none());
    }

    #[test]
    fn credentials_come_from_bearer_or_cookie() {
        let token = OwnerSecret::random();
        let key = OwnerSecret::random();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).unwrap(),
        );
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("theme=dark; {COOKIE}={}", key.expose())).unwrap(),
        );
        let credentials = Credentials::from_headers(&headers);
        assert!(credentials.owns(Some(&token.hash())));
        assert!(credentials.owns(Some(&key.hash())));
        assert!(!credentials.owns(Some(&OwnerSecret::random().hash())));
        assert!(!credentials.owns(None), "an ownerless snippet is nobody's");
        assert_eq!(credentials.cookie_owner(), Some(&key.hash()));
        assert!(!Credentials::default().owns(Some(&token.hash())));
    }

    #[test]
    fn the_cookie_is_http_only_lax_and_secure_over_https() {
        let secret = OwnerSecret::random();
        let plain = set_cookie(&secret, false);
        let plain = plain.to_str().unwrap();
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Lax"));
        assert!(!plain.contains("Secure"));
        assert!(
            set_cookie(&secret, true)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
    }
}
