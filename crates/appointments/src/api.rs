//! Request and response types of appointments, procedures and reminders.

use chrono::{DateTime, Utc};
use loket_consultation_types::api::{ReminderChannel, ReminderRecipient};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Where an appointment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    /// Ingepland.
    Planned,
    /// Voltooid: a procedure was written.
    Completed,
    /// Vervallen: completed with submitted procedures, then marked lapsed with a reason (a
    /// refund procedure was written). Final.
    Lapsed,
}

impl AppointmentStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Planned => "planned",
            AppointmentStatus::Completed => "completed",
            AppointmentStatus::Lapsed => "lapsed",
        }
    }

    /// Parses the stored form (unknown values read as `planned`).
    pub fn parse(s: &str) -> AppointmentStatus {
        match s {
            "completed" => AppointmentStatus::Completed,
            "lapsed" => AppointmentStatus::Lapsed,
            _ => AppointmentStatus::Planned,
        }
    }
}

/// An operation on an appointment. The `actions` of an appointment list those allowed right
/// now, computed by the same code that refuses the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `PATCH /appointments/{id}` (includes marking it concept).
    Edit,
    /// `DELETE /appointments/{id}`.
    Delete,
    /// `POST /appointments/{id}/complete`.
    Complete,
    /// `POST /appointments/{id}/uncomplete`.
    Uncomplete,
    /// `POST /appointments/{id}/reschedule`.
    Reschedule,
    /// `POST /appointments/{id}/lapse`.
    Lapse,
    /// `POST /appointments/{id}/no-show`.
    NoShow,
    /// `POST /appointments/{id}/undo-no-show`.
    UndoNoShow,
}

impl Action {
    /// Every operation, in menu order.
    pub const ALL: &'static [Action] = &[
        Action::Edit,
        Action::Complete,
        Action::Uncomplete,
        Action::Reschedule,
        Action::NoShow,
        Action::UndoNoShow,
        Action::Lapse,
        Action::Delete,
    ];
}

/// What no-show processing changed (present while it can be looked up; gone after undo).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NoShowInfo {
    /// The consultation type before no-show processing; undo restores it.
    pub original_consultation_type_id: Uuid,
    pub processed_at: DateTime<Utc>,
    /// Whether the no-show consultation was completed after processing; undo is refused then
    /// (R-NOSHOW-UNDO).
    pub completed: bool,
}

