//! Durations and retry schedules as operators write them in `LOKET_*` variables (`90s`, `15m`,
//! `1h`, `2d`; `1h,2h,6h,24h`). Shared by every background worker that retries.

use std::time::Duration;

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

/// The waits before each retry of a failed attempt; after the last one the work is given up.
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

    /// A schedule of the given waits (a domain's default).
    pub fn from_waits(waits: Vec<Duration>) -> Self {
        RetrySchedule(waits)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_with_units() {
        let s = RetrySchedule::parse("1s, 30m,2h,2d").unwrap();
        assert_eq!(s.retries(), 4);
        assert_eq!(s.wait_before_retry(1), Some(Duration::from_secs(1)));
        assert_eq!(
            s.wait_before_retry(4),
            Some(Duration::from_secs(2 * 86_400))
        );
        assert_eq!(s.wait_before_retry(5), None);
        for bad in ["", "1", "1x", "h", "0s", "1h,,x"] {
            assert!(RetrySchedule::parse(bad).is_err(), "{bad}");
        }
    }
}
