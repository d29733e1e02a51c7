//! Staff: the professionals who hold consultations. A staff row also serializes bookings:
//! [`lock_for_booking`] bumps its `booking_version` at the start of a transaction that books
//! it, so concurrent bookings of one staff member wait for each other (a row lock on
//! PostgreSQL; SQLite already runs one writer at a time) and the overlap check that follows sees
//! every committed appointment.

use diesel::prelude::*;
use loket_common::time::to_db;
use loket_common::validate::Validator;
use loket_common::{Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::staff;
use uuid::Uuid;

use crate::api::{NewStaff, Staff, StaffChanges};
use crate::employees::in_use;
use crate::model::StaffRow;
use crate::{AgendaCore, check};

/// What the other agenda crates need to know about a staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffInfo {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub active: bool,
}

fn load(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<StaffRow> {
    staff::table
        .filter(staff::tenant_id.eq(tenant.to_string()))
        .filter(staff::id.eq(id.to_string()))
        .select(StaffRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("staff member"))
}

/// The staff member; 404 when the tenant has none with this id (R-TEN).
pub fn info(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<StaffInfo> {
    let row = load(conn, tenant, id)?;
    Ok(StaffInfo {
        id,
        name: row.name,
        email: row.email,
        mobile: row.mobile,
        active: row.active,
    })
}

/// Serializes bookings of one staff member: call first in a transaction that creates or moves
/// an appointment of `id`. Holds the staff row's lock until the transaction ends. 404 when the
/// tenant has no such staff member.
pub fn lock_for_booking(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<()> {
    let n = diesel::update(
        staff::table
            .filter(staff::tenant_id.eq(tenant.to_string()))
            .filter(staff::id.eq(id.to_string())),
    )
    .set(staff::booking_version.eq(staff::booking_version + 1))
    .execute(conn)?;
    if n == 1 {
        Ok(())
    } else {
        Err(Error::not_found("staff member"))
    }
}

/// The names of the given staff members (unknown ids are left out).
pub fn names(conn: &mut AnyConnection, tenant: Uuid, ids_: &[Uuid]) -> Result<Vec<(Uuid, String)>> {
    let rows: Vec<(String, String)> = staff::table
        .filter(staff::tenant_id.eq(tenant.to_string()))
        .filter(staff::id.eq_any(ids_.iter().map(Uuid::to_string)))
        .select((staff::id, staff::name))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, name)| Ok((ids::parse_stored(&id)?, name)))
        .collect()
}

fn check_reach(v: &mut Validator, email: Option<&str>, mobile: Option<&str>) {
    if let Some(e) = email {
        check::email(v, "email", e);
    }
    if let Some(m) = mobile {
        check::mobile(v, "mobile", m);
    }
}

impl AgendaCore {
    /// The tenant's staff, oldest first.
    pub async fn list_staff(&self, p: &Principal, page: &PageQuery) -> Result<Page<Staff>> {
        p.require(Permission::AgendaRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id.to_string();
        let rows = self
            .db
            .read(move |c| {
                let mut q = staff::table
                    .filter(staff::tenant_id.eq(tenant))
                    .order(staff::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(StaffRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(staff::id.gt(after));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), StaffRow::to_api)
    }

    /// One staff member.
    pub async fn staff_member(&self, p: &Principal, id: Uuid) -> Result<Staff> {
        p.require(Permission::AgendaRead)?;
        let tenant = p.tenant_id;
        self.db.read(move |c| load(c, tenant, id)?.to_api()).await
    }

    /// Creates a staff member.
    pub async fn create_staff(&self, p: &Principal, new: NewStaff) -> Result<Staff> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        check::text(&mut v, "name", &new.name, check::NAME_MAX);
        check_reach(&mut v, new.email.as_deref(), new.mobile.as_deref());
        v.finish()?;
        let (tenant, now) = (p.tenant_id, self.clock.now());
        self.db
            .write(move |c| {
                let id = ids::new_id();
                let at = to_db(now);
                diesel::insert_into(staff::table)
                    .values((
                        staff::id.eq(id.to_string()),
                        staff::tenant_id.eq(tenant.to_string()),
                        staff::name.eq(check::clean(&new.name)),
                        staff::role.eq(new.role.as_str()),
                        staff::email.eq(&new.email),
                        staff::mobile.eq(&new.mobile),
                        staff::active.eq(new.active.unwrap_or(true)),
                        staff::booking_version.eq(0_i64),
                        staff::created_at.eq(at),
                        staff::updated_at.eq(at),
                    ))
                    .execute(c)?;
                load(c, tenant, id)?.to_api()
            })
            .await
    }

    /// Changes a staff member; only the fields present change.
    pub async fn update_staff(
        &self,
        p: &Principal,
        id: Uuid,
        changes: StaffChanges,
    ) -> Result<Staff> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        if let Some(n) = &changes.name {
            check::text(&mut v, "name", n, check::NAME_MAX);
        }
        check_reach(
            &mut v,
            changes.email.clone().flatten().as_deref(),
            changes.mobile.clone().flatten().as_deref(),
        );
        v.finish()?;
        let (tenant, now) = (p.tenant_id, self.clock.now());
        self.db
            .write(move |c| {
                load(c, tenant, id)?;
                diesel::update(staff::table.find(id.to_string()))
                    .set((
                        changes
                            .name
                            .as_deref()
                            .map(|n| staff::name.eq(check::clean(n))),
                        changes.role.map(|r| staff::role.eq(r.as_str())),
                        changes.email.map(|e| staff::email.eq(e)),
                        changes.mobile.map(|m| staff::mobile.eq(m)),
                        changes.active.map(|a| staff::active.eq(a)),
                        staff::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                load(c, tenant, id)?.to_api()
            })
            .await
    }

    /// Deletes a staff member (with their availabilities) that no appointment refers to.
    pub async fn delete_staff(&self, p: &Principal, id: Uuid) -> Result<()> {
        p.require(Permission::AgendaWrite)?;
        let tenant = p.tenant_id;
        self.db
            .write(move |c| {
                load(c, tenant, id)?;
                diesel::delete(staff::table.find(id.to_string()))
                    .execute(c)
                    .map_err(in_use("staff member"))?;
                Ok(())
            })
            .await
    }
}
