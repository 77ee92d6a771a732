//! Who is asking: the client address every limit is counted against.
//!
//! It is the peer address of the connection, unless that peer is a proxy
//! listed in `trusted_proxies`: then it is the `X-Forwarded-For` entry that
//! the last trusted proxy added, found by walking the header from the right
//! and skipping the proxies themselves. Entries to the left of it were
//! written by the client and prove nothing. IPv6 clients are counted by
//! their /64, the block one subscriber is usually given, so that rotating
//! through it buys no extra quota.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::Response,
};

use crate::server::{AppState, settings::Cidr};

/// The client a request is counted against (set by [`identify_client`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The key limits are counted under: the address, or an IPv6 /64.
    pub fn limit_key(self) -> IpAddr {
        match self.0 {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let segments = v6.segments();
                    IpAddr::V6(Ipv6Addr::new(
                        segments[0],
                        segments[1],
                        segments[2],
                        segments[3],
                        0,
                        0,
                        0,
                        0,
                    ))
                }
            },
            v4 => v4,
        }
    }
}

/// Resolves the client of a request from its peer and headers.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|block| block.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|entry| parse_entry(entry.trim()))
        .collect();
    let mut client = peer;
    for ip in forwarded.into_iter().rev() {
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, possibly with a port
/// (`1.2.3.4:5678`, `[::1]:5678`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// Middleware: works out the client once and puts it in the request's
/// extensions for the layers and handlers after it.
pub async fn identify_client(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let client = resolve(
        peer,
        request.headers(),
        &state.settings.limits.trusted_proxies,
    );
    request.extensions_mut().insert(ClientIp(client));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(xff).unwrap());
        headers
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = [Cidr::parse("10.0.0.0/8").unwrap()];
        let spoofed = headers("6.6.6.6, 1.2.3.4");
        // No trusted proxies: the header is anyone's word.
        assert_eq!(resolve(proxy, &spoofed, &[]), proxy);
        // Behind a trusted proxy: the entry it added (the rightmost).
        assert_eq!(
            resolve(proxy, &spoofed, &trusted),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        // Two trusted hops: skip the inner proxy too.
        assert_eq!(
            resolve(proxy, &headers("6.6.6.6, 1.2.3.4, 10.0.0.7"), &trusted),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        // A peer that is not trusted is the client, whatever it says.
        let stranger: IpAddr = "5.5.5.5".parse().unwrap();
        assert_eq!(resolve(stranger, &spoofed, &trusted), stranger);
        // Ports and junk entries.
        assert_eq!(
            resolve(proxy, &headers("junk, [2001:db8::1]:443"), &trusted),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a = ClientIp("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = ClientIp("2001:db8:1:2:bbbb::9".parse().unwrap());
        let c = ClientIp("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a.limit_key(), b.limit_key());
        assert_ne!(a.limit_key(), c.limit_key());
        let mapped = ClientIp("::ffff:1.2.3.4".parse().unwrap());
        assert_eq!(mapped.limit_key(), "1.2.3.4".parse::<IpAddr>().unwrap());
    }
}
