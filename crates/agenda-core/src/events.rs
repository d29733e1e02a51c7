//! The agenda's domain events. Every agenda service emits through [`emit`], inside the
//! transaction that makes the change: the event goes into the outbox (for webhooks) and the
//! tenant's trigger rules for its topic run in the same transaction — so every path that
//! changes an object (API, auto-planning, trigger rules, background jobs) emits the same events.

use chrono::{DateTime, Utc};
use loket_common::{Actor, Error, Result};
use loket_storage::AnyConnection;
use loket_storage::outbox::{self, NewEvent};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use uuid::Uuid;

use crate::triggers;

macro_rules! topics {
    ($( $variant:ident => ($name:literal, $desc:literal), )*) => {
        /// An agenda event topic (`Resource.Action`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Topic { $( #[doc = $desc] #[serde(rename = $name)] $variant, )* }

        impl Topic {
            /// Every topic, in catalogue order.
            pub const ALL: &'static [Topic] = &[ $( Topic::$variant, )* ];
            /// The topic name (`Appointments.Create`).
            pub fn as_str(self) -> &'static str { match self { $( Topic::$variant => $name, )* } }
            /// What happened and what the event's `data` holds.
            pub fn description(self) -> &'static str { match self { $( Topic::$variant => $desc, )* } }
            /// Parses a topic name.
            pub fn parse(s: &str) -> Option<Topic> { match s { $( $name => Some(Topic::$variant), )* _ => None } }
        }

        /// The topics the agenda emits, with a description (for the webhook topic catalogue).
        pub const TOPICS: &[(&str, &str)] = &[ $( ($name, $desc), )* ];
    };
}

topics! {
    EmployeesCreate => ("Employees.Create", "An employee was created; data is its representation."),
    EmployeesUpdate => ("Employees.Update", "An employee was changed; data is its new representation."),
    EmployeesDelete => ("Employees.Delete", "An employee was deleted; data is its last representation."),
    ConsultationTypesCreate => ("ConsultationTypes.Create", "A consultation type was created; data is its representation."),
    ConsultationTypesUpdate => ("ConsultationTypes.Update", "A consultation type was changed; data is its new representation."),
    ConsultationTypesDelete => ("ConsultationTypes.Delete", "A consultation type was deleted; data is its last representation."),
    AppointmentsCreate => ("Appointments.Create", "An appointment was created (directly or by booking a call request); data is its representation."),
    AppointmentsUpdate => ("Appointments.Update", "An appointment was changed: edited, rescheduled (it keeps its id), un-completed or its no-show undone; data is its new representation."),
    AppointmentsComplete => ("Appointments.Complete", "An appointment was completed; data is its representation."),
    AppointmentsLapse => ("Appointments.Lapse", "A completed appointment with submitted procedures was marked lapsed; data is its representation (with `lapse_reason`)."),
    AppointmentsDelete => ("Appointments.Delete", "An appointment was deleted; data is its last representation."),
    AppointmentsNoShow => ("Appointments.NoShow", "An appointment was processed as no-show; data is its representation (with the no-show type)."),
    AppointmentsRemindersFailed => ("Appointments.RemindersFailed", "Creating the default reminders of an appointment failed (e.g. no address for the channel); the appointment is booked. data: `appointment` and the `failures`."),
    ProceduresCreate => ("Procedures.Create", "A procedure was written (on completion, no-show processing or as refund when lapsing); data is its representation."),
    ProceduresUpdate => ("Procedures.Update", "A procedure was changed (moved with its rescheduled appointment); data is its new representation."),
    ProceduresSubmit => ("Procedures.Submit", "A procedure was submitted (offered for invoicing); data is its representation."),
    ProceduresDelete => ("Procedures.Delete", "An open procedure was deleted (with its appointment, on un-completion or replaced by no-show processing); data is its last representation."),
    CallRequestsCreate => ("CallRequests.Create", "A call request was created; data is its representation."),
    CallRequestsUpdate => ("CallRequests.Update", "A call request was changed, cancelled or re-opened (its appointment was deleted or processed as no-show); data is its new representation."),
    CallRequestsPlan => ("CallRequests.Plan", "A call request was planned: an appointment was booked for it; data is its representation (with `appointment_id`)."),
    TriggerRulesFired => ("TriggerRules.Fired", "A trigger rule with the `emit_topic` action fired; data: `rule_id`, `rule_name`, `event` (topic), `object_id` and the event's `data`."),
}

