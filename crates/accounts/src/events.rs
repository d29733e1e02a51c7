//! The `Accounts.*` domain events, written to the outbox with the change.

use chrono::{DateTime, Utc};
use loket_common::{Actor, Result};
use loket_storage::AnyConnection;
use loket_storage::outbox::{self, NewEvent};
use serde::Serialize;
use uuid::Uuid;

/// A user or API account was created.
pub const ACCOUNTS_CREATE: &str = "Accounts.Create";
/// A user or API account was changed (including deactivation and secret rotation).
pub const ACCOUNTS_UPDATE: &str = "Accounts.Update";
/// A user or API account was deleted.
pub const ACCOUNTS_DELETE: &str = "Accounts.Delete";

/// The topics this domain emits, with a description (for the webhook topic catalogue).
pub const TOPICS: &[(&str, &str)] = &[
    (
        ACCOUNTS_CREATE,
        "A user or API account was created; data is its representation (`kind` tells which).",
    ),
    (
        ACCOUNTS_UPDATE,
        "A user or API account was changed; data is its new representation.",
    ),
    (
        ACCOUNTS_DELETE,
        "A user or API account was deleted; data is its last representation.",
    ),
];

/// Publishes an event about `object` (its API representation); call inside the transaction.
pub fn emit(
    conn: &mut AnyConnection,
    topic: &'static str,
    tenant_id: Uuid,
    object_id: Uuid,
    object: &impl Serialize,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<()> {
    let payload = serde_json::to_value(object).map_err(loket_common::Error::internal)?;
    outbox::publish(
        conn,
        &NewEvent {
            tenant_id,
            topic,
            object_id,
            payload,
            occurred_at: at,
            actor_api_account_id: actor.api_account_id,
            actor_user_id: actor.user_id,
        },
    )?;
    Ok(())
}
