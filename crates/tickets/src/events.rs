//! The `Tickets.*` domain events, written to the outbox with the change.

use chrono::{DateTime, Utc};
use loket_common::{Actor, Result};
use loket_storage::AnyConnection;
use loket_storage::outbox::{self, NewEvent};
use serde::Serialize;
use uuid::Uuid;

/// A ticket was created (portal, e-mail or phone).
pub const TICKETS_CREATE: &str = "Tickets.Create";
/// A ticket's department, priority, labels, release version or postponement changed.
pub const TICKETS_UPDATE: &str = "Tickets.Update";
/// A ticket's status changed.
pub const TICKETS_STATUS_CHANGE: &str = "Tickets.StatusChange";
/// A message was added to a ticket.
pub const TICKETS_MESSAGE: &str = "Tickets.Message";
/// Personal data was found in a message or attachment (R-PRIVACY).
pub const TICKETS_SECURITY_INCIDENT: &str = "Tickets.SecurityIncident";

/// The topics this domain emits, with a description (for the webhook topic catalogue).
pub const TOPICS: &[(&str, &str)] = &[
    (
        TICKETS_CREATE,
        "A ticket was created; data is its representation.",
    ),
    (
        TICKETS_UPDATE,
        "A ticket's department, priority, labels, release version or postponement changed; data \
         is its new representation.",
    ),
    (
        TICKETS_STATUS_CHANGE,
        "A ticket's status changed; data is its new representation.",
    ),
    (
        TICKETS_MESSAGE,
        "A message was added to a ticket; data is the ticket's representation.",
    ),
    (
        TICKETS_SECURITY_INCIDENT,
        "Personal data was found in a ticket's message or attachment; data is the ticket's \
         representation with its new label.",
    ),
];

/// Publishes an event about a ticket (its API representation); call inside the transaction.
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
