//! `POST /rpc/{fn}`: the pages' server functions (registered by Leptos),
//! behind the checks and answers the server-function machinery does not
//! make itself.
//!
//! - An unknown function is 404 and a known one asked with the wrong
//!   method 405, in JSON (Leptos would render its HTML "not found" page).
//! - A form body is decoded leniently by Leptos: bytes that are not UTF-8
//!   become U+FFFD, and a paste would be stored changed. Here a body that
//!   is not UTF-8 once percent-decoded is refused with 400, as the REST API
//!   refuses such code; and a body is capped (413) at a snippet's worth.
//! - A form posted without JavaScript is answered with a redirect back to
//!   the page it came from, which Leptos reads from `Referer`: here the
//!   redirect only ever leads to a path on this site.
//! - A failed call without JavaScript carries its error back in that
//!   address (`__path`, `__err`), for the page to show beside the form. A
//!   link can carry any text there, so the error is signed (`__exp`,
//!   `__sig`: an HMAC under a key every node shares, good for ten minutes)
//!   and a page shows only an error this site wrote ([`signed_form_error`]).

use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{ApiError, edge::decodes_to_utf8};
use crate::{domain::SourceError, server::AppState};

/// How long a signed form error stays good: long enough to be shown by
/// the redirect it rides on, too short to be worth passing around.
const FORM_ERROR_SECS: i64 = 600;

/// The key that signs form errors. Every node reads the same one from the
/// database at start-up, so a redirect from one node is believed by the
/// node that renders the page.
#[derive(Clone)]
pub struct FormErrorKey(std::sync::Arc<[u8]>);

impl FormErrorKey {
    pub fn new(secret: &str) -> Self {
        FormErrorKey(secret.as_bytes().into())
    }

    fn mac(&self, path: &str, error: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(format!("form-error.v1\n{path}\n{error}\n{expires}").as_bytes());
        mac
    }

    fn sign(&self, path: &str, error: &str, expires: i64) -> String {
        crate::server::hex(&self.mac(path, error, expires).finalize().into_bytes())
    }

    fn verify(&self, path: &str, error: &str, expires: i64, signature: &str) -> bool {
        let Some(tag) = crate::server::unhex(signature) else {
            return false;
        };
        self.mac(path, error, expires).verify_slice(&tag).is_ok()
    }
}

/// Middleware for every server function's request.
pub async fn check_server_fn_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if !path.starts_with("/rpc/") {
        return next.run(request).await;
    }
    let registered =
        |method: Method| leptos::server_fn::axum::get_server_fn_service(path, method).is_some();
    if !registered(request.method().clone()) {
        let known = [Method::POST, Method::GET].into_iter().any(registered);
        return if known {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "Server functions are called with POST.",
            )
            .into_response()
        } else {
            ApiError::new(StatusCode::NOT_FOUND, "There is no server function here.")
                .into_response()
        };
    }
    let (parts, body) = request.into_parts();
    // Percent-encoding can triple a body; the other fields are small.
    let limit = state
        .settings
        .max_snippet_bytes
        .saturating_mul(3)
        .saturating_add(64 * 1024);
    let Ok(bytes) = to_bytes(body, limit).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            SourceError::TooLarge {
                actual: limit,
                limit: state.settings.max_snippet_bytes,
            }
            .to_string(),
        )
        .into_response();
    };
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form && !decodes_to_utf8(&bytes) {
        return ApiError::new(StatusCode::BAD_REQUEST, SourceError::NotUtf8.to_string())
            .into_response();
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if let Some(location) = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
    {
        let site_path = same_site_path(
            location,
            host.as_deref(),
            state.settings.public_origin.as_deref(),
        );
        let signed = sign_form_error(&site_path, &state.form_errors, chrono::Utc::now());
        match HeaderValue::from_str(&signed) {
            Ok(value) => {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Err(_) => {
                response
                    .headers_mut()
                    .insert(header::LOCATION, HeaderValue::from_static("/"));
            }
        }
    }
    response
}

/// Where a redirect may lead: a path on this site. An absolute address on
/// this site (the request's host, or the public URL's) becomes its path;
/// any other (another site, `//host`, a scheme of its own) becomes the
/// front page, keeping only a form error's fields.
fn same_site_path(location: &str, host: Option<&str>, public_origin: Option<&str>) -> String {
    let is_path =
        location.starts_with('/') && !location.starts_with("//") && !location.starts_with("/\\");
    if is_path {
        return location.to_owned();
    }
    if let Some((scheme, rest)) = location.split_once("://")
        && matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https")
    {
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let authority = authority.to_ascii_lowercase();
        let ours = host.is_some_and(|h| h.eq_ignore_ascii_case(&authority))
            || public_origin
                .and_then(|o| o.split_once("://"))
                .is_some_and(|(_, public)| public == authority);
        if ours {
            return match path.chars().next() {
                Some('/') if !path.starts_with("//") => path.to_owned(),
                _ => format!("/{path}"),
            };
        }
    }
    // Another site: the front page, with the error (if any) to show there.
    let query = location.split_once('?').map_or("", |(_, q)| q);
    let kept: Vec<&str> = query
        .split(['&', '#'])
        .filter(|pair| pair.starts_with("__path=") || pair.starts_with("__err="))
        .collect();
    if kept.is_empty() {
        "/".to_owned()
    } else {
        format!("/?{}", kept.join("&"))
    }
}

/// `location` with any signature it carried removed, and, when it carries
/// a form error, a fresh one for it.
fn sign_form_error(
    location: &str,
    key: &FormErrorKey,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let (path, query) = match location.split_once('?') {
        Some((path, query)) => (path, query),
        None => return location.to_owned(),
    };
    let pairs: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            !pair.is_empty() && !pair.starts_with("__exp=") && !pair.starts_with("__sig=")
        })
        .collect();
    let value = |name: &str| {
        pairs
            .iter()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    };
    let mut out = path.to_owned();
    if !pairs.is_empty() {
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    if let (Some(fn_path), Some(error)) = (value("__path"), value("__err")) {
        let expires = now.timestamp() + FORM_ERROR_SECS;
        let signature = key.sign(fn_path, error, expires);
        out.push_str(&format!("&__exp={expires}&__sig={signature}"));
    }
    out
}

