//! The limits a node keeps, whatever door a request comes through: rates
//! per client (token buckets: submits, misses, sign-ins), and things open
//! at once per client and per node (event streams, connections). Each
//! limit is a setting (`Limits`) and 0 turns it off. What a refusal looks
//! like over HTTP (a status, a JSON sentence and `Retry-After`) is
//! `http/limits.rs`.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use crate::server::settings::Limits;

/// Buckets kept before idle ones are forgotten.
const MAX_TRACKED_CLIENTS: usize = 10_000;

/// Every client's token bucket: `burst` tokens, refilled at `per_minute`.
/// An act (a submit, a miss, a sign-in) takes one token; with none left
/// it is refused until the next token is due.
pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        RateLimiter {
            per_minute,
            burst: burst.max(1),
            buckets: Mutex::default(),
        }
    }

    /// Acts a minute, once the burst is spent (0: no limit).
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Acts at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    fn rate_per_sec(&self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }

    /// Takes a token for `client` at `now`; `Err(wait)` when there is none.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        self.settle(client, now, 1.0)
    }

    /// Whether `client` has a token at `now`, without taking it;
    /// `Err(wait)` when it has none. (Misses are counted after the fact:
    /// a lookup is refused only once the misses before it used them up.)
    pub fn peek(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        self.settle(client, now, 0.0)
    }

    /// Refills `client`'s bucket to `now`, then takes `cost` tokens if it
    /// holds at least one.
    fn settle(&self, client: IpAddr, now: Instant, cost: f64) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let rate = self.rate_per_sec();
        let burst = f64::from(self.burst);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED_CLIENTS {
            // A full bucket is the same as no bucket: forget those.
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let refilled = now.saturating_duration_since(bucket.updated).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refilled).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= cost;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

/// Things open at once (event streams, connections), per client and on
/// this node.
pub struct Permits {
    per_client: u32,
    max: u32,
    open: Mutex<HashMap<IpAddr, u32>>,
    total: AtomicU32,
}

/// Why something was not opened.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// This client holds as many as it may (429).
    TooManyFromClient(u32),
    /// This node holds as many as it can (503).
    NodeFull,
}

/// One open thing, counted until it is dropped with it.
pub struct Permit {
    permits: Arc<Permits>,
    /// `None`: counted toward the node's total only.
    client: Option<IpAddr>,
}

impl Permits {
    pub fn new(per_client: u32, max: u32) -> Arc<Self> {
        Arc::new(Permits {
            per_client,
            max,
            open: Mutex::default(),
            total: AtomicU32::new(0),
        })
    }

    /// A permit for one more from `client` (the client's limit key).
    pub fn acquire(self: &Arc<Self>, key: IpAddr) -> Result<Permit, Refusal> {
        self.acquire_for(Some(key))
    }

    /// A permit counted toward this node's total only (a trusted proxy's
    /// connection carries many clients).
    pub fn acquire_for_node(self: &Arc<Self>) -> Result<Permit, Refusal> {
        self.acquire_for(None)
    }

    fn acquire_for(self: &Arc<Self>, key: Option<IpAddr>) -> Result<Permit, Refusal> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if self.max != 0 && self.total.load(Ordering::Relaxed) >= self.max {
            return Err(Refusal::NodeFull);
        }
        if let Some(key) = key {
            let count = open.entry(key).or_insert(0);
            if self.per_client != 0 && *count >= self.per_client {
                return Err(Refusal::TooManyFromClient(self.per_client));
            }
            *count += 1;
        }
        self.total.fetch_add(1, Ordering::Relaxed);
        Ok(Permit {
            permits: Arc::clone(self),
            client: key,
        })
    }

    /// How many are open on this node now.
    pub fn open(&self) -> u32 {
        self.total.load(Ordering::Relaxed)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.permits.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = self.client
            && let Some(count) = open.get_mut(&client)
        {
            *count -= 1;
            if *count == 0 {
                open.remove(&client);
            }
        }
        self.permits.total.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The limiters one node shares between requests.
pub struct Limiters {
    pub submits: RateLimiter,
    pub streams: Arc<Permits>,
    /// Open connections (the accept loop's).
    pub connections: Arc<Permits>,
    /// Unknown snippet ids asked for: a guesser of ids runs out of them
    /// long before it finds one.
    pub misses: RateLimiter,
    /// Dashboard sign-in attempts per client: a token is 16 characters at
    /// least, so this only keeps a guesser from hammering the server.
    pub sign_ins: RateLimiter,
}

impl Limiters {
    pub fn new(limits: &Limits) -> Self {
        Limiters {
            submits: RateLimiter::new(limits.submit_per_minute, limits.submit_burst),
            streams: Permits::new(limits.streams_per_client, limits.max_streams),
            connections: Permits::new(limits.connections_per_peer, limits.max_connections),
            // A minute's worth at once: a reader who mistypes a few links
            // never meets the limit.
            misses: RateLimiter::new(limits.misses_per_minute, limits.misses_per_minute),
            sign_ins: RateLimiter::new(limits.sign_ins_per_minute, limits.sign_ins_per_minute / 2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = RateLimiter::new(30, 10);
        let client: IpAddr = "1.2.3.4".parse().unwrap();
        let other: IpAddr = "5.6.7.8".parse().unwrap();
        let start = Instant::now();
        for _ in 0..10 {
            assert!(limiter.check(client, start).is_ok());
        }
        let wait = limiter.check(client, start).unwrap_err();
        assert!(
            wait <= Duration::from_secs(2) && wait > Duration::from_millis(1900),
            "{wait:?}"
        );
        assert_eq!(
            limiter.peek(client, start),
            Err(wait),
            "a peek takes nothing"
        );
        // Others are not affected.
        assert!(limiter.peek(other, start).is_ok());
        assert!(limiter.check(other, start).is_ok());
        // 30 a minute: one more every 2 s.
        assert!(
            limiter
                .check(client, start + Duration::from_secs(2))
                .is_ok()
        );
        assert!(
            limiter
                .check(client, start + Duration::from_secs(2))
                .is_err()
        );
        // Off.
        let off = RateLimiter::new(0, 10);
        for _ in 0..1000 {
            assert!(off.check(client, start).is_ok());
        }
    }

    #[test]
    fn permits_count_per_client_and_per_node_and_return_on_drop() {
        let permits = Permits::new(2, 4);
        let a: IpAddr = "1.1.1.1".parse().unwrap();
        let b: IpAddr = "2.2.2.2".parse().unwrap();
        let a1 = permits.acquire(a).unwrap();
        let _a2 = permits.acquire(a).unwrap();
        assert_eq!(
            permits.acquire(a).err(),
            Some(Refusal::TooManyFromClient(2))
        );
        let _b1 = permits.acquire(b).unwrap();
        let proxy = permits.acquire_for_node().unwrap();
        assert_eq!(permits.acquire(b).err(), Some(Refusal::NodeFull));
        drop(a1);
        assert_eq!(permits.open(), 3);
        assert!(permits.acquire(b).is_ok());
        drop(proxy);
        assert_eq!(permits.open(), 2);
    }
}
