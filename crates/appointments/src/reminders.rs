//! Appointment reminders (seed 000 §3.1.5.1). A booked appointment gets its type's default
//! reminders as a stored schedule (`pending` until `send_at`). A reminder for which the
//! recipient has no address on its channel cannot be created: the appointment is booked all
//! the same, and `Appointments.RemindersFailed` fires so that trigger rules can react.
//!
//! Sending is not done here: a worker picks `pending` reminders whose `send_at` has passed and
//! hands them to the mail crate (e-mail) or an SMS gateway, then marks them `sent`.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use loket_agenda_core::{employees, staff};
use loket_common::time::{from_db, to_db};
use loket_common::{Result, ids};
use loket_consultation_types::api::{DefaultReminder, ReminderChannel, ReminderRecipient};
use loket_consultation_types::types::TypeInfo;
use loket_storage::AnyConnection;
use loket_storage::schema::reminders;
use uuid::Uuid;

use crate::api::{ReminderFailure, ReminderStatus};
use crate::model::AppointmentRow;
use crate::repo;

/// Where reminders can go.
#[derive(Debug, Clone, Default)]
pub struct Addresses {
    pub employee_email: Option<String>,
    pub employee_mobile: Option<String>,
    pub staff_email: Option<String>,
    pub staff_mobile: Option<String>,
}

/// The address of one default reminder, or why there is none.
pub fn address_for(a: &Addresses, r: &DefaultReminder) -> std::result::Result<String, String> {
    let (found, who, what) = match (r.recipient, r.channel) {
        (ReminderRecipient::Employee, ReminderChannel::Email) => {
            (&a.employee_email, "employee", "e-mail address")
        }
        (ReminderRecipient::Employee, ReminderChannel::Sms) => {
            (&a.employee_mobile, "employee", "mobile number")
        }
        (ReminderRecipient::Staff, ReminderChannel::Email) => {
            (&a.staff_email, "staff member", "e-mail address")
        }
        (ReminderRecipient::Staff, ReminderChannel::Sms) => {
            (&a.staff_mobile, "staff member", "mobile number")
        }
    };
    found
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("the {who} has no {what}"))
}

/// Adds the type's default reminders to a new appointment; returns those that could not be
/// created.
pub fn add_defaults(
    conn: &mut AnyConnection,
    tenant: Uuid,
    appointment: &AppointmentRow,
    t: &TypeInfo,
    at: DateTime<Utc>,
) -> Result<Vec<ReminderFailure>> {
    if t.default_reminders.is_empty() {
        return Ok(Vec::new());
    }
    let employee = employees::contact(conn, tenant, ids::parse_stored(&appointment.employee_id)?)?;
    let member = staff::info(conn, tenant, ids::parse_stored(&appointment.staff_id)?)?;
    let addresses = Addresses {
        employee_email: employee.email().map(str::to_owned),
        employee_mobile: employee.mobile().map(str::to_owned),
        staff_email: member.email,
        staff_mobile: member.mobile,
    };
    let starts = from_db(appointment.starts_at);
    let mut failures = Vec::new();
    for r in &t.default_reminders {
        let address = match address_for(&addresses, r) {
            Ok(a) => a,
            Err(reason) => {
                failures.push(ReminderFailure {
                    minutes_before: r.minutes_before,
                    channel: r.channel,
                    recipient: r.recipient,
                    reason,
                });
                continue;
            }
        };
        let send_at = starts
            .checked_sub_signed(Duration::minutes(i64::from(r.minutes_before)))
            .unwrap_or(starts);
        diesel::insert_into(reminders::table)
            .values((
                reminders::id.eq(ids::new_id().to_string()),
                reminders::tenant_id.eq(tenant.to_string()),
                reminders::appointment_id.eq(&appointment.id),
                reminders::minutes_before.eq(i32::try_from(r.minutes_before).unwrap_or(i32::MAX)),
                reminders::channel.eq(r.channel.as_str()),
                reminders::recipient.eq(r.recipient.as_str()),
                reminders::address.eq(address),
                reminders::send_at.eq(to_db(send_at)),
                reminders::status.eq(ReminderStatus::Pending.as_str()),
                reminders::created_at.eq(to_db(at)),
            ))
            .execute(conn)?;
    }
    Ok(failures)
}

/// Moves the reminders of a rescheduled appointment along with its new start.
pub fn follow(conn: &mut AnyConnection, appointment: &AppointmentRow) -> Result<()> {
    let starts = from_db(appointment.starts_at);
    for r in repo::reminders_of(conn, &appointment.id)? {
        let send_at = starts
            .checked_sub_signed(Duration::minutes(i64::from(r.minutes_before)))
            .unwrap_or(starts);
        diesel::update(reminders::table.find(&r.id))
            .set(reminders::send_at.eq(to_db(send_at)))
            .execute(conn)?;
    }
    Ok(())
}

/// Cancels the pending reminders of an appointment (it lapsed).
pub fn cancel_pending(conn: &mut AnyConnection, appointment_id: &str) -> Result<()> {
    diesel::update(
        reminders::table
            .filter(reminders::appointment_id.eq(appointment_id))
            .filter(reminders::status.eq(ReminderStatus::Pending.as_str())),
    )
    .set(reminders::status.eq(ReminderStatus::Cancelled.as_str()))
    .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_address_on_the_channel_is_a_failure_with_a_reason() {
        let a = Addresses {
            employee_email: Some("w@example.org".into()),
            ..Addresses::default()
        };
        let email = DefaultReminder {
            minutes_before: 60,
            channel: ReminderChannel::Email,
            recipient: ReminderRecipient::Employee,
        };
        assert_eq!(address_for(&a, &email).unwrap(), "w@example.org");
        let sms = DefaultReminder {
            channel: ReminderChannel::Sms,
            ..email
        };
        assert_eq!(
            address_for(&a, &sms).unwrap_err(),
            "the employee has no mobile number"
        );
        let staff = DefaultReminder {
            recipient: ReminderRecipient::Staff,
            ..email
        };
        assert!(address_for(&a, &staff).is_err());
    }
}