/// The form error a page's address carries, if this site signed it and
/// it has not expired: the server function's path and its encoded error,
/// as Leptos wrote them (`__path`, `__err`).
pub fn signed_form_error(parts: &Parts, key: &FormErrorKey) -> Option<(String, String)> {
    let query = parts.uri.query()?;
    let value = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    };
    let (fn_path, error) = (value("__path")?, value("__err")?);
    let expires: i64 = value("__exp")?.parse().ok()?;
    if expires < chrono::Utc::now().timestamp()
        || !key.verify(fn_path, error, expires, value("__sig")?)
    {
        return None;
    }
    let decode = |raw: &str| {
        let bytes = super::edge::percent_decode(raw.as_bytes());
        String::from_utf8(bytes).ok()
    };
    Some((decode(fn_path)?, decode(error)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_lead_only_to_this_site() {
        let host = Some("127.0.0.1:3000");
        assert_eq!(same_site_path("/s/abc", host, None), "/s/abc");
        assert_eq!(
            same_site_path("http://127.0.0.1:3000/s/abc?x=1", host, None),
            "/s/abc?x=1"
        );
        assert_eq!(
            same_site_path(
                "https://paste.example/s/a",
                host,
                Some("https://paste.example")
            ),
            "/s/a"
        );
        assert_eq!(same_site_path("http://evil.example/phish", host, None), "/");
        assert_eq!(same_site_path("//evil.example/phish", host, None), "/");
        assert_eq!(same_site_path("/\\evil.example", host, None), "/");
        assert_eq!(same_site_path("javascript:alert(1)", host, None), "/");
        assert_eq!(
            same_site_path(
                "http://evil.example/x?a=b&__path=%2Frpc%2Fsubmit&__err=e30",
                host,
                None
            ),
            "/?__path=%2Frpc%2Fsubmit&__err=e30"
        );
    }

    #[test]
    fn only_signed_fresh_errors_are_shown() {
        let key = FormErrorKey::new("a key");
        let now = chrono::Utc::now();
        let signed = sign_form_error("/?__path=%2Frpc%2Fsubmit&__err=e30", &key, now);
        assert!(signed.contains("__sig="), "{signed}");
        let parts = |uri: &str| {
            axum::http::Request::get(uri)
                .body(())
                .unwrap()
                .into_parts()
                .0
        };
        assert_eq!(
            signed_form_error(&parts(&signed), &key),
            Some(("/rpc/submit".to_owned(), "e30".to_owned()))
        );
        // Signing again replaces the old signature rather than adding one.
        assert_eq!(
            sign_form_error(&signed, &key, now)
                .matches("__sig=")
                .count(),
            1
        );
        // Unsigned, forged, tampered, expired, or under another key.
        assert_eq!(
            signed_form_error(&parts("/?__path=%2Frpc%2Fsubmit&__err=e30"), &key),
            None
        );
        let tampered = signed.replace("__err=e30", "__err=e31");
        assert_eq!(signed_form_error(&parts(&tampered), &key), None);
        let old = sign_form_error(
            "/?__path=%2Frpc%2Fsubmit&__err=e30",
            &key,
            now - chrono::Duration::seconds(FORM_ERROR_SECS + 1),
        );
        assert_eq!(signed_form_error(&parts(&old), &key), None);
        assert_eq!(
            signed_form_error(&parts(&signed), &FormErrorKey::new("another")),
            None
        );
        // Nothing to sign.
        assert_eq!(sign_form_error("/s/abc", &key, now), "/s/abc");
        assert_eq!(sign_form_error("/?x=1&__sig=zz", &key, now), "/?x=1");
    }
}
