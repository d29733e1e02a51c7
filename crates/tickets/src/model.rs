//! Database rows and their API representations.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loket_common::time::from_db;
use loket_common::{Error, Result, ids};
use loket_storage::schema::{ticket_history, ticket_messages, tickets};

use crate::api::{
    AuthorKind, Channel, Department, Environment, HistoryEntry, Message, Priority, Ticket,
    TicketStatus, Visibility,
};

/// A ticket row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tickets)]
pub struct TicketRow {
    pub id: String,
    pub tenant_id: String,
    pub number: String,
    pub channel: String,
    pub mailbox: Option<String>,
    pub subject: String,
    pub status: String,
    pub department: String,
    pub priority: String,
    pub disruption: bool,
    pub labels: String,
    pub reporter_email: String,
    pub reporter_name: Option<String>,
    pub reporter_language: String,
    pub cc_emails: String,
    pub organisation_id: Option<String>,
    pub software_version: Option<String>,
    pub environment: Option<String>,
    pub area: Option<String>,
    pub release_version: Option<String>,
    pub postponed_until: Option<NaiveDateTime>,
    pub tracking_code_hash: Option<String>,
    pub confirm_due: NaiveDateTime,
    pub first_response_due: NaiveDateTime,
    pub response_due: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub first_response_at: Option<NaiveDateTime>,
    pub last_customer_message_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

fn stored<T>(what: &str, v: Option<T>, raw: &str) -> Result<T> {
    v.ok_or_else(|| Error::internal(format!("stored {what} `{raw}` is unknown")))
}

/// A JSON string array stored as text.
pub fn string_list(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(Error::internal)
}

impl TicketRow {
    /// The status.
    pub fn status(&self) -> Result<TicketStatus> {
        stored("status", TicketStatus::parse(&self.status), &self.status)
    }

    /// The department.
    pub fn department(&self) -> Result<Department> {
        stored(
            "department",
            Department::parse(&self.department),
            &self.department,
        )
    }

    /// The labels.
    pub fn labels(&self) -> Result<Vec<String>> {
        string_list(&self.labels)
    }

    /// The API representation.
    pub fn to_api(&self) -> Result<Ticket> {
        Ok(Ticket {
            id: ids::parse_stored(&self.id)?,
            number: self.number.clone(),
            channel: stored("channel", Channel::parse(&self.channel), &self.channel)?,
            subject: self.subject.clone(),
            status: self.status()?,
            department: self.department()?,
            priority: stored("priority", Priority::parse(&self.priority), &self.priority)?,
            labels: self.labels()?,
            reporter_email: self.reporter_email.clone(),
            reporter_name: self.reporter_name.clone(),
            reporter_language: self.reporter_language.clone(),
            cc_emails: string_list(&self.cc_emails)?,
            organisation_id: self
                .organisation_id
                .as_deref()
                .map(ids::parse_stored)
                .transpose()?,
            software_version: self.software_version.clone(),
            environment: self.environment.as_deref().and_then(Environment::parse),
            area: self.area.clone(),
            release_version: self.release_version.clone(),
            postponed_until: self.postponed_until.map(from_db),
            confirm_due: from_db(self.confirm_due),
            first_response_due: from_db(self.first_response_due),
            response_due: from_db(self.response_due),
            first_response_at: self.first_response_at.map(from_db),
            resolved_at: self.resolved_at.map(from_db),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
            // Filled in from the meetings by the gateway (loket-helpdesk).
            next_meeting_at: None,
        })
    }
}

/// A message row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ticket_messages)]
pub struct MessageRow {
    pub id: String,
    pub tenant_id: String,
    pub ticket_id: String,
    pub author_kind: String,
    pub author_id: Option<String>,
    pub author_email: Option<String>,
    pub author_name: Option<String>,
    pub visibility: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub privacy_kinds: String,
    pub privacy_persons: i32,
    pub created_at: NaiveDateTime,
}

impl MessageRow {
    /// The API representation, without attachments (see
    /// [`crate::attachments::with_attachments`]).
    pub fn to_api(&self) -> Result<Message> {
        Ok(Message {
            id: ids::parse_stored(&self.id)?,
            author_kind: stored(
                "author kind",
                AuthorKind::parse(&self.author_kind),
                &self.author_kind,
            )?,
            author_name: self.author_name.clone(),
            visibility: stored(
                "visibility",
                Visibility::parse(&self.visibility),
                &self.visibility,
            )?,
            body: self.body_text.clone(),
            created_at: from_db(self.created_at),
            attachments: Vec::new(),
        })
    }
}

/// A history row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ticket_history)]
pub struct HistoryRow {
    pub id: String,
    pub tenant_id: String,
    pub ticket_id: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub at: NaiveDateTime,
}

impl HistoryRow {
    /// The API representation.
    pub fn to_api(&self) -> Result<HistoryEntry> {
        Ok(HistoryEntry {
            id: ids::parse_stored(&self.id)?,
            field: self.field.clone(),
            old_value: self.old_value.clone(),
            new_value: self.new_value.clone(),
            actor_kind: stored(
                "actor kind",
                AuthorKind::parse(&self.actor_kind),
                &self.actor_kind,
            )?,
            at: from_db(self.at),
        })
    }
}
