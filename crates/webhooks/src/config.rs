//! Delivery policy: the retry schedule (R-RETRY), timeouts, concurrency, the SSRF allow-list.

use std::time::Duration;

use crate::ssrf::AllowList;

/// Parses `90s`, `15m`, `1h`, `2d` (a whole number and a unit).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{s}` needs a unit (s, m, h or d)"))?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}` does not start with a whole number"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(format!("`{s}` has an unknown unit (use s, m, h or d)")),
    };
    Ok(Duration::from_secs(secs))
}

/// The waits before each retry; after the last one a delivery is given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl RetrySchedule {
    /// Parses a comma-separated list such as `1h,2h,6h,24h`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let waits = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(parse_duration)
            .collect::<Result<Vec<_>, _>>()?;
        if waits.is_empty() {
            return Err("must list at least one wait, e.g. 1h,2h,6h,24h".into());
        }
        if waits.iter().any(Duration::is_zero) {
            return Err("waits must be longer than zero".into());
        }
        Ok(RetrySchedule(waits))
    }

    /// The wait before retry number `n` (1-based), or `None` when retries are exhausted.
    pub fn wait_before_retry(&self, n: usize) -> Option<Duration> {
        n.checked_sub(1).and_then(|i| self.0.get(i)).copied()
    }

    /// The number of retries.
    pub fn retries(&self) -> usize {
        self.0.len()
    }
}

impl Default for RetrySchedule {
    /// R-RETRY: 1 h, 2 h, 6 h, 24 h.
    fn default() -> Self {
        RetrySchedule(
            [1u64, 2, 6, 24]
                .iter()
                .map(|h| Duration::from_secs(h * 3600))
                .collect(),
        )
    }
}

/// The webhook settings (`LOKET_WEBHOOK_*`).
#[derive(Debug, Clone)]
pub struct WebhooksConfig {
    /// Hosts and address blocks exempt from the https and private-address rules.
    pub allowed_hosts: AllowList,
    /// Waits before the retries.
    pub retry_schedule: RetrySchedule,
    /// Time limit of one HTTP request (token or delivery).
    pub timeout: Duration,
    /// Requests in flight at most, overall.
    pub concurrency: usize,
    /// Requests in flight at most, per receiver.
    pub receiver_concurrency: usize,
    /// A receiver failing this long without a single success is disabled.
    pub disable_after: Duration,
    /// How long an old secret keeps signing after a rotation.
    pub rotation_overlap: Duration,
    /// The version in `User-Agent: Loket-Webhooks/<version>`.
    pub version: String,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            allowed_hosts: AllowList::default(),
            retry_schedule: RetrySchedule::default(),
            timeout: Duration::from_secs(10),
            concurrency: 256,
            receiver_concurrency: 32,
            disable_after: Duration::from_secs(5 * 86_400),
            rotation_overlap: Duration::from_secs(86_400),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

impl WebhooksConfig {
    /// How long a worker's claim on a delivery lasts: a token request and a delivery, each
    /// possibly twice (401 refresh), plus a margin. A crashed worker's deliveries are retried
    /// after it.
    pub fn lease(&self) -> Duration {
        self.timeout * 4 + Duration::from_secs(5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_with_units() {
        let s = RetrySchedule::parse("1h, 2h,6h,24h").unwrap();
        assert_eq!(s, RetrySchedule::default());
        assert_eq!(s.wait_before_retry(1), Some(Duration::from_secs(3600)));
        assert_eq!(s.wait_before_retry(4), Some(Duration::from_secs(86_400)));
        assert_eq!(s.wait_before_retry(5), None);
        assert_eq!(s.wait_before_retry(0), None);
        let t = RetrySchedule::parse("1s,30m,2d").unwrap();
        assert_eq!(t.wait_before_retry(3), Some(Duration::from_secs(172_800)));
        for bad in ["", "1", "1x", "h", "0s", "-1s"] {
            assert!(RetrySchedule::parse(bad).is_err(), "{bad}");
        }
    }
}
