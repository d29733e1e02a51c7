//! Request and response types of the accounts API (OpenAPI schemas; no web framework here).

use chrono::{DateTime, Utc};
use loket_common::Permissions;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// An organisation; every record belongs to one.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Tenant {
    pub id: Uuid,
    #[schema(example = "Arbodienst Noord")]
    pub name: String,
    /// URL-safe short name, derived from the name.
    #[schema(example = "arbodienst-noord")]
    pub slug: String,
    /// Culture code used when a recipient has none (`nl-NL`).
    #[schema(example = "nl-NL")]
    pub default_culture: String,
    /// The verified sender that ticket mail, reminders and verification mails go out from;
    /// `null` means the platform default.
    pub default_sender_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /tenants` (requires `platform:admin`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// 1 to 200 characters, not only spaces, no control characters; unique (case-insensitive).
    #[schema(
        example = "Arbodienst Noord",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// Defaults to `nl-NL`.
    #[schema(
        example = "nl-NL",
        min_length = 5,
        max_length = 5,
        pattern = r"^[a-z]{2}-[A-Z]{2}$"
    )]
    pub default_culture: Option<String>,
}

/// `PATCH /tenants/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantChanges {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[schema(
        example = "en-GB",
        min_length = 5,
        max_length = 5,
        pattern = r"^[a-z]{2}-[A-Z]{2}$"
    )]
    pub default_culture: Option<String>,
    /// A verified sender of one of the tenant's mail servers (R-VERIFY), or `null` for the
    /// platform default.
    #[serde(default, deserialize_with = "present")]
    pub default_sender_id: Option<Option<Uuid>>,
}

/// A new tenant and the credentials of its first superadmin API account, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenantCreated {
    pub tenant: Tenant,
    pub api_account: ApiAccount,
    /// The login name of the new account.
    pub username: String,
    /// The account's password (API token). Shown only here.
    pub password: String,
    /// Base32 TOTP secret (RFC 6238, SHA-1, 6 digits, 30 s). Shown only here.
    pub totp_secret: String,
    /// `otpauth://` URI of the TOTP secret, for authenticator apps. Shown only here.
    pub otpauth_uri: String,
}

/// A person: the subject of impersonation and owner of data. Users cannot log in through the API.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Always `user`.
    #[schema(example = "user")]
    pub kind: String,
    #[schema(example = "Anna de Vries")]
    pub name: String,
    #[schema(example = "anna@example.org")]
    pub email: String,
    /// Culture code (`nl-NL`).
    #[schema(example = "nl-NL")]
    pub language: String,
    pub permissions: Permissions,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /users`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(
        example = "Anna de Vries",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// Unique within the tenant (case-insensitive; stored in lower case).
    #[schema(example = "anna@example.org", format = "email", max_length = 254)]
    pub email: String,
    /// Defaults to the tenant's default culture.
    #[schema(
        example = "nl-NL",
        min_length = 5,
        max_length = 5,
        pattern = r"^[a-z]{2}-[A-Z]{2}$"
    )]
    pub language: Option<String>,
    /// Defaults to none. The caller cannot grant permissions it does not hold itself.
    #[serde(default)]
    pub permissions: Option<Permissions>,
    /// Defaults to `true`.
    pub active: Option<bool>,
}

/// `PATCH /users/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[schema(format = "email", max_length = 254)]
    pub email: Option<String>,
    #[schema(min_length = 5, max_length = 5, pattern = r"^[a-z]{2}-[A-Z]{2}$")]
    pub language: Option<String>,
    pub permissions: Option<Permissions>,
    pub active: Option<bool>,
}

/// A service user that logs in over OAuth2.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiAccount {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Always `api_account`.
    #[schema(example = "api_account")]
    pub kind: String,
    #[schema(example = "Portal integration")]
    pub name: String,
    /// The login name (`username` at `POST /oauth/token`).
    #[schema(example = "arbodienst-noord.k3x9qa2m")]
    pub username: String,
    pub permissions: Permissions,
    pub active: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    /// Set while the account is locked after repeated failed logins.
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api-accounts`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiAccount {
    #[schema(
        example = "Portal integration",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// The caller cannot grant permissions it does not hold itself.
    #[serde(default)]
    pub permissions: Option<Permissions>,
    /// Defaults to `true`.
    pub active: Option<bool>,
}

/// `PATCH /api-accounts/{id}`: only the fields present change. Deactivating revokes the
/// account's tokens at once.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiAccountChanges {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    pub permissions: Option<Permissions>,
    pub active: Option<bool>,
}

/// An API account with its new credentials: the only time they are ever shown (R-ONCE).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiAccountCreated {
    #[serde(flatten)]
    pub account: ApiAccount,
    /// The password (API token). Append the current 6-digit TOTP code when logging in.
    pub password: String,
    /// Base32 TOTP secret (RFC 6238, SHA-1, 6 digits, 30 s).
    pub totp_secret: String,
    /// `otpauth://totp/…` URI for authenticator apps.
    pub otpauth_uri: String,
}

/// A public key registered for `private_key_jwt` client authentication (RFC 7523).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiAccountKey {
    pub id: Uuid,
    /// The JWK `kid` client assertions must carry in their header.
    pub kid: String,
    /// `EdDSA`, `ES256` or `RS256`.
    pub alg: String,
    /// The public JWK.
    #[schema(value_type = Object)]
    pub jwk: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// `POST /api-accounts/{id}/keys`: a public JWK (`kty` OKP/EC/RSA, with `kid`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiAccountKey {
    #[schema(schema_with = crate::directory::public_jwk_schema, example = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "key-1"}))]
    pub jwk: serde_json::Value,
}

/// Who made an audited change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditActor {
    /// The API account; `null` for operator commands.
    pub api_account_id: Option<Uuid>,
    /// The user the account acted for (impersonation), if any.
    pub user_id: Option<Uuid>,
}

/// One audited change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub actor: AuditActor,
    /// `users.create`, `api_accounts.rotate_secret`, …
    #[schema(example = "users.create")]
    pub action: String,
    #[schema(example = "user")]
    pub object_type: String,
    pub object_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// What changed (never secrets).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// Filters of `GET /audit-events`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Only changes by this API account or impersonated user.
    pub actor: Option<Uuid>,
    /// Only changes to this object.
    pub object_id: Option<Uuid>,
    /// Only changes at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Only changes before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
}

/// `GET /me`: the caller as the token describes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// `api_account`, or `user` for an impersonated token.
    #[schema(example = "api_account")]
    pub kind: String,
    /// The token subject.
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// For impersonated tokens: the API account acting on behalf of the user.
    pub acting_api_account_id: Option<Uuid>,
    /// The permissions this token carries.
    pub permissions: Permissions,
}

/// Distinguishes a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
