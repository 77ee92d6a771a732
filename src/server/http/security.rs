//! Layers that make every response safe to serve in public.
//!
//! - [`refuse_foreign_hosts`]: a request must name this site in `Host`: an
//!   IP literal, `localhost`, the public URL's host, or an allowed host.
//!   A page on `evil.example` whose name an attacker points at 127.0.0.1
//!   (DNS rebinding) sends `Host: evil.example`, and gets 421.
//! - [`refuse_cross_site`]: a state-changing request (anything but GET,
//!   HEAD, OPTIONS) sent from another site is refused with 403 before any
//!   handler runs. Browsers say where a request comes from (`Origin`,
//!   `Sec-Fetch-Site`); requests without `Origin` (curl, CLIs) cannot
//!   carry a victim's cookie and go on to the owner check.
//! - [`security_headers`]: a Content-Security-Policy on every page, whose
//!   only inline scripts (Leptos' hydration data, the theme script) carry a
//!   fresh nonce per response; `nosniff`, `no-referrer` (ids in URLs are
//!   secrets) everywhere, and `noindex` on snippets.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use leptos::nonce::Nonce;

use super::ApiError;
use crate::server::AppState;

/// Middleware: refuses a request that names a host this server does not
/// answer for (421 Misdirected Request).
pub async fn refuse_foreign_hosts(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if let Some(host) = host
        && !host_is_allowed(
            &host,
            state.settings.public_origin.as_deref(),
            &state.settings.limits.allowed_hosts,
        )
    {
        tracing::info!(
            host,
            path = request.uri().path(),
            "request for a foreign host refused"
        );
        let shown: String = host.chars().take(64).collect();
        return ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "This server does not answer for the host `{shown}`: use its address or one of its names (the `allowed_hosts` setting)."
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// Whether `Host` names this server. DNS rebinding needs a name, so every
/// IP literal passes (health checks, `0.0.0.0` set-ups, tests); a name
/// passes when it is `localhost`, the public URL's host, or listed.
pub fn host_is_allowed(host: &str, public_origin: Option<&str>, allowed: &[String]) -> bool {
    let host = host.trim();
    // `[v6]` or `[v6]:port`, `name` or `name:port`.
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((v6, _)) => return v6.parse::<std::net::Ipv6Addr>().is_ok(),
            None => return false,
        }
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(name, _)| name)
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name.parse::<std::net::Ipv4Addr>().is_ok() || name == "localhost" {
        return true;
    }
    let public_host = public_origin
        .and_then(|origin| origin.split_once("://"))
        .map(|(_, authority)| {
            authority
                .rsplit_once(':')
                .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
                .map_or(authority, |(name, _)| name)
        });
    public_host == Some(name.as_str()) || allowed.contains(&name)
}

/// Middleware: refuses state-changing requests that come from another site.
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && is_cross_site(request.headers(), state.settings.public_origin.as_deref()) {
        tracing::info!(
            method = %request.method(),
            path = request.uri().path(),
            origin = ?request.headers().get(header::ORIGIN),
            "cross-site request refused"
        );
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "Requests from other sites cannot change anything here.",
        )
        .into_response();
    }
    next.run(request).await
}

