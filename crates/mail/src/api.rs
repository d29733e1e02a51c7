//! Request and response types of the mail API (OpenAPI schemas; no web framework here).
//!
//! Request bodies take free text where a client may send a wrong value that deserves a specific
//! answer (`tls`: anything but `implicit`/`starttls` is `422 tls-required`, R-TLS); the schemas
//! state exactly what is accepted.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use uuid::Uuid;

/// Longest name of a server or sender (characters).
pub const NAME_MAX: usize = 200;
/// Longest host name.
pub const HOST_MAX: usize = 253;
/// Longest SMTP user name.
pub const USERNAME_MAX: usize = 254;
/// Longest SMTP password.
pub const PASSWORD_MAX: usize = 1024;
/// Longest e-mail address (bytes, RFC 5321).
pub const EMAIL_MAX: usize = 254;
/// Longest template code.
pub const CODE_MAX: usize = 100;
/// Longest subject template.
pub const SUBJECT_MAX: usize = 500;
/// Longest text body template.
pub const TEXT_MAX: usize = 20_000;
/// Longest HTML body template.
pub const HTML_MAX: usize = 60_000;
/// Most documents attached to one message.
pub const DOCUMENTS_MAX: usize = 10;
/// Largest `max_messages` of a limit.
pub const LIMIT_MESSAGES_MAX: i64 = 1_000_000;
/// Longest limit window: 30 days.
pub const LIMIT_WINDOW_MAX: i64 = 30 * 86_400;

/// A name: not only white space, no control characters.
pub const NAME_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$";
/// Text without control characters.
pub const NO_CONTROL_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]+$";
/// A host name or IPv4 address: dot-separated labels of letters, digits and inner hyphens.
pub const HOST_PATTERN: &str = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$";
/// A culture code such as `nl-NL`.
pub const CULTURE_PATTERN: &str = r"^[a-z]{2}-[A-Z]{2}$";
/// A template code: letters, digits, `.`, `_` and `-`, starting with a letter or digit.
pub const CODE_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9._-]*$";
/// A verification code: six digits.
pub const VERIFICATION_CODE_PATTERN: &str = r"^[0-9]{6}$";

/// A request body that must be a JSON object: serde would otherwise also read a struct from an
/// array of its fields in order (`[5, 60]`), which the schemas do not allow.
#[derive(Debug, Clone)]
pub struct Object<T>(pub T);

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        serde_json::from_value(serde_json::Value::Object(map))
            .map(Object)
            .map_err(serde::de::Error::custom)
    }
}

/// An integer, also when written with a zero fraction (`465.0`), as JSON Schema counts it.
fn whole<E: serde::de::Error>(v: serde_json::Number) -> Result<i64, E> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        // `as` saturates: numbers beyond `i64` become its bounds, which range checks refuse.
        Some(f) if f.fract() == 0.0 => Ok(f as i64),
        _ => Err(E::custom(format!(
            "invalid type: `{v}` is not a whole number"
        ))),
    }
}

/// Deserializes an optional whole number (see [`whole`]).
pub fn whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => whole(n).map(Some),
    }
}

/// Deserializes a required whole number (see [`whole`]).
pub fn required_whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    whole(serde_json::Number::deserialize(d)?)
}

/// Deserializes a field that may be absent (outer `None`), `null` (`Some(None)`) or a value.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

// ---------------------------------------------------------------------------------------------
// Mail servers.

/// A server type: pre-fills host, port and TLS mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServerType {
    /// Microsoft 365: `smtp.office365.com:587`, STARTTLS.
    Office365,
    /// Google: `smtp.gmail.com:465`, implicit TLS.
    Gmail,
    /// Any other server: give host and TLS mode (the port defaults to 465 or 587).
    Generic,
}

