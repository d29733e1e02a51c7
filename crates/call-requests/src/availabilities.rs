//! Staff availabilities: the time blocks in which a staff member can be booked, optionally
//! limited to some consultation types.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use loket_agenda_core::{check, staff};
use loket_common::time::to_db;
use loket_common::validate::Validator;
use loket_common::{Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_consultation_types::types;
use loket_storage::AnyConnection;
use loket_storage::schema::availabilities;
use uuid::Uuid;

use crate::CallRequests;
use crate::api::{Availability, AvailabilityFilter, NewAvailability};
use crate::model::AvailabilityRow;
use crate::planning::Block;

/// Longest availability block.
pub const MAX_DAYS: i64 = 7;

/// Loads an availability of the tenant (404 otherwise).
pub fn load(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<AvailabilityRow> {
    availabilities::table
        .filter(availabilities::tenant_id.eq(tenant.to_string()))
        .filter(availabilities::id.eq(id.to_string()))
        .select(AvailabilityRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("availability"))
}

fn load_of_staff(
    conn: &mut AnyConnection,
    tenant: Uuid,
    staff_id: Uuid,
    id: Uuid,
) -> Result<AvailabilityRow> {
    let row = load(conn, tenant, id)?;
    if row.staff_id != staff_id.to_string() {
        return Err(Error::not_found("availability"));
    }
    Ok(row)
}

/// The blocks in which consultations of `type_id` can be planned within `[from, to)`, of
/// active staff, optionally only of one staff member and at one location.
pub fn blocks(
    conn: &mut AnyConnection,
    tenant: Uuid,
    type_id: Uuid,
    only_staff: Option<Uuid>,
    only_location: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Block>> {
    let mut q = availabilities::table
        .filter(availabilities::tenant_id.eq(tenant.to_string()))
        .filter(availabilities::ends_at.gt(to_db(from)))
        .filter(availabilities::starts_at.lt(to_db(to)))
        .order((availabilities::starts_at.asc(), availabilities::id.asc()))
        .select(AvailabilityRow::as_select())
        .into_boxed();
    if let Some(s) = only_staff {
        q = q.filter(availabilities::staff_id.eq(s.to_string()));
    }
    if let Some(l) = only_location {
        q = q.filter(availabilities::location.eq(l.to_owned()));
    }
    let rows: Vec<AvailabilityRow> = q.load(conn)?;
    let mut out = Vec::new();
    let mut active = std::collections::HashMap::new();
    for r in rows {
        if !r.allows(type_id)? {
            continue;
        }
        let staff_id = ids::parse_stored(&r.staff_id)?;
        let is_active = match active.get(&staff_id) {
            Some(a) => *a,
            None => {
                let a = staff::info(conn, tenant, staff_id)?.active;
                active.insert(staff_id, a);
                a
            }
        };
        if !is_active {
            continue;
        }
        out.push(Block {
            availability_id: ids::parse_stored(&r.id)?,
            staff_id,
            starts_at: loket_common::time::from_db(r.starts_at),
            ends_at: loket_common::time::from_db(r.ends_at),
            location: r.location,
        });
    }
    Ok(out)
}

fn cursor_key(r: &AvailabilityRow) -> String {
    format!("{}|{}", r.starts_at.and_utc().timestamp_micros(), r.id)
}

fn parse_cursor(s: &str) -> Option<(NaiveDateTime, String)> {
    let (ts, id) = s.split_once('|')?;
    let at = DateTime::<Utc>::from_timestamp_micros(ts.parse().ok()?)?;
    Some((at.naive_utc(), id.to_owned()))
}

impl CallRequests {
    /// A staff member's availabilities by start time, filtered.
    pub async fn list_availabilities(
        &self,
        p: &Principal,
        staff_id: Uuid,
        filter: &AvailabilityFilter,
        page: &PageQuery,
    ) -> Result<Page<Availability>> {
        p.require(Permission::AgendaRead)?;
        let limit = page.limit()?;
        let after = page.after()?.as_deref().and_then(parse_cursor);
        let tenant = p.tenant_id;
        let filter = filter.clone();
        let rows = self
            .db
            .read(move |c| {
                staff::info(c, tenant, staff_id)?;
                let mut q = availabilities::table
                    .filter(availabilities::tenant_id.eq(tenant.to_string()))
                    .filter(availabilities::staff_id.eq(staff_id.to_string()))
                    .order((availabilities::starts_at.asc(), availabilities::id.asc()))
                    .limit(i64::from(limit) + 1)
                    .select(AvailabilityRow::as_select())
                    .into_boxed();
                if let Some(from) = filter.from {
                    q = q.filter(availabilities::ends_at.gt(to_db(from)));
                }
                if let Some(to) = filter.to {
                    q = q.filter(availabilities::starts_at.lt(to_db(to)));
                }
                if let Some((at, id)) = after {
                    q = q.filter(
                        availabilities::starts_at
                            .gt(at)
                            .or(availabilities::starts_at
                                .eq(at)
                                .and(availabilities::id.gt(id))),
                    );
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, cursor_key, AvailabilityRow::to_api)
    }

    /// One availability of a staff member.
    pub async fn availability(
        &self,
        p: &Principal,
        staff_id: Uuid,
        id: Uuid,
    ) -> Result<Availability> {
        p.require(Permission::AgendaRead)?;
        let tenant = p.tenant_id;
        self.db
            .read(move |c| load_of_staff(c, tenant, staff_id, id)?.to_api())
            .await
    }

    /// Adds an availability to a staff member.
    pub async fn create_availability(
        &self,
        p: &Principal,
        staff_id: Uuid,
        new: NewAvailability,
    ) -> Result<Availability> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        if let Some(l) = &new.location {
            check::text(&mut v, "location", l, check::NAME_MAX);
        }
        let mut type_ids = new.consultation_type_ids.clone().unwrap_or_default();
        if type_ids.len() > 50 {
            v.fail("consultation_type_ids", "must hold at most 50 ids");
        }
        v.finish()?;
        type_ids.sort_unstable();
        type_ids.dedup();
        let tenant = p.tenant_id;
        let now = self.clock.now();
        self.db
            .write(move |c| {
                staff::info(c, tenant, staff_id)?;
                let known = types::infos(c, tenant, &type_ids)?;
                if known.len() != type_ids.len() {
                    return Err(Error::not_found("consultation type"));
                }
                if new.ends_at <= new.starts_at {
                    return Err(Error::invalid("ends_at", "must be after starts_at"));
                }
                if new.ends_at - new.starts_at > Duration::days(MAX_DAYS) {
                    return Err(Error::invalid(
                        "ends_at",
                        format!("must be at most {MAX_DAYS} days after starts_at"),
                    ));
                }
                let id = ids::new_id();
                diesel::insert_into(availabilities::table)
                    .values((
                        availabilities::id.eq(id.to_string()),
                        availabilities::tenant_id.eq(tenant.to_string()),
                        availabilities::staff_id.eq(staff_id.to_string()),
                        availabilities::starts_at.eq(to_db(new.starts_at)),
                        availabilities::ends_at.eq(to_db(new.ends_at)),
                        availabilities::location.eq(new.location.as_deref().map(check::clean)),
                        availabilities::consultation_type_ids
                            .eq(serde_json::to_string(&type_ids).map_err(Error::internal)?),
                        availabilities::created_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                load(c, tenant, id)?.to_api()
            })
            .await
    }

    /// Removes an availability (appointments already booked in it stay).
    pub async fn delete_availability(&self, p: &Principal, staff_id: Uuid, id: Uuid) -> Result<()> {
        p.require(Permission::AgendaWrite)?;
        let tenant = p.tenant_id;
        self.db
            .write(move |c| {
                let row = load_of_staff(c, tenant, staff_id, id)?;
                diesel::delete(availabilities::table.find(&row.id)).execute(c)?;
                Ok(())
            })
            .await
    }
}
