//! The appointment operations. Each is one transaction: it takes the appointment's row lock,
//! gathers the facts, asks [`rules::decide`] (the function that also computes `actions`), makes
//! every change of the operation — appointment, procedures, reminders, no-show record, call
//! request — and emits the events, so all of it commits or none of it does.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use loket_agenda_core::check;
use loket_agenda_core::events::{self, Topic};
use loket_agenda_core::staff;
use loket_common::time::{from_db, to_db};
use loket_common::validate::Validator;
use loket_common::{Actor, Code, Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_consultation_types::rules as type_rules;
use loket_consultation_types::types::{self, TypeInfo};
use loket_storage::AnyConnection;
use loket_storage::schema::{appointment_no_shows, appointments, procedures};
use serde_json::json;
use uuid::Uuid;

use crate::api::{
    Action, Appointment, AppointmentChanges, AppointmentFilter, AppointmentStatus, Lapse,
    NewAppointment, NoShow, Procedure, ProcedureFilter, ProcedureKind, ProcedureStatus, Reminder,
    Reschedule,
};
use crate::calendar::{self, Entry};
use crate::model::{AppointmentRow, ProcedureRow, ReminderRow};
use crate::rules::{self, Facts};
use crate::{Appointments, CallRequestLink, reminders, repo};

/// Longest lapse reason.
pub const REASON_MAX: usize = 500;
/// How far back and ahead the calendar feed reaches (days).
pub const CALENDAR_PAST_DAYS: i64 = 90;
/// How far ahead the calendar feed reaches (days).
pub const CALENDAR_FUTURE_DAYS: i64 = 400;
/// Most entries in a calendar feed.
pub const CALENDAR_MAX: i64 = 5000;

/// How the consultation type of a booking was chosen, which decides the selection rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// A new appointment: R-NOSHOW-SELECT without exception, R-CONTACT.
    Direct,
    /// Booked for a call request: its type may be the default no-show type (R-NOSHOW-SELECT
    /// exception); R-CONTACT.
    CallRequest,
}

/// A new appointment.
#[derive(Debug, Clone)]
pub struct Booking {
    pub employee_id: Uuid,
    pub staff_id: Uuid,
    pub consultation_type_id: Uuid,
    pub starts_at: DateTime<Utc>,
    /// Defaults to the start plus the type's duration.
    pub ends_at: Option<DateTime<Utc>>,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub concept: bool,
    pub call_request_id: Option<Uuid>,
}

fn double_booking(other: &str) -> Error {
    Error::new(
        Code::DoubleBooking,
        format!("The staff member already has an appointment at this time ({other})."),
    )
}

/// Checks a start and end (the end defaulting to the start plus `minutes`).
fn span(
    starts: DateTime<Utc>,
    ends: Option<DateTime<Utc>>,
    minutes: i64,
) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let ends = match ends {
        Some(e) => e,
        None => check::plus_minutes(starts, minutes)
            .ok_or_else(|| Error::invalid("starts_at", "is out of range"))?,
    };
    if ends <= starts {
        return Err(Error::invalid("ends_at", "must be after starts_at"));
    }
    if ends - starts > Duration::hours(repo::MAX_LENGTH_HOURS) {
        return Err(Error::invalid(
            "ends_at",
            format!(
                "must be at most {} hours after starts_at",
                repo::MAX_LENGTH_HOURS
            ),
        ));
    }
    Ok((starts, ends))
}

