//! Request and response types of tickets, their messages and history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $( $(#[$vm:meta])* $variant:ident => $s:tt, )* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        pub enum $name { $( $(#[$vm])* #[serde(rename = $s)] $variant, )* }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];
            /// The stored and API form.
            pub fn as_str(self) -> &'static str { match self { $( $name::$variant => $s, )* } }
            /// Parses the stored form.
            pub fn parse(s: &str) -> Option<$name> { match s { $( $s => Some($name::$variant), )* _ => None } }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

text_enum! {
    /// Where a ticket is (R-POSTPONE for `postponed`).
    TicketStatus {
        /// Not yet answered by staff.
        New => "new",
        /// Staff replied; waiting for the customer.
        Answered => "answered",
        /// The customer replied.
        Open => "open",
        /// Done.
        Resolved => "resolved",
        /// Waiting for the customer until `postponed_until`; resolves then without a reply.
        Postponed => "postponed",
    }
}

text_enum! {
    /// The department handling a ticket; every ticket starts at `helpdesk`.
    Department {
        Helpdesk => "helpdesk",
        Bi => "bi",
        WaitingForReaction => "waiting-for-reaction",
        InternalDiscussion => "internal-discussion",
        FunctionalConsultation => "functional-consultation",
        Design => "design",
        Develop => "develop",
        /// Requires `release_version`.
        Planned => "planned",
        Delivered => "delivered",
        Wishlist => "wishlist",
        /// Mail to the updates mailbox lands here.
        Updates => "updates",
    }
}

text_enum! {
    /// How a ticket came in.
    Channel {
        Portal => "portal",
        Email => "email",
        Phone => "phone",
    }
}

text_enum! {
    /// How a ticket is registered through `POST /tickets` (mail arrives through inbound mail).
    IntakeChannel {
        Portal => "portal",
        Phone => "phone",
    }
}

impl From<IntakeChannel> for Channel {
    fn from(c: IntakeChannel) -> Channel {
        match c {
            IntakeChannel::Portal => Channel::Portal,
            IntakeChannel::Phone => Channel::Phone,
        }
    }
}

text_enum! {
    /// `GET /tickets?sla=`: which SLA state to list.
    SlaFilter {
        /// Past a due time without the matching response.
        Breached => "breached",
    }
}

text_enum! {
    /// The reporter's environment.
    Environment {
        Production => "production",
        Test => "test",
        Acceptance => "acceptance",
    }
}

text_enum! {
    /// Priority; `disruption` is severe (due at once).
    Priority {
        Low => "low",
        Normal => "normal",
        High => "high",
        Disruption => "disruption",
    }
}

text_enum! {
    /// Who can see a message: customers never see internal notes.
    Visibility {
        Public => "public",
        Internal => "internal",
    }
}

text_enum! {
    /// Who wrote a message.
    AuthorKind {
        Staff => "staff",
        Customer => "customer",
        System => "system",
    }
}

/// A helpdesk ticket.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Ticket {
    pub id: Uuid,
    /// `ABC-DEFGH-123`; API paths take the number.
    #[schema(pattern = r"^[A-Z]{3}-[A-Z]{5}-[0-9]{3}$", example = "TXH-PSCHP-612")]
    pub number: String,
    pub channel: Channel,
    pub subject: String,
    pub status: TicketStatus,
    pub department: Department,
    pub priority: Priority,
    /// Labels such as `security-incident-light` and `security-incident` (R-PRIVACY).
    pub labels: Vec<String>,
    pub reporter_email: String,
    pub reporter_name: Option<String>,
    pub reporter_language: String,
    pub cc_emails: Vec<String>,
    pub organisation_id: Option<Uuid>,
    pub software_version: Option<String>,
    pub environment: Option<Environment>,
    /// The area or screen concerned.
    pub area: Option<String>,
    pub release_version: Option<String>,
    pub postponed_until: Option<DateTime<Utc>>,
    pub confirm_due: DateTime<Utc>,
    pub first_response_due: DateTime<Utc>,
    pub response_due: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// In `internal-discussion` or `functional-consultation`: when the next such meeting starts
    /// (`/helpdesk/meetings`), so the customer sees when to expect an answer; else `null`.
    #[serde(default)]
    pub next_meeting_at: Option<DateTime<Utc>>,
}

