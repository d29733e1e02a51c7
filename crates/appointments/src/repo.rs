//! Queries on appointments, no-show records, procedures and reminders. All take the caller's
//! connection and stay within one tenant.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use loket_common::time::{from_db, to_db};
use loket_common::{Error, Result, ids};
use loket_consultation_types::types::{self, TypeInfo};
use loket_storage::AnyConnection;
use loket_storage::schema::{appointment_no_shows, appointments, procedures, reminders};
use uuid::Uuid;

use crate::api::{Appointment, AppointmentStatus, ProcedureKind, ProcedureStatus};
use crate::model::{AppointmentRow, NoShowRow, ProcedureRow, ReminderRow};
use crate::rules::{self, Facts};

/// Longest appointment; also bounds the overlap query.
pub const MAX_LENGTH_HOURS: i64 = 24;

/// Loads an appointment of the tenant (404 otherwise).
pub fn load(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<AppointmentRow> {
    appointments::table
        .filter(appointments::tenant_id.eq(tenant.to_string()))
        .filter(appointments::id.eq(id.to_string()))
        .select(AppointmentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("appointment"))
}

/// Takes the appointment's row lock for the rest of the transaction (a no-op update: a row lock
/// on PostgreSQL, where concurrent changes of one appointment then run one after the other and
/// each sees the state the previous one committed), then loads it. 404 for another tenant's id.
pub fn lock(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<AppointmentRow> {
    let n = diesel::update(
        appointments::table
            .filter(appointments::tenant_id.eq(tenant.to_string()))
            .filter(appointments::id.eq(id.to_string())),
    )
    .set(appointments::updated_at.eq(appointments::updated_at))
    .execute(conn)?;
    if n == 0 {
        return Err(Error::not_found("appointment"));
    }
    load(conn, tenant, id)
}

/// The no-show record of an appointment, if it is a processed no-show.
pub fn no_show(conn: &mut AnyConnection, id: &str) -> Result<Option<NoShowRow>> {
    Ok(appointment_no_shows::table
        .find(id)
        .select(NoShowRow::as_select())
        .first(conn)
        .optional()?)
}

/// The procedures of an appointment, oldest first.
pub fn procedures_of(conn: &mut AnyConnection, id: &str) -> Result<Vec<ProcedureRow>> {
    Ok(procedures::table
        .filter(procedures::appointment_id.eq(id))
        .order(procedures::id.asc())
        .select(ProcedureRow::as_select())
        .load(conn)?)
}

/// The reminders of an appointment, by send time.
pub fn reminders_of(conn: &mut AnyConnection, id: &str) -> Result<Vec<ReminderRow>> {
    Ok(reminders::table
        .filter(reminders::appointment_id.eq(id))
        .order((reminders::send_at.asc(), reminders::id.asc()))
        .select(ReminderRow::as_select())
        .load(conn)?)
}

/// Loads a procedure of the tenant (404 otherwise).
pub fn load_procedure(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<ProcedureRow> {
    procedures::table
        .filter(procedures::tenant_id.eq(tenant.to_string()))
        .filter(procedures::id.eq(id.to_string()))
        .select(ProcedureRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("procedure"))
}

/// The facts the rules decide on, for one appointment.
pub fn facts(conn: &mut AnyConnection, tenant: Uuid, row: &AppointmentRow) -> Result<Facts> {
    let type_id = ids::parse_stored(&row.consultation_type_id)?;
    let t = types::info(conn, tenant, type_id)?;
    let any_submitted = procedures::table
        .filter(procedures::appointment_id.eq(&row.id))
        .filter(procedures::status.eq(ProcedureStatus::Submitted.as_str()))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    let ns = no_show(conn, &row.id)?;
    let available = types::first_no_show(conn, tenant)?.is_some();
    Ok(Facts {
        status: row.status(),
        concept: row.concept,
        type_is_no_show: t.is_no_show,
        any_submitted,
        no_show_completed: ns.map(|n| n.completed),
        no_show_type_available: available,
    })
}

/// API representations of appointments with their `actions`, gathering the facts of all of
/// them in a few queries.
pub fn present(
    conn: &mut AnyConnection,
    tenant: Uuid,
    rows: &[AppointmentRow],
) -> Result<Vec<Appointment>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let row_ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    // One appointment (a GET) as `=`: statements SQLite keeps prepared; `IN (…)` with a varying
    // number of values is prepared anew each time.
    let submitted = procedures::table
        .filter(procedures::status.eq(ProcedureStatus::Submitted.as_str()))
        .select(procedures::appointment_id)
        .into_boxed();
    let submitted = match row_ids.as_slice() {
        [one] => submitted.filter(procedures::appointment_id.eq(*one)),
        many => submitted.filter(procedures::appointment_id.eq_any(many)),
    };
    let submitted: HashSet<String> = submitted.load::<String>(conn)?.into_iter().collect();
    let no_shows = appointment_no_shows::table
        .select(NoShowRow::as_select())
        .into_boxed();
    let no_shows = match row_ids.as_slice() {
        [one] => no_shows.filter(appointment_no_shows::appointment_id.eq(*one)),
        many => no_shows.filter(appointment_no_shows::appointment_id.eq_any(many)),
    };
    let no_shows: HashMap<String, NoShowRow> = no_shows
        .load(conn)?
        .into_iter()
        .map(|n| (n.appointment_id.clone(), n))
        .collect();
    let mut type_ids: Vec<Uuid> = rows
        .iter()
        .map(|r| ids::parse_stored(&r.consultation_type_id))
        .collect::<Result<_>>()?;
    type_ids.sort_unstable();
    type_ids.dedup();
    let kinds: HashMap<Uuid, TypeInfo> = types::infos(conn, tenant, &type_ids)?;
    let available = types::first_no_show(conn, tenant)?.is_some();
    rows.iter()
        .map(|r| {
            let type_id = ids::parse_stored(&r.consultation_type_id)?;
            let ns = no_shows.get(&r.id);
            let f = Facts {
                status: r.status(),
                concept: r.concept,
                type_is_no_show: kinds.get(&type_id).is_some_and(|t| t.is_no_show),
                any_submitted: submitted.contains(&r.id),
                no_show_completed: ns.map(|n| n.completed),
                no_show_type_available: available,
            };
            r.to_api(ns, rules::actions(&f))
        })
        .collect()
}

/// The API representation of one appointment.
pub fn present_one(
    conn: &mut AnyConnection,
    tenant: Uuid,
    row: &AppointmentRow,
) -> Result<Appointment> {
    present(conn, tenant, std::slice::from_ref(row))?
        .pop()
        .ok_or_else(|| Error::not_found("appointment"))
}

/// The id of a (not lapsed) appointment of `staff` overlapping `[starts, ends)`, other than
/// `except`. Appointments last at most [`MAX_LENGTH_HOURS`], which bounds the index range.
pub fn overlapping(
    conn: &mut AnyConnection,
    tenant: Uuid,
    staff: Uuid,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
    except: Option<&str>,
) -> Result<Option<String>> {
    let mut q = appointments::table
        .filter(appointments::tenant_id.eq(tenant.to_string()))
        .filter(appointments::staff_id.eq(staff.to_string()))
        .filter(appointments::starts_at.lt(to_db(ends)))
        .filter(appointments::ends_at.gt(to_db(starts)))
        .filter(appointments::status.ne(AppointmentStatus::Lapsed.as_str()))
        .select(appointments::id)
        .into_boxed();
    if let Some(lower) = starts.checked_sub_signed(Duration::hours(MAX_LENGTH_HOURS)) {
        q = q.filter(appointments::starts_at.gt(to_db(lower)));
    }
    if let Some(id) = except {
        q = q.filter(appointments::id.ne(id.to_owned()));
    }
    Ok(q.first::<String>(conn).optional()?)
}

/// The busy intervals of a staff member between `from` and `to` (not lapsed appointments).
pub fn busy(
    conn: &mut AnyConnection,
    tenant: Uuid,
    staff: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    let mut q = appointments::table
        .filter(appointments::tenant_id.eq(tenant.to_string()))
        .filter(appointments::staff_id.eq(staff.to_string()))
        .filter(appointments::starts_at.lt(to_db(to)))
        .filter(appointments::ends_at.gt(to_db(from)))
        .filter(appointments::status.ne(AppointmentStatus::Lapsed.as_str()))
        .order(appointments::starts_at.asc())
        .select((appointments::starts_at, appointments::ends_at))
        .into_boxed();
    if let Some(lower) = from.checked_sub_signed(Duration::hours(MAX_LENGTH_HOURS)) {
        q = q.filter(appointments::starts_at.gt(to_db(lower)));
    }
    let rows: Vec<(NaiveDateTime, NaiveDateTime)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(s, e)| (from_db(s), from_db(e)))
        .collect())
}