impl ServerType {
    /// Every type, in documentation order.
    pub const ALL: &'static [ServerType] = &[
        ServerType::Office365,
        ServerType::Gmail,
        ServerType::Generic,
    ];

    /// The stored and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerType::Office365 => "office365",
            ServerType::Gmail => "gmail",
            ServerType::Generic => "generic",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        ServerType::ALL.iter().copied().find(|t| t.as_str() == s)
    }

    /// The host, port and TLS mode this type pre-fills.
    pub fn preset(self) -> Option<(&'static str, u16, TlsMode)> {
        match self {
            ServerType::Office365 => Some(("smtp.office365.com", 587, TlsMode::Starttls)),
            ServerType::Gmail => Some(("smtp.gmail.com", 465, TlsMode::Implicit)),
            ServerType::Generic => None,
        }
    }
}

/// How the connection is encrypted (R-TLS: there is no plain-text mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (SMTPS, usually port 465).
    Implicit,
    /// A plain connection upgraded with STARTTLS before anything else is sent; a server that
    /// does not offer STARTTLS is not used (usually port 587).
    Starttls,
}

impl TlsMode {
    /// The stored and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Implicit => "implicit",
            TlsMode::Starttls => "starttls",
        }
    }

    /// Parses the stored or requested name; anything else is not TLS.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "implicit" => Some(TlsMode::Implicit),
            "starttls" => Some(TlsMode::Starttls),
            _ => None,
        }
    }

    /// The usual port of the mode.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::Implicit => 465,
            TlsMode::Starttls => 587,
        }
    }
}

/// Whether a server may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServerStatus {
    /// In use.
    Active,
    /// Archived: it sends nothing more, and cannot be changed.
    Archived,
}

/// An external outgoing mail server of the tenant. The password is never returned.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MailServer {
    pub id: Uuid,
    pub tenant_id: Uuid,
    #[schema(example = "Office 365")]
    pub name: String,
    #[serde(rename = "type")]
    pub server_type: ServerType,
    #[schema(example = "smtp.office365.com")]
    pub host: String,
    #[schema(example = 587, minimum = 1, maximum = 65535)]
    pub port: u16,
    pub tls: TlsMode,
    /// The SMTP user name, if the server needs authentication.
    #[schema(example = "noreply@example.org")]
    pub username: Option<String>,
    /// Whether a password is stored (it is never shown).
    pub has_password: bool,
    pub status: ServerStatus,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /mail-servers`. `type` pre-fills host, port and TLS mode; each may be given to
/// override it. A `generic` server needs `host` and `tls`; the port defaults to 465 for
/// `implicit` and 587 for `starttls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMailServer {
    pub name: String,
    #[serde(rename = "type")]
    pub server_type: String,
    pub host: Option<String>,
    #[serde(default, deserialize_with = "whole_number")]
    pub port: Option<i64>,
    /// Anything but `implicit` or `starttls` is refused with `tls-required` (R-TLS).
    pub tls: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::new(Type::String))
}

/// A string or `null` (an optional request field: `null` is the same as leaving it out).
fn nullable_string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

fn one_of(values: &[&str]) -> ObjectBuilder {
    string().enum_values(Some(values.iter().map(|v| (*v).to_owned())))
}

fn name_schema() -> ObjectBuilder {
    string()
        .min_length(Some(1))
        .max_length(Some(NAME_MAX))
        .pattern(Some(NAME_PATTERN))
}

fn host_schema(required: bool) -> ObjectBuilder {
    if required {
        string()
    } else {
        nullable_string()
    }
    .min_length(Some(1))
    .max_length(Some(HOST_MAX))
    .pattern(Some(HOST_PATTERN))
    .description(Some("Host name or IPv4 address of the SMTP server."))
}

fn port_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .minimum(Some(1))
        .maximum(Some(65535))
}

fn tls_schema(required: bool) -> ObjectBuilder {
    let mut values = vec![serde_json::json!("implicit"), serde_json::json!("starttls")];
    let base = if required {
        string()
    } else {
        values.push(serde_json::Value::Null);
        nullable_string()
    };
    base.enum_values(Some(values))
        .description(Some(
            "`implicit` (TLS from the start) or `starttls` (required upgrade). Anything else is refused with `tls-required` (R-TLS).",
        ))
}

