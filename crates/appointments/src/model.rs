//! Database rows and their API representations.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loket_common::time::from_db;
use loket_common::{Error, Result, ids};
use loket_consultation_types::api::{ReminderChannel, ReminderRecipient};
use loket_storage::schema::{appointment_no_shows, appointments, procedures, reminders};
use serde::{Deserialize, Serialize};

use crate::api::{
    Action, Appointment, AppointmentStatus, NoShowInfo, Procedure, ProcedureKind, ProcedureStatus,
    Reminder, ReminderStatus,
};

/// An appointment row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = appointments)]
pub struct AppointmentRow {
    pub id: String,
    pub tenant_id: String,
    pub employee_id: String,
    pub staff_id: String,
    pub consultation_type_id: String,
    pub call_request_id: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub concept: bool,
    pub status: String,
    pub completed_at: Option<NaiveDateTime>,
    pub lapsed_at: Option<NaiveDateTime>,
    pub lapse_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl AppointmentRow {
    /// The status.
    pub fn status(&self) -> AppointmentStatus {
        AppointmentStatus::parse(&self.status)
    }

    /// The API representation with the given no-show record and allowed actions.
    pub fn to_api(&self, no_show: Option<&NoShowRow>, actions: Vec<Action>) -> Result<Appointment> {
        Ok(Appointment {
            id: ids::parse_stored(&self.id)?,
            employee_id: ids::parse_stored(&self.employee_id)?,
            staff_id: ids::parse_stored(&self.staff_id)?,
            consultation_type_id: ids::parse_stored(&self.consultation_type_id)?,
            call_request_id: self
                .call_request_id
                .as_deref()
                .map(ids::parse_stored)
                .transpose()?,
            starts_at: from_db(self.starts_at),
            ends_at: from_db(self.ends_at),
            location: self.location.clone(),
            notes: self.notes.clone(),
            concept: self.concept,
            status: self.status(),
            no_show: no_show.map(NoShowRow::to_api).transpose()?,
            completed_at: self.completed_at.map(from_db),
            lapsed_at: self.lapsed_at.map(from_db),
            lapse_reason: self.lapse_reason.clone(),
            actions,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// What no-show processing changed.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = appointment_no_shows)]
pub struct NoShowRow {
    pub appointment_id: String,
    pub tenant_id: String,
    pub original_consultation_type_id: String,
    pub original_status: String,
    pub original_completed_at: Option<NaiveDateTime>,
    pub replaced_procedures: String,
    pub call_request_id: Option<String>,
    pub completed: bool,
    pub created_at: NaiveDateTime,
}

impl NoShowRow {
    /// The API representation.
    pub fn to_api(&self) -> Result<NoShowInfo> {
        Ok(NoShowInfo {
            original_consultation_type_id: ids::parse_stored(&self.original_consultation_type_id)?,
            processed_at: from_db(self.created_at),
            completed: self.completed,
        })
    }

    /// The open procedures no-show processing removed.
    pub fn replaced(&self) -> Result<Vec<ProcedureRow>> {
        serde_json::from_str(&self.replaced_procedures).map_err(Error::internal)
    }
}

/// A procedure row (also the snapshot kept by no-show processing).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = procedures)]
pub struct ProcedureRow {
    pub id: String,
    pub tenant_id: String,
    pub appointment_id: String,
    pub employee_id: String,
    pub consultation_type_id: String,
    pub kind: String,
    pub billing_code: Option<String>,
    pub amount_cents: i64,
    pub status: String,
    pub performed_at: NaiveDateTime,
    pub reason: Option<String>,
    pub refund_of: Option<String>,
    pub submitted_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ProcedureRow {
    /// The API representation.
    pub fn to_api(&self) -> Result<Procedure> {
        Ok(Procedure {
            id: ids::parse_stored(&self.id)?,
            appointment_id: ids::parse_stored(&self.appointment_id)?,
            employee_id: ids::parse_stored(&self.employee_id)?,
            consultation_type_id: ids::parse_stored(&self.consultation_type_id)?,
            kind: ProcedureKind::parse(&self.kind),
            billing_code: self.billing_code.clone(),
            amount_cents: self.amount_cents,
            status: ProcedureStatus::parse(&self.status),
            performed_at: from_db(self.performed_at),
            reason: self.reason.clone(),
            refund_of: self
                .refund_of
                .as_deref()
                .map(ids::parse_stored)
                .transpose()?,
            submitted_at: self.submitted_at.map(from_db),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// A reminder row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reminders)]
pub struct ReminderRow {
    pub id: String,
    pub tenant_id: String,
    pub appointment_id: String,
    pub minutes_before: i32,
    pub channel: String,
    pub recipient: String,
    pub address: String,
    pub send_at: NaiveDateTime,
    pub status: String,
    pub created_at: NaiveDateTime,
}

impl ReminderRow {
    /// The API representation.
    pub fn to_api(&self) -> Result<Reminder> {
        Ok(Reminder {
            id: ids::parse_stored(&self.id)?,
            appointment_id: ids::parse_stored(&self.appointment_id)?,
            minutes_before: u32::try_from(self.minutes_before).unwrap_or_default(),
            channel: ReminderChannel::parse(&self.channel).unwrap_or(ReminderChannel::Email),
            recipient: ReminderRecipient::parse(&self.recipient)
                .unwrap_or(ReminderRecipient::Employee),
            address: self.address.clone(),
            send_at: from_db(self.send_at),
            status: ReminderStatus::parse(&self.status),
            created_at: from_db(self.created_at),
        })
    }
}
