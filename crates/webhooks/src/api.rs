//! Request and response types of the webhooks API (OpenAPI schemas; no web framework here).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// One topic receivers can subscribe to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookTopic {
    /// `Resource.Action`.
    #[schema(example = "Accounts.Create")]
    pub name: String,
    /// What happened, and what `data` holds.
    pub description: String,
    /// The permission the receiver's API account needs to get this topic; `null` when anyone
    /// may (the ping).
    #[schema(example = "accounts:read")]
    pub permission: Option<String>,
    /// An example of the delivered body (`data` is the object's API representation).
    #[schema(value_type = Object)]
    pub example: serde_json::Value,
}

/// How Loket authenticates to a receiver, as given when registering it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "protocol", rename_all = "lowercase", deny_unknown_fields)]
pub enum NewReceiverAuth {
    /// HMAC signatures only (`X-Hub-Signature` plus the Standard Webhooks headers).
    Websub {
        /// `whsec_` + standard base64 (padded) of 24 to 64 random bytes. Generated (32 bytes)
        /// when omitted, and then returned once in the answer.
        #[schema(
            example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            pattern = r"^whsec_((?:[A-Za-z0-9+/]{4}){8,20}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?|(?:[A-Za-z0-9+/]{4}){21}(?:[A-Za-z0-9+/]{2}==)?)$"
        )]
        secret: Option<String>,
    },
    /// An OAuth2 client-credentials token from the receiver's token endpoint, sent as
    /// `Authorization: Bearer`, besides the Standard Webhooks signature.
    Oauth2 {
        /// The token endpoint (same URL rules as the receiver URL).
        #[schema(
            example = "https://auth.example.org/oauth/token",
            max_length = 2000,
            pattern = r"^https://([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?(/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?(\?[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?$"
        )]
        token_url: String,
        #[schema(
            example = "loket-webhooks",
            min_length = 1,
            max_length = 500,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
        )]
        client_id: String,
        /// Stored encrypted; never returned.
        #[schema(
            example = "client-secret-value",
            min_length = 1,
            max_length = 2000,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"
        )]
        client_secret: String,
        /// Space-separated scopes to request, if any.
        #[schema(
            example = "webhooks:receive",
            max_length = 1000,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"
        )]
        scope: Option<String>,
    },
}

/// How Loket authenticates to a receiver (secrets are never returned).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "protocol", rename_all = "lowercase")]
pub enum ReceiverAuth {
    /// HMAC signatures (`X-Hub-Signature` and Standard Webhooks).
    Websub {},
    /// OAuth2 client-credentials bearer token plus the Standard Webhooks signature.
    Oauth2 {
        token_url: String,
        client_id: String,
        scope: Option<String>,
    },
}

/// `POST /webhooks/receivers`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReceiver {
    /// 1 to 200 characters, not only spaces, no control characters.
    #[schema(
        example = "CRM sync",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// An `https` URL on a public host. Only hosts on the operator's allow-list
    /// (`LOKET_WEBHOOK_ALLOWED_HOSTS`) may use plain `http`, address literals or private
    /// addresses; every request is checked again after DNS resolution.
    #[schema(
        example = "https://crm.example.org/hooks/loket",
        max_length = 2000,
        pattern = r"^https://([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?(/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?(\?[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?$"
    )]
    pub url: String,
    /// Topics (`Accounts.Create`) or wildcards per resource (`Accounts.*`); see
    /// `GET /webhooks/topics`.
    #[schema(example = json!(["Accounts.*"]), min_items = 1, max_items = 100)]
    pub topics: Vec<String>,
    /// The API account whose permissions decide what this receiver may get; defaults to the
    /// caller's own account.
    pub api_account_id: Option<Uuid>,
    /// Defaults to `websub` with a generated secret.
    pub auth: Option<NewReceiverAuth>,
}

