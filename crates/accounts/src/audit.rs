//! The audit trail: every write records who did it (the API account, and for impersonated
//! calls the user on whose behalf), in the same transaction as the change.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use loket_common::{Actor, Page, PageQuery, Result, ids, time};
use loket_storage::AnyConnection;
use loket_storage::schema::audit_events;
use uuid::Uuid;

use crate::api::{AuditEvent, AuditFilter};
use crate::model::AuditEventRow;

/// One change to record.
#[derive(Debug)]
pub struct Change<'a> {
    /// The tenant the object belongs to.
    pub tenant_id: Uuid,
    /// Who did it.
    pub actor: Actor,
    /// `users.create`, …
    pub action: &'a str,
    /// `user`, `api_account`, `tenant`, …
    pub object_type: &'a str,
    /// The object.
    pub object_id: Uuid,
    /// What changed; never secrets.
    pub details: serde_json::Value,
    /// When.
    pub at: DateTime<Utc>,
}

/// Records a change; call inside the transaction that makes it.
pub fn record(conn: &mut AnyConnection, c: &Change<'_>) -> Result<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(ids::new_id().to_string()),
            audit_events::tenant_id.eq(c.tenant_id.to_string()),
            audit_events::actor_api_account_id.eq(c.actor.api_account_id.map(|u| u.to_string())),
            audit_events::actor_user_id.eq(c.actor.user_id.map(|u| u.to_string())),
            audit_events::action.eq(c.action),
            audit_events::object_type.eq(c.object_type),
            audit_events::object_id.eq(c.object_id.to_string()),
            audit_events::occurred_at.eq(time::to_db(c.at)),
            audit_events::details.eq(c.details.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The tenant's audit events, newest first, filtered.
pub fn list(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    filter: &AuditFilter,
    page: &PageQuery,
) -> Result<Page<AuditEvent>> {
    let limit = page.limit()?;
    let mut q = audit_events::table
        .filter(audit_events::tenant_id.eq(tenant_id.to_string()))
        .select(AuditEventRow::as_select())
        .order(audit_events::id.desc())
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(after) = page.after()? {
        q = q.filter(audit_events::id.lt(after));
    }
    if let Some(actor) = filter.actor {
        let a = actor.to_string();
        q = q.filter(
            audit_events::actor_api_account_id
                .eq(a.clone())
                .or(audit_events::actor_user_id.eq(a)),
        );
    }
    if let Some(object) = filter.object_id {
        q = q.filter(audit_events::object_id.eq(object.to_string()));
    }
    if let Some(from) = filter.from {
        q = q.filter(audit_events::occurred_at.ge(time::to_db(from)));
    }
    if let Some(to) = filter.to {
        q = q.filter(audit_events::occurred_at.lt(time::to_db(to)));
    }
    let rows = q.load(conn)?;
    Page::try_from_rows(rows, limit, |r| r.id.clone(), AuditEventRow::to_api)
}
