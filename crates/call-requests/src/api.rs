//! Request and response types of call requests, availabilities and planning.

use chrono::{DateTime, Utc};
use loket_appointments::api::Appointment;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Where a call request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallRequestStatus {
    /// To be planned (again, after its appointment was deleted or processed as no-show).
    Open,
    /// An appointment was booked for it.
    Planned,
    /// No longer to be planned.
    Cancelled,
}

impl CallRequestStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            CallRequestStatus::Open => "open",
            CallRequestStatus::Planned => "planned",
            CallRequestStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> CallRequestStatus {
        match s {
            "planned" => CallRequestStatus::Planned,
            "cancelled" => CallRequestStatus::Cancelled,
            _ => CallRequestStatus::Open,
        }
    }
}

/// A request to plan a consultation for an employee (oproepverzoek).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallRequest {
    pub id: Uuid,
    pub employee_id: Uuid,
    pub consultation_type_id: Uuid,
    pub reason: Option<String>,
    /// Plan before this time.
    pub deadline: Option<DateTime<Utc>>,
    pub preferred_staff_id: Option<Uuid>,
    pub preferred_location: Option<String>,
    pub status: CallRequestStatus,
    /// The appointment booked for it, while planned.
    pub appointment_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /call-requests`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCallRequest {
    pub employee_id: Uuid,
    /// Defaults to the product parameter `Consultation.DefaultConsultationType`. Not a no-show
    /// type, unless it is that default (R-NOSHOW-SELECT); R-CONTACT applies.
    pub consultation_type_id: Option<Uuid>,
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub reason: Option<String>,
    pub deadline: Option<DateTime<Utc>>,
    pub preferred_staff_id: Option<Uuid>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub preferred_location: Option<String>,
}

/// `PATCH /call-requests/{id}` (while open): only the fields present change; `null` clears an
/// optional field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallRequestChanges {
    pub consultation_type_id: Option<Uuid>,
    #[serde(default, deserialize_with = "loket_agenda_core::check::nullable")]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]
    pub reason: Option<Option<String>>,
    #[serde(default, deserialize_with = "loket_agenda_core::check::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub deadline: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "loket_agenda_core::check::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub preferred_staff_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "loket_agenda_core::check::nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$")]
    pub preferred_location: Option<Option<String>>,
}

/// Query of `POST /call-requests`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SaveOptions {
    /// "Save and plan": also return the matching availabilities. Needs `agenda:autoplan` and
    /// the product parameter `CalculateAvailabilitiesForAppointmentRequest` = 1.
    pub plan: Option<bool>,
}

/// Filters of `GET /call-requests`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallRequestFilter {
    pub status: Option<CallRequestStatus>,
    pub employee_id: Option<Uuid>,
}

/// A free slot within an availability where the call request's consultation fits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Slot {
    pub availability_id: Uuid,
    pub staff_id: Uuid,
    #[schema(example = "Dr. A. Bakker")]
    pub staff_name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location: Option<String>,
}

/// The result of availability calculation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Planning {
    /// Free slots of the type's duration, before the deadline, with allowed staff; earliest
    /// first, at most 50.
    pub availabilities: Vec<Slot>,
    /// Set when nothing matched: the request stays open and can be planned by hand.
    pub warning: Option<String>,
}

/// The answer of `POST /call-requests`: the saved request and, for "save and plan", the
/// matching availabilities.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SavedCallRequest {
    #[serde(flatten)]
    pub call_request: CallRequest,
    /// Present for "save and plan" (`?plan=true`), else `null`.
    pub planning: Option<Planning>,
}

/// `POST /call-requests/{id}/book`: the chosen slot.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookSlot {
    pub availability_id: Uuid,
    /// The start; the appointment lasts the type's duration and must lie within the
    /// availability.
    pub starts_at: DateTime<Utc>,
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub notes: Option<String>,
}

/// The answer of `POST /call-requests/{id}/book`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Booked {
    /// The request, now planned.
    pub call_request: CallRequest,
    /// The new appointment, with the type's default reminders.
    pub appointment: Appointment,
}

/// A time block in which a staff member can be booked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Availability {
    pub id: Uuid,
    pub staff_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location: Option<String>,
    /// The consultation types that may be planned in it; empty means any.
    pub consultation_type_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// `POST /staff/{id}/availabilities`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAvailability {
    pub starts_at: DateTime<Utc>,
    /// After the start, at most 7 days later.
    pub ends_at: DateTime<Utc>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub location: Option<String>,
    /// The consultation types allowed (at most 50); absent or empty means any.
    #[schema(max_items = 50)]
    pub consultation_type_ids: Option<Vec<Uuid>>,
}

/// Filters of `GET /staff/{id}/availabilities`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityFilter {
    /// Only availabilities ending after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only availabilities starting before this time.
    pub to: Option<DateTime<Utc>>,
}
