//! Webhooks: receivers, signed deliveries with persistent retries, and the delivery log.
//!
//! Rules (DOMAIN.md "Webhooks"): R-HOOK-AUTHZ (a receiver only gets events of its own tenant
//! about objects its API account may read), R-RETRY (retries after at least 1 h, 2 h, 6 h and
//! 24 h, then given up; the schedule lives in the database). Domain events come from the
//! transactional outbox: the dispatcher fans each out to the matching receivers as one delivery
//! each, the delivery worker sends them (Standard Webhooks signatures, WebSub `X-Hub-Signature`
//! or an OAuth2 bearer token) and records every attempt.
//!
//! This crate knows no other domain: the gateway hands it the topic catalogue and an
//! [`AccountDirectory`] through which it asks about API accounts.

pub mod api;
pub mod config;
pub mod dispatcher;
pub mod model;
pub mod sender;
pub mod service;
pub mod signing;
pub mod ssrf;
pub mod topics;
mod worker;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use loket_common::crypto::SecretKey;
use loket_common::{Permissions, Result, SharedClock};
use loket_storage::{AnyConnection, Db};
use tokio::sync::Notify;
use uuid::Uuid;

pub use config::{RetrySchedule, WebhooksConfig};
pub use topics::{Catalogue, TopicSpec};

/// What the webhooks need to know about an API account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountGrant {
    /// Whether the account is active.
    pub active: bool,
    /// Its permissions (as stored; `superadmin` implies the others).
    pub permissions: Permissions,
}

/// Looks up API accounts (implemented over the accounts domain by the gateway).
pub trait AccountDirectory: Send + Sync + 'static {
    /// The account `id` of `tenant_id`, or `None` when the tenant has no such account.
    fn api_account(
        &self,
        conn: &mut AnyConnection,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<Option<AccountGrant>>;

    /// Tells the tenant's superadmins that `receiver` was disabled (by mail, in practice). Runs
    /// inside the transaction that disables it and must not fail it; the default does nothing.
    fn receiver_disabled(
        &self,
        _conn: &mut AnyConnection,
        _receiver: &api::Receiver,
        _reason: &str,
    ) {
    }
}

struct Inner {
    db: Db,
    clock: SharedClock,
    key: SecretKey,
    config: WebhooksConfig,
    guard: ssrf::Guard,
    catalogue: Catalogue,
    directory: Arc<dyn AccountDirectory>,
    sender: sender::Sender,
    /// Wakes the delivery pump (new or re-queued deliveries).
    wake: Notify,
    worker: Mutex<Option<worker::Handles>>,
}

/// The webhooks service: receivers, the delivery log, and the background delivery worker.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks").finish_non_exhaustive()
    }
}

impl Webhooks {
    /// The service; call [`Webhooks::start`] to run the delivery worker.
    pub fn new(
        db: Db,
        clock: SharedClock,
        key: SecretKey,
        config: WebhooksConfig,
        catalogue: Catalogue,
        directory: Arc<dyn AccountDirectory>,
    ) -> std::result::Result<Self, String> {
        let guard = ssrf::Guard::new(config.allowed_hosts.clone());
        let sender = sender::Sender::new(&config, guard.clone())?;
        Ok(Webhooks {
            inner: Arc::new(Inner {
                db,
                clock,
                key,
                config,
                guard,
                catalogue,
                directory,
                sender,
                wake: Notify::new(),
                worker: Mutex::new(None),
            }),
        })
    }

    /// The delivery policy.
    pub fn config(&self) -> &WebhooksConfig {
        &self.inner.config
    }

    /// The topic catalogue.
    pub fn catalogue(&self) -> &Catalogue {
        &self.inner.catalogue
    }
}

/// The body of a delivery: `{"id","topic","tenant_id","occurred_at","data"}`, where `data` is
/// the stored JSON text of the object, embedded as is.
pub fn event_body(
    event_id: &str,
    topic: &str,
    tenant_id: &str,
    occurred_at: DateTime<Utc>,
    data_json: &str,
) -> String {
    let q = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    format!(
        "{{\"id\":{},\"topic\":{},\"tenant_id\":{},\"occurred_at\":{},\"data\":{}}}",
        q(event_id),
        q(topic),
        q(tenant_id),
        q(&occurred_at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        data_json
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_valid_json_with_the_payload_verbatim() {
        let at = DateTime::parse_from_rfc3339("2026-11-23T10:00:00.5Z")
            .unwrap()
            .with_timezone(&Utc);
        let b = event_body("e\"1", "Accounts.Create", "t", at, r#"{"b":1,"a":[2]}"#);
        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
        assert_eq!(v["id"], "e\"1");
        assert_eq!(v["occurred_at"], "2026-11-23T10:00:00.500Z");
        assert!(b.ends_with(r#""data":{"b":1,"a":[2]}}"#));
    }
}
