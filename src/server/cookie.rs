//! Reading one cookie from a request: the owner's secret and the
//! operators' session both travel this way. Kept beneath `http` so that
//! `owner` (whose hashes the store keeps) depends on nothing above it.

use axum::http::{HeaderMap, header};

/// The value of the cookie `name` among the request's `Cookie` headers.
pub fn named<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value.trim())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn finds_a_cookie_among_several_headers_and_pairs() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1;  owner=x "));
        headers.append(header::COOKIE, HeaderValue::from_static("session=s"));
        assert_eq!(named(&headers, "owner"), Some("x"));
        assert_eq!(named(&headers, "session"), Some("s"));
        assert_eq!(named(&headers, "own"), None);
    }
}
