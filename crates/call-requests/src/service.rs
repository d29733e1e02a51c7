//! Call request operations: create (optionally "save and plan"), change, cancel, calculate
//! availabilities, and book a slot — each one transaction that emits its events.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use loket_agenda_core::events::{self, Topic};
use loket_agenda_core::{check, staff};
use loket_appointments::service::{self as appointments, Booking, Selection};
use loket_common::time::{from_db, to_db};
use loket_common::validate::Validator;
use loket_common::{Code, Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_consultation_types::{parameters, rules as type_rules, types};
use loket_storage::AnyConnection;
use loket_storage::schema::call_requests;
use uuid::Uuid;

use crate::api::{
    BookSlot, Booked, CallRequest, CallRequestChanges, CallRequestFilter, CallRequestStatus,
    NewCallRequest, Planning, SavedCallRequest, Slot,
};
use crate::model::CallRequestRow;
use crate::planning::{self, Block};
use crate::{CallRequests, availabilities};

/// How far ahead availabilities are searched when a request has no deadline (days).
pub const DEFAULT_HORIZON_DAYS: i64 = 56;
/// Most slots returned by availability calculation.
pub const MAX_SLOTS: usize = 50;
/// The warning when nothing matched (seed 000 §3.1.5.2).
pub const NO_MATCH: &str =
    "No availabilities found; this call request stays open and can be planned by hand.";

/// Loads a call request of the tenant (404 otherwise).
pub fn load(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<CallRequestRow> {
    call_requests::table
        .filter(call_requests::tenant_id.eq(tenant.to_string()))
        .filter(call_requests::id.eq(id.to_string()))
        .select(CallRequestRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("call request"))
}

/// Takes the call request's row lock for the transaction (see the appointments crate's
/// `repo::lock`), then loads it; 404 for another tenant's id.
pub fn lock(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<CallRequestRow> {
    let n = diesel::update(
        call_requests::table
            .filter(call_requests::tenant_id.eq(tenant.to_string()))
            .filter(call_requests::id.eq(id.to_string())),
    )
    .set(call_requests::updated_at.eq(call_requests::updated_at))
    .execute(conn)?;
    if n == 0 {
        return Err(Error::not_found("call request"));
    }
    load(conn, tenant, id)
}

fn not_open(row: &CallRequestRow) -> Error {
    Error::new(
        Code::InvalidState,
        format!(
            "The call request is {}; only an open call request can be changed, planned or \
             cancelled.",
            row.status
        ),
    )
}

/// 409 `autoplan-disabled` unless the tenant switched automatic planning on.
fn require_autoplan(conn: &mut AnyConnection, tenant: Uuid) -> Result<()> {
    if parameters::autoplan_enabled(conn, tenant)? {
        Ok(())
    } else {
        Err(Error::new(
            Code::AutoplanDisabled,
            "Automatic planning is off: the product parameter \
             `CalculateAvailabilitiesForAppointmentRequest` is 0.",
        ))
    }
}

/// The free slots for an open call request.
fn plan(
    conn: &mut AnyConnection,
    tenant: Uuid,
    row: &CallRequestRow,
    now: DateTime<Utc>,
) -> Result<Planning> {
    let t = types::info(conn, tenant, ids::parse_stored(&row.consultation_type_id)?)?;
    let to = match row.deadline {
        Some(d) => from_db(d),
        None => now + Duration::days(DEFAULT_HORIZON_DAYS),
    };
    let only_staff = row
        .preferred_staff_id
        .as_deref()
        .map(ids::parse_stored)
        .transpose()?;
    let blocks: Vec<Block> = if to > now {
        availabilities::blocks(
            conn,
            tenant,
            t.id,
            only_staff,
            row.preferred_location.as_deref(),
            now,
            to,
        )?
    } else {
        Vec::new()
    };
    let mut staff_ids: Vec<Uuid> = blocks.iter().map(|b| b.staff_id).collect();
    staff_ids.sort_unstable();
    staff_ids.dedup();
    let mut busy = std::collections::HashMap::new();
    for s in &staff_ids {
        busy.insert(*s, appointments::busy(conn, tenant, *s, now, to)?);
    }
    let names: std::collections::HashMap<Uuid, String> = staff::names(conn, tenant, &staff_ids)?
        .into_iter()
        .collect();
    let slots = planning::free_slots(
        &blocks,
        |s| busy.get(&s).cloned().unwrap_or_default(),
        Duration::minutes(t.duration_minutes),
        now,
        to,
        MAX_SLOTS,
    );
    let availabilities: Vec<Slot> = slots
        .into_iter()
        .map(|c| Slot {
            availability_id: c.availability_id,
            staff_name: names.get(&c.staff_id).cloned().unwrap_or_default(),
            staff_id: c.staff_id,
            starts_at: c.starts_at,
            ends_at: c.ends_at,
            location: c.location,
        })
        .collect();
    let warning = availabilities.is_empty().then(|| NO_MATCH.to_owned());
    Ok(Planning {
        availabilities,
        warning,
    })
}

fn check_texts(v: &mut Validator, reason: Option<&str>, location: Option<&str>) {
    if let Some(r) = reason {
        check::notes(v, "reason", r, check::NOTES_MAX);
    }
    if let Some(l) = location {
        check::text(v, "preferred_location", l, check::NAME_MAX);
    }
}

impl CallRequests {
    /// The tenant's call requests, oldest first, filtered.
    pub async fn list(
        &self,
        p: &Principal,
        filter: &CallRequestFilter,
        page: &PageQuery,
    ) -> Result<Page<CallRequest>> {
        p.require(Permission::AgendaRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id.to_string();
        let filter = filter.clone();
        let rows = self
            .db
            .read(move |c| {
                let mut q = call_requests::table
                    .filter(call_requests::tenant_id.eq(tenant))
                    .order(call_requests::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(CallRequestRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(call_requests::id.gt(after));
                }
                if let Some(s) = filter.status {
                    q = q.filter(call_requests::status.eq(s.as_str()));
                }
                if let Some(e) = filter.employee_id {
                    q = q.filter(call_requests::employee_id.eq(e.to_string()));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), CallRequestRow::to_api)
    }

    /// One call request.
    pub async fn get(&self, p: &Principal, id: Uuid) -> Result<CallRequest> {
        p.require(Permission::AgendaRead)?;
        let tenant = p.tenant_id;
        self.db.read(move |c| load(c, tenant, id)?.to_api()).await
    }

    /// Creates a call request (R-NOSHOW-SELECT with the default-type exception, R-CONTACT).
    /// With `plan` ("save and plan"; `agenda:autoplan` and the product parameter) it also
    /// returns the matching availabilities — or a warning, and the request stays open.
    pub async fn create(
        &self,
        p: &Principal,
        new: NewCallRequest,
        plan_it: bool,
    ) -> Result<SavedCallRequest> {
        p.require(Permission::AgendaWrite)?;
        if plan_it {
            p.require(Permission::AgendaAutoplan)?;
        }
        let mut v = Validator::new();
        check_texts(
            &mut v,
            new.reason.as_deref(),
            new.preferred_location.as_deref(),
        );
        v.finish()?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        self.db
            .write(move |c| {
                if plan_it {
                    require_autoplan(c, tenant)?;
                }
                loket_agenda_core::employees::ensure_exists(c, tenant, new.employee_id)?;
                if let Some(s) = new.preferred_staff_id {
                    staff::info(c, tenant, s)?;
                }
                let type_id = match new.consultation_type_id {
                    Some(t) => t,
                    None => parameters::default_consultation_type(c, tenant)?.ok_or_else(|| {
                        Error::invalid(
                            "consultation_type_id",
                            "is required: the tenant has no default consultation type \
                             (`Consultation.DefaultConsultationType`)",
                        )
                    })?,
                };
                type_rules::for_call_request(c, tenant, type_id, new.employee_id)?;
                let id = ids::new_id();
                let at = to_db(now);
                diesel::insert_into(call_requests::table)
                    .values((
                        call_requests::id.eq(id.to_string()),
                        call_requests::tenant_id.eq(tenant.to_string()),
                        call_requests::employee_id.eq(new.employee_id.to_string()),
                        call_requests::consultation_type_id.eq(type_id.to_string()),
                        call_requests::reason.eq(&new.reason),
                        call_requests::deadline.eq(new.deadline.map(to_db)),
                        call_requests::preferred_staff_id
                            .eq(new.preferred_staff_id.map(|s| s.to_string())),
                        call_requests::preferred_location
                            .eq(new.preferred_location.as_deref().map(check::clean)),
                        call_requests::status.eq(CallRequestStatus::Open.as_str()),
                        call_requests::created_at.eq(at),
                        call_requests::updated_at.eq(at),
                    ))
                    .execute(c)?;
                let row = load(c, tenant, id)?;
                let cr = row.to_api()?;
                events::emit(c, Topic::CallRequestsCreate, tenant, id, &cr, actor, now)?;
                let planning = if plan_it {
                    Some(plan(c, tenant, &row, now)?)
                } else {
                    None
                };
                Ok(SavedCallRequest {
                    call_request: cr,
                    planning,
                })
            })
            .await
    }

    /// Changes an open call request; only the fields present change.
    pub async fn update(
        &self,
        p: &Principal,
        id: Uuid,
        changes: CallRequestChanges,
    ) -> Result<CallRequest> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        check_texts(
            &mut v,
            changes.reason.clone().flatten().as_deref(),
            changes.preferred_location.clone().flatten().as_deref(),
        );
        v.finish()?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        self.db
            .write(move |c| {
                let row = lock(c, tenant, id)?;
                if row.status() != CallRequestStatus::Open {
                    return Err(not_open(&row));
                }
                if let Some(t) = changes.consultation_type_id
                    && t.to_string() != row.consultation_type_id
                {
                    type_rules::for_call_request(
                        c,
                        tenant,
                        t,
                        ids::parse_stored(&row.employee_id)?,
                    )?;
                }
                if let Some(Some(s)) = changes.preferred_staff_id {
                    staff::info(c, tenant, s)?;
                }
                diesel::update(call_requests::table.find(&row.id))
                    .set((
                        changes
                            .consultation_type_id
                            .map(|t| call_requests::consultation_type_id.eq(t.to_string())),
                        changes.reason.map(|r| call_requests::reason.eq(r)),
                        changes
                            .deadline
                            .map(|d| call_requests::deadline.eq(d.map(to_db))),
                        changes.preferred_staff_id.map(|s| {
                            call_requests::preferred_staff_id.eq(s.map(|s| s.to_string()))
                        }),
                        changes.preferred_location.map(|l| {
                            call_requests::preferred_location.eq(l.as_deref().map(check::clean))
                        }),
                        call_requests::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                let cr = load(c, tenant, id)?.to_api()?;
                events::emit(c, Topic::CallRequestsUpdate, tenant, id, &cr, actor, now)?;
                Ok(cr)
            })
            .await
    }

    /// Cancels an open call request.
    pub async fn cancel(&self, p: &Principal, id: Uuid) -> Result<CallRequest> {
        p.require(Permission::AgendaWrite)?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        self.db
            .write(move |c| {
                let row = lock(c, tenant, id)?;
                if row.status() != CallRequestStatus::Open {
                    return Err(not_open(&row));
                }
                diesel::update(call_requests::table.find(&row.id))
                    .set((
                        call_requests::status.eq(CallRequestStatus::Cancelled.as_str()),
                        call_requests::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                let cr = load(c, tenant, id)?.to_api()?;
                events::emit(c, Topic::CallRequestsUpdate, tenant, id, &cr, actor, now)?;
                Ok(cr)
            })
            .await
    }

    /// The matching availabilities of an open call request (automatic planning).
    pub async fn availabilities(&self, p: &Principal, id: Uuid) -> Result<Planning> {
        p.require(Permission::AgendaAutoplan)?;
        let (tenant, now) = (p.tenant_id, self.clock.now());
        self.db
            .read(move |c| {
                let row = load(c, tenant, id)?;
                require_autoplan(c, tenant)?;
                if row.status() != CallRequestStatus::Open {
                    return Err(not_open(&row));
                }
                plan(c, tenant, &row, now)
            })
            .await
    }

    /// Books a slot for an open call request: creates the appointment (no double booking) with
    /// its type's default reminders and marks the request planned — one transaction.
    pub async fn book(&self, p: &Principal, id: Uuid, slot: BookSlot) -> Result<Booked> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        if let Some(n) = &slot.notes {
            check::notes(&mut v, "notes", n, check::NOTES_MAX);
        }
        v.finish()?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        self.db
            .write(move |c| {
                let row = lock(c, tenant, id)?;
                let availability = availabilities::load(c, tenant, slot.availability_id)?;
                if row.status() != CallRequestStatus::Open {
                    return Err(not_open(&row));
                }
                let t = types::info(c, tenant, ids::parse_stored(&row.consultation_type_id)?)?;
                if !availability.allows(t.id)? {
                    return Err(Error::invalid(
                        "availability_id",
                        "does not allow the call request's consultation type",
                    ));
                }
                let block = Block {
                    availability_id: slot.availability_id,
                    staff_id: ids::parse_stored(&availability.staff_id)?,
                    starts_at: from_db(availability.starts_at),
                    ends_at: from_db(availability.ends_at),
                    location: availability.location.clone(),
                };
                if !planning::fits(
                    &block,
                    slot.starts_at,
                    Duration::minutes(t.duration_minutes),
                ) {
                    return Err(Error::invalid(
                        "starts_at",
                        "the consultation must lie within the availability",
                    ));
                }
                let appointment = appointments::book(
                    c,
                    tenant,
                    &Booking {
                        employee_id: ids::parse_stored(&row.employee_id)?,
                        staff_id: block.staff_id,
                        consultation_type_id: t.id,
                        starts_at: slot.starts_at,
                        ends_at: None,
                        location: block.location.clone(),
                        notes: slot.notes.clone(),
                        concept: false,
                        call_request_id: Some(id),
                    },
                    Selection::CallRequest,
                    actor,
                    now,
                )?;
                diesel::update(call_requests::table.find(&row.id))
                    .set((
                        call_requests::status.eq(CallRequestStatus::Planned.as_str()),
                        call_requests::appointment_id.eq(Some(appointment.id.to_string())),
                        call_requests::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                let cr = load(c, tenant, id)?.to_api()?;
                events::emit(c, Topic::CallRequestsPlan, tenant, id, &cr, actor, now)?;
                Ok(Booked {
                    call_request: cr,
                    appointment,
                })
            })
            .await
    }
}
