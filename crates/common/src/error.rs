//! The one error type of the domain layer and its table of stable codes.
//!
//! Every error a client can see has a [`Code`]: a stable lowercase slug (the problem `type` is
//! `/problems/<slug>`), an HTTP status, a title and a one-paragraph description (served at
//! `GET /problems/<slug>`). Domain rules use their DOMAIN.md id as slug (`completed-readonly`).

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Shorthand for results in the domain layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident => ($slug:literal, $status:literal, $title:literal, $desc:literal), )*) => {
        /// Stable error codes. Add new ones at the end of their group; never rename a slug.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code { $( $(#[$doc])* $variant, )* }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The lowercase slug used in the problem `type` URI.
            pub fn slug(self) -> &'static str { match self { $( Code::$variant => $slug, )* } }
            /// The HTTP status this code answers with.
            pub fn status(self) -> u16 { match self { $( Code::$variant => $status, )* } }
            /// A short, fixed, human-readable summary.
            pub fn title(self) -> &'static str { match self { $( Code::$variant => $title, )* } }
            /// What the code means and what a client can do about it.
            pub fn description(self) -> &'static str { match self { $( Code::$variant => $desc, )* } }
        }
    };
}

codes! {
    // Protocol-level errors.
    MalformedRequest => ("malformed-request", 400, "Malformed request",
        "The request could not be parsed: invalid JSON, a wrong form encoding or a query parameter of the wrong type. Fix the request; repeating it unchanged will fail again."),
    InvalidCursor => ("invalid-cursor", 400, "Invalid cursor",
        "The `cursor` query parameter is not one this API handed out. Use the `next_cursor` of a previous page, or omit it to start at the first page."),
    Unauthorized => ("unauthorized", 401, "Authentication required",
        "The request carries no valid bearer token. Obtain an access token at `POST /oauth/token` and send it as `Authorization: Bearer <token>`."),
    Forbidden => ("forbidden", 403, "Permission denied",
        "The caller is authenticated but lacks the permission (scope) this operation requires. The `detail` names the missing permission."),
    NotFound => ("not-found", 404, "Not found",
        "No such resource exists for the caller. Resources of other tenants answer this too, so an id cannot be used to probe for them."),
    MethodNotAllowed => ("method-not-allowed", 405, "Method not allowed",
        "The resource exists but does not support this HTTP method. The `Allow` header lists the methods it does support."),
    NotAcceptable => ("not-acceptable", 406, "Not acceptable",
        "The API answers `application/json` (and `application/problem+json` for errors) only."),
    Conflict => ("conflict", 409, "Conflict",
        "The request conflicts with the current state of the resource, for example a unique name that is already taken."),
    IdempotencyKeyInProgress => ("idempotency-key-in-progress", 409, "Idempotent request in progress",
        "A request with this `Idempotency-Key` is still being processed. Retry after it has finished to receive its stored response."),
    CredentialsShownOnce => ("credentials-shown-once", 409, "Credentials are shown once",
        "The request with this `Idempotency-Key` already succeeded, and its response held credentials that are shown only once, so it is neither repeated nor replayed. Read the created resource with GET, or rotate its secret to get new credentials."),
    Gone => ("gone", 410, "Gone",
        "The resource existed but has been removed for good."),
    PayloadTooLarge => ("payload-too-large", 413, "Payload too large",
        "The request body exceeds the configured maximum size (`LOKET_MAX_BODY_BYTES`)."),
    UnsupportedMediaType => ("unsupported-media-type", 415, "Unsupported media type",
        "The `Content-Type` of the request body is not one this operation accepts (usually `application/json`)."),
    ValidationFailed => ("validation-failed", 422, "Validation failed",
        "One or more fields are invalid. `invalid_params` lists each field by name with the reason."),
    IdempotencyKeyReused => ("idempotency-key-reused", 422, "Idempotency key reused",
        "This `Idempotency-Key` was already used with a different request (method, path or body). Use a fresh key for a different request."),
    TooManyRequests => ("too-many-requests", 429, "Too many requests",
        "The caller sent too many requests. Wait for the number of seconds in `Retry-After`."),
    Internal => ("internal", 500, "Internal server error",
        "The server failed to handle the request. The failure is logged under the request id in `X-Request-Id`; nothing was changed."),
    Unavailable => ("unavailable", 503, "Service unavailable",
        "A dependency of the server (such as the database) is unreachable. Retry after the number of seconds in `Retry-After`; repeat a POST with the same `Idempotency-Key`, as its outcome may be unknown."),
    RequestTimeout => ("request-timeout", 408, "Request timeout",
        "The request body did not arrive within `LOKET_CLIENT_BODY_TIMEOUT` seconds of its headers, so the connection was closed. Send the request again."),
    HeadersTooLarge => ("headers-too-large", 431, "Request headers too large",
        "The request line and headers together exceed the configured maximum (`LOKET_MAX_HEADER_BYTES`). Send fewer or shorter headers."),
    // Agenda rules (DOMAIN.md "Agenda"); the slug is the rule id in lower case.
    Contact => ("contact", 422, "Employee contact details required",
        "R-CONTACT: the consultation type requires that the employee can be contacted, but the employee has no e-mail address or mobile number (private or work; either kind counts). Add one to the employee, or choose another consultation type."),
    NoShowSelect => ("noshow-select", 422, "No-show consultation type not selectable",
        "R-NOSHOW-SELECT: a no-show consultation type cannot be chosen when creating an appointment or a call request; it is used by no-show processing (`POST /appointments/{id}/no-show`). Exception: a call request may use the no-show type named by the product parameter `Consultation.DefaultConsultationType`."),
    CompletedReadonly => ("completed-readonly", 409, "Completed appointment is read-only",
        "R-COMPLETED-READONLY: a completed appointment cannot be edited or marked as concept. While none of its procedures is submitted it can still be rescheduled, deleted or un-completed."),
    CompletedOpen => ("completed-open", 409, "Completed appointment has no submitted procedures",
        "R-COMPLETED-OPEN: none of this completed appointment's procedures has been submitted, so it cannot be marked lapsed; delete it (its open procedures go with it), reschedule it or un-complete it instead."),
    CompletedSubmitted => ("completed-submitted", 409, "Procedures already submitted",
        "R-COMPLETED-SUBMITTED: a procedure of this completed appointment has been submitted for invoicing, so the appointment cannot be deleted, rescheduled, un-completed or processed as no-show. It can only be marked lapsed with a reason (`POST /appointments/{id}/lapse`), which writes a refund procedure."),
    NoShowUndo => ("noshow-undo", 409, "No-show can no longer be undone",
        "R-NOSHOW-UNDO: the no-show consultation has been completed, so the no-show can no longer be undone. Un-complete it first while its procedures are not submitted."),
    DoubleBooking => ("double-booking", 409, "Staff member already booked",
        "The staff member already has an appointment that overlaps this time. Choose another time or staff member."),
    InvalidState => ("invalid-state", 409, "Not allowed in the current state",
        "The operation is not allowed in the object's current status (for example completing an appointment twice, or booking a call request that is no longer open). The object's `actions` list, where present, names the operations allowed now."),
    AutoplanDisabled => ("autoplan-disabled", 409, "Automatic planning is switched off",
        "Automatic planning (\"save and plan\", availability calculation) is off for this tenant: set the product parameter `CalculateAvailabilitiesForAppointmentRequest` to 1."),
    // Mail rules (DOMAIN.md "Mail").
    TlsRequired => ("tls-required", 422, "TLS required",
        "R-TLS: a mail server must be reached over TLS: `tls` is `implicit` (SMTPS, usually port 465) or `starttls` (usually port 587; the upgrade is required, never opportunistic). Anything that would send mail or passwords in plain text is refused."),
    SenderUnverified => ("sender-unverified", 409, "Sender not verified",
        "R-VERIFY: the sender has not been verified, so it cannot send mail or be the default sender. Enter the code mailed to its address at `POST /api/v1/mail-servers/{id}/senders/{sender_id}/verify`, or add the address again to get a new code."),
    VerificationCodeWrong => ("verification-code-wrong", 422, "Wrong verification code",
        "The code does not match the one mailed to the address being verified (a mail sender's, a customer contact's or an organisation's shared address). The `detail` says how many tries are left; after five wrong tries ask for a new code (add the sender again, or `POST /api/v1/customer-contacts/{id}/resend-code` or `…/shared-email/send-code`)."),
    VerificationCodeExpired => ("verification-code-expired", 422, "Verification code expired",
        "The code was mailed more than 30 minutes ago. Ask for a new one: add the sender's address again (`POST /api/v1/mail-servers/{id}/senders`), or for a customer contact `POST /api/v1/customer-contacts/{id}/resend-code` (its shared address: `…/shared-email/send-code`)."),
    VerificationTriesExhausted => ("verification-tries-exhausted", 422, "No verification tries left",
        "Five wrong codes were entered (or no code is pending), so this code no longer works. Ask for a new one: add the sender's address again (`POST /api/v1/mail-servers/{id}/senders`), or for a customer contact `POST /api/v1/customer-contacts/{id}/resend-code` (its shared address: `…/shared-email/send-code`)."),
}

