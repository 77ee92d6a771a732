//! `POST /rpc/{fn}`: the pages' server functions (registered by Leptos),
//! behind two checks the server-function machinery does not make.
//!
//! - A form body is decoded leniently: bytes that are not UTF-8 become
//!   U+FFFD, and a paste would be stored changed. Here a body that is not
//!   UTF-8 once percent-decoded is refused with 400, as the REST API refuses
//!   such code.
//! - The body is read up to a cap (413 beyond it), so a server function
//!   cannot be made to buffer more than a snippet's worth.

use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::ApiError;
use crate::{domain::SourceError, server::AppState};

/// Middleware for every server function's request.
pub async fn check_server_fn_body(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with("/rpc/") {
        return next.run(request).await;
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
    if is_form && !form_is_utf8(&bytes) {
        return ApiError::new(StatusCode::BAD_REQUEST, SourceError::NotUtf8.to_string())
            .into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Does every name and value of an `application/x-www-form-urlencoded`
/// body decode to UTF-8?
fn form_is_utf8(body: &[u8]) -> bool {
    body.split(|&b| b == b'&')
        .flat_map(|pair| pair.split(|&b| b == b'='))
        .all(|field| std::str::from_utf8(&percent_decode(field)).is_ok())
}

fn percent_decode(field: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        match field[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                field.get(i + 1).and_then(|&b| hex(b)),
                field.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                // A stray `%` stays itself, as form decoders do.
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_must_decode_to_utf8() {
        assert!(form_is_utf8(b"code=fn+main%28%29&language="));
        assert!(form_is_utf8("code=h%C3%A9llo".as_bytes()));
        assert!(form_is_utf8(b"code=100%"));
        assert!(!form_is_utf8(b"code=%FF%FE"));
        assert!(!form_is_utf8(b"code=ok&filename=%C3"));
        assert!(!form_is_utf8(b"code=\xff"));
        assert_eq!(percent_decode(b"a+b%2Bc"), b"a b+c");
    }
}