/// Is this request from another site? `Sec-Fetch-Site: cross-site` says so
/// outright; otherwise an `Origin` that is neither the configured public
/// origin nor the host the request was sent to does.
///
/// One case needs the second header: our pages are served with
/// `Referrer-Policy: no-referrer`, under which a browser sends `Origin:
/// null` with a form's POST. Such a request counts as ours only when the
/// browser also says `Sec-Fetch-Site: same-origin`; a page of another site
/// (or of a sibling origin on the same site) cannot make it say so.
pub fn is_cross_site(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    if fetch_site.as_deref() == Some("cross-site") {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    let origin = origin.trim().to_ascii_lowercase();
    if origin == "null" {
        return fetch_site.as_deref() != Some("same-origin");
    }
    if public_origin == Some(origin.as_str()) {
        return false;
    }
    // Behind a proxy that ends TLS the scheme differs from the request's,
    // so the host (with its port) is what must match.
    let origin_host = origin.split_once("://").map(|(_, host)| host);
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    match (origin_host, host) {
        (Some(origin_host), Some(host)) => origin_host != host,
        // `Origin: null` (sandboxed frames, file: pages) and no Host.
        _ => true,
    }
}

/// The policy of every HTML page: scripts only from this site or inline
/// with this response's nonce (WebAssembly may compile), nothing framed,
/// no plugins, no `<base>`, forms only to this site.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Everything that is not a page (JSON, raw code, downloads) is never to
/// be rendered as a document with powers: a strict sandbox.
const OTHER_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// Middleware: a fresh nonce for the page (the Leptos render finds it in
/// the request's extensions) and the headers every response carries.
pub async fn security_headers(mut request: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    let path = request.uri().path();
    let private = path.starts_with("/s/") || path.starts_with("/api/snippets");
    let mut response = next.run(request).await;
    let not_modified = response.status() == StatusCode::NOT_MODIFIED;
    let headers = response.headers_mut();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if not_modified {
        // The browser keeps the policy stored with the page it reuses: a
        // new nonce here would not match that page's scripts.
    } else if is_html && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        // A page that set its own policy (an embed's frame, meant to be
        // framed anywhere) keeps it, and is not refused framing either.
        if let Ok(policy) = HeaderValue::from_str(&page_policy(&nonce)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    } else if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(OTHER_POLICY),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if private {
        headers.insert(
            "x-robots-tag",
            HeaderValue::from_static("noindex, nofollow"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn only_other_sites_are_cross_site() {
        let same = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
        ]);
        assert!(!is_cross_site(&same, None));
        let evil = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://evil.example"),
        ]);
        assert!(is_cross_site(&evil, None));
        let null = headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]);
        assert!(is_cross_site(&null, None));
        // Our own form, posted from a page under `no-referrer`.
        let own_form = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "null"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert!(!is_cross_site(&own_form, None));
        let sibling = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "null"),
            ("sec-fetch-site", "same-site"),
        ]);
        assert!(is_cross_site(&sibling, None));
        let curl = headers(&[("host", "127.0.0.1:3000")]);
        assert!(!is_cross_site(&curl, None), "no Origin: not a browser");
        let fetch = headers(&[("host", "127.0.0.1:3000"), ("sec-fetch-site", "cross-site")]);
        assert!(is_cross_site(&fetch, None));
        let same_site = headers(&[
            ("host", "127.0.0.1:3000"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert!(!is_cross_site(&same_site, None));
        // Behind a proxy: the public origin counts as the site.
        let proxied = headers(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "https://paste.example"),
        ]);
        assert!(!is_cross_site(&proxied, Some("https://paste.example")));
        assert!(is_cross_site(&proxied, Some("https://other.example")));
        // TLS ended at the proxy, Host passed through: the host matches.
        let tls = headers(&[
            ("host", "paste.example"),
            ("origin", "https://paste.example"),
        ]);
        assert!(!is_cross_site(&tls, None));
    }

    #[test]
    fn hosts_are_ip_literals_localhost_the_public_host_or_listed() {
        let allowed = vec!["paste.internal".to_owned()];
        let public = Some("https://paste.example");
        for ok in [
            "127.0.0.1:3000",
            "0.0.0.0:8080",
            "10.1.2.3",
            "[::1]:3000",
            "[2001:db8::1]",
            "localhost:3000",
            "LOCALHOST",
            "paste.example",
            "Paste.Example:443",
            "paste.internal.",
        ] {
            assert!(host_is_allowed(ok, public, &allowed), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:3000",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "paste.example.evil",
            "[not-an-address]",
            "",
        ] {
            assert!(!host_is_allowed(refused, public, &allowed), "{refused}");
        }
        assert!(!host_is_allowed("paste.example", None, &[]));
    }

    #[test]
    fn the_page_policy_has_no_unsafe_inline_script() {
        let policy = page_policy("abc");
        assert!(policy.contains("'nonce-abc'"));
        assert!(!policy.contains("unsafe-inline"));
        for directive in [
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ] {
            assert!(policy.contains(directive), "{directive}");
        }
    }
}
