//! Request and response types of employees, staff, trigger rules and tasks (OpenAPI schemas; no
//! web framework here).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::check::nullable;
use crate::events::Topic;

// --- Employees -------------------------------------------------------------------------------

/// A person consultations are about. Contact data is personal data: callers without
/// `agenda:read` get `null` for the four contact fields.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Employee {
    pub id: Uuid,
    #[schema(example = "Mevr. J. Jansen")]
    pub name: String,
    pub date_of_birth: Option<NaiveDate>,
    #[schema(example = "Bouwbedrijf De Vries")]
    pub employer: Option<String>,
    pub department: Option<String>,
    pub private_email: Option<String>,
    pub work_email: Option<String>,
    pub private_mobile: Option<String>,
    pub work_mobile: Option<String>,
    /// Culture code; `null` means the tenant's default.
    #[schema(example = "nl-NL")]
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /employees`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEmployee {
    #[schema(
        example = "Mevr. J. Jansen",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    pub date_of_birth: Option<NaiveDate>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub employer: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub department: Option<String>,
    #[schema(example = "j.jansen@example.org", format = "email", max_length = 254)]
    pub private_email: Option<String>,
    #[schema(format = "email", max_length = 254)]
    pub work_email: Option<String>,
    #[schema(example = "+31612345678", pattern = r"^\+?[0-9]{6,15}$")]
    pub private_mobile: Option<String>,
    #[schema(pattern = r"^\+?[0-9]{6,15}$")]
    pub work_mobile: Option<String>,
    #[schema(
        example = "nl-NL",
        min_length = 5,
        max_length = 5,
        pattern = r"^[a-z]{2}-[A-Z]{2}$"
    )]
    pub language: Option<String>,
}

/// `PATCH /employees/{id}`: only the fields present change; `null` clears an optional field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployeeChanges {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub date_of_birth: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$")]
    pub employer: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$")]
    pub department: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "email", max_length = 254)]
    pub private_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "email", max_length = 254)]
    pub work_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = r"^\+?[0-9]{6,15}$")]
    pub private_mobile: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = r"^\+?[0-9]{6,15}$")]
    pub work_mobile: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 5, max_length = 5, pattern = r"^[a-z]{2}-[A-Z]{2}$")]
    pub language: Option<Option<String>>,
}

// --- Staff -----------------------------------------------------------------------------------

/// What a staff member does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Bedrijfsarts.
    CompanyDoctor,
    /// Casemanager.
    CaseManager,
    /// Any other professional.
    Other,
}

impl StaffRole {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::CompanyDoctor => "company_doctor",
            StaffRole::CaseManager => "case_manager",
            StaffRole::Other => "other",
        }
    }

    /// Parses the stored form (unknown values read as `other`).
    pub fn parse(s: &str) -> StaffRole {
        match s {
            "company_doctor" => StaffRole::CompanyDoctor,
            "case_manager" => StaffRole::CaseManager,
            _ => StaffRole::Other,
        }
    }
}

/// A professional who holds consultations.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Staff {
    pub id: Uuid,
    #[schema(example = "Dr. A. Bakker")]
    pub name: String,
    pub role: StaffRole,
    /// Address for reminders to the staff member.
    pub email: Option<String>,
    /// Number for SMS reminders to the staff member.
    pub mobile: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /staff`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    #[schema(
        example = "Dr. A. Bakker",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    pub role: StaffRole,
    #[schema(format = "email", max_length = 254)]
    pub email: Option<String>,
    #[schema(pattern = r"^\+?[0-9]{6,15}$")]
    pub mobile: Option<String>,
    /// Defaults to `true`.
    pub active: Option<bool>,
}

/// `PATCH /staff/{id}`: only the fields present change; `null` clears an optional field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffChanges {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    pub role: Option<StaffRole>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "email", max_length = 254)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = r"^\+?[0-9]{6,15}$")]
    pub mobile: Option<Option<String>>,
    pub active: Option<bool>,
}

// --- Trigger rules ---------------------------------------------------------------------------

/// What a trigger rule does when its event happens (`type` tells which).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TriggerAction {
    /// Creates a task linked to the event's object (e.g. "contact the employee").
    CreateTask {
        /// The task's title.
        title: String,
        /// The task's description.
        description: Option<String>,
        /// The user the task is for (a user of the tenant).
        assignee_user_id: Option<Uuid>,
        /// The task is due this many days after the event (0 to 365); no due date when absent.
        #[serde(default, deserialize_with = "crate::check::int::opt_u32")]
        due_in_days: Option<u32>,
    },
    /// Publishes a `TriggerRules.Fired` event (delivered to webhook receivers subscribed to it)
    /// carrying the rule and the triggering event's data.
    EmitTopic {},
}

