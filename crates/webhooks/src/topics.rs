//! The topic catalogue and who may receive what (R-HOOK-AUTHZ).
//!
//! Topic names are `Resource.Action`. Each domain contributes its topics; the gateway collects
//! them into a [`Catalogue`] (the webhooks crate knows no other domain). Which permission a
//! receiver's API account needs to get an event is decided per resource by [`required_permission`]:
//! the same permission the API requires to read the object.

use loket_common::Permission;
use serde_json::{Value, json};

/// A test event sent by `POST /webhooks/receivers/{id}/test`; only to that receiver.
pub const WEBHOOKS_PING: &str = "Webhooks.Ping";
/// A receiver was disabled (it answered `410 Gone`, or failed without success for days).
pub const WEBHOOKS_RECEIVER_DISABLED: &str = "Webhooks.ReceiverDisabled";

/// One topic of the catalogue.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    /// `Resource.Action`.
    pub name: String,
    /// What happened; what `data` holds.
    pub description: String,
    /// An example of `data`.
    pub example: Value,
}

impl TopicSpec {
    /// A catalogue entry.
    pub fn new(name: &str, description: &str, example: Value) -> Self {
        TopicSpec {
            name: name.to_owned(),
            description: description.to_owned(),
            example,
        }
    }
}

/// What a receiver's API account needs to get events of a resource. Later domains add their
/// resources here; a topic of a resource not listed is delivered to nobody.
pub const RESOURCE_PERMISSIONS: &[(&str, Permission)] = &[
    ("Accounts", Permission::AccountsRead),
    ("Webhooks", Permission::WebhooksManage),
    ("Appointments", Permission::AgendaRead),
    ("CallRequests", Permission::AgendaRead),
    ("Procedures", Permission::AgendaRead),
    ("ConsultationTypes", Permission::AgendaRead),
    ("Employees", Permission::AgendaRead),
    ("TriggerRules", Permission::AgendaRead),
    ("Tasks", Permission::AgendaRead),
    ("Tickets", Permission::TicketsRead),
    ("Releases", Permission::TicketsRead),
    ("Status", Permission::TicketsRead),
    ("Forum", Permission::TicketsRead),
    ("Mail", Permission::MailManage),
];

/// Who may receive an event of `topic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Anyone (the ping, which carries no object).
    Anyone,
    /// An account holding this permission.
    Permission(Permission),
    /// Nobody (an unknown resource).
    Nobody,
}

/// The resource part of a topic (`Accounts` of `Accounts.Create`).
pub fn resource(topic: &str) -> &str {
    topic.split_once('.').map(|(r, _)| r).unwrap_or(topic)
}

/// The permission needed to receive `topic`.
pub fn required_permission(topic: &str) -> Requirement {
    if topic == WEBHOOKS_PING {
        return Requirement::Anyone;
    }
    let r = resource(topic);
    RESOURCE_PERMISSIONS
        .iter()
        .find(|(name, _)| *name == r)
        .map(|(_, p)| Requirement::Permission(*p))
        .unwrap_or(Requirement::Nobody)
}

/// Whether a subscription (`Accounts.Create` or `Accounts.*`) covers `topic`.
pub fn subscription_matches(subscription: &str, topic: &str) -> bool {
    match subscription.strip_suffix(".*") {
        Some(prefix) => topic
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.')),
        None => subscription == topic,
    }
}

/// The topics receivers can subscribe to.
#[derive(Debug, Clone)]
pub struct Catalogue {
    topics: Vec<TopicSpec>,
}

impl Catalogue {
    /// The webhooks' own topics plus those the other domains contribute.
    pub fn new(domains: impl IntoIterator<Item = TopicSpec>) -> Self {
        let mut topics: Vec<TopicSpec> = domains.into_iter().collect();
        topics.push(TopicSpec::new(
            WEBHOOKS_PING,
            "A test event, sent only to the receiver named in `POST /webhooks/receivers/{id}/test`; data names the receiver.",
            json!({"receiver_id": "0192f0c4-7d1e-7c39-9a53-2b1f0e6c1a01", "message": "Ping from Loket."}),
        ));
        topics.push(TopicSpec::new(
            WEBHOOKS_RECEIVER_DISABLED,
            "A receiver was disabled: it answered 410 Gone, or failed without a single success for days. Data is the receiver (without secrets).",
            json!({
                "id": "0192f0c4-7d1e-7c39-9a53-2b1f0e6c1a01",
                "tenant_id": "0192f0c4-0000-7000-8000-000000000001",
                "name": "CRM sync",
                "url": "https://crm.example.org/hooks/loket",
                "disabled_at": "2026-11-23T10:00:00Z",
                "disabled_reason": "The receiver answered 410 Gone."
            }),
        ));
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        topics.dedup_by(|a, b| a.name == b.name);
        Catalogue { topics }
    }

    /// Every topic, by name.
    pub fn topics(&self) -> &[TopicSpec] {
        &self.topics
    }

    /// Why `subscription` is not acceptable, if it is not: it must be a topic of the catalogue
    /// or `Resource.*` for a known resource.
    pub fn check_subscription(&self, subscription: &str) -> Result<(), String> {
        if let Some(prefix) = subscription.strip_suffix(".*") {
            let known = RESOURCE_PERMISSIONS.iter().any(|(r, _)| *r == prefix)
                || self.topics.iter().any(|t| resource(&t.name) == prefix);
            if known && !prefix.contains('.') && !prefix.is_empty() {
                return Ok(());
            }
            return Err(format!("`{subscription}` names no known resource"));
        }
        if self.topics.iter().any(|t| t.name == subscription) {
            Ok(())
        } else {
            Err(format!(
                "`{subscription}` is not a topic; see GET /api/v1/webhooks/topics"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_one_resource_only() {
        assert!(subscription_matches("Accounts.*", "Accounts.Create"));
        assert!(subscription_matches("Accounts.Create", "Accounts.Create"));
        assert!(!subscription_matches("Accounts.Create", "Accounts.Update"));
        assert!(!subscription_matches("Accounts.*", "AccountsX.Create"));
        assert!(!subscription_matches("Tickets.*", "Accounts.Create"));
    }

    #[test]
    fn permissions_follow_the_resource() {
        assert_eq!(
            required_permission("Accounts.Create"),
            Requirement::Permission(Permission::AccountsRead)
        );
        assert_eq!(
            required_permission("Tickets.Update"),
            Requirement::Permission(Permission::TicketsRead)
        );
        assert_eq!(required_permission("Webhooks.Ping"), Requirement::Anyone);
        assert_eq!(required_permission("Unknown.Thing"), Requirement::Nobody);
    }

    #[test]
    fn subscriptions_are_checked_against_the_catalogue() {
        let c = Catalogue::new([TopicSpec::new("Accounts.Create", "x", json!({}))]);
        assert!(c.check_subscription("Accounts.Create").is_ok());
        assert!(c.check_subscription("Accounts.*").is_ok());
        assert!(c.check_subscription("Tickets.*").is_ok());
        assert!(c.check_subscription("Accounts.Nope").is_err());
        assert!(c.check_subscription("Nope.*").is_err());
        assert!(c.check_subscription(".*").is_err());
    }
}
