//! The `Tickets.*` domain events, written to the outbox with the change.

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

/// Publishes an event (the one outbox writer every domain uses).
pub use loket_storage::outbox::emit;

/// The events of a new message on `ticket`: `topic` (`Tickets.Message`, or `Tickets.Create` for
/// a ticket the message opened), then `Tickets.StatusChange` and `Tickets.SecurityIncident` when
/// the message changed the status or added an incident label.
#[allow(clippy::too_many_arguments)]
pub fn emit_message_events(
    conn: &mut loket_storage::AnyConnection,
    topic: &'static str,
    tenant_id: uuid::Uuid,
    ticket: &crate::api::Ticket,
    status_changed: bool,
    incident: bool,
    actor: loket_common::Actor,
    at: chrono::DateTime<chrono::Utc>,
) -> loket_common::Result<()> {
    emit(conn, topic, tenant_id, ticket.id, ticket, actor, at)?;
    if status_changed {
        emit(
            conn,
            TICKETS_STATUS_CHANGE,
            tenant_id,
            ticket.id,
            ticket,
            actor,
            at,
        )?;
    }
    if incident {
        emit(
            conn,
            TICKETS_SECURITY_INCIDENT,
            tenant_id,
            ticket.id,
            ticket,
            actor,
            at,
        )?;
    }
    Ok(())
}
