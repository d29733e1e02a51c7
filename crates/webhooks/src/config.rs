//! Delivery policy: the retry schedule (R-RETRY), timeouts, concurrency, the SSRF allow-list.

use std::time::Duration;

use crate::ssrf::AllowList;

pub use loket_common::schedule::{RetrySchedule, parse_duration};

/// The default retry schedule: R-RETRY: 1 h, 2 h, 6 h, 24 h.
pub fn default_retry_schedule() -> RetrySchedule {
    RetrySchedule::from_waits(
        [1u64, 2, 6, 24]
            .iter()
            .map(|h| Duration::from_secs(h * 3600))
            .collect(),
    )
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
            retry_schedule: default_retry_schedule(),
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
        assert_eq!(s, default_retry_schedule());
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
