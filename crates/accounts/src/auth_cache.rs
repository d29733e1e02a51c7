//! A bounded cache of authenticated bearer tokens, so the per-request cost of a repeated token is
//! one map lookup instead of a signature check and a database read (issue 8).
//!
//! Revocation is still honoured: every write through the accounts service (revoking a token,
//! deactivating an account or user, changing permissions, bumping the token version) clears the
//! cache and moves its generation on, so an answer computed from the state before that write is
//! never stored. Writes by another server instance are seen at the latest after the time to
//! live (`LOKET_AUTH_CACHE_TTL`, seconds; 0 turns the cache off). An entry also ends with its
//! token's `exp`, read against the service clock.
//!
//! Written by hand rather than with a cache crate: it needs generation-checked inserts and a
//! clear-on-write, which is a few lines over `HashMap`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use loket_common::Principal;

/// Most tokens kept; when full, the cache starts over (tokens are re-verified, never refused).
pub const CAPACITY: usize = 10_000;

/// The cache.
#[derive(Debug)]
pub struct AuthCache {
    ttl: Duration,
    generation: AtomicU64,
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug)]
struct Entry {
    principal: Principal,
    /// The token's `exp` (unix seconds).
    exp: i64,
    until: Instant,
}

impl AuthCache {
    /// A cache keeping entries for at most `ttl` (zero: keeps nothing).
    pub fn new(ttl: Duration) -> Self {
        AuthCache {
            ttl,
            generation: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The current generation; read it before computing an answer and hand it to [`put`].
    ///
    /// [`put`]: AuthCache::put
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The principal of `token`, if cached, unexpired at `now` (unix seconds) and fresh.
    pub fn get(&self, token: &str, now: i64) -> Option<Principal> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        let e = entries.get(token)?;
        (e.exp > now && e.until > Instant::now()).then(|| e.principal.clone())
    }

    /// Stores the answer computed for `token` at `generation`, unless a write happened since.
    pub fn put(&self, token: &str, principal: Principal, exp: i64, generation: u64) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        // Checked under the lock that `invalidate` also takes: no stale answer slips in.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(
            token.to_owned(),
            Entry {
                principal,
                exp,
                until: Instant::now() + self.ttl,
            },
        );
    }

    /// Forgets every entry: called after each write that may revoke access.
    pub fn invalidate(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.clear();
        } else {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loket_common::{Permissions, SubjectKind};
    use uuid::Uuid;

    fn principal() -> Principal {
        Principal {
            tenant_id: Uuid::nil(),
            subject: Uuid::nil(),
            kind: SubjectKind::ApiAccount,
            actor: None,
            permissions: Permissions::default(),
            token_id: Uuid::nil(),
        }
    }

    #[test]
    fn an_entry_lives_until_its_token_expires_or_a_write_happens() {
        let c = AuthCache::new(Duration::from_secs(60));
        let g = c.generation();
        c.put("t", principal(), 100, g);
        assert!(c.get("t", 99).is_some());
        assert!(c.get("t", 100).is_none(), "expired token");
        c.invalidate();
        assert!(c.get("t", 99).is_none(), "cleared by a write");
    }

    #[test]
    fn an_answer_computed_before_a_write_is_not_stored() {
        let c = AuthCache::new(Duration::from_secs(60));
        let g = c.generation();
        c.invalidate();
        c.put("t", principal(), 100, g);
        assert!(c.get("t", 0).is_none());
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let c = AuthCache::new(Duration::ZERO);
        c.put("t", principal(), 100, c.generation());
        assert!(c.get("t", 0).is_none());
    }
}