/// Refuses an inactive staff member for new bookings.
fn check_active_staff(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<()> {
    if staff::info(conn, tenant, id)?.active {
        Ok(())
    } else {
        Err(Error::invalid("staff_id", "is an inactive staff member"))
    }
}

/// Books an appointment inside the caller's transaction: serializes on the staff member, applies
/// the selection rules, refuses overlaps (409 `double-booking`), adds the type's default
/// reminders and emits `Appointments.Create` (and `Appointments.RemindersFailed` when a reminder
/// could not be created — the appointment is booked all the same).
pub fn book(
    conn: &mut AnyConnection,
    tenant: Uuid,
    b: &Booking,
    selection: Selection,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<Appointment> {
    staff::lock_for_booking(conn, tenant, b.staff_id)?;
    let t = match selection {
        Selection::Direct => {
            type_rules::for_appointment(conn, tenant, b.consultation_type_id, b.employee_id)?
        }
        Selection::CallRequest => {
            type_rules::for_call_request(conn, tenant, b.consultation_type_id, b.employee_id)?
        }
    };
    check_active_staff(conn, tenant, b.staff_id)?;
    let (starts, ends) = span(b.starts_at, b.ends_at, t.duration_minutes)?;
    if let Some(other) = repo::overlapping(conn, tenant, b.staff_id, starts, ends, None)? {
        return Err(double_booking(&other));
    }
    let id = ids::new_id();
    let now = to_db(at);
    diesel::insert_into(appointments::table)
        .values((
            appointments::id.eq(id.to_string()),
            appointments::tenant_id.eq(tenant.to_string()),
            appointments::employee_id.eq(b.employee_id.to_string()),
            appointments::staff_id.eq(b.staff_id.to_string()),
            appointments::consultation_type_id.eq(t.id.to_string()),
            appointments::call_request_id.eq(b.call_request_id.map(|c| c.to_string())),
            appointments::starts_at.eq(to_db(starts)),
            appointments::ends_at.eq(to_db(ends)),
            appointments::location.eq(b.location.as_deref().map(check::clean)),
            appointments::notes.eq(&b.notes),
            appointments::concept.eq(b.concept),
            appointments::status.eq(AppointmentStatus::Planned.as_str()),
            appointments::created_at.eq(now),
            appointments::updated_at.eq(now),
        ))
        .execute(conn)?;
    let row = repo::load(conn, tenant, id)?;
    let failures = reminders::add_defaults(conn, tenant, &row, &t, at)?;
    let appointment = repo::present_one(conn, tenant, &row)?;
    events::emit(
        conn,
        Topic::AppointmentsCreate,
        tenant,
        id,
        &appointment,
        actor,
        at,
    )?;
    if !failures.is_empty() {
        events::emit(
            conn,
            Topic::AppointmentsRemindersFailed,
            tenant,
            id,
            &json!({ "appointment": appointment, "failures": failures }),
            actor,
            at,
        )?;
    }
    Ok(appointment)
}

/// The busy intervals of a staff member (for availability calculation).
pub fn busy(
    conn: &mut AnyConnection,
    tenant: Uuid,
    staff_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    repo::busy(conn, tenant, staff_id, from, to)
}

/// The appointment's representation (for other crates' events and answers).
pub fn appointment(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<Appointment> {
    let row = repo::load(conn, tenant, id)?;
    repo::present_one(conn, tenant, &row)
}

fn emit_procedure(
    conn: &mut AnyConnection,
    topic: Topic,
    tenant: Uuid,
    row: &ProcedureRow,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<()> {
    let p = row.to_api()?;
    events::emit(conn, topic, tenant, p.id, &p, actor, at)
}

/// Deletes the open procedures of an appointment (emitting `Procedures.Delete`); returns them.
fn delete_open_procedures(
    conn: &mut AnyConnection,
    tenant: Uuid,
    appointment_id: &str,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<Vec<ProcedureRow>> {
    let open: Vec<ProcedureRow> = repo::procedures_of(conn, appointment_id)?
        .into_iter()
        .filter(|p| ProcedureStatus::parse(&p.status) == ProcedureStatus::Open)
        .collect();
    for p in &open {
        repo::delete_procedure(conn, &p.id)?;
        emit_procedure(conn, Topic::ProceduresDelete, tenant, p, actor, at)?;
    }
    Ok(open)
}

fn set_no_show_completed(conn: &mut AnyConnection, id: &str, completed: bool) -> Result<()> {
    diesel::update(appointment_no_shows::table.find(id))
        .set(appointment_no_shows::completed.eq(completed))
        .execute(conn)?;
    Ok(())
}

/// Emits `topic` with the appointment's current representation and returns it.
fn finish(
    conn: &mut AnyConnection,
    tenant: Uuid,
    id: Uuid,
    topic: Topic,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<Appointment> {
    let a = appointment(conn, tenant, id)?;
    events::emit(conn, topic, tenant, id, &a, actor, at)?;
    Ok(a)
}

fn check_place_and_notes(v: &mut Validator, location: Option<&str>, notes: Option<&str>) {
    if let Some(l) = location {
        check::text(v, "location", l, check::NAME_MAX);
    }
    if let Some(n) = notes {
        check::notes(v, "notes", n, check::NOTES_MAX);
    }
}

/// The sort key of the appointment list (start, then id), as a cursor.
fn cursor_key(r: &AppointmentRow) -> String {
    format!("{}|{}", r.starts_at.and_utc().timestamp_micros(), r.id)
}

fn parse_cursor(s: &str) -> Option<(NaiveDateTime, String)> {
    let (ts, id) = s.split_once('|')?;
    let at = DateTime::<Utc>::from_timestamp_micros(ts.parse().ok()?)?;
    Some((at.naive_utc(), id.to_owned()))
}

/// Moves an appointment (reschedule, or an edit of its time or staff): serializes on the
/// target staff member and refuses overlaps.
fn check_move(
    conn: &mut AnyConnection,
    tenant: Uuid,
    row: &AppointmentRow,
    staff_id: Uuid,
    starts: DateTime<Utc>,
    ends: Option<DateTime<Utc>>,
) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    staff::lock_for_booking(conn, tenant, staff_id)?;
    if staff_id.to_string() != row.staff_id {
        check_active_staff(conn, tenant, staff_id)?;
    }
    let minutes = (row.ends_at - row.starts_at).num_minutes();
    let (starts, ends) = span(starts, ends, minutes)?;
    if let Some(other) = repo::overlapping(conn, tenant, staff_id, starts, ends, Some(&row.id))? {
        return Err(double_booking(&other));
    }
    Ok((starts, ends))
}

impl Appointments {
    fn link(&self) -> std::sync::Arc<dyn CallRequestLink> {
        self.link.clone()
    }

    /// Appointments of the tenant by start time (served by the `(tenant, starts_at)` and
    /// `(tenant, staff, starts_at)` indexes), filtered.
    pub async fn list(
        &self,
        p: &Principal,
        filter: &AppointmentFilter,
        page: &PageQuery,
    ) -> Result<Page<Appointment>> {
        p.require(Permission::AgendaRead)?;
        let limit = page.limit()?;
        let after = page.after()?.as_deref().and_then(parse_cursor);
        let tenant = p.tenant_id;
        let filter = filter.clone();
        self.db
            .read(move |c| {
                let mut q = appointments::table
                    .filter(appointments::tenant_id.eq(tenant.to_string()))
                    .order((appointments::starts_at.asc(), appointments::id.asc()))
                    .limit(i64::from(limit) + 1)
                    .select(AppointmentRow::as_select())
                    .into_boxed();
                if let Some(from) = filter.from {
                    q = q.filter(appointments::starts_at.ge(to_db(from)));
                }
                if let Some(to) = filter.to {
                    q = q.filter(appointments::starts_at.lt(to_db(to)));
                }
                if let Some(s) = filter.staff_id {
                    q = q.filter(appointments::staff_id.eq(s.to_string()));
                }
                if let Some(e) = filter.employee_id {
                    q = q.filter(appointments::employee_id.eq(e.to_string()));
                }
                if let Some(s) = filter.status {
                    q = q.filter(appointments::status.eq(s.as_str()));
                }
                if let Some((at, id)) = after {
                    q = q.filter(
                        appointments::starts_at
                            .gt(at)
                            .or(appointments::starts_at.eq(at).and(appointments::id.gt(id))),
                    );
                }
                let rows = q.load(c)?;
                let page = Page::from_rows(rows, limit, cursor_key);
                Ok(Page {
                    items: repo::present(c, tenant, &page.items)?,
                    next_cursor: page.next_cursor,
                })
            })
            .await
    }

    /// One appointment.
    pub async fn get(&self, p: &Principal, id: Uuid) -> Result<Appointment> {
        p.require(Permission::AgendaRead)?;
        let tenant = p.tenant_id;
        self.db.lookup(move |c| appointment(c, tenant, id)).await
    }

    /// Creates an appointment (R-NOSHOW-SELECT, R-CONTACT, no double booking) with the type's
    /// default reminders.
    pub async fn create(&self, p: &Principal, new: NewAppointment) -> Result<Appointment> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        check_place_and_notes(&mut v, new.location.as_deref(), new.notes.as_deref());
        v.finish()?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        let b = Booking {
            employee_id: new.employee_id,
            staff_id: new.staff_id,
            consultation_type_id: new.consultation_type_id,
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            location: new.location,
            notes: new.notes,
            concept: new.concept.unwrap_or(false),
            call_request_id: None,
        };
        self.db
            .write(move |c| book(c, tenant, &b, Selection::Direct, actor, now))
            .await
    }

    /// Edits a planned appointment (R-COMPLETED-READONLY refuses completed ones).
    pub async fn update(
        &self,
        p: &Principal,
        id: Uuid,
        changes: AppointmentChanges,
    ) -> Result<Appointment> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        check_place_and_notes(
            &mut v,
            changes.location.clone().flatten().as_deref(),
            changes.notes.clone().flatten().as_deref(),
        );
        v.finish()?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        self.db
            .write(move |c| {
                let row = repo::lock(c, tenant, id)?;
                rules::decide(&repo::facts(c, tenant, &row)?, Action::Edit)?;
                let cur_type = ids::parse_stored(&row.consultation_type_id)?;
                let cur_employee = ids::parse_stored(&row.employee_id)?;
                let cur_staff = ids::parse_stored(&row.staff_id)?;
                let new_type = changes.consultation_type_id.unwrap_or(cur_type);
                let new_employee = changes.employee_id.unwrap_or(cur_employee);
                if new_type != cur_type {
                    if repo::no_show(c, &row.id)?.is_some() {
                        return Err(Error::new(
                            Code::InvalidState,
                            "The appointment is a processed no-show; undo the no-show to restore \
                             its consultation type.",
                        ));
                    }
                    type_rules::for_appointment(c, tenant, new_type, new_employee)?;
                } else if new_employee != cur_employee {
                    let t = types::info(c, tenant, cur_type)?;
                    type_rules::contact_for(c, tenant, &t, new_employee)?;
                }
                let new_staff = changes.staff_id.unwrap_or(cur_staff);
                let old_starts = from_db(row.starts_at);
                let old_ends = from_db(row.ends_at);
                let starts = changes.starts_at.unwrap_or(old_starts);
                let ends = match (changes.starts_at, changes.ends_at) {
                    (_, Some(e)) => Some(e),
                    (Some(_), None) => None,
                    (None, None) => Some(old_ends),
                };
                let moved = new_staff != cur_staff
                    || starts != old_starts
                    || ends.is_none_or(|e| e != old_ends);
                let (starts, ends) = if moved {
                    check_move(c, tenant, &row, new_staff, starts, ends)?
                } else {
                    (old_starts, old_ends)
                };
                diesel::update(appointments::table.find(&row.id))
                    .set((
                        appointments::employee_id.eq(new_employee.to_string()),
                        appointments::staff_id.eq(new_staff.to_string()),
                        appointments::consultation_type_id.eq(new_type.to_string()),
                        appointments::starts_at.eq(to_db(starts)),
                        appointments::ends_at.eq(to_db(ends)),
                        changes
                            .location
                            .map(|l| appointments::location.eq(l.as_deref().map(check::clean))),
                        changes.notes.map(|n| appointments::notes.eq(n)),
                        changes.concept.map(|x| appointments::concept.eq(x)),
                        appointments::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                if starts != old_starts {
                    let moved = repo::load(c, tenant, id)?;
                    reminders::follow(c, &moved)?;
                }
                finish(c, tenant, id, Topic::AppointmentsUpdate, actor, now)
            })
            .await
    }

    /// Deletes an appointment with its open procedures and reminders (R-COMPLETED-OPEN); refused
    /// once a procedure is submitted (R-COMPLETED-SUBMITTED). Its call request is open again.
    pub async fn delete(&self, p: &Principal, id: Uuid) -> Result<()> {
        p.require(Permission::AgendaWrite)?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        let link = self.link();
        self.db
            .write(move |c| {
                let row = repo::lock(c, tenant, id)?;
                rules::decide(&repo::facts(c, tenant, &row)?, Action::Delete)?;
                let mut last = repo::present_one(c, tenant, &row)?;
                last.actions.clear();
                delete_open_procedures(c, tenant, &row.id, actor, now)?;
                diesel::delete(appointments::table.find(&row.id)).execute(c)?;
                if let Some(cr) = last.call_request_id {
                    link.reopen(c, tenant, cr, actor, now)?;
                }
                events::emit(c, Topic::AppointmentsDelete, tenant, id, &last, actor, now)
            })
            .await
    }

    /// Completes an appointment and writes its procedure (amount from the type).
    pub async fn complete(&self, p: &Principal, id: Uuid) -> Result<Appointment> {
        p.require(Permission::AgendaWrite)?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        self.db
            .write(move |c| {
                let row = repo::lock(c, tenant, id)?;
                rules::decide(&repo::facts(c, tenant, &row)?, Action::Complete)?;
                let t = types::info(c, tenant, ids::parse_stored(&row.consultation_type_id)?)?;
                diesel::update(appointments::table.find(&row.id))
                    .set((
                        appointments::status.eq(AppointmentStatus::Completed.as_str()),
                        appointments::completed_at.eq(Some(to_db(now))),
                        appointments::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                let row = repo::load(c, tenant, id)?;
                let procedure = repo::write_procedure(c, &row, &t, now)?;
                if repo::no_show(c, &row.id)?.is_some() {
                    set_no_show_completed(c, &row.id, true)?;
                }
                let a = finish(c, tenant, id, Topic::AppointmentsComplete, actor, now)?;
                emit_procedure(c, Topic::ProceduresCreate, tenant, &procedure, actor, now)?;
                Ok(a)
            })
            .await
    }

    /// Reverts a completion while no procedure is submitted; its open procedures are deleted.
    pub async fn uncomplete(&self, p: &Principal, id: Uuid) -> Result<Appointment> {
        p.require(Permission::AgendaWrite)?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        self.db
            .write(move |c| {
                let row = repo::lock(c, tenant, id)?;
                rules::decide(&repo::facts(c, tenant, &row)?, Action::Uncomplete)?;
                delete_open_procedures(c, tenant, &row.id, actor, now)?;
                diesel::update(appointments::table.find(&row.id))
                    .set((
                        appointments::status.eq(AppointmentStatus::Planned.as_str()),
                        appointments::completed_at.eq(None::<NaiveDateTime>),
                        appointments::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                if repo::no_show(c, &row.id)?.is_some() {
                    set_no_show_completed(c, &row.id, false)?;
                }
                finish(c, tenant, id, Topic::AppointmentsUpdate, actor, now)
            })
            .await
    }

    /// Moves an appointment to a new time (and optionally staff member or location). It keeps
    /// its id and its status; its procedures and reminders move along (R-COMPLETED-OPEN).
    pub async fn reschedule(
        &self,
        p: &Principal,
        id: Uuid,
        body: Reschedule,
    ) -> Result<Appointment> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        check_place_and_notes(&mut v, body.location.clone().flatten().as_deref(), None);
        v.finish()?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        self.db
            .write(move |c| {
                let row = repo::lock(c, tenant, id)?;
                rules::decide(&repo::facts(c, tenant, &row)?, Action::Reschedule)?;
                let staff_id = match body.staff_id {
                    Some(s) => s,
                    None => ids::parse_stored(&row.staff_id)?,
                };
                let (starts, ends) =
                    check_move(c, tenant, &row, staff_id, body.starts_at, body.ends_at)?;
                diesel::update(appointments::table.find(&row.id))
                    .set((
                        appointments::staff_id.eq(staff_id.to_string()),
                        appointments::starts_at.eq(to_db(starts)),
                        appointments::ends_at.eq(to_db(ends)),
                        body.location
                            .map(|l| appointments::location.eq(l.as_deref().map(check::clean))),
                        appointments::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                for pr in repo::procedures_of(c, &row.id)? {
                    diesel::update(procedures::table.find(&pr.id))
                        .set((
                            procedures::performed_at.eq(to_db(starts)),
                            procedures::updated_at.eq(to_db(now)),
                        ))
                        .execute(c)?;
                    let moved = repo::load_procedure(c, tenant, ids::parse_stored(&pr.id)?)?;
                    emit_procedure(c, Topic::ProceduresUpdate, tenant, &moved, actor, now)?;
                }
                let moved = repo::load(c, tenant, id)?;
                reminders::follow(c, &moved)?;
                finish(c, tenant, id, Topic::AppointmentsUpdate, actor, now)
            })
            .await
    }

    /// Marks a completed appointment with submitted procedures lapsed (R-COMPLETED-SUBMITTED)
    /// and writes a refund procedure for each submitted one — one transaction.
    pub async fn lapse(&self, p: &Principal, id: Uuid, body: Lapse) -> Result<Appointment> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        check::notes(&mut v, "reason", &body.reason, REASON_MAX);
        if body.reason.trim().is_empty() {
            v.fail("reason", "must not be empty");
        }
        v.finish()?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        let reason = body.reason.trim().to_owned();
        self.db
            .write(move |c| {
                let row = repo::lock(c, tenant, id)?;
                rules::decide(&repo::facts(c, tenant, &row)?, Action::Lapse)?;
                let submitted: Vec<ProcedureRow> = repo::procedures_of(c, &row.id)?
                    .into_iter()
                    .filter(|p| {
                        ProcedureStatus::parse(&p.status) == ProcedureStatus::Submitted
                            && ProcedureKind::parse(&p.kind) != ProcedureKind::Refund
                    })
                    .collect();
                let mut refunds = Vec::new();
                for s in submitted {
                    let refund = ProcedureRow {
                        id: ids::new_id().to_string(),
                        kind: ProcedureKind::Refund.as_str().to_owned(),
                        amount_cents: -s.amount_cents,
                        status: ProcedureStatus::Open.as_str().to_owned(),
                        performed_at: row.starts_at,
                        reason: Some(reason.clone()),
                        refund_of: Some(s.id.clone()),
                        submitted_at: None,
                        created_at: to_db(now),
                        updated_at: to_db(now),
                        ..s
                    };
                    repo::insert_procedure(c, &refund)?;
                    refunds.push(refund);
                }
                diesel::update(appointments::table.find(&row.id))
                    .set((
                        appointments::status.eq(AppointmentStatus::Lapsed.as_str()),
                        appointments::lapsed_at.eq(Some(to_db(now))),
                        appointments::lapse_reason.eq(Some(&reason)),
                        appointments::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                reminders::cancel_pending(c, &row.id)?;
                let a = finish(c, tenant, id, Topic::AppointmentsLapse, actor, now)?;
                for r in &refunds {
                    emit_procedure(c, Topic::ProceduresCreate, tenant, r, actor, now)?;
                }
                Ok(a)
            })
            .await
    }

    /// Processes the appointment as no-show: switches it to a no-show type, replaces its open
    /// procedures by the no-show type's (when completed) and re-opens its call request, keeping
    /// what is needed to undo all of it (R-NOSHOW-UNDO).
    pub async fn no_show(&self, p: &Principal, id: Uuid, body: NoShow) -> Result<Appointment> {
        p.require(Permission::AgendaWrite)?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        let link = self.link();
        self.db
            .write(move |c| {
                let row = repo::lock(c, tenant, id)?;
                let target: Option<TypeInfo> = match body.consultation_type_id {
                    Some(t) => {
                        let t = types::info(c, tenant, t)?;
                        if !t.is_no_show {
                            return Err(Error::invalid(
                                "consultation_type_id",
                                "must be a no-show consultation type",
                            ));
                        }
                        Some(t)
                    }
                    None => types::first_no_show(c, tenant)?,
                };
                let facts = Facts {
                    no_show_type_available: target.is_some(),
                    ..repo::facts(c, tenant, &row)?
                };
                rules::decide(&facts, Action::NoShow)?;
                let Some(target) = target else {
                    return Err(Error::new(
                        Code::InvalidState,
                        "The tenant has no no-show consultation type.",
                    ));
                };
                let replaced = delete_open_procedures(c, tenant, &row.id, actor, now)?;
                diesel::update(appointments::table.find(&row.id))
                    .set((
                        appointments::consultation_type_id.eq(target.id.to_string()),
                        appointments::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                let updated = repo::load(c, tenant, id)?;
                let new_procedure = if updated.status() == AppointmentStatus::Completed {
                    Some(repo::write_procedure(c, &updated, &target, now)?)
                } else {
                    None
                };
                diesel::insert_into(appointment_no_shows::table)
                    .values((
                        appointment_no_shows::appointment_id.eq(&row.id),
                        appointment_no_shows::tenant_id.eq(tenant.to_string()),
                        appointment_no_shows::original_consultation_type_id
                            .eq(&row.consultation_type_id),
                        appointment_no_shows::original_status.eq(&row.status),
                        appointment_no_shows::original_completed_at.eq(row.completed_at),
                        appointment_no_shows::replaced_procedures
                            .eq(serde_json::to_string(&replaced).map_err(Error::internal)?),
                        appointment_no_shows::call_request_id.eq(&row.call_request_id),
                        appointment_no_shows::completed.eq(false),
                        appointment_no_shows::created_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                if let Some(cr) = row.call_request_id.as_deref() {
                    link.reopen(c, tenant, ids::parse_stored(cr)?, actor, now)?;
                }
                let a = finish(c, tenant, id, Topic::AppointmentsNoShow, actor, now)?;
                if let Some(pr) = &new_procedure {
                    emit_procedure(c, Topic::ProceduresCreate, tenant, pr, actor, now)?;
                }
                Ok(a)
            })
            .await
    }

    /// Undoes no-show processing (R-NOSHOW-UNDO): restores the original consultation type,
    /// status and procedures, and plans the call request again; refused once the no-show
    /// consultation is completed.
    pub async fn undo_no_show(&self, p: &Principal, id: Uuid) -> Result<Appointment> {
        p.require(Permission::AgendaWrite)?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        let link = self.link();
        self.db
            .write(move |c| {
                let row = repo::lock(c, tenant, id)?;
                rules::decide(&repo::facts(c, tenant, &row)?, Action::UndoNoShow)?;
                let ns = repo::no_show(c, &row.id)?
                    .ok_or_else(|| Error::new(Code::InvalidState, "No no-show to undo."))?;
                delete_open_procedures(c, tenant, &row.id, actor, now)?;
                for pr in ns.replaced()? {
                    repo::insert_procedure(c, &pr)?;
                    emit_procedure(c, Topic::ProceduresCreate, tenant, &pr, actor, now)?;
                }
                diesel::update(appointments::table.find(&row.id))
                    .set((
                        appointments::consultation_type_id.eq(&ns.original_consultation_type_id),
                        appointments::status.eq(&ns.original_status),
                        appointments::completed_at.eq(ns.original_completed_at),
                        appointments::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                diesel::delete(appointment_no_shows::table.find(&row.id)).execute(c)?;
                if let Some(cr) = ns.call_request_id.as_deref() {
                    link.replan(c, tenant, ids::parse_stored(cr)?, id, actor, now)?;
                }
                finish(c, tenant, id, Topic::AppointmentsUpdate, actor, now)
            })
            .await
    }

    /// The appointment's reminders, by send time.
    pub async fn reminders(&self, p: &Principal, id: Uuid) -> Result<Vec<Reminder>> {
        p.require(Permission::AgendaRead)?;
        let tenant = p.tenant_id;
        self.db
            .read(move |c| {
                let row = repo::load(c, tenant, id)?;
                repo::reminders_of(c, &row.id)?
                    .iter()
                    .map(ReminderRow::to_api)
                    .collect()
            })
            .await
    }

    /// Procedures of the tenant, oldest first, filtered.
    pub async fn list_procedures(
        &self,
        p: &Principal,
        filter: &ProcedureFilter,
        page: &PageQuery,
    ) -> Result<Page<Procedure>> {
        p.require(Permission::AgendaRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id.to_string();
        let filter = filter.clone();
        let rows = self
            .db
            .read(move |c| {
                let mut q = procedures::table
                    .filter(procedures::tenant_id.eq(tenant))
                    .order(procedures::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(ProcedureRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(procedures::id.gt(after));
                }
                if let Some(a) = filter.appointment_id {
                    q = q.filter(procedures::appointment_id.eq(a.to_string()));
                }
                if let Some(e) = filter.employee_id {
                    q = q.filter(procedures::employee_id.eq(e.to_string()));
                }
                if let Some(s) = filter.status {
                    q = q.filter(procedures::status.eq(s.as_str()));
                }
                if let Some(from) = filter.from {
                    q = q.filter(procedures::performed_at.ge(to_db(from)));
                }
                if let Some(to) = filter.to {
                    q = q.filter(procedures::performed_at.lt(to_db(to)));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), ProcedureRow::to_api)
    }

    /// One procedure.
    pub async fn procedure(&self, p: &Principal, id: Uuid) -> Result<Procedure> {
        p.require(Permission::AgendaRead)?;
        let tenant = p.tenant_id;
        self.db
            .read(move |c| repo::load_procedure(c, tenant, id)?.to_api())
            .await
    }

    /// Submits an open procedure (offers it for invoicing). From then on its appointment falls
    /// under R-COMPLETED-SUBMITTED.
    pub async fn submit_procedure(&self, p: &Principal, id: Uuid) -> Result<Procedure> {
        p.require(Permission::AgendaWrite)?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        self.db
            .write(move |c| {
                let pr = repo::load_procedure(c, tenant, id)?;
                // Serialize with changes of the appointment (un-complete, delete, no-show).
                repo::lock(c, tenant, ids::parse_stored(&pr.appointment_id)?)?;
                let n = diesel::update(
                    procedures::table
                        .filter(procedures::id.eq(&pr.id))
                        .filter(procedures::status.eq(ProcedureStatus::Open.as_str())),
                )
                .set((
                    procedures::status.eq(ProcedureStatus::Submitted.as_str()),
                    procedures::submitted_at.eq(Some(to_db(now))),
                    procedures::updated_at.eq(to_db(now)),
                ))
                .execute(c)?;
                if n == 0 {
                    return Err(Error::new(
                        Code::InvalidState,
                        "The procedure is already submitted.",
                    ));
                }
                let pr = repo::load_procedure(c, tenant, id)?;
                emit_procedure(c, Topic::ProceduresSubmit, tenant, &pr, actor, now)?;
                pr.to_api()
            })
            .await
    }

    /// The iCalendar feed of a staff member: appointments from 90 days back to 400 days ahead.
    pub async fn calendar(&self, p: &Principal, staff_id: Uuid, host: String) -> Result<String> {
        p.require(Permission::AgendaRead)?;
        let tenant = p.tenant_id;
        let now = self.clock.now();
        self.db
            .read(move |c| {
                let member = staff::info(c, tenant, staff_id)?;
                let from = now - Duration::days(CALENDAR_PAST_DAYS);
                let to = now + Duration::days(CALENDAR_FUTURE_DAYS);
                let rows: Vec<AppointmentRow> = appointments::table
                    .filter(appointments::tenant_id.eq(tenant.to_string()))
                    .filter(appointments::staff_id.eq(staff_id.to_string()))
                    .filter(appointments::starts_at.ge(to_db(from)))
                    .filter(appointments::starts_at.lt(to_db(to)))
                    .order((appointments::starts_at.asc(), appointments::id.asc()))
                    .limit(CALENDAR_MAX)
                    .select(AppointmentRow::as_select())
                    .load(c)?;
                let mut type_ids: Vec<Uuid> = rows
                    .iter()
                    .map(|r| ids::parse_stored(&r.consultation_type_id))
                    .collect::<Result<_>>()?;
                type_ids.sort_unstable();
                type_ids.dedup();
                let kinds = types::infos(c, tenant, &type_ids)?;
                let mut names = std::collections::HashMap::new();
                let mut entries = Vec::with_capacity(rows.len());
                for r in &rows {
                    let employee = ids::parse_stored(&r.employee_id)?;
                    if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(employee) {
                        slot.insert(loket_agenda_core::employees::name(c, tenant, employee)?);
                    }
                    let kind = kinds
                        .get(&ids::parse_stored(&r.consultation_type_id)?)
                        .map(|t| t.name.as_str())
                        .unwrap_or("Appointment");
                    let who = names.get(&employee).map(String::as_str).unwrap_or("");
                    entries.push(Entry {
                        id: ids::parse_stored(&r.id)?,
                        summary: format!("{kind}: {who}"),
                        starts_at: from_db(r.starts_at),
                        ends_at: from_db(r.ends_at),
                        location: r.location.clone(),
                        notes: r.notes.clone(),
                        status: r.status(),
                        concept: r.concept,
                        updated_at: from_db(r.updated_at),
                    });
                }
                Ok(calendar::document(&member.name, &host, &entries))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_default_to_the_duration_and_stay_within_a_day() {
        let s = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let (a, b) = span(s, None, 30).unwrap();
        assert_eq!((b - a).num_minutes(), 30);
        assert_eq!(
            span(s, Some(s), 30).unwrap_err().invalid_params[0].name,
            "ends_at"
        );
        assert!(span(s, Some(s + Duration::hours(25)), 30).is_err());
        assert!(span(DateTime::<Utc>::MAX_UTC, None, 30).is_err());
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_ignored() {
        let at = DateTime::<Utc>::from_timestamp(1_800_000_000, 5000)
            .unwrap()
            .naive_utc();
        let key = format!("{}|abc", at.and_utc().timestamp_micros());
        assert_eq!(parse_cursor(&key), Some((at, "abc".to_owned())));
        assert_eq!(parse_cursor("nonsense"), None);
    }
}
