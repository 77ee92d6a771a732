//! Retry delays: exponential backoff with full jitter.
//!
//! The delay before attempt `n + 1` is uniform in `[0, min(cap, base·2^(n-1))]`.
//! Full jitter (rather than a fixed exponential) keeps jobs that failed
//! together — say, while a remote engine was down — from all coming back in
//! the same instant and knocking it over again.

use std::time::Duration;

use rand::Rng;

/// The delay after failed attempt number `attempt` (1-based).
pub fn retry_delay(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let ceiling = exponential_ceiling(attempt, base, cap);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

fn exponential_ceiling(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let doublings = attempt.saturating_sub(1).min(32);
    base.checked_mul(1u32 << doublings.min(31))
        .unwrap_or(cap)
        .min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_up_to_the_cap() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(300);
        assert_eq!(exponential_ceiling(1, base, cap), Duration::from_secs(1));
        assert_eq!(exponential_ceiling(2, base, cap), Duration::from_secs(2));
        assert_eq!(exponential_ceiling(5, base, cap), Duration::from_secs(16));
        assert_eq!(exponential_ceiling(9, base, cap), Duration::from_secs(256));
        assert_eq!(exponential_ceiling(10, base, cap), cap);
        assert_eq!(exponential_ceiling(1000, base, cap), cap);
    }

    #[test]
    fn delays_stay_within_the_ceiling_and_spread_out() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(300);
        let delays: Vec<_> = (0..200).map(|_| retry_delay(4, base, cap)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(8)));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 50, "full jitter should spread delays");
    }
}
