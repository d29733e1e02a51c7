//! The transactional outbox. Services append domain events with [`publish`] inside the same
//! transaction as the change they describe, so an event exists exactly when its change does;
//! the webhook dispatcher reads them from here.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use loket_common::{Actor, Result, ids, time};
use uuid::Uuid;

use crate::AnyConnection;
use crate::schema::outbox_events;

/// A domain event to publish.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The tenant the object belongs to.
    pub tenant_id: Uuid,
    /// `Resource.Action`, e.g. `Accounts.Create`.
    pub topic: &'static str,
    /// The object the event is about.
    pub object_id: Uuid,
    /// The object's API representation (what `GET` would return).
    pub payload: serde_json::Value,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The API account responsible.
    pub actor_api_account_id: Option<Uuid>,
    /// The impersonated user on whose behalf the account acted.
    pub actor_user_id: Option<Uuid>,
}

/// A stored event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox_events)]
pub struct EventRow {
    /// Event id.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Topic.
    pub topic: String,
    /// Object id.
    pub object_id: String,
    /// JSON payload.
    pub payload: String,
    /// When it happened (UTC).
    pub occurred_at: chrono::NaiveDateTime,
    /// Responsible API account.
    pub actor_api_account_id: Option<String>,
    /// Impersonated user.
    pub actor_user_id: Option<String>,
    /// When the dispatcher fanned it out.
    pub dispatched_at: Option<chrono::NaiveDateTime>,
}

/// Publishes an event about `object` (its API representation) by `actor`; call inside the
/// transaction that makes the change.
pub fn emit(
    conn: &mut AnyConnection,
    topic: &'static str,
    tenant_id: Uuid,
    object_id: Uuid,
    object: &impl serde::Serialize,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<()> {
    let payload = serde_json::to_value(object).map_err(loket_common::Error::internal)?;
    publish(
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

/// Appends an event; call inside the transaction that makes the change. Returns the event id.
pub fn publish(conn: &mut AnyConnection, e: &NewEvent) -> Result<Uuid> {
    let id = ids::new_id();
    diesel::insert_into(outbox_events::table)
        .values((
            outbox_events::id.eq(id.to_string()),
            outbox_events::tenant_id.eq(e.tenant_id.to_string()),
            outbox_events::topic.eq(e.topic),
            outbox_events::object_id.eq(e.object_id.to_string()),
            outbox_events::payload.eq(e.payload.to_string()),
            outbox_events::occurred_at.eq(time::to_db(e.occurred_at)),
            outbox_events::actor_api_account_id.eq(e.actor_api_account_id.map(|u| u.to_string())),
            outbox_events::actor_user_id.eq(e.actor_user_id.map(|u| u.to_string())),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Events of a tenant, oldest first (tests and diagnostics).
pub fn list_for_tenant(conn: &mut AnyConnection, tenant_id: Uuid) -> Result<Vec<EventRow>> {
    Ok(outbox_events::table
        .filter(outbox_events::tenant_id.eq(tenant_id.to_string()))
        .order(outbox_events::id.asc())
        .select(EventRow::as_select())
        .load(conn)?)
}