/// `PATCH /webhooks/receivers/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiverChanges {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[schema(
        max_length = 2000,
        pattern = r"^https://([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?(/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?(\?[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?$"
    )]
    pub url: Option<String>,
    #[schema(min_items = 1, max_items = 100)]
    pub topics: Option<Vec<String>>,
    pub api_account_id: Option<Uuid>,
    /// Replaces the authentication. A `websub` secret given here replaces the signing secret
    /// at once; without one the current signing secret is kept.
    pub auth: Option<NewReceiverAuth>,
    /// `true` re-enables a disabled receiver; `false` disables it.
    pub enabled: Option<bool>,
}

/// A webhook receiver.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Receiver {
    pub id: Uuid,
    pub tenant_id: Uuid,
    #[schema(example = "CRM sync")]
    pub name: String,
    #[schema(example = "https://crm.example.org/hooks/loket")]
    pub url: String,
    #[schema(example = json!(["Accounts.*"]))]
    pub topics: Vec<String>,
    /// The API account whose permissions filter the deliveries.
    pub api_account_id: Uuid,
    pub auth: ReceiverAuth,
    /// Until this time the previous secret still signs too (after a rotation).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// The last successful delivery.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Set while the receiver is disabled (no deliveries).
    pub disabled_at: Option<DateTime<Utc>>,
    #[schema(example = "The receiver answered 410 Gone.")]
    pub disabled_reason: Option<String>,
    /// Set once the receiver is deleted; it then gets nothing, its log stays readable.
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A receiver with its signing secret: the only time the secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReceiverWithSecret {
    #[serde(flatten)]
    pub receiver: Receiver,
    /// The signing secret (`whsec_…`): key of the Standard Webhooks signature and, for
    /// `websub`, of `X-Hub-Signature`. Shown only here.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

/// State of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not attempted yet.
    Pending,
    /// A receiver answered 2xx.
    Succeeded,
    /// The last attempt failed; another is scheduled at `next_attempt_at`.
    Failed,
    /// Every retry failed (or the receiver went away); no more attempts.
    GivenUp,
}

impl DeliveryStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::GivenUp => "given_up",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => DeliveryStatus::Pending,
            "succeeded" => DeliveryStatus::Succeeded,
            "failed" => DeliveryStatus::Failed,
            "given_up" => DeliveryStatus::GivenUp,
            _ => return None,
        })
    }
}

/// One event for one receiver, as listed in its log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// The `webhook-id` header: the same on every attempt, so receivers can de-duplicate.
    pub id: Uuid,
    pub receiver_id: Uuid,
    /// The event (`id` in the body); the same for every receiver of the event.
    pub event_id: Uuid,
    #[schema(example = "Accounts.Create")]
    pub topic: String,
    pub status: DeliveryStatus,
    /// The HTTP status of the last answer, if any.
    #[schema(example = 200)]
    pub last_status_code: Option<i32>,
    pub attempt_count: i32,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due; `null` once no more are.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Attempt {
    pub attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status; `null` when no answer came (timeout, connection error).
    #[schema(example = 503)]
    pub status_code: Option<i32>,
    /// How long the request took, in milliseconds.
    pub duration_ms: i64,
    /// Why the attempt failed, if it did.
    pub error: Option<String>,
}

/// A delivery with what was sent and every attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: Delivery,
    /// The request body, byte for byte as sent.
    pub request_body: String,
    /// The attempts, oldest first.
    pub attempts: Vec<Attempt>,
}

/// Filters of a receiver's delivery log.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    /// Only deliveries in this state.
    pub status: Option<DeliveryStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_variants_refuse_unknown_fields() {
        let ok: NewReceiverAuth =
            serde_json::from_str(r#"{"protocol": "websub", "secret": null}"#).unwrap();
        assert!(matches!(ok, NewReceiverAuth::Websub { secret: None }));
        assert!(
            serde_json::from_str::<NewReceiverAuth>(r#"{"protocol": "websub", "x": 1}"#).is_err()
        );
        assert!(serde_json::from_str::<NewReceiverAuth>(r#"{"protocol": "basic"}"#).is_err());
    }
}
