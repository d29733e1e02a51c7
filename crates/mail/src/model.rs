//! Database rows and their API representations.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loket_common::time::from_db;
use loket_common::{Error, Result, ids};
use loket_storage::schema::{
    mail_limits, mail_outbox, mail_senders, mail_servers, mail_settings, mail_templates,
};

use crate::api::{
    MailLimit, MailRecipient, MailServer, MailSettings, MailStatus, MailTemplate, OutboxMessage,
    Sender, SenderStatus, ServerStatus, ServerType, TlsMode,
};
use crate::checks;

/// Wrong codes allowed per verification code.
pub const MAX_TRIES: i32 = 5;

fn corrupt(what: &str) -> Error {
    Error::internal(std::io::Error::other(format!("stored {what} is not valid")))
}

/// A mail server row (with its sealed password; never serialised).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mail_servers)]
pub struct ServerRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub kind: String,
    pub host: String,
    pub port: i32,
    pub tls: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub status: String,
    pub archived_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ServerRow {
    /// The context the password is sealed under (binds the ciphertext to this row).
    pub fn password_context(id: &str) -> String {
        format!("mail_servers.password:{id}")
    }

    /// The TLS mode.
    pub fn tls_mode(&self) -> Result<TlsMode> {
        TlsMode::parse(&self.tls).ok_or_else(|| corrupt("TLS mode"))
    }

    /// The port.
    pub fn port(&self) -> Result<u16> {
        u16::try_from(self.port).map_err(|_| corrupt("port"))
    }

    /// Whether the server is archived.
    pub fn is_archived(&self) -> bool {
        self.status == "archived"
    }

    /// The API representation (no password).
    pub fn to_api(&self) -> Result<MailServer> {
        Ok(MailServer {
            id: ids::parse_stored(&self.id)?,
            tenant_id: ids::parse_stored(&self.tenant_id)?,
            name: self.name.clone(),
            server_type: ServerType::parse(&self.kind).ok_or_else(|| corrupt("server type"))?,
            host: self.host.clone(),
            port: self.port()?,
            tls: self.tls_mode()?,
            username: self.username.clone(),
            has_password: self.password.is_some(),
            status: if self.is_archived() {
                ServerStatus::Archived
            } else {
                ServerStatus::Active
            },
            archived_at: self.archived_at.map(from_db),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// A sender row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mail_senders)]
pub struct SenderRow {
    pub id: String,
    pub tenant_id: String,
    pub server_id: String,
    pub name: String,
    pub address: String,
    pub address_key: String,
    pub verified_at: Option<NaiveDateTime>,
    pub code_hash: Option<String>,
    pub code_expires_at: Option<NaiveDateTime>,
    pub failed_tries: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl SenderRow {
    /// Whether the sender may be used (R-VERIFY).
    pub fn is_verified(&self) -> bool {
        self.verified_at.is_some()
    }

    /// The API representation.
    pub fn to_api(&self) -> Result<Sender> {
        let verified = self.is_verified();
        Ok(Sender {
            id: ids::parse_stored(&self.id)?,
            server_id: ids::parse_stored(&self.server_id)?,
            name: self.name.clone(),
            address: self.address.clone(),
            display: checks::display(&self.name, &self.address),
            status: if verified {
                SenderStatus::Verified
            } else {
                SenderStatus::Unverified
            },
            verified_at: self.verified_at.map(from_db),
            code_expires_at: if verified {
                None
            } else {
                self.code_expires_at.map(from_db)
            },
            tries_left: if verified {
                0
            } else {
                (MAX_TRIES - self.failed_tries).max(0)
            },
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// A limit row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mail_limits)]
pub struct LimitRow {
    pub id: String,
    pub tenant_id: String,
    pub server_id: String,
    pub max_messages: i32,
    pub window_seconds: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl LimitRow {
    /// The API representation.
    pub fn to_api(&self) -> Result<MailLimit> {
        Ok(MailLimit {
            id: ids::parse_stored(&self.id)?,
            server_id: ids::parse_stored(&self.server_id)?,
            max_messages: self.max_messages,
            window_seconds: self.window_seconds,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// A template row (`culture` is `''` for the template without culture).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mail_templates)]
pub struct TemplateRow {
    pub id: String,
    pub tenant_id: String,
    pub code: String,
    pub culture: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl TemplateRow {
    /// The culture, `None` for the template without culture.
    pub fn culture(&self) -> Option<String> {
        (!self.culture.is_empty()).then(|| self.culture.clone())
    }

    /// The code with the culture appended (`AssignmentSignalDocumentnl-NL`).
    pub fn key(&self) -> String {
        format!("{}{}", self.code, self.culture)
    }

    /// The API representation.
    pub fn to_api(&self) -> Result<MailTemplate> {
        Ok(MailTemplate {
            id: ids::parse_stored(&self.id)?,
            code: self.code.clone(),
            culture: self.culture(),
            key: self.key(),
            subject: self.subject.clone(),
            text_body: self.text_body.clone(),
            html_body: self.html_body.clone(),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// A tenant's mail settings row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mail_settings)]
pub struct SettingsRow {
    pub tenant_id: String,
    pub default_sender_id: Option<String>,
    pub updated_at: NaiveDateTime,
}

impl SettingsRow {
    /// The API representation.
    pub fn to_api(row: Option<&SettingsRow>) -> Result<MailSettings> {
        Ok(MailSettings {
            default_sender_id: row
                .and_then(|r| r.default_sender_id.as_deref())
                .map(ids::parse_stored)
                .transpose()?,
            updated_at: row.map(|r| from_db(r.updated_at)),
        })
    }
}

/// An outbox row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mail_outbox)]
pub struct OutboxRow {
    pub id: String,
    pub tenant_id: Option<String>,
    pub server_id: Option<String>,
    pub sender_id: Option<String>,
    pub from_name: Option<String>,
    pub from_address: String,
    pub to_email: String,
    pub to_name: Option<String>,
    pub culture: Option<String>,
    pub template_code: Option<String>,
    pub template_culture: Option<String>,
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
    pub attachments: String,
    pub message_id: String,
    pub status: String,
    pub attempts: i32,
    pub smtp_answer: Option<String>,
    pub error: Option<String>,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub locked_until: Option<NaiveDateTime>,
    pub lease: Option<String>,
}

impl OutboxRow {
    /// The `From` header.
    pub fn from_display(&self) -> String {
        match &self.from_name {
            Some(name) => checks::display(name, &self.from_address),
            None => self.from_address.clone(),
        }
    }

    /// The API representation (without the bodies).
    pub fn to_api(&self) -> Result<OutboxMessage> {
        let status = MailStatus::parse(&self.status).ok_or_else(|| corrupt("mail status"))?;
        Ok(OutboxMessage {
            id: ids::parse_stored(&self.id)?,
            status,
            from: self.from_display(),
            to: MailRecipient {
                email: self.to_email.clone(),
                name: self.to_name.clone(),
                culture: self.culture.clone(),
            },
            server_id: self
                .server_id
                .as_deref()
                .map(ids::parse_stored)
                .transpose()?,
            sender_id: self
                .sender_id
                .as_deref()
                .map(ids::parse_stored)
                .transpose()?,
            template: self.template_code.clone(),
            template_culture: self.template_culture.clone().filter(|c| !c.is_empty()),
            subject: self.subject.clone(),
            message_id: self.message_id.clone(),
            attempts: self.attempts,
            smtp_answer: self.smtp_answer.clone(),
            error: self.error.clone(),
            created_at: from_db(self.created_at),
            last_attempt_at: self.last_attempt_at.map(from_db),
            next_attempt_at: if status == MailStatus::Queued {
                self.next_attempt_at.map(from_db)
            } else {
                None
            },
            sent_at: self.sent_at.map(from_db),
        })
    }
}
