//! Wires the webhooks domain to the others: the topic catalogue every domain contributes to,
//! and the look-up of API accounts the receivers' authorization is checked against
//! (R-HOOK-AUTHZ). The webhooks crate depends on no other domain; this module does.

use chrono::{DateTime, Utc};
use diesel::Connection;
use loket_accounts::api::{ApiAccount, User};
use loket_common::{Permission, Permissions, Result};
use loket_storage::AnyConnection;
use loket_webhooks::api::Receiver;
use loket_webhooks::{AccountDirectory, AccountGrant, Catalogue, TopicSpec};
use uuid::Uuid;

/// API accounts, looked up through the accounts domain; disabled receivers are reported to the
/// tenant's superadmins through the mail domain.
#[derive(Clone)]
pub struct Accounts {
    /// Sends the "receiver disabled" mail (through the platform's mail server).
    pub mail: loket_mail::Mail,
}

impl AccountDirectory for Accounts {
    fn receiver_disabled(&self, conn: &mut AnyConnection, receiver: &Receiver, reason: &str) {
        let contacts = match loket_accounts::lookup::superadmin_contacts(conn, receiver.tenant_id) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = ?e, "cannot look up whom to tell about a disabled receiver");
                return;
            }
        };
        for contact in contacts {
            let message = loket_mail::PlatformMessage {
                tenant_id: Some(receiver.tenant_id),
                to: loket_mail::api::Recipient {
                    email: contact.email,
                    name: Some(contact.name),
                    culture: Some(contact.language),
                },
                subject: "Webhook receiver disabled: {{ name }}".to_owned(),
                text_body: "Loket stopped delivering events to the webhook receiver \"{{ name }}\" ({{ url }}).\n\n\
                    Reason: {{ reason }}\n\nFix the receiver, then enable it again with PATCH \
                    /api/v1/webhooks/receivers/{{ id }} {\"enabled\": true}. Its delivery log stays readable.\n"
                    .to_owned(),
                html_body: None,
                data: serde_json::json!({
                    "name": receiver.name, "url": receiver.url, "reason": reason, "id": receiver.id,
                }),
            };
            // A savepoint: a mail that cannot be queued (no platform mail server configured)
            // must not undo the disabling.
            let queued = conn.transaction(|c| self.mail.queue_platform_in(c, &message));
            if let Err(e) = queued {
                tracing::warn!(error = ?e, receiver = %receiver.id, "could not queue the receiver-disabled mail");
            }
        }
    }

    fn api_account(
        &self,
        conn: &mut AnyConnection,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<Option<AccountGrant>> {
        Ok(
            loket_accounts::lookup::api_account_grant(conn, tenant_id, id)?.map(
                |(active, permissions)| AccountGrant {
                    active,
                    permissions,
                },
            ),
        )
    }
}

fn example_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn example_user() -> serde_json::Value {
    let user = User {
        id: Uuid::from_u128(0x0192f0c4_7d1e_7c39_9a53_2b1f0e6c1a02),
        tenant_id: Uuid::from_u128(0x0192f0c4_0000_7000_8000_000000000001),
        kind: "user".into(),
        name: "Anna de Vries".into(),
        email: "anna@example.org".into(),
        language: "nl-NL".into(),
        permissions: Permissions::new([Permission::AgendaRead]),
        active: true,
        created_at: example_time(),
        updated_at: example_time(),
    };
    serde_json::to_value(user).unwrap_or_default()
}

fn example_api_account() -> serde_json::Value {
    let account = ApiAccount {
        id: Uuid::from_u128(0x0192f0c4_7d1e_7c39_9a53_2b1f0e6c1a03),
        tenant_id: Uuid::from_u128(0x0192f0c4_0000_7000_8000_000000000001),
        kind: "api_account".into(),
        name: "Portal integration".into(),
        username: "arbodienst-noord.k3x9qa2m".into(),
        permissions: Permissions::new([Permission::AccountsRead]),
        active: true,
        last_login_at: None,
        locked_until: None,
        created_at: example_time(),
        updated_at: example_time(),
    };
    serde_json::to_value(account).unwrap_or_default()
}

/// Every topic of every domain, with an example `data` each.
pub fn catalogue() -> Catalogue {
    let mut topics = Vec::new();
    for (i, (name, description)) in loket_accounts::events::TOPICS.iter().enumerate() {
        // Alternate the examples so both kinds of account appear in the catalogue.
        let example = if i % 2 == 0 {
            example_user()
        } else {
            example_api_account()
        };
        topics.push(TopicSpec::new(name, description, example));
    }
    for (name, description) in loket_agenda_core::events::TOPICS {
        topics.push(TopicSpec::new(
            name,
            description,
            serde_json::json!({
                "id": "0192f0c4-7d1e-7c39-9a53-2b1f0e6c1a04",
                "tenant_id": "0192f0c4-0000-7000-8000-000000000001"
            }),
        ));
    }
    for (name, description) in loket_tickets::events::TOPICS {
        topics.push(TopicSpec::new(
            name,
            description,
            serde_json::json!({
                "id": "0192f0c4-7d1e-7c39-9a53-2b1f0e6c1a05",
                "number": "TXH-PSCHP-612",
                "status": "new",
                "department": "helpdesk"
            }),
        ));
    }
    for (name, description) in loket_helpdesk::events::TOPICS {
        topics.push(TopicSpec::new(
            name,
            description,
            serde_json::json!({
                "id": "0192f0c4-7d1e-7c39-9a53-2b1f0e6c1a06",
                "version": "7.4.1",
                "status": "delivered"
            }),
        ));
    }
    Catalogue::new(topics)
}