/// One invalid input field of a `validation-failed` problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvalidParam {
    /// The field name, as it appears in the request (`email`, `to.email`, `limit`).
    pub name: String,
    /// Why the value was refused.
    pub reason: String,
}

/// An RFC 9457 problem document (`application/problem+json`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI reference identifying the problem type: `/problems/<code>`; dereference it for a description.
    #[serde(rename = "type")]
    pub type_: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// An explanation specific to this occurrence.
    pub detail: String,
    /// The request id (also in the `X-Request-Id` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The invalid fields, for `validation-failed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid_params: Vec<InvalidParam>,
}

impl Problem {
    /// The problem document for `code` with a specific `detail`.
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Problem {
            type_: format!("/problems/{}", code.slug()),
            title: code.title().to_owned(),
            status: code.status(),
            detail: detail.into(),
            request_id: None,
            invalid_params: Vec::new(),
        }
    }
}

/// The error type of every Loket service call.
///
/// Carries the client-facing [`Code`] and detail, and for internal errors the cause, which is
/// logged but never shown to the client.
pub struct Error {
    /// The stable code; decides status and problem type.
    pub code: Code,
    /// The client-facing explanation.
    pub detail: String,
    /// Invalid fields, for [`Code::ValidationFailed`].
    pub invalid_params: Vec<InvalidParam>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error with a code and a client-facing detail.
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Error {
            code,
            detail: detail.into(),
            invalid_params: Vec::new(),
            source: None,
        }
    }

    /// `404 not-found` for a resource of the given kind (`"user"`, `"ticket"`).
    pub fn not_found(what: &str) -> Self {
        Error::new(Code::NotFound, format!("No {what} with that id exists."))
    }

    /// `422 validation-failed` for a single field.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::invalid_fields(vec![InvalidParam {
            name: field.into(),
            reason: reason.into(),
        }])
    }

    /// `422 validation-failed` for several fields.
    pub fn invalid_fields(params: Vec<InvalidParam>) -> Self {
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        let detail = format!("Invalid field(s): {}.", names.join(", "));
        Error {
            code: Code::ValidationFailed,
            detail,
            invalid_params: params,
            source: None,
        }
    }

    /// `409 conflict` with a detail.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Error::new(Code::Conflict, detail)
    }

    /// `403 forbidden` for a missing permission.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Error::new(Code::Forbidden, detail)
    }

    /// `500 internal`: the cause is kept for the log, the client sees an opaque detail.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Error {
            code: Code::Internal,
            detail: "The server failed to handle the request.".to_owned(),
            invalid_params: Vec::new(),
            source: Some(cause.into()),
        }
    }

    /// `503 unavailable`: the cause is kept for the log.
    pub fn unavailable(
        cause: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Error {
            code: Code::Unavailable,
            detail: "A dependency of the server is unavailable; retry later.".to_owned(),
            invalid_params: Vec::new(),
            source: Some(cause.into()),
        }
    }

    /// Attaches a cause for the log without changing what the client sees.
    pub fn with_source(
        mut self,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.source = Some(cause.into());
        self
    }

    /// The problem document a client receives.
    pub fn to_problem(&self) -> Problem {
        let mut p = Problem::new(self.code, self.detail.clone());
        p.invalid_params = self.invalid_params.clone();
        p
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.slug(), self.detail)?;
        let mut cause = self
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static));
        while let Some(e) = cause {
            write!(f, "\n  caused by: {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.slug(), self.detail)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn slugs_are_unique_lowercase_and_statuses_are_errors() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.slug()), "duplicate slug {}", code.slug());
            assert!(
                code.slug()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-')
            );
            assert!((400..600).contains(&code.status()));
        }
    }

    #[test]
    fn internal_errors_hide_their_cause_from_the_client() {
        let e = Error::internal(std::io::Error::other("db password is hunter2"));
        assert!(!e.to_problem().detail.contains("hunter2"));
        assert!(format!("{e:?}").contains("hunter2"));
    }
}