fn username_schema() -> ObjectBuilder {
    nullable_string()
        .min_length(Some(1))
        .max_length(Some(USERNAME_MAX))
        .pattern(Some(NO_CONTROL_PATTERN))
}

fn password_schema() -> ObjectBuilder {
    nullable_string()
        .min_length(Some(1))
        .max_length(Some(PASSWORD_MAX))
        .pattern(Some(NO_CONTROL_PATTERN))
        .description(Some("Stored encrypted; never returned."))
}

impl PartialSchema for NewMailServer {
    fn schema() -> RefOr<Schema> {
        let mut variants = OneOfBuilder::new().description(Some(
            "A new mail server. `type` pre-fills host, port and TLS mode (office365: smtp.office365.com:587 starttls; \
             gmail: smtp.gmail.com:465 implicit); each may be given to override it. A `generic` server needs `host` \
             and `tls`; its port defaults to 465 (implicit) or 587 (starttls).",
        ));
        for t in ServerType::ALL {
            let generic = t.preset().is_none();
            let mut o = ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::Object))
                .property(
                    "name",
                    name_schema().examples([serde_json::json!("Office 365")]),
                )
                .required("name")
                .property("type", one_of(&[t.as_str()]))
                .required("type")
                .property("host", host_schema(generic))
                .property("port", port_schema())
                .property("tls", tls_schema(generic))
                .property("username", username_schema())
                .property("password", password_schema())
                .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
            if generic {
                o = o.required("host").required("tls");
            }
            variants = variants.item(o);
        }
        RefOr::T(Schema::OneOf(variants.build()))
    }
}

impl ToSchema for NewMailServer {}

/// `PATCH /mail-servers/{id}`: only the fields present change. `username` or `password` set to
/// `null` removes it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailServerChanges {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 253,
        pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
    )]
    pub host: Option<String>,
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 65535)]
    pub port: Option<i64>,
    /// `implicit` or `starttls`; anything else is refused with `tls-required` (R-TLS).
    #[schema(value_type = Option<TlsMode>)]
    pub tls: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 254, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$")]
    pub username: Option<Option<String>>,
    /// Stored encrypted; never returned.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 1024, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$")]
    pub password: Option<Option<String>>,
}

/// A step of an SMTP conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SmtpStep {
    /// Looking up the host name.
    Dns,
    /// Opening the TCP connection and reading the greeting.
    Connection,
    /// The TLS handshake (implicit, or after STARTTLS), including the certificate check.
    Tls,
    /// Logging in (AUTH PLAIN or LOGIN).
    Authentication,
    /// Handing over the message (MAIL FROM, RCPT TO, DATA).
    Sending,
}

/// The outcome of talking to a mail server, in plain words.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SmtpCheck {
    /// Whether everything worked.
    pub ok: bool,
    /// The step that failed; `null` when `ok`.
    pub failed_step: Option<SmtpStep>,
    /// What happened, in plain words.
    #[schema(
        example = "The TLS handshake with smtp.example.org:465 failed: the server's certificate is not trusted."
    )]
    pub message: String,
    /// The server's answer, when it gave one (`535 5.7.8 Authentication credentials invalid`).
    pub smtp_answer: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Senders.

/// Whether a sender may be used (R-VERIFY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SenderStatus {
    /// Waiting for the code mailed to its address; cannot send.
    Unverified,
    /// The code was entered; can send.
    Verified,
}

