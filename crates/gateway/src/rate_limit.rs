//! Rate limits of the token endpoint (issue 8): per client IP and per API account (the
//! `username`/`client_id` of the request), with the GCRA of the `governor` crate. Over the
//! limit, `POST /oauth/token` answers `429` with `Retry-After`. These limits come before
//! Argon2, so a flood of logins costs little; the lockout after failed logins still applies.
//! API calls with a token are not rate limited.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// A rate and burst; `rate` 0 turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests per second, sustained.
    pub per_second: u32,
    /// Requests allowed at once.
    pub burst: u32,
}

impl Limit {
    fn quota(self) -> Option<Quota> {
        let rate = NonZeroU32::new(self.per_second)?;
        let burst = NonZeroU32::new(self.burst.max(1))?;
        Some(Quota::per_second(rate).allow_burst(burst))
    }
}

/// The token endpoint's limiters.
#[derive(Debug)]
pub struct TokenLimits {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_account: Option<DefaultKeyedRateLimiter<String>>,
}

/// Keys kept before old ones are dropped.
const KEYS_MAX: usize = 100_000;

impl TokenLimits {
    /// Limiters for the two limits.
    pub fn new(per_ip: Limit, per_account: Limit) -> Self {
        TokenLimits {
            per_ip: per_ip.quota().map(DefaultKeyedRateLimiter::keyed),
            per_account: per_account.quota().map(DefaultKeyedRateLimiter::keyed),
        }
    }

    /// `Ok` when the request may go on, else how long to wait.
    pub fn check(&self, ip: Option<IpAddr>, account: Option<&str>) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        if let (Some(l), Some(ip)) = (&self.per_ip, ip) {
            if l.len() > KEYS_MAX {
                l.retain_recent();
            }
            l.check_key(&ip).map_err(|n| n.wait_time_from(now))?;
        }
        if let (Some(l), Some(a)) = (&self.per_account, account) {
            if l.len() > KEYS_MAX {
                l.retain_recent();
            }
            l.check_key(&a.to_lowercase())
                .map_err(|n| n.wait_time_from(now))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_passes_and_the_next_request_waits() {
        let l = TokenLimits::new(
            Limit {
                per_second: 1,
                burst: 3,
            },
            Limit {
                per_second: 0,
                burst: 0,
            },
        );
        let ip = Some(IpAddr::from([127, 0, 0, 1]));
        for _ in 0..3 {
            assert!(l.check(ip, Some("a")).is_ok());
        }
        let wait = l.check(ip, Some("a")).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        // Another address has its own budget.
        assert!(l.check(Some(IpAddr::from([127, 0, 0, 2])), None).is_ok());
    }

    #[test]
    fn accounts_are_limited_across_addresses() {
        let l = TokenLimits::new(
            Limit {
                per_second: 0,
                burst: 0,
            },
            Limit {
                per_second: 1,
                burst: 2,
            },
        );
        assert!(
            l.check(Some(IpAddr::from([10, 0, 0, 1])), Some("Bot"))
                .is_ok()
        );
        assert!(
            l.check(Some(IpAddr::from([10, 0, 0, 2])), Some("bot"))
                .is_ok()
        );
        assert!(
            l.check(Some(IpAddr::from([10, 0, 0, 3])), Some("bot"))
                .is_err()
        );
        assert!(l.check(None, Some("other")).is_ok());
    }
}