/// In the OpenAPI document a topic is one of the catalogue's names.
impl utoipa::PartialSchema for Topic {
    fn schema() -> utoipa::openapi::RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .description(Some("An agenda event topic."))
            .enum_values(Some(Topic::ALL.iter().map(|t| t.as_str())))
            .into()
    }
}

impl utoipa::ToSchema for Topic {}

impl Topic {
    /// The resource part of the topic (`Appointments`).
    pub fn resource(self) -> &'static str {
        self.as_str().split('.').next().unwrap_or_default()
    }

    /// Whether trigger rules may react to this topic (rules do not chain).
    pub fn triggerable(self) -> bool {
        self != Topic::TriggerRulesFired
    }
}

/// The OpenAPI schema of a trigger rule's `event`: every topic rules can react to.
pub fn triggerable_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some("An agenda event topic."))
        .enum_values(Some(
            Topic::ALL
                .iter()
                .filter(|t| t.triggerable())
                .map(|t| t.as_str()),
        ))
        .into()
}

/// [`triggerable_schema`], or `null`.
pub fn triggerable_schema_nullable() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .description(Some("An agenda event topic."))
        .enum_values(Some(
            Topic::ALL
                .iter()
                .filter(|t| t.triggerable())
                .map(|t| Some(t.as_str()))
                .chain([None]),
        ))
        .into()
}

/// Publishes an event about `object` (its API representation) and runs the tenant's trigger
/// rules for the topic; call inside the transaction that makes the change.
pub fn emit(
    conn: &mut AnyConnection,
    topic: Topic,
    tenant_id: Uuid,
    object_id: Uuid,
    object: &impl Serialize,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<()> {
    let payload = serde_json::to_value(object).map_err(Error::internal)?;
    publish(
        conn,
        topic,
        tenant_id,
        object_id,
        payload.clone(),
        actor,
        at,
    )?;
    if topic.triggerable() {
        triggers::fire(conn, topic, tenant_id, object_id, &payload, actor, at)?;
    }
    Ok(())
}

/// Writes one outbox event, without running trigger rules.
pub(crate) fn publish(
    conn: &mut AnyConnection,
    topic: Topic,
    tenant_id: Uuid,
    object_id: Uuid,
    payload: serde_json::Value,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<()> {
    outbox::publish(
        conn,
        &NewEvent {
            tenant_id,
            topic: topic.as_str(),
            object_id,
            payload,
            occurred_at: at,
            actor_api_account_id: actor.api_account_id,
            actor_user_id: actor.user_id,
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip_and_carry_the_issue_list() {
        for t in Topic::ALL {
            assert_eq!(Topic::parse(t.as_str()), Some(*t));
            let json = serde_json::to_value(t).unwrap();
            assert_eq!(json, t.as_str());
        }
        for name in [
            "Appointments.Create",
            "Appointments.Update",
            "Appointments.Complete",
            "Appointments.Lapse",
            "Appointments.Delete",
            "Appointments.NoShow",
            "Appointments.RemindersFailed",
            "CallRequests.Create",
            "CallRequests.Update",
            "CallRequests.Plan",
            "Procedures.Create",
            "Procedures.Submit",
        ] {
            assert!(TOPICS.iter().any(|(n, _)| *n == name), "{name}");
        }
        assert_eq!(Topic::AppointmentsNoShow.resource(), "Appointments");
    }
}
