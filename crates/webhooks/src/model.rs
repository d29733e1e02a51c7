//! Database rows and their API representations.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loket_common::time::from_db;
use loket_common::{Error, Result, ids};
use loket_storage::schema::{webhook_attempts, webhook_deliveries, webhook_receivers};

use crate::api::{Attempt, Delivery, DeliveryStatus, Receiver, ReceiverAuth};

/// `websub`.
pub const PROTOCOL_WEBSUB: &str = "websub";
/// `oauth2`.
pub const PROTOCOL_OAUTH2: &str = "oauth2";

/// A receiver row (secrets sealed; never serialised).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_receivers)]
pub struct ReceiverRow {
    pub id: String,
    pub tenant_id: String,
    pub api_account_id: String,
    pub name: String,
    pub url: String,
    pub topics: String,
    pub protocol: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<NaiveDateTime>,
    pub oauth_token_url: Option<String>,
    pub oauth_client_id: Option<String>,
    pub oauth_client_secret: Option<String>,
    pub oauth_scope: Option<String>,
    pub last_success_at: Option<NaiveDateTime>,
    pub failing_since: Option<NaiveDateTime>,
    pub disabled_at: Option<NaiveDateTime>,
    pub disabled_reason: Option<String>,
    pub deleted_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The context the signing secrets are sealed under (binds them to the row).
pub fn secret_context(id: &str) -> String {
    format!("webhook_receivers.secret:{id}")
}

/// The context the OAuth2 client secret is sealed under.
pub fn client_secret_context(id: &str) -> String {
    format!("webhook_receivers.oauth_client_secret:{id}")
}

/// Stored topic lists are JSON arrays of strings.
pub fn stored_topics(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

impl ReceiverRow {
    /// The topics subscribed to.
    pub fn topic_list(&self) -> Vec<String> {
        stored_topics(&self.topics)
    }

    /// Whether the receiver takes deliveries.
    pub fn is_live(&self) -> bool {
        self.deleted_at.is_none() && self.disabled_at.is_none()
    }

    /// The API representation (no secrets).
    pub fn to_api(&self) -> Result<Receiver> {
        let auth = if self.protocol == PROTOCOL_OAUTH2 {
            ReceiverAuth::Oauth2 {
                token_url: self.oauth_token_url.clone().unwrap_or_default(),
                client_id: self.oauth_client_id.clone().unwrap_or_default(),
                scope: self.oauth_scope.clone(),
            }
        } else {
            ReceiverAuth::Websub {}
        };
        Ok(Receiver {
            id: ids::parse_stored(&self.id)?,
            tenant_id: ids::parse_stored(&self.tenant_id)?,
            name: self.name.clone(),
            url: self.url.clone(),
            topics: self.topic_list(),
            api_account_id: ids::parse_stored(&self.api_account_id)?,
            auth,
            previous_secret_expires_at: self
                .previous_secret
                .as_ref()
                .and(self.previous_secret_expires_at)
                .map(from_db),
            last_success_at: self.last_success_at.map(from_db),
            disabled_at: self.disabled_at.map(from_db),
            disabled_reason: self.disabled_reason.clone(),
            deleted_at: self.deleted_at.map(from_db),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// A delivery row without its body (the log).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub tenant_id: String,
    pub receiver_id: String,
    pub event_id: String,
    pub topic: String,
    pub status: String,
    pub attempt_count: i32,
    pub failed_attempts: i32,
    pub last_status_code: Option<i32>,
    pub created_at: NaiveDateTime,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub locked_until: Option<NaiveDateTime>,
}

impl DeliveryRow {
    /// The API representation.
    pub fn to_api(&self) -> Result<Delivery> {
        Ok(Delivery {
            id: ids::parse_stored(&self.id)?,
            receiver_id: ids::parse_stored(&self.receiver_id)?,
            event_id: ids::parse_stored(&self.event_id)?,
            topic: self.topic.clone(),
            status: DeliveryStatus::parse(&self.status).ok_or_else(|| {
                Error::internal(std::io::Error::other(format!(
                    "unknown delivery status {}",
                    self.status
                )))
            })?,
            last_status_code: self.last_status_code,
            attempt_count: self.attempt_count,
            created_at: from_db(self.created_at),
            last_attempt_at: self.last_attempt_at.map(from_db),
            next_attempt_at: self.next_attempt_at.map(from_db),
        })
    }
}

/// A new delivery.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct NewDelivery {
    pub id: String,
    pub tenant_id: String,
    pub receiver_id: String,
    pub event_id: String,
    pub topic: String,
    pub body: String,
    pub status: String,
    pub attempt_count: i32,
    pub failed_attempts: i32,
    pub last_status_code: Option<i32>,
    pub created_at: NaiveDateTime,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub locked_until: Option<NaiveDateTime>,
    pub lease: Option<String>,
}

/// An attempt row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
pub struct AttemptRow {
    pub id: String,
    pub delivery_id: String,
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub duration_ms: i64,
    pub error: Option<String>,
}

impl AttemptRow {
    /// The API representation.
    pub fn to_api(&self) -> Attempt {
        Attempt {
            attempted_at: from_db(self.attempted_at),
            status_code: self.status_code,
            duration_ms: self.duration_ms,
            error: self.error.clone(),
        }
    }
}