/// A sender (`From`) of a mail server.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Sender {
    pub id: Uuid,
    pub server_id: Uuid,
    #[schema(example = "Loket")]
    pub name: String,
    #[schema(example = "noreply@example.org")]
    pub address: String,
    /// How it appears in `From`.
    #[schema(example = "Loket <noreply@example.org>")]
    pub display: String,
    pub status: SenderStatus,
    pub verified_at: Option<DateTime<Utc>>,
    /// When the current verification code expires (`null` once verified).
    pub code_expires_at: Option<DateTime<Utc>>,
    /// Wrong codes that may still be entered (`0` once verified or exhausted).
    #[schema(minimum = 0, maximum = 5)]
    pub tries_left: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /mail-servers/{id}/senders`: mails a 6-digit code to the address. Adding an address
/// that is waiting for verification sends a new code.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSender {
    #[schema(
        example = "Loket",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    #[schema(example = "noreply@example.org", format = "email", max_length = 254)]
    pub address: String,
}

/// A sender waiting for verification, and how mailing its code went.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SenderCreated {
    #[serde(flatten)]
    pub sender: Sender,
    /// Whether the code could be mailed; when not, fix the server and add the address again.
    pub verification_mail: SmtpCheck,
}

/// `POST /mail-servers/{id}/senders/{sender_id}/verify`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifySender {
    /// The 6-digit code mailed to the sender's address.
    #[schema(example = "042917", pattern = r"^[0-9]{6}$")]
    pub code: String,
}

// ---------------------------------------------------------------------------------------------
// Limits.

/// At most `max_messages` sent through the server per `window_seconds` (a sliding window).
/// Mail over the limit waits in the outbox; it is never dropped.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MailLimit {
    pub id: Uuid,
    pub server_id: Uuid,
    #[schema(example = 30, minimum = 1, maximum = 1000000)]
    pub max_messages: i32,
    #[schema(example = 60, minimum = 1, maximum = 2592000)]
    pub window_seconds: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /mail-servers/{id}/limits`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMailLimit {
    #[serde(deserialize_with = "required_whole_number")]
    #[schema(example = 30, minimum = 1, maximum = 1000000)]
    pub max_messages: i64,
    #[serde(deserialize_with = "required_whole_number")]
    #[schema(example = 60, minimum = 1, maximum = 2592000)]
    pub window_seconds: i64,
}

/// `PATCH /mail-servers/{id}/limits/{limit_id}`: only the fields present change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailLimitChanges {
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_messages: Option<i64>,
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 2592000)]
    pub window_seconds: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Templates.

