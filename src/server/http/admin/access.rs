//! Who may use the dashboard, decided once per request.
//!
//! With a token configured, a request proves itself with `Authorization:
//! Bearer <token>` (scripts, Prometheus) or with the session cookie the
//! sign-in form sets (browsers). The cookie is `role.expiry.mac`, its MAC
//! an HMAC-SHA256 keyed by the role's token: nothing is stored on the
//! server, changing a token signs every session of it out, and a read-only
//! session cannot be turned into a full one without the full token.
//!
//! With no token configured, the dashboard is off for the world (404, as if
//! it did not exist) and on for this machine: a loopback peer whose request
//! names no forwarding. A reverse proxy on the same machine connects from
//! loopback too, but it adds `X-Forwarded-For`, `Forwarded`, `Via` or one
//! of their kind; a request carrying any came from elsewhere and is
//! refused.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::{
    domain::operations::AdminRole,
    server::{AppState, http::ApiError, settings::AdminTokens},
};

/// The session cookie's name.
pub const COOKIE: &str = "hl_admin";
/// How long a sign-in lasts.
pub const SESSION_SECS: i64 = 12 * 3600;

/// Why a request may not use the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No tokens and not from this machine: the dashboard does not exist.
    Hidden,
    /// No credentials, or a session that expired.
    SignInNeeded,
    /// A token that is not one of ours.
    WrongToken,
    /// A read-only operator asked for a change.
    ReadOnly,
}