/// Writes a procedure for a completed appointment of type `t`.
pub fn write_procedure(
    conn: &mut AnyConnection,
    appointment: &AppointmentRow,
    t: &TypeInfo,
    at: DateTime<Utc>,
) -> Result<ProcedureRow> {
    let kind = if t.is_no_show {
        ProcedureKind::NoShow
    } else {
        ProcedureKind::Consultation
    };
    let row = ProcedureRow {
        id: ids::new_id().to_string(),
        tenant_id: appointment.tenant_id.clone(),
        appointment_id: appointment.id.clone(),
        employee_id: appointment.employee_id.clone(),
        consultation_type_id: t.id.to_string(),
        kind: kind.as_str().to_owned(),
        billing_code: t.billing_code.clone(),
        amount_cents: t.amount_cents,
        status: ProcedureStatus::Open.as_str().to_owned(),
        performed_at: appointment.starts_at,
        reason: None,
        refund_of: None,
        submitted_at: None,
        created_at: to_db(at),
        updated_at: to_db(at),
    };
    diesel::insert_into(procedures::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// Inserts a procedure row as it is (restoring a snapshot).
pub fn insert_procedure(conn: &mut AnyConnection, row: &ProcedureRow) -> Result<()> {
    diesel::insert_into(procedures::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Deletes a procedure.
pub fn delete_procedure(conn: &mut AnyConnection, id: &str) -> Result<()> {
    diesel::delete(procedures::table.find(id)).execute(conn)?;
    Ok(())
}
