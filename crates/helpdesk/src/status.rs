//! The status page of the SaaS service (seed 003 §2 "Storingspagina"): components with their
//! current state, incidents and maintenance windows with timeline updates, and the public,
//! unauthenticated read of one tenant's page.
//!
//! The public page is chosen by `?tenant=<slug or id>` and shows only what that tenant's staff
//! published on it: its display name, components, incidents and their updates. Nothing of
//! another tenant, no ids of users or accounts, no tickets.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use loket_common::time::{from_db, to_db};
use loket_common::validate::Validator;
use loket_common::{Actor, Code, Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::{
    status_components, status_incident_updates, status_incidents, tenants,
};
use uuid::Uuid;

use crate::api::{
    Component, ComponentChanges, ComponentState, Incident, IncidentFilter, IncidentKind,
    IncidentStatus, IncidentUpdate, NewComponent, NewIncident, NewIncidentUpdate, PublicComponent,
    PublicStatus,
};
use crate::events::{
    self, STATUS_COMPONENT_UPDATE, STATUS_INCIDENT_CREATE, STATUS_INCIDENT_RESOLVE,
    STATUS_INCIDENT_UPDATE,
};
use crate::{Helpdesk, check_body, require_staff, stored};

/// Longest timeline entry.
pub const UPDATE_MAX: usize = 10_000;
/// Most components per incident.
pub const COMPONENTS_MAX: usize = 50;
/// How long a closed incident stays on the public page.
pub const RECENT_DAYS: i64 = 7;

/// A component row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = status_components)]
pub struct ComponentRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: Option<String>,
    pub state: String,
    pub position: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ComponentRow {
    fn state(&self) -> Result<ComponentState> {
        stored("state", ComponentState::parse(&self.state), &self.state)
    }

    /// The API representation.
    pub fn to_api(&self) -> Result<Component> {
        Ok(Component {
            id: ids::parse_stored(&self.id)?,
            name: self.name.clone(),
            description: self.description.clone(),
            state: self.state()?,
            position: self.position,
            updated_at: from_db(self.updated_at),
        })
    }
}

/// An incident row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = status_incidents)]
pub struct IncidentRow {
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    pub title: String,
    pub status: String,
    pub component_ids: String,
    pub scheduled_start: Option<NaiveDateTime>,
    pub scheduled_end: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl IncidentRow {
    fn kind(&self) -> Result<IncidentKind> {
        stored("kind", IncidentKind::parse(&self.kind), &self.kind)
    }
}

/// An incident update row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = status_incident_updates)]
pub struct UpdateRow {
    pub id: String,
    pub tenant_id: String,
    pub incident_id: String,
    pub status: String,
    pub body: String,
    pub created_at: NaiveDateTime,
}

fn with_updates(conn: &mut AnyConnection, row: &IncidentRow) -> Result<Incident> {
    let updates = status_incident_updates::table
        .filter(status_incident_updates::incident_id.eq(&row.id))
        .order((
            status_incident_updates::created_at.asc(),
            status_incident_updates::id.asc(),
        ))
        .select(UpdateRow::as_select())
        .load(conn)?
        .iter()
        .map(|u| {
            Ok(IncidentUpdate {
                id: ids::parse_stored(&u.id)?,
                status: stored("status", IncidentStatus::parse(&u.status), &u.status)?,
                body: u.body.clone(),
                created_at: from_db(u.created_at),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let component_ids: Vec<String> =
        serde_json::from_str(&row.component_ids).map_err(Error::internal)?;
    Ok(Incident {
        id: ids::parse_stored(&row.id)?,
        kind: row.kind()?,
        title: row.title.clone(),
        status: stored("status", IncidentStatus::parse(&row.status), &row.status)?,
        component_ids: component_ids
            .iter()
            .map(|s| ids::parse_stored(s))
            .collect::<Result<Vec<_>>>()?,
        scheduled_start: row.scheduled_start.map(from_db),
        scheduled_end: row.scheduled_end.map(from_db),
        resolved_at: row.resolved_at.map(from_db),
        updates,
        created_at: from_db(row.created_at),
        updated_at: from_db(row.updated_at),
    })
}

fn load_component(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<ComponentRow> {
    status_components::table
        .filter(status_components::tenant_id.eq(tenant.to_string()))
        .filter(status_components::id.eq(id.to_string()))
        .select(ComponentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("component"))
}

fn load_incident(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<IncidentRow> {
    status_incidents::table
        .filter(status_incidents::tenant_id.eq(tenant.to_string()))
        .filter(status_incidents::id.eq(id.to_string()))
        .select(IncidentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("incident"))
}

fn name_taken(conn: &mut AnyConnection, tenant: Uuid, name: &str, except: &str) -> Result<bool> {
    let n: i64 = status_components::table
        .filter(status_components::tenant_id.eq(tenant.to_string()))
        .filter(status_components::name.eq(name))
        .filter(status_components::id.ne(except))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

fn insert_update(
    conn: &mut AnyConnection,
    row: &IncidentRow,
    status: IncidentStatus,
    body: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    diesel::insert_into(status_incident_updates::table)
        .values((
            status_incident_updates::id.eq(ids::new_id().to_string()),
            status_incident_updates::tenant_id.eq(&row.tenant_id),
            status_incident_updates::incident_id.eq(&row.id),
            status_incident_updates::status.eq(status.as_str()),
            status_incident_updates::body.eq(body),
            status_incident_updates::created_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    Ok(())
}

fn emit_component(
    conn: &mut AnyConnection,
    tenant: Uuid,
    c: &Component,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<()> {
    events::emit(conn, STATUS_COMPONENT_UPDATE, tenant, c.id, c, actor, at)
}

/// Finds a tenant by slug or id.
fn tenant_by_ref(conn: &mut AnyConnection, r: &str) -> Result<(String, String)> {
    let r = r.trim();
    let mut q = tenants::table
        .select((tenants::id, tenants::name))
        .into_boxed();
    q = match Uuid::parse_str(r) {
        Ok(id) => q.filter(tenants::id.eq(id.to_string())),
        Err(_) => q.filter(tenants::slug.eq(r.to_lowercase())),
    };
    q.first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("status page"))
}

impl Helpdesk {
    /// Adds a component to the status page (staff).
    pub async fn create_component(&self, p: &Principal, new: NewComponent) -> Result<Component> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        v.text("name", &new.name, 100);
        if let Some(d) = &new.description {
            v.text("description", d, 500);
        }
        if let Some(pos) = new.position
            && !(0..=1000).contains(&pos)
        {
            v.fail("position", "must be between 0 and 1000");
        }
        v.finish()?;
        let (tenant, actor, now, p) = (p.tenant_id, p.actor(), self.clock.now(), p.clone());
        self.db
            .write(move |c| {
                require_staff(c, &p)?;
                let name = new.name.trim();
                if name_taken(c, tenant, name, "")? {
                    return Err(Error::conflict(format!(
                        "A component named `{name}` already exists."
                    )));
                }
                let id = ids::new_id();
                let at = to_db(now);
                diesel::insert_into(status_components::table)
                    .values((
                        status_components::id.eq(id.to_string()),
                        status_components::tenant_id.eq(tenant.to_string()),
                        status_components::name.eq(name),
                        status_components::description
                            .eq(new.description.as_deref().map(str::trim)),
                        status_components::state
                            .eq(new.state.unwrap_or(ComponentState::Operational).as_str()),
                        status_components::position.eq(new.position.unwrap_or(0)),
                        status_components::created_at.eq(at),
                        status_components::updated_at.eq(at),
                    ))
                    .execute(c)?;
                let comp = load_component(c, tenant, id)?.to_api()?;
                emit_component(c, tenant, &comp, actor, now)?;
                Ok(comp)
            })
            .await
    }

    /// The tenant's components, in page order.
    pub async fn list_components(&self, p: &Principal) -> Result<Vec<Component>> {
        p.require(Permission::TicketsRead)?;
        let tenant = p.tenant_id;
        self.db
            .read(move |c| {
                status_components::table
                    .filter(status_components::tenant_id.eq(tenant.to_string()))
                    .order((
                        status_components::position.asc(),
                        status_components::name.asc(),
                    ))
                    .select(ComponentRow::as_select())
                    .load(c)?
                    .iter()
                    .map(ComponentRow::to_api)
                    .collect()
            })
            .await
    }

    /// Changes a component: name, description, state, position (staff).
    pub async fn update_component(
        &self,
        p: &Principal,
        id: Uuid,
        ch: ComponentChanges,
    ) -> Result<Component> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        if let Some(n) = &ch.name {
            v.text("name", n, 100);
        }
        if let Some(Some(d)) = &ch.description {
            v.text("description", d, 500);
        }
        if let Some(pos) = ch.position
            && !(0..=1000).contains(&pos)
        {
            v.fail("position", "must be between 0 and 1000");
        }
        v.finish()?;
        let (tenant, actor, now, p) = (p.tenant_id, p.actor(), self.clock.now(), p.clone());
        self.db
            .write(move |c| {
                require_staff(c, &p)?;
                let row = load_component(c, tenant, id)?;
                let name = ch.name.as_deref().map(str::trim).unwrap_or(&row.name);
                if name != row.name && name_taken(c, tenant, name, &row.id)? {
                    return Err(Error::conflict(format!(
                        "A component named `{name}` already exists."
                    )));
                }
                let description = match &ch.description {
                    Some(d) => d.as_deref().map(str::trim).map(str::to_owned),
                    None => row.description.clone(),
                };
                diesel::update(status_components::table.find(&row.id))
                    .set((
                        status_components::name.eq(name),
                        status_components::description.eq(description),
                        status_components::state
                            .eq(ch.state.map(ComponentState::as_str).unwrap_or(&row.state)),
                        status_components::position.eq(ch.position.unwrap_or(row.position)),
                        status_components::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                let comp = load_component(c, tenant, id)?.to_api()?;
                emit_component(c, tenant, &comp, actor, now)?;
                Ok(comp)
            })
            .await
    }

    /// Publishes an incident or a maintenance window with its first timeline entry (staff).
    pub async fn create_incident(&self, p: &Principal, new: NewIncident) -> Result<Incident> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        v.text("title", &new.title, 200);
        check_body(&mut v, "body", &new.body, UPDATE_MAX);
        let status = new.status.unwrap_or(match new.kind {
            IncidentKind::Incident => IncidentStatus::Investigating,
            IncidentKind::Maintenance => IncidentStatus::Scheduled,
        });
        if !status.fits(new.kind) {
            v.fail(
                "status",
                format!("does not fit the kind `{}`", new.kind.as_str()),
            );
        }
        if new.component_ids.len() > COMPONENTS_MAX {
            v.fail(
                "component_ids",
                format!("must hold at most {COMPONENTS_MAX} components"),
            );
        }
        match (new.kind, new.scheduled_start, new.scheduled_end) {
            (IncidentKind::Maintenance, Some(s), Some(e)) if e > s => {}
            (IncidentKind::Maintenance, Some(_), Some(_)) => {
                v.fail("scheduled_end", "must be after `scheduled_start`")
            }
            (IncidentKind::Maintenance, _, _) => v.fail(
                "scheduled_start",
                "maintenance needs `scheduled_start` and `scheduled_end`",
            ),
            (IncidentKind::Incident, None, None) => {}
            (IncidentKind::Incident, _, _) => {
                v.fail("scheduled_start", "only maintenance windows are scheduled")
            }
        }
        v.finish()?;
        let (tenant, actor, now, p) = (p.tenant_id, p.actor(), self.clock.now(), p.clone());
        self.db
            .write(move |c| {
                require_staff(c, &p)?;
                let mut comps: Vec<String> = Vec::new();
                for cid in &new.component_ids {
                    let known: i64 = status_components::table
                        .filter(status_components::tenant_id.eq(tenant.to_string()))
                        .filter(status_components::id.eq(cid.to_string()))
                        .count()
                        .get_result(c)?;
                    if known == 0 {
                        return Err(Error::invalid(
                            "component_ids",
                            format!("no component {cid} on this status page"),
                        ));
                    }
                    if !comps.contains(&cid.to_string()) {
                        comps.push(cid.to_string());
                    }
                }
                let id = ids::new_id();
                let at = to_db(now);
                diesel::insert_into(status_incidents::table)
                    .values((
                        status_incidents::id.eq(id.to_string()),
                        status_incidents::tenant_id.eq(tenant.to_string()),
                        status_incidents::kind.eq(new.kind.as_str()),
                        status_incidents::title.eq(new.title.trim()),
                        status_incidents::status.eq(status.as_str()),
                        status_incidents::component_ids
                            .eq(serde_json::to_string(&comps).map_err(Error::internal)?),
                        status_incidents::scheduled_start.eq(new.scheduled_start.map(to_db)),
                        status_incidents::scheduled_end.eq(new.scheduled_end.map(to_db)),
                        status_incidents::resolved_at.eq(status.closes().then_some(at)),
                        status_incidents::created_at.eq(at),
                        status_incidents::updated_at.eq(at),
                    ))
                    .execute(c)?;
                let row = load_incident(c, tenant, id)?;
                insert_update(c, &row, status, &new.body, now)?;
                let inc = with_updates(c, &row)?;
                events::emit(c, STATUS_INCIDENT_CREATE, tenant, id, &inc, actor, now)?;
                Ok(inc)
            })
            .await
    }

    /// The tenant's incidents and maintenance windows, newest first.
    pub async fn list_incidents(
        &self,
        p: &Principal,
        filter: &IncidentFilter,
        page: &PageQuery,
    ) -> Result<Page<Incident>> {
        p.require(Permission::TicketsRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let (tenant, filter) = (p.tenant_id, filter.clone());
        self.db
            .read(move |c| {
                let mut q = status_incidents::table
                    .filter(status_incidents::tenant_id.eq(tenant.to_string()))
                    .order(status_incidents::id.desc())
                    .limit(i64::from(limit) + 1)
                    .select(IncidentRow::as_select())
                    .into_boxed();
                if let Some(k) = filter.kind {
                    q = q.filter(status_incidents::kind.eq(k.as_str()));
                }
                match filter.open {
                    Some(true) => q = q.filter(status_incidents::resolved_at.is_null()),
                    Some(false) => q = q.filter(status_incidents::resolved_at.is_not_null()),
                    None => {}
                }
                if let Some(after) = after {
                    q = q.filter(status_incidents::id.lt(after));
                }
                let page = Page::from_rows(q.load(c)?, limit, |r: &IncidentRow| r.id.clone());
                let items = page
                    .items
                    .iter()
                    .map(|r| with_updates(c, r))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Page {
                    items,
                    next_cursor: page.next_cursor,
                })
            })
            .await
    }

    /// One incident with its timeline.
    pub async fn get_incident(&self, p: &Principal, id: Uuid) -> Result<Incident> {
        p.require(Permission::TicketsRead)?;
        let tenant = p.tenant_id;
        self.db
            .read(move |c| {
                let row = load_incident(c, tenant, id)?;
                with_updates(c, &row)
            })
            .await
    }

    /// Adds a timeline entry, possibly changing the status; `resolved`/`completed` close the
    /// incident (`Status.IncidentResolve`). A closed incident takes no more updates (409).
    pub async fn add_incident_update(
        &self,
        p: &Principal,
        id: Uuid,
        new: NewIncidentUpdate,
    ) -> Result<Incident> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        check_body(&mut v, "body", &new.body, UPDATE_MAX);
        v.finish()?;
        let (tenant, actor, now, p) = (p.tenant_id, p.actor(), self.clock.now(), p.clone());
        self.db
            .write(move |c| {
                require_staff(c, &p)?;
                let row = load_incident(c, tenant, id)?;
                let kind = row.kind()?;
                if row.resolved_at.is_some() {
                    return Err(Error::new(
                        Code::InvalidState,
                        "The incident is closed; open a new one.",
                    ));
                }
                let current = stored("status", IncidentStatus::parse(&row.status), &row.status)?;
                let status = new.status.unwrap_or(current);
                if !status.fits(kind) {
                    return Err(Error::invalid(
                        "status",
                        format!("does not fit the kind `{}`", kind.as_str()),
                    ));
                }
                let at = to_db(now);
                diesel::update(status_incidents::table.find(&row.id))
                    .set((
                        status_incidents::status.eq(status.as_str()),
                        status_incidents::resolved_at.eq(status.closes().then_some(at)),
                        status_incidents::updated_at.eq(at),
                    ))
                    .execute(c)?;
                insert_update(c, &row, status, &new.body, now)?;
                let row = load_incident(c, tenant, id)?;
                let inc = with_updates(c, &row)?;
                events::emit(c, STATUS_INCIDENT_UPDATE, tenant, inc.id, &inc, actor, now)?;
                if status.closes() {
                    events::emit(c, STATUS_INCIDENT_RESOLVE, tenant, inc.id, &inc, actor, now)?;
                }
                Ok(inc)
            })
            .await
    }

    /// The public status page of the tenant named by slug or id (no token): 404 for an unknown
    /// tenant.
    pub async fn public_status(&self, tenant_ref: String) -> Result<PublicStatus> {
        let now = self.clock.now();
        self.db
            .read(move |c| {
                let (tenant_id, name) = tenant_by_ref(c, &tenant_ref)?;
                let components = status_components::table
                    .filter(status_components::tenant_id.eq(&tenant_id))
                    .order((
                        status_components::position.asc(),
                        status_components::name.asc(),
                    ))
                    .select(ComponentRow::as_select())
                    .load(c)?;
                let mut state = ComponentState::Operational;
                let mut out = Vec::with_capacity(components.len());
                for comp in &components {
                    let s = comp.state()?;
                    if s.severity() > state.severity() {
                        state = s;
                    }
                    out.push(PublicComponent {
                        id: ids::parse_stored(&comp.id)?,
                        name: comp.name.clone(),
                        description: comp.description.clone(),
                        state: s,
                    });
                }
                let since = to_db(now - Duration::days(RECENT_DAYS));
                let rows = status_incidents::table
                    .filter(status_incidents::tenant_id.eq(&tenant_id))
                    .filter(
                        status_incidents::resolved_at
                            .is_null()
                            .or(status_incidents::resolved_at.ge(since)),
                    )
                    .order(status_incidents::id.desc())
                    .limit(100)
                    .select(IncidentRow::as_select())
                    .load(c)?;
                let (mut active, mut scheduled, mut recent) = (Vec::new(), Vec::new(), Vec::new());
                for r in &rows {
                    let inc = with_updates(c, r)?;
                    if r.resolved_at.is_some() {
                        recent.push(inc);
                    } else if inc.status == IncidentStatus::Scheduled
                        && inc.scheduled_start.is_some_and(|s| s > now)
                    {
                        scheduled.push(inc);
                    } else {
                        active.push(inc);
                    }
                }
                scheduled.sort_by_key(|i| i.scheduled_start);
                Ok(PublicStatus {
                    name,
                    state,
                    components: out,
                    active,
                    scheduled,
                    recent,
                })
            })
            .await
    }
}