impl Refusal {
    pub fn status(self) -> StatusCode {
        match self {
            Refusal::Hidden => StatusCode::NOT_FOUND,
            Refusal::SignInNeeded => StatusCode::UNAUTHORIZED,
            Refusal::WrongToken | Refusal::ReadOnly => StatusCode::FORBIDDEN,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            // The same sentence as any unknown path: nothing to see here.
            Refusal::Hidden => "Not found.",
            Refusal::SignInNeeded => {
                "Sign in to the dashboard: send Authorization: Bearer <admin token>, or sign in at /admin/login."
            }
            Refusal::WrongToken => "That is not a dashboard token.",
            Refusal::ReadOnly => {
                "This is a read-only session: it can see everything and change nothing."
            }
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        match refusal {
            Refusal::Hidden => ApiError::not_found(),
            other => ApiError::new(other.status(), other.message()),
        }
    }
}

/// The role a request has on the dashboard.
pub fn role_of(
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    tokens: &AdminTokens,
    now: DateTime<Utc>,
) -> Result<AdminRole, Refusal> {
    if !tokens.any() {
        let local = peer.is_some_and(|ip| ip.is_loopback() || is_mapped_loopback(ip));
        let forwarded = headers.keys().any(|name| is_proxy_header(name.as_str()));
        return if local && !forwarded {
            Ok(AdminRole::Full)
        } else {
            Err(Refusal::Hidden)
        };
    }
    if let Some(given) = bearer(headers) {
        return token_role(given, tokens).ok_or(Refusal::WrongToken);
    }
    match crate::server::cookie::named(headers, COOKIE) {
        Some(value) => verify_session(value, tokens, now).ok_or(Refusal::SignInNeeded),
        None => Err(Refusal::SignInNeeded),
    }
}

/// Headers a proxy adds to say who it forwards: any of them on a request
/// from loopback means a stranger may be behind it.
fn is_proxy_header(name: &str) -> bool {
    matches!(
        name,
        "forwarded"
            | "x-real-ip"
            | "cf-connecting-ip"
            | "true-client-ip"
            | "x-client-ip"
            | "x-cluster-client-ip"
            | "fastly-client-ip"
            | "via"
    ) || name.starts_with("x-forwarded-")
}

fn is_mapped_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        IpAddr::V4(_) => false,
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Which role a token is, compared by digest so the comparison takes the
/// same time wherever the strings first differ.
pub fn token_role(given: &str, tokens: &AdminTokens) -> Option<AdminRole> {
    let digest = |t: &str| Sha256::digest(t.as_bytes());
    let given = digest(given);
    let matches = |token: &Option<String>| token.as_deref().is_some_and(|t| digest(t) == given);
    if matches(&tokens.full) {
        Some(AdminRole::Full)
    } else if matches(&tokens.read_only) {
        Some(AdminRole::ReadOnly)
    } else {
        None
    }
}

fn mac_for(role: AdminRole, expires: i64, tokens: &AdminTokens) -> Option<Hmac<Sha256>> {
    let key = match role {
        AdminRole::Full => tokens.full.as_deref()?,
        AdminRole::ReadOnly => tokens.read_only.as_deref()?,
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).ok()?;
    mac.update(format!("{COOKIE}.v1.{}.{expires}", role.as_str()).as_bytes());
    Some(mac)
}

/// The cookie value of a session for `role` that ends at `expires`.
pub fn sign_session(
    role: AdminRole,
    expires: DateTime<Utc>,
    tokens: &AdminTokens,
) -> Option<String> {
    let expires = expires.timestamp();
    let tag = mac_for(role, expires, tokens)?.finalize().into_bytes();
    Some(format!(
        "{}.{expires}.{}",
        role.as_str(),
        crate::server::hex(&tag)
    ))
}

fn verify_session(value: &str, tokens: &AdminTokens, now: DateTime<Utc>) -> Option<AdminRole> {
    let mut parts = value.split('.');
    let role = AdminRole::parse(parts.next()?)?;
    let expires: i64 = parts.next()?.parse().ok()?;
    let hex = parts.next()?;
    if parts.next().is_some() || expires <= now.timestamp() || hex.len() != 64 {
        return None;
    }
    let tag = crate::server::unhex(hex)?;
    // `verify_slice` compares in constant time.
    mac_for(role, expires, tokens)?.verify_slice(&tag).ok()?;
    Some(role)
}

/// The `Set-Cookie` of a new session: unreadable by scripts, never sent
/// by another site's page (not even on a link), HTTPS-only when the site
/// is served so.
pub fn session_cookie_header(value: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; Max-Age={SESSION_SECS}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("the cookie is ASCII")
}

/// The `Set-Cookie` that ends a session.
pub fn clear_session_cookie() -> HeaderValue {
    HeaderValue::from_static("hl_admin=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
}

/// The peer the connection came from (set by the accept loop).
pub fn peer(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Extractor: an operator allowed to see the dashboard. Refused requests
/// get 404 / 401 / 403 before the handler runs.
pub struct Operator {
    pub role: AdminRole,
}

impl Operator {
    /// Refuses read-only operators (403).
    pub fn must_act(&self) -> Result<(), ApiError> {
        if self.role.may_act() {
            Ok(())
        } else {
            Err(Refusal::ReadOnly.into())
        }
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let role = role_of(
            &parts.headers,
            peer(parts),
            &state.settings.admin,
            Utc::now(),
        )?;
        Ok(Operator { role })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> AdminTokens {
        AdminTokens {
            full: Some("full-token-0123456789".into()),
            read_only: Some("read-token-0123456789".into()),
        }
    }

    fn with(name: &str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    const LOOPBACK: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    #[test]
    fn without_tokens_only_this_machine_sees_the_dashboard() {
        let none = AdminTokens::default();
        let now = Utc::now();
        assert_eq!(
            role_of(&HeaderMap::new(), LOOPBACK, &none, now),
            Ok(AdminRole::Full)
        );
        assert_eq!(
            role_of(
                &HeaderMap::new(),
                Some("::ffff:127.0.0.1".parse().unwrap()),
                &none,
                now
            ),
            Ok(AdminRole::Full)
        );
        assert_eq!(
            role_of(&with("x-forwarded-for", "1.2.3.4"), LOOPBACK, &none, now),
            Err(Refusal::Hidden)
        );
        for (proxy_header, value) in [
            ("forwarded", "for=1.2.3.4"),
            ("x-real-ip", "1.2.3.4"),
            ("cf-connecting-ip", "1.2.3.4"),
            ("true-client-ip", "1.2.3.4"),
            ("x-client-ip", "1.2.3.4"),
            ("via", "1.1 proxy"),
            ("x-forwarded-host", "paste.example"),
        ] {
            assert_eq!(
                role_of(&with(proxy_header, value), LOOPBACK, &none, now),
                Err(Refusal::Hidden),
                "{proxy_header}"
            );
        }
        assert_eq!(
            role_of(
                &HeaderMap::new(),
                Some("10.0.0.8".parse().unwrap()),
                &none,
                now
            ),
            Err(Refusal::Hidden)
        );
        // A token someone sends changes nothing when none is configured.
        assert_eq!(
            role_of(&with("authorization", "Bearer guess"), None, &none, now),
            Err(Refusal::Hidden)
        );
    }

    #[test]
    fn tokens_decide_the_role_wherever_the_request_comes_from() {
        let tokens = tokens();
        let now = Utc::now();
        let bearer = |t: &str| with("authorization", &format!("Bearer {t}"));
        assert_eq!(
            role_of(&bearer("full-token-0123456789"), None, &tokens, now),
            Ok(AdminRole::Full)
        );
        assert_eq!(
            role_of(&bearer("read-token-0123456789"), None, &tokens, now),
            Ok(AdminRole::ReadOnly)
        );
        assert_eq!(
            role_of(&bearer("nope"), None, &tokens, now),
            Err(Refusal::WrongToken)
        );
        // Loopback is no credential once tokens exist.
        assert_eq!(
            role_of(&HeaderMap::new(), LOOPBACK, &tokens, now),
            Err(Refusal::SignInNeeded)
        );
    }

    #[test]
    fn sessions_are_signed_by_their_roles_token_and_expire() {
        let tokens = tokens();
        let now = Utc::now();
        let later = now + chrono::Duration::hours(1);
        let read = sign_session(AdminRole::ReadOnly, later, &tokens).unwrap();
        let cookie = |v: &str| with("cookie", &format!("theme=dark; {COOKIE}={v}"));
        assert_eq!(
            role_of(&cookie(&read), None, &tokens, now),
            Ok(AdminRole::ReadOnly)
        );
        // Promoting the role breaks the MAC.
        let forged = read.replacen("read_only", "full", 1);
        assert_eq!(
            role_of(&cookie(&forged), None, &tokens, now),
            Err(Refusal::SignInNeeded)
        );
        // Expired.
        assert_eq!(
            role_of(
                &cookie(&read),
                None,
                &tokens,
                later + chrono::Duration::seconds(1)
            ),
            Err(Refusal::SignInNeeded)
        );
        // Another token, another key: rotating signs everyone out.
        let rotated = AdminTokens {
            read_only: Some("rotated-token-0123456789".into()),
            ..tokens.clone()
        };
        assert_eq!(
            role_of(&cookie(&read), None, &rotated, now),
            Err(Refusal::SignInNeeded)
        );
        assert_eq!(
            role_of(&cookie("garbage"), None, &tokens, now),
            Err(Refusal::SignInNeeded)
        );
    }
}