/// A mail or document template for one culture, or without culture (the last fallback).
/// Subject and bodies are MiniJinja templates (`{{ name }}`, `{% if %}`…); the HTML body
/// escapes every value it inserts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MailTemplate {
    pub id: Uuid,
    #[schema(example = "AppointmentConfirmation")]
    pub code: String,
    /// `null` for the template without culture.
    #[schema(example = "nl-NL")]
    pub culture: Option<String>,
    /// The code with the culture appended, as documents are named (`AppointmentConfirmationnl-NL`).
    #[schema(example = "AppointmentConfirmationnl-NL")]
    pub key: String,
    #[schema(example = "Uw afspraak op {{ date }}")]
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /mail-templates`. One template per code and culture.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMailTemplate {
    #[schema(
        example = "AppointmentConfirmation",
        min_length = 1,
        max_length = 100,
        pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    )]
    pub code: String,
    /// Omit (or `null`) for the template used when no culture matches.
    #[schema(example = "nl-NL", pattern = r"^[a-z]{2}-[A-Z]{2}$")]
    pub culture: Option<String>,
    #[schema(
        example = "Uw afspraak op {{ date }}",
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub subject: String,
    #[schema(example = "Beste {{ name }},\n\nTot {{ date }}.", max_length = 20000)]
    pub text_body: String,
    #[schema(example = "<p>Beste {{ name }},</p>", max_length = 60000)]
    pub html_body: Option<String>,
}

/// `PATCH /mail-templates/{id}`: only the fields present change; `html_body: null` removes it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailTemplateChanges {
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub subject: Option<String>,
    #[schema(max_length = 20000)]
    pub text_body: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 60000)]
    pub html_body: Option<Option<String>>,
}

/// Filters of `GET /mail-templates`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateFilter {
    /// Only templates with this code (every culture).
    pub code: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Outbox.

/// Where a message goes. The culture chooses the template; without it, the language of the
/// tenant's user with this address, then the tenant's default culture.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    #[schema(example = "anna@example.org", format = "email", max_length = 254)]
    pub email: String,
    #[schema(
        example = "Anna de Vries",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[schema(example = "nl-NL", pattern = r"^[a-z]{2}-[A-Z]{2}$")]
    pub culture: Option<String>,
}

/// `POST /mail/outbox`: a templated message to queue.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMail {
    /// A verified sender of the tenant (R-VERIFY). Omitted: the tenant's default sender
    /// (`PUT /mail/settings`), else the platform's sender.
    pub sender_id: Option<Uuid>,
    pub to: Recipient,
    /// The template code; the recipient's culture chooses among its cultures.
    #[schema(
        example = "AppointmentConfirmation",
        min_length = 1,
        max_length = 100,
        pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    )]
    pub template: String,
    /// The values the template's placeholders refer to.
    #[serde(default)]
    #[schema(value_type = Option<Object>, example = json!({"name": "Anna", "date": "2 december"}))]
    pub data: Option<serde_json::Map<String, serde_json::Value>>,
    /// Codes of document templates to render (same culture lookup and data) and attach.
    #[schema(max_items = 10, value_type = Option<Vec<String>>)]
    pub documents: Option<Vec<String>>,
}

/// Where a message is in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MailStatus {
    /// Waiting to be sent (also while held back by a limit or between retries).
    Queued,
    /// Accepted by the mail server.
    Sent,
    /// Refused for good (a 5xx answer), or retries exhausted.
    Failed,
}

impl MailStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Queued => "queued",
            MailStatus::Sent => "sent",
            MailStatus::Failed => "failed",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(MailStatus::Queued),
            "sent" => Some(MailStatus::Sent),
            "failed" => Some(MailStatus::Failed),
            _ => None,
        }
    }
}

/// The recipient of a queued message, with the culture used.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MailRecipient {
    pub email: String,
    pub name: Option<String>,
    /// The culture the template was chosen for.
    pub culture: Option<String>,
}

/// A message in the outbox.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub status: MailStatus,
    /// The `From` header.
    #[schema(example = "Loket <noreply@example.org>")]
    pub from: String,
    pub to: MailRecipient,
    /// The tenant's mail server used; `null` when the platform's server sends it.
    pub server_id: Option<Uuid>,
    /// The tenant's sender used; `null` for the platform sender.
    pub sender_id: Option<Uuid>,
    /// The template code.
    pub template: Option<String>,
    /// The culture of the template chosen; `null` for the template without culture.
    pub template_culture: Option<String>,
    pub subject: String,
    /// The `Message-ID` header, the same on every attempt.
    #[schema(example = "<0192f0c1-7a7e-7c1e-9d2a-3b4c5d6e7f80@example.org>")]
    pub message_id: String,
    /// Send attempts so far.
    pub attempts: i32,
    /// The server's last answer (`250 2.0.0 Ok`, `550 5.1.1 User unknown`).
    pub smtp_answer: Option<String>,
    /// What went wrong last, in plain words.
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due, while queued.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Filters of `GET /mail/outbox`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxFilter {
    /// Only messages with this status.
    pub status: Option<MailStatus>,
}

// ---------------------------------------------------------------------------------------------
// Settings.

/// The tenant's mail settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MailSettings {
    /// The verified sender used when a message names none (ticket mail, reminders); `null`:
    /// the platform's sender.
    pub default_sender_id: Option<Uuid>,
    /// When the settings last changed; `null` if never.
    pub updated_at: Option<DateTime<Utc>>,
}

/// `PUT /mail/settings`: replaces the settings.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailSettingsUpdate {
    /// A verified sender of the tenant (R-VERIFY), or `null` for the platform's sender.
    pub default_sender_id: Option<Uuid>,
}