/// Written by hand: each variant is a closed object (the derived schema would admit unknown
/// members, which the API refuses).
impl utoipa::PartialSchema for TriggerAction {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            AdditionalProperties, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat,
            SchemaType, Type,
        };
        let tag = |v: &str| {
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::String))
                .enum_values(Some([v.to_owned()]))
        };
        let closed = || Some(AdditionalProperties::<Schema>::FreeForm(false));
        let create_task = ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .description(Some(
                "Creates a task linked to the event's object (e.g. \"contact the employee\").",
            ))
            .property("type", tag("create_task"))
            .required("type")
            .property(
                "title",
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::String))
                    .min_length(Some(1))
                    .max_length(Some(200))
                    .pattern(Some(crate::check::TEXT_PATTERN)),
            )
            .required("title")
            .property(
                "description",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .max_length(Some(2000))
                    .pattern(Some(crate::check::NOTES_PATTERN)),
            )
            .property(
                "assignee_user_id",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .description(Some("The user the task is for (a user of the tenant).")),
            )
            .property(
                "due_in_days",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
                    .minimum(Some(0))
                    .maximum(Some(365))
                    .description(Some(
                        "The task is due this many days after the event; no due date when absent.",
                    )),
            )
            .additional_properties(closed());
        let emit_topic = ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .description(Some(
                "Publishes a `TriggerRules.Fired` event carrying the rule and the triggering \
                 event's data (delivered to webhook receivers subscribed to it).",
            ))
            .property("type", tag("emit_topic"))
            .required("type")
            .additional_properties(closed());
        Schema::OneOf(
            OneOfBuilder::new()
                .description(Some(
                    "What a trigger rule does when its event happens (`type` tells which).",
                ))
                .item(create_task)
                .item(emit_topic)
                .build(),
        )
        .into()
    }
}

impl ToSchema for TriggerAction {}

/// When an agenda event happens, do an action.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TriggerRule {
    pub id: Uuid,
    #[schema(example = "Reminders failed: call the employee")]
    pub name: String,
    /// The event (topic) the rule reacts to.
    pub event: Topic,
    pub action: TriggerAction,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /trigger-rules`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTriggerRule {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// Any agenda topic except `TriggerRules.Fired` (rules do not chain).
    #[schema(schema_with = crate::events::triggerable_schema)]
    pub event: Topic,
    pub action: TriggerAction,
    /// Defaults to `true`.
    pub active: Option<bool>,
}

/// `PATCH /trigger-rules/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerRuleChanges {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[schema(schema_with = crate::events::triggerable_schema_nullable)]
    pub event: Option<Topic>,
    pub action: Option<TriggerAction>,
    pub active: Option<bool>,
}

// --- Tasks -----------------------------------------------------------------------------------

/// The kind of object a task is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectType {
    Appointment,
    CallRequest,
    Procedure,
    Employee,
    ConsultationType,
}

impl ObjectType {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Appointment => "appointment",
            ObjectType::CallRequest => "call_request",
            ObjectType::Procedure => "procedure",
            ObjectType::Employee => "employee",
            ObjectType::ConsultationType => "consultation_type",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<ObjectType> {
        match s {
            "appointment" => Some(ObjectType::Appointment),
            "call_request" => Some(ObjectType::CallRequest),
            "procedure" => Some(ObjectType::Procedure),
            "employee" => Some(ObjectType::Employee),
            "consultation_type" => Some(ObjectType::ConsultationType),
            _ => None,
        }
    }
}

/// A link from a task to the object it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectRef {
    #[serde(rename = "type")]
    pub type_: ObjectType,
    pub id: Uuid,
}

/// A to-do item.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Task {
    pub id: Uuid,
    #[schema(example = "Contact the employee about the appointment")]
    pub title: String,
    pub description: Option<String>,
    /// The user the task is for.
    pub assignee_user_id: Option<Uuid>,
    pub due_at: Option<DateTime<Utc>>,
    /// The object the task is about.
    pub object: Option<ObjectRef>,
    pub done: bool,
    /// The trigger rule that created the task, if any.
    pub trigger_rule_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /tasks`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: String,
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub description: Option<String>,
    /// A user of the tenant.
    pub assignee_user_id: Option<Uuid>,
    pub due_at: Option<DateTime<Utc>>,
    pub object: Option<ObjectRef>,
}

/// `PATCH /tasks/{id}`: only the fields present change; `null` clears an optional field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskChanges {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub assignee_user_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub due_at: Option<Option<DateTime<Utc>>>,
    pub done: Option<bool>,
}

/// Filters of `GET /tasks`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskFilter {
    /// Only done (`true`) or open (`false`) tasks.
    pub done: Option<bool>,
    /// Only tasks for this user.
    pub assignee_user_id: Option<Uuid>,
    /// Only tasks about this object.
    pub object_id: Option<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_actions_are_closed_objects() {
        let a: TriggerAction = serde_json::from_str(r#"{"type":"emit_topic"}"#).unwrap();
        assert_eq!(a, TriggerAction::EmitTopic {});
        assert!(serde_json::from_str::<TriggerAction>(r#"{"type":"emit_topic","x":1}"#).is_err());
        assert!(
            serde_json::from_str::<TriggerAction>(r#"{"type":"create_task","title":"t","x":1}"#)
                .is_err()
        );
        let t: TriggerAction =
            serde_json::from_str(r#"{"type":"create_task","title":"Call","due_in_days":2}"#)
                .unwrap();
        assert!(matches!(
            t,
            TriggerAction::CreateTask {
                due_in_days: Some(2),
                ..
            }
        ));
    }

    #[test]
    fn patch_fields_tell_absent_from_null() {
        let c: EmployeeChanges = serde_json::from_str(r#"{"work_email":null}"#).unwrap();
        assert_eq!(c.work_email, Some(None));
        assert_eq!(c.private_email, None);
    }
}