/// `POST /tickets` (portal form, or staff registering a phone call with `channel: phone`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub contact_name: String,
    #[schema(format = "email", min_length = 3, max_length = 254)]
    pub contact_email: String,
    /// At most 10 addresses.
    #[serde(default)]
    #[schema(value_type = Vec<String>, format = "email", max_items = 10)]
    pub cc_emails: Vec<String>,
    /// Culture of the reporter (`nl-NL`, `en-GB`) for the mail; defaults to `nl-NL`.
    #[schema(example = "nl-NL", pattern = r"^[a-z]{2}-[A-Z]{2}$")]
    pub language: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub software_version: Option<String>,
    pub environment: Option<Environment>,
    /// The area or screen concerned.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub area: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub subject: String,
    /// Tabs and line breaks allowed; not only white space.
    #[schema(
        min_length = 1,
        max_length = 100_000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub description: String,
    /// `portal` (default) or, for staff, `phone`.
    pub channel: Option<IntakeChannel>,
    /// Staff only.
    pub priority: Option<Priority>,
}

/// `PATCH /tickets/{number}` (staff): only the fields present change; `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketChanges {
    pub status: Option<TicketStatus>,
    pub department: Option<Department>,
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$")]
    pub release_version: Option<Option<String>>,
    /// A future time; defaults to two weeks from now when the status becomes `postponed`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub postponed_until: Option<Option<DateTime<Utc>>>,
    /// Replaces the labels (staff can add or remove them by hand).
    pub labels: Option<Vec<String>>,
}

/// A present field, `null` included (`Some(None)`), versus an absent one (`None`).
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Filters of `GET /tickets`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketFilter {
    /// Keyword in the subject or messages.
    pub q: Option<String>,
    pub number: Option<String>,
    pub status: Option<TicketStatus>,
    pub department: Option<Department>,
    /// `true`: everything not resolved; `false`: resolved only.
    pub open: Option<bool>,
    /// `breached`: tickets past a due time without the matching response.
    pub sla: Option<SlaFilter>,
}

/// A message of a ticket.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: Uuid,
    pub author_kind: AuthorKind,
    pub author_name: Option<String>,
    pub visibility: Visibility,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// The files attached to this message (R-PRIVACY: removed ones keep only name and size).
    #[serde(default)]
    pub attachments: Vec<crate::attachments::Attachment>,
}

/// `POST /tickets/{number}/messages`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// Tabs and line breaks allowed; not only white space.
    #[schema(
        min_length = 1,
        max_length = 100_000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub body: String,
    /// Staff only; customers always post `public`.
    pub visibility: Option<Visibility>,
}

/// A status, department or label change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    pub id: Uuid,
    /// `status`, `department`, `labels`, `release_version`.
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub actor_kind: AuthorKind,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip() {
        for d in Department::ALL {
            assert_eq!(Department::parse(d.as_str()), Some(*d));
            assert_eq!(
                serde_json::to_value(d).ok(),
                Some(serde_json::json!(d.as_str()))
            );
        }
        for s in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Department::parse("nope"), None);
    }
}

/// `GET /public/tickets/{number}`: what the reporter sees through the tracking link.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicTicket {
    #[schema(example = "TXH-PSCHP-612")]
    pub number: String,
    pub subject: String,
    pub status: TicketStatus,
    pub labels: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// Public messages only, oldest first.
    pub messages: Vec<Message>,
}

/// `POST /public/tickets/{number}/messages`: the reporter's reply through the tracking link.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicReply {
    /// Tabs and line breaks allowed; not only white space.
    #[schema(
        min_length = 1,
        max_length = 100_000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub body: String,
}

/// The tracking code, as `?code=` (or the `X-Ticket-Code` header).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrackingCode {
    /// The secret code from the confirmation mail's tracking link.
    pub code: Option<String>,
}

text_enum! {
    /// The mailbox inbound mail arrived at: `updates` mail lands in the `updates` department.
    Mailbox {
        Helpdesk => "helpdesk",
        Updates => "updates",
    }
}

text_enum! {
    /// How an inbound mail found its ticket (R-THREAD).
    ThreadedBy {
        /// No thread matched: a new ticket.
        New => "new",
        /// `In-Reply-To`/`References` named one of our signed Message-IDs.
        References => "references",
        /// The subject's `[ABC-DEFGH-123]` tag, from the reporter or a CC address.
        SubjectTag => "subject_tag",
        /// The same Message-ID was ingested before; nothing changed.
        Duplicate => "duplicate",
    }
}

/// `POST /mail/inbound?mailbox=`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboundQuery {
    /// `helpdesk` or `updates` (lands in the `updates` department).
    pub mailbox: Mailbox,
}

/// What became of an inbound mail.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InboundOutcome {
    /// The ticket created or threaded into.
    pub ticket: Ticket,
    /// The id of the message stored for this mail (see `GET /tickets/{number}/messages`).
    pub message_id: Uuid,
    /// The mail's `Message-ID` (or, when it had none, one derived from its bytes).
    #[schema(example = "<CAF=abc123@mail.example.org>")]
    pub mail_message_id: String,
    /// `true` when a new ticket was created.
    pub created: bool,
    /// How the ticket was found.
    pub threaded_by: ThreadedBy,
}