/// An appointment (afspraak).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Appointment {
    /// Stays the same across reschedules.
    pub id: Uuid,
    pub employee_id: Uuid,
    pub staff_id: Uuid,
    pub consultation_type_id: Uuid,
    /// The call request it was booked for, if any.
    pub call_request_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location: Option<String>,
    pub notes: Option<String>,
    /// A draft, not yet confirmed.
    pub concept: bool,
    pub status: AppointmentStatus,
    /// Set while the appointment is a processed no-show.
    pub no_show: Option<NoShowInfo>,
    pub completed_at: Option<DateTime<Utc>>,
    pub lapsed_at: Option<DateTime<Utc>>,
    pub lapse_reason: Option<String>,
    /// The operations allowed right now.
    pub actions: Vec<Action>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /appointments`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppointment {
    pub employee_id: Uuid,
    pub staff_id: Uuid,
    /// Not a no-show type (R-NOSHOW-SELECT); R-CONTACT applies.
    pub consultation_type_id: Uuid,
    pub starts_at: DateTime<Utc>,
    /// Defaults to the start plus the type's duration; at most 24 hours after the start.
    pub ends_at: Option<DateTime<Utc>>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub location: Option<String>,
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub notes: Option<String>,
    /// Defaults to `false`.
    pub concept: Option<bool>,
}

/// `PATCH /appointments/{id}`: only the fields present change; `null` clears `location` or
/// `notes`. Refused for completed appointments (R-COMPLETED-READONLY).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentChanges {
    pub employee_id: Option<Uuid>,
    pub staff_id: Option<Uuid>,
    /// Not a (new) no-show type (R-NOSHOW-SELECT).
    pub consultation_type_id: Option<Uuid>,
    /// A new start keeps the duration unless `ends_at` is given too.
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "loket_agenda_core::check::nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$")]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "loket_agenda_core::check::nullable")]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]
    pub notes: Option<Option<String>>,
    pub concept: Option<bool>,
}

/// `POST /appointments/{id}/reschedule`: the wizard's move to a new time (and optionally another
/// staff member or location). The appointment keeps its id, its status and its procedures,
/// which move to the new date.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reschedule {
    pub starts_at: DateTime<Utc>,
    /// Defaults to the new start plus the current duration.
    pub ends_at: Option<DateTime<Utc>>,
    /// Defaults to the current staff member.
    pub staff_id: Option<Uuid>,
    #[serde(default, deserialize_with = "loket_agenda_core::check::nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$")]
    pub location: Option<Option<String>>,
}

/// `POST /appointments/{id}/lapse`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lapse {
    /// Why the appointment lapsed.
    #[schema(
        example = "Werknemer uit dienst",
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub reason: String,
}

/// `POST /appointments/{id}/no-show`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoShow {
    /// A no-show consultation type; defaults to the tenant's first active one.
    pub consultation_type_id: Option<Uuid>,
}

/// Filters of `GET /appointments`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppointmentFilter {
    /// Only appointments starting at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only appointments starting before this time.
    pub to: Option<DateTime<Utc>>,
    pub staff_id: Option<Uuid>,
    pub employee_id: Option<Uuid>,
    pub status: Option<AppointmentStatus>,
}

/// A procedure's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProcedureStatus {
    /// Not yet offered for invoicing.
    Open,
    /// Aangeboden: offered for invoicing.
    Submitted,
}

impl ProcedureStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcedureStatus::Open => "open",
            ProcedureStatus::Submitted => "submitted",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> ProcedureStatus {
        match s {
            "submitted" => ProcedureStatus::Submitted,
            _ => ProcedureStatus::Open,
        }
    }
}

/// What a procedure bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProcedureKind {
    /// A held consultation.
    Consultation,
    /// A no-show consultation.
    NoShow,
    /// The refund of a submitted procedure of a lapsed appointment (negative amount).
    Refund,
}

impl ProcedureKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcedureKind::Consultation => "consultation",
            ProcedureKind::NoShow => "no_show",
            ProcedureKind::Refund => "refund",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> ProcedureKind {
        match s {
            "no_show" => ProcedureKind::NoShow,
            "refund" => ProcedureKind::Refund,
            _ => ProcedureKind::Consultation,
        }
    }
}

/// A billable act (verrichting) of an appointment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Procedure {
    pub id: Uuid,
    pub appointment_id: Uuid,
    pub employee_id: Uuid,
    pub consultation_type_id: Uuid,
    pub kind: ProcedureKind,
    pub billing_code: Option<String>,
    /// In cents; negative for refunds.
    pub amount_cents: i64,
    pub status: ProcedureStatus,
    /// The appointment's start (moves when it is rescheduled).
    pub performed_at: DateTime<Utc>,
    /// For refunds: why the appointment lapsed.
    pub reason: Option<String>,
    /// For refunds: the refunded procedure.
    pub refund_of: Option<Uuid>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Filters of `GET /procedures`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProcedureFilter {
    pub appointment_id: Option<Uuid>,
    pub employee_id: Option<Uuid>,
    pub status: Option<ProcedureStatus>,
    /// Only procedures performed at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only procedures performed before this time.
    pub to: Option<DateTime<Utc>>,
}

/// A reminder's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReminderStatus {
    /// Waiting for `send_at`.
    Pending,
    /// Handed to the mail or SMS gateway.
    Sent,
    /// Not to be sent (the appointment lapsed).
    Cancelled,
}

impl ReminderStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderStatus::Pending => "pending",
            ReminderStatus::Sent => "sent",
            ReminderStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> ReminderStatus {
        match s {
            "sent" => ReminderStatus::Sent,
            "cancelled" => ReminderStatus::Cancelled,
            _ => ReminderStatus::Pending,
        }
    }
}

/// A scheduled reminder of an appointment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Reminder {
    pub id: Uuid,
    pub appointment_id: Uuid,
    pub minutes_before: u32,
    pub channel: ReminderChannel,
    pub recipient: ReminderRecipient,
    /// The e-mail address or number it goes to.
    pub address: String,
    pub send_at: DateTime<Utc>,
    pub status: ReminderStatus,
    pub created_at: DateTime<Utc>,
}

/// One default reminder that could not be created (in `Appointments.RemindersFailed`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReminderFailure {
    pub minutes_before: u32,
    pub channel: ReminderChannel,
    pub recipient: ReminderRecipient,
    #[schema(example = "the employee has no e-mail address")]
    pub reason: String,
}
