//! Request and response types of consultation types and product parameters.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// How a reminder is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReminderChannel {
    Email,
    Sms,
}

impl ReminderChannel {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderChannel::Email => "email",
            ReminderChannel::Sms => "sms",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<ReminderChannel> {
        match s {
            "email" => Some(ReminderChannel::Email),
            "sms" => Some(ReminderChannel::Sms),
            _ => None,
        }
    }
}

/// Who receives a reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReminderRecipient {
    /// The employee the appointment is about.
    Employee,
    /// The staff member who holds it.
    Staff,
}

impl ReminderRecipient {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderRecipient::Employee => "employee",
            ReminderRecipient::Staff => "staff",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<ReminderRecipient> {
        match s {
            "employee" => Some(ReminderRecipient::Employee),
            "staff" => Some(ReminderRecipient::Staff),
            _ => None,
        }
    }
}

/// A reminder every appointment of the type gets when it is booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultReminder {
    /// Minutes before the start (0 to 43200, i.e. 30 days).
    #[schema(example = 1440, minimum = 0, maximum = 43200)]
    #[serde(deserialize_with = "loket_agenda_core::check::int::u32")]
    pub minutes_before: u32,
    pub channel: ReminderChannel,
    pub recipient: ReminderRecipient,
}

/// A kind of consultation (spreekuursoort).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsultationType {
    pub id: Uuid,
    #[schema(example = "Spreekuur bedrijfsarts")]
    pub name: String,
    #[schema(example = 30)]
    pub duration_minutes: u32,
    /// A no-show type: not selectable for new appointments and call requests (R-NOSHOW-SELECT);
    /// used by no-show processing.
    pub is_no_show: bool,
    /// R-CONTACT: appointments and call requests of this type need an employee with an e-mail
    /// address or mobile number (private or work).
    pub requires_contact: bool,
    pub default_reminders: Vec<DefaultReminder>,
    #[schema(example = "SPR-BA")]
    pub billing_code: Option<String>,
    /// The amount of the procedure written when an appointment of this type is completed.
    #[schema(example = 12500)]
    pub amount_cents: i64,
    /// Inactive types cannot be chosen for new appointments and call requests.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /consultation-types`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsultationType {
    #[schema(
        example = "Spreekuur bedrijfsarts",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// 5 to 480 minutes.
    #[schema(example = 30, minimum = 5, maximum = 480)]
    #[serde(deserialize_with = "loket_agenda_core::check::int::u32")]
    pub duration_minutes: u32,
    /// Defaults to `false`.
    pub is_no_show: Option<bool>,
    /// Defaults to `false`.
    pub requires_contact: Option<bool>,
    /// At most 10; defaults to none.
    #[schema(max_items = 10)]
    pub default_reminders: Option<Vec<DefaultReminder>>,
    #[schema(
        example = "SPR-BA",
        min_length = 1,
        max_length = 50,
        pattern = r"^[A-Za-z0-9._-]+$"
    )]
    pub billing_code: Option<String>,
    /// 0 to 100000000 (one million in the currency); defaults to 0.
    #[schema(example = 12500, minimum = 0, maximum = 100000000)]
    #[serde(default, deserialize_with = "loket_agenda_core::check::int::opt_i64")]
    pub amount_cents: Option<i64>,
    /// Defaults to `true`.
    pub active: Option<bool>,
}

/// `PATCH /consultation-types/{id}`: only the fields present change; `null` clears the billing
/// code.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultationTypeChanges {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[schema(minimum = 5, maximum = 480)]
    #[serde(default, deserialize_with = "loket_agenda_core::check::int::opt_u32")]
    pub duration_minutes: Option<u32>,
    pub is_no_show: Option<bool>,
    pub requires_contact: Option<bool>,
    #[schema(max_items = 10)]
    pub default_reminders: Option<Vec<DefaultReminder>>,
    #[serde(default, deserialize_with = "loket_agenda_core::check::nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 50, pattern = r"^[A-Za-z0-9._-]+$")]
    pub billing_code: Option<Option<String>>,
    #[schema(minimum = 0, maximum = 100000000)]
    #[serde(default, deserialize_with = "loket_agenda_core::check::int::opt_i64")]
    pub amount_cents: Option<i64>,
    pub active: Option<bool>,
}

/// Filters of `GET /consultation-types`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsultationTypeFilter {
    /// `true`: only the types a planner can choose for a new appointment (active, not no-show);
    /// `false`: only the others.
    pub selectable: Option<bool>,
    /// Only no-show (`true`) or regular (`false`) types.
    pub is_no_show: Option<bool>,
}

/// The kind of value a product parameter holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParameterType {
    /// `0` (off) or `1` (on).
    Flag,
    /// A consultation type id, or `null`.
    ConsultationType,
}

/// A per-tenant setting (productparameter).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductParameter {
    #[schema(example = "CalculateAvailabilitiesForAppointmentRequest")]
    pub code: String,
    pub description: String,
    pub value_type: ParameterType,
    /// The current value (`0`/`1` for flags, a consultation type id or `null`).
    #[schema(schema_with = parameter_value_schema)]
    pub value: serde_json::Value,
    /// The value when never set.
    #[schema(schema_with = parameter_value_schema)]
    pub default: serde_json::Value,
    /// When the value was last set; `null` while it has its default.
    pub updated_at: Option<DateTime<Utc>>,
}

/// `PUT /product-parameters/CalculateAvailabilitiesForAppointmentRequest` (and other flags).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagValue {
    /// `1` (on) or `0` (off); `null` resets the default.
    #[schema(minimum = 0, maximum = 1)]
    #[serde(default, deserialize_with = "loket_agenda_core::check::int::opt_u32")]
    pub value: Option<u32>,
}

/// `PUT /product-parameters/Consultation.DefaultConsultationType`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultationTypeValue {
    /// A consultation type of the tenant (a no-show type is allowed); `null` for none.
    pub value: Option<Uuid>,
}

/// The schema of a parameter value: `0`, `1`, a UUID or `null`.
pub fn parameter_value_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    utoipa::openapi::schema::Schema::OneOf(
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .maximum(Some(1)),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
            )
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build(),
    )
}