// ---------------------------------------------------------------------------------------------
// Customers (R-OWN): organisations and their contacts; the privacy-incident report.

/// A customer organisation of the helpdesk (a municipality, …).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Organisation {
    pub id: Uuid,
    #[schema(example = "Gemeente Wageningen")]
    pub name: String,
    /// The organisation's shared address (lower case): contacts who verified it see the tickets
    /// filed under it, and staff can move tickets to it.
    #[schema(example = "helpdesk@gemeente.example")]
    pub shared_email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /organisations`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    #[schema(
        example = "Gemeente Wageningen",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// Unique among the tenant's organisations (case-insensitive).
    #[schema(format = "email", min_length = 3, max_length = 254)]
    pub shared_email: Option<String>,
}

/// `PATCH /organisations/{id}`: only the fields present change; `shared_email: null` removes
/// the shared address. A changed shared address must be verified again by every contact.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationChanges {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "email", min_length = 3, max_length = 254)]
    pub shared_email: Option<Option<String>>,
}

/// A customer contact: a user with the `customer` role (`tickets:read` + `tickets:write`,
/// narrowed to its own tickets), whose `id` is the user id (R-OWN).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CustomerContact {
    /// The user id; impersonate it (RFC 8693 `requested_subject`) to act as the contact.
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// Lower case.
    #[schema(example = "anna@gemeente.example")]
    pub email: String,
    #[schema(example = "Anna de Vries")]
    pub name: String,
    /// Culture of the contact's mail (`nl-NL`).
    #[schema(example = "nl-NL")]
    pub language: String,
    /// Whether the own address is verified; until then the contact sees no tickets.
    pub verified: bool,
    pub verified_at: Option<DateTime<Utc>>,
    /// When the contact verified the organisation's current shared address (then it also sees
    /// the tickets filed under it).
    pub shared_email_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /customer-contacts`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomerContact {
    /// Unique among the tenant's users (case-insensitive; stored in lower case).
    #[schema(example = "anna@gemeente.example", format = "email", max_length = 254)]
    pub email: String,
    #[schema(
        example = "Anna de Vries",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    pub organisation_id: Uuid,
    /// Culture of the registration mail (`nl-NL`, `en-GB`); defaults to the tenant's.
    #[schema(
        example = "nl-NL",
        min_length = 5,
        max_length = 5,
        pattern = r"^[a-z]{2}-[A-Z]{2}$"
    )]
    pub language: Option<String>,
}

/// `POST /customer-contacts/{id}/verify` and `…/shared-email/verify`: the mailed code.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationCode {
    /// The 6 digits from the mail.
    #[schema(
        example = "123456",
        min_length = 6,
        max_length = 6,
        pattern = r"^[0-9]{6}$"
    )]
    pub code: String,
}

/// Filters of `GET /customer-contacts`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactFilter {
    /// Only the contacts of this organisation.
    pub organisation_id: Option<Uuid>,
}

/// `POST /organisations/{id}/move-to-shared`: the address whose tickets move.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveToShared {
    /// The address of one of the organisation's contacts.
    #[schema(example = "anna@gemeente.example", format = "email", max_length = 254)]
    pub from_email: String,
}

/// The tickets moved to the organisation's shared address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MovedTickets {
    /// The shared address they are filed under now.
    pub shared_email: String,
    /// Their numbers.
    pub moved: Vec<String>,
}

/// `GET /reports/privacy-incidents`: the period, as UTC dates, both inclusive.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PrivacyReportQuery {
    /// First day (`YYYY-MM-DD`, UTC).
    #[param(required = true, value_type = String, format = Date, example = "2026-01-01")]
    pub from: Option<String>,
    /// Last day (`YYYY-MM-DD`, UTC), not before `from`.
    #[param(required = true, value_type = String, format = Date, example = "2026-12-31")]
    pub to: Option<String>,
}

/// Privacy incidents (R-PRIVACY) per organisation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PrivacyReport {
    /// Organisations with at least one incident, by name; tickets of no organisation last
    /// (`organisation_id` and `organisation_name` null).
    pub items: Vec<PrivacyIncidentCount>,
}

/// The incident counts of one organisation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PrivacyIncidentCount {
    pub organisation_id: Option<Uuid>,
    pub organisation_name: Option<String>,
    /// Tickets labelled `security-incident-light` (one person's data).
    pub light: u64,
    /// Tickets labelled `security-incident` (several persons' data; attachment removed).
    pub full: u64,
    /// Tickets with either label (a ticket with both counts once).
    pub total: u64,
}
