//! Queuing templated messages (the public service API other domains call, inside their own
//! transaction), the outbox list, and the tenant's mail settings (its default sender).

use diesel::prelude::*;
use loket_common::time::to_db;
use loket_common::validate::Validator;
use loket_common::{Code, Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::{mail_outbox, mail_outbox_headers, mail_settings};
use serde_json::Value;
use uuid::Uuid;

use crate::api::{
    DOCUMENTS_MAX, MailSettings, MailSettingsUpdate, NAME_MAX, NewMail, OutboxFilter,
    OutboxMessage, Recipient,
};
use crate::message::StoredAttachment;
use crate::model::{OutboxRow, SenderRow, SettingsRow};
use crate::render::{self, Part};
use crate::senders::{load_tenant_sender, unverified};
use crate::servers::{archived_conflict, load_server};
use crate::{Mail, checks, templates};

/// Platform mail (e.g. "forgot login name"): always the platform's server and sender, whatever
/// the tenant configured. Subject and bodies are templates rendered with `data`.
#[derive(Debug, Clone)]
pub struct PlatformMessage {
    /// The tenant the mail concerns, if any (it then shows in that tenant's outbox).
    pub tenant_id: Option<Uuid>,
    /// The recipient (its culture is recorded as the message's language).
    pub to: Recipient,
    /// Subject template.
    pub subject: String,
    /// Plain-text body template.
    pub text_body: String,
    /// HTML body template (values are HTML-escaped).
    pub html_body: Option<String>,
    /// The values the templates refer to (a JSON object).
    pub data: Value,
}

/// A message written by a person rather than a template (a helpdesk reply): subject and body
/// are sent as they are, never rendered. It may answer in a conversation: `Cc`, `In-Reply-To`
/// and `References`, and a caller-chosen left part of its `Message-ID`.
#[derive(Debug, Clone)]
pub struct DirectMessage {
    /// The recipient.
    pub to: Recipient,
    /// `Cc` addresses.
    pub cc: Vec<String>,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub text_body: String,
    /// The left part of the `Message-ID` (`<{local}@{sender domain}>`), e.g. one the caller can
    /// recognise in replies; `None` for a fresh one. Dot-atom text only (`A-Za-z0-9.-_`).
    pub message_id_local: Option<String>,
    /// `In-Reply-To`: `<id@host>`.
    pub in_reply_to: Option<String>,
    /// `References`: `<id@host>` items, oldest first.
    pub references: Vec<String>,
}

/// Who a message is from.
struct From {
    server_id: Option<String>,
    sender_id: Option<String>,
    name: Option<String>,
    address: String,
}

fn load_settings(conn: &mut AnyConnection, tenant: &str) -> Result<Option<SettingsRow>> {
    Ok(mail_settings::table
        .find(tenant)
        .select(SettingsRow::as_select())
        .first(conn)
        .optional()?)
}

fn load_message(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<OutboxRow> {
    mail_outbox::table
        .filter(mail_outbox::tenant_id.eq(Some(tenant.to_string())))
        .filter(mail_outbox::id.eq(id.to_string()))
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("message"))
}

/// Checks that a sender may send (R-VERIFY, server not archived).
fn usable(conn: &mut AnyConnection, tenant: Uuid, row: &SenderRow) -> Result<()> {
    if !row.is_verified() {
        return Err(unverified(row));
    }
    let server = load_server(conn, tenant, ids::parse_stored(&row.server_id)?)?;
    if server.is_archived() {
        return Err(archived_conflict());
    }
    Ok(())
}

fn check_recipient(v: &mut Validator, to: &Recipient) -> Option<lettre::Address> {
    let address = checks::email(v, "to.email", &to.email);
    if let Some(n) = &to.name {
        checks::text(v, "to.name", n, NAME_MAX);
    }
    if let Some(c) = &to.culture {
        checks::culture(v, "to.culture", c);
    }
    address
}

fn render_err(field: &str) -> impl Fn(String) -> Error + '_ {
    move |e| {
        Error::invalid(
            "data",
            format!("the template's {field} cannot be rendered: {e}"),
        )
    }
}

/// Inserts a rendered message; returns its representation.
#[allow(clippy::too_many_arguments)]
fn insert(
    conn: &mut AnyConnection,
    mail: &Mail,
    tenant: Option<Uuid>,
    from: From,
    to: &Recipient,
    culture: Option<String>,
    template: Option<(String, String)>,
    rendered: (String, String, Option<String>),
    attachments: Vec<StoredAttachment>,
    message_id_local: Option<&str>,
) -> Result<OutboxMessage> {
    let id = ids::new_id();
    let domain = from
        .address
        .rsplit_once('@')
        .map(|(_, d)| d.to_owned())
        .unwrap_or_else(|| "loket.invalid".to_owned());
    let message_id = match message_id_local {
        Some(local) => format!("<{local}@{domain}>"),
        None => format!("<{id}@{domain}>"),
    };
    let now = to_db(mail.inner.clock.now());
    let (subject, text, html) = rendered;
    let (template_code, template_culture) = match template {
        Some((code, culture)) => (Some(code), Some(culture)),
        None => (None, None),
    };
    diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::id.eq(id.to_string()),
            mail_outbox::tenant_id.eq(tenant.map(|t| t.to_string())),
            mail_outbox::server_id.eq(from.server_id),
            mail_outbox::sender_id.eq(from.sender_id),
            mail_outbox::from_name.eq(from.name),
            mail_outbox::from_address.eq(&from.address),
            mail_outbox::to_email.eq(&to.email),
            mail_outbox::to_name.eq(to.name.as_ref().map(|n| n.trim().to_owned())),
            mail_outbox::culture.eq(culture),
            mail_outbox::template_code.eq(template_code),
            mail_outbox::template_culture.eq(template_culture),
            mail_outbox::subject.eq(subject),
            mail_outbox::text_body.eq(text),
            mail_outbox::html_body.eq(html),
            mail_outbox::attachments
                .eq(serde_json::to_string(&attachments).map_err(Error::internal)?),
            mail_outbox::message_id.eq(message_id),
            mail_outbox::status.eq("queued"),
            mail_outbox::attempts.eq(0),
            mail_outbox::created_at.eq(now),
            mail_outbox::next_attempt_at.eq(Some(now)),
        ))
        .execute(conn)?;
    mail_outbox::table
        .find(id.to_string())
        .select(OutboxRow::as_select())
        .first(conn)?
        .to_api()
}

impl Mail {
    fn platform_from(&self) -> Option<From> {
        self.inner.config.platform.as_ref().map(|p| From {
            server_id: None,
            sender_id: None,
            name: p.sender.name.clone(),
            address: p.sender.email.to_string(),
        })
    }

    /// Queues a templated message for `tenant` inside the caller's transaction (tickets,
    /// reminders, …): the sender must be verified (R-VERIFY); without one, the tenant's default
    /// sender, else the platform's. The recipient's culture (else the language of the tenant's
    /// user with that address, else the tenant's default culture) chooses the template, falling
    /// back to the tenant's default culture and then to the template without culture.
    /// Call [`Mail::wake`] after the transaction commits.
    pub fn queue_in(
        &self,
        conn: &mut AnyConnection,
        tenant: Uuid,
        mail: &NewMail,
    ) -> Result<OutboxMessage> {
        let mut v = Validator::new();
        check_recipient(&mut v, &mail.to);
        checks::code(&mut v, "template", &mail.template);
        let documents = mail.documents.clone().unwrap_or_default();
        if documents.len() > DOCUMENTS_MAX {
            v.fail(
                "documents",
                format!("must list at most {DOCUMENTS_MAX} documents"),
            );
        }
        v.finish()?;

        // Who sends it.
        let from = match mail.sender_id {
            Some(id) => {
                let row = load_tenant_sender(conn, tenant, id)?;
                usable(conn, tenant, &row)?;
                sender_from(row)
            }
            None => {
                let default = load_settings(conn, &tenant.to_string())?
                    .and_then(|s| s.default_sender_id)
                    .map(|id| ids::parse_stored(&id))
                    .transpose()?;
                match default {
                    Some(id) => {
                        let row = load_tenant_sender(conn, tenant, id)?;
                        usable(conn, tenant, &row)?;
                        sender_from(row)
                    }
                    None => self.platform_from().ok_or_else(|| {
                        Error::conflict(
                            "No sender: name a verified `sender_id`, set the tenant's default sender \
                             (PUT /api/v1/mail/settings), or configure the platform's mail server.",
                        )
                    })?,
                }
            }
        };

        // In which language.
        let directory = self.inner.directory.clone();
        let tenant_culture = directory.tenant_culture(conn, tenant)?;
        let culture = match &mail.to.culture {
            Some(c) => Some(c.clone()),
            None => directory
                .user_language(conn, tenant, &mail.to.email.to_lowercase())?
                .or_else(|| tenant_culture.clone()),
        };
        let cultures = [culture.as_deref(), tenant_culture.as_deref()];
        let template = templates::lookup(conn, tenant, &mail.template, &cultures)?
            .ok_or_else(|| {
                Error::not_found(&format!(
                    "mail template `{}` (for culture {}, the tenant's default culture or without culture)",
                    mail.template,
                    culture.as_deref().unwrap_or("-")
                ))
            })?;
        let data = Value::Object(mail.data.clone().unwrap_or_default());
        let rendered = (
            render::render(Part::Subject, &template.subject, &data)
                .map_err(render_err("subject"))?,
            render::render(Part::Text, &template.text_body, &data)
                .map_err(render_err("text body"))?,
            template
                .html_body
                .as_deref()
                .map(|h| render::render(Part::Html, h, &data))
                .transpose()
                .map_err(render_err("HTML body"))?,
        );

        // Documents: the same lookup and data.
        let mut attachments = Vec::new();
        for (i, code) in documents.iter().enumerate() {
            let doc = templates::lookup(conn, tenant, code, &cultures)?
                .ok_or_else(|| Error::not_found(&format!("document template `{code}`")))?;
            let field = format!("documents[{i}]");
            let (content, content_type, ext) = match &doc.html_body {
                Some(h) => (
                    render::render(Part::Html, h, &data)
                        .map_err(|e| Error::invalid(field.clone(), e))?,
                    "text/html; charset=utf-8",
                    "html",
                ),
                None => (
                    render::render(Part::Text, &doc.text_body, &data)
                        .map_err(|e| Error::invalid(field.clone(), e))?,
                    "text/plain; charset=utf-8",
                    "txt",
                ),
            };
            attachments.push(StoredAttachment {
                filename: format!("{}.{ext}", doc.key()),
                content_type: content_type.to_owned(),
                content,
            });
        }

        insert(
            conn,
            self,
            Some(tenant),
            from,
            &mail.to,
            culture,
            Some((template.code.clone(), template.culture.clone())),
            rendered,
            attachments,
            None,
        )
    }

    /// Queues platform mail inside the caller's transaction: always through the platform's
    /// server, from the platform's sender. Call [`Mail::wake`] after the transaction commits.
    pub fn queue_platform_in(
        &self,
        conn: &mut AnyConnection,
        mail: &PlatformMessage,
    ) -> Result<OutboxMessage> {
        let mut v = Validator::new();
        check_recipient(&mut v, &mail.to);
        v.finish()?;
        let from = self.platform_from().ok_or_else(|| {
            Error::unavailable(std::io::Error::other(
                "platform mail needs LOKET_PLATFORM_SMTP_URL and LOKET_PLATFORM_SENDER",
            ))
        })?;
        let rendered = (
            render::render(Part::Subject, &mail.subject, &mail.data)
                .map_err(render_err("subject"))?,
            render::render(Part::Text, &mail.text_body, &mail.data)
                .map_err(render_err("text body"))?,
            mail.html_body
                .as_deref()
                .map(|h| render::render(Part::Html, h, &mail.data))
                .transpose()
                .map_err(render_err("HTML body"))?,
        );
        insert(
            conn,
            self,
            mail.tenant_id,
            from,
            &mail.to,
            mail.to.culture.clone(),
            None,
            rendered,
            Vec::new(),
            None,
        )
    }

    /// Queues a [`DirectMessage`] for `tenant` inside the caller's transaction: from the
    /// tenant's default sender (verified, R-VERIFY), else the platform's sender; with neither,
    /// `503 unavailable` before anything is written. Call [`Mail::wake`] after the commit.
    pub fn queue_direct_in(
        &self,
        conn: &mut AnyConnection,
        tenant: Uuid,
        mail: &DirectMessage,
    ) -> Result<OutboxMessage> {
        let mut v = Validator::new();
        check_recipient(&mut v, &mail.to);
        for cc in &mail.cc {
            checks::email(&mut v, "cc", cc);
        }
        let ids_ok = |s: &str| {
            s.len() <= 250
                && s.starts_with('<')
                && s.ends_with('>')
                && s.bytes().all(|b| b.is_ascii_graphic())
        };
        if let Some(local) = &mail.message_id_local
            && (local.is_empty()
                || local.len() > 200
                || !local
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')))
        {
            v.fail(
                "message_id_local",
                "must be 1–200 characters of A–Z, a–z, 0–9, `.`, `-`, `_`",
            );
        }
        if mail.in_reply_to.as_deref().is_some_and(|s| !ids_ok(s))
            || mail.references.iter().any(|s| !ids_ok(s))
        {
            v.fail(
                "references",
                "each message id is `<id@host>` in visible ASCII",
            );
        }
        v.finish()?;
        let default = load_settings(conn, &tenant.to_string())?
            .and_then(|s| s.default_sender_id)
            .map(|id| ids::parse_stored(&id))
            .transpose()?;
        let tenant_sender = match default {
            Some(id) => {
                let row = load_tenant_sender(conn, tenant, id)?;
                usable(conn, tenant, &row).is_ok().then(|| sender_from(row))
            }
            None => None,
        };
        let from = match tenant_sender.or_else(|| self.platform_from()) {
            Some(f) => f,
            None => {
                return Err(Error::unavailable(std::io::Error::other(
                    "no usable sender: the tenant has no verified default sender and no platform mail server is configured",
                )));
            }
        };
        let msg = insert(
            conn,
            self,
            Some(tenant),
            from,
            &mail.to,
            mail.to.culture.clone(),
            None,
            (mail.subject.clone(), mail.text_body.clone(), None),
            Vec::new(),
            mail.message_id_local.as_deref(),
        )?;
        if !mail.cc.is_empty() || mail.in_reply_to.is_some() || !mail.references.is_empty() {
            diesel::insert_into(mail_outbox_headers::table)
                .values((
                    mail_outbox_headers::outbox_id.eq(msg.id.to_string()),
                    mail_outbox_headers::cc
                        .eq(serde_json::to_string(&mail.cc).map_err(Error::internal)?),
                    mail_outbox_headers::in_reply_to.eq(mail.in_reply_to.as_deref()),
                    mail_outbox_headers::reference_ids
                        .eq((!mail.references.is_empty()).then(|| mail.references.join(" "))),
                ))
                .execute(conn)?;
        }
        Ok(msg)
    }

    /// `POST /mail/outbox`: queues a templated message.
    pub async fn queue(&self, p: &Principal, mail: NewMail) -> Result<OutboxMessage> {
        p.require(Permission::MailManage)?;
        let tenant = p.tenant_id;
        let this = self.clone();
        let msg = self
            .inner
            .db
            .write(move |c| this.queue_in(c, tenant, &mail))
            .await?;
        self.wake();
        Ok(msg)
    }

    /// The tenant's outbox, newest first.
    pub async fn list_outbox(
        &self,
        p: &Principal,
        filter: &OutboxFilter,
        page: &PageQuery,
    ) -> Result<Page<OutboxMessage>> {
        p.require(Permission::MailManage)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id.to_string();
        let status = filter.status;
        let rows = self
            .inner
            .db
            .read(move |c| {
                let mut q = mail_outbox::table
                    .filter(mail_outbox::tenant_id.eq(Some(tenant)))
                    .order(mail_outbox::id.desc())
                    .limit(i64::from(limit) + 1)
                    .select(OutboxRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(mail_outbox::id.lt(after));
                }
                if let Some(s) = status {
                    q = q.filter(mail_outbox::status.eq(s.as_str()));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), OutboxRow::to_api)
    }

    /// One message of the tenant's outbox.
    pub async fn outbox_message(&self, p: &Principal, id: Uuid) -> Result<OutboxMessage> {
        p.require(Permission::MailManage)?;
        let tenant = p.tenant_id;
        self.inner
            .db
            .read(move |c| load_message(c, tenant, id)?.to_api())
            .await
    }

    // --- Settings ----------------------------------------------------------------------------

    /// The tenant's mail settings.
    pub async fn settings(&self, p: &Principal) -> Result<MailSettings> {
        p.require(Permission::MailManage)?;
        let tenant = p.tenant_id.to_string();
        self.inner
            .db
            .read(move |c| SettingsRow::to_api(load_settings(c, &tenant)?.as_ref()))
            .await
    }

    /// Replaces the tenant's mail settings. The default sender must be verified (R-VERIFY).
    pub async fn update_settings(
        &self,
        p: &Principal,
        update: MailSettingsUpdate,
    ) -> Result<MailSettings> {
        p.require(Permission::MailManage)?;
        let tenant = p.tenant_id;
        let at = to_db(self.inner.clock.now());
        self.inner
            .db
            .write(move |c| {
                set_default_sender_in(c, tenant, update.default_sender_id, at)?;
                SettingsRow::to_api(load_settings(c, &tenant.to_string())?.as_ref())
            })
            .await
    }

    /// The tenant's default sender, if it has a usable one (for other domains).
    pub fn default_sender_in(
        &self,
        conn: &mut AnyConnection,
        tenant: Uuid,
    ) -> Result<Option<Uuid>> {
        let Some(id) = load_settings(conn, &tenant.to_string())?.and_then(|s| s.default_sender_id)
        else {
            return Ok(None);
        };
        let id = ids::parse_stored(&id)?;
        match load_tenant_sender(conn, tenant, id) {
            Ok(row) if usable(conn, tenant, &row).is_ok() => Ok(Some(id)),
            Ok(_) => Ok(None),
            Err(e) if e.code == Code::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Sets or clears the tenant's default sender inside the caller's transaction. Only a
/// verified sender of an active server of the tenant may be named (R-VERIFY).
pub fn set_default_sender_in(
    c: &mut AnyConnection,
    tenant: Uuid,
    sender: Option<Uuid>,
    at: chrono::NaiveDateTime,
) -> Result<()> {
    if let Some(id) = sender {
        let row = load_tenant_sender(c, tenant, id)?;
        usable(c, tenant, &row)?;
    }
    let key = tenant.to_string();
    let sender = sender.map(|s| s.to_string());
    if load_settings(c, &key)?.is_some() {
        diesel::update(mail_settings::table.find(&key))
            .set((
                mail_settings::default_sender_id.eq(&sender),
                mail_settings::updated_at.eq(at),
            ))
            .execute(c)?;
    } else {
        diesel::insert_into(mail_settings::table)
            .values((
                mail_settings::tenant_id.eq(&key),
                mail_settings::default_sender_id.eq(&sender),
                mail_settings::updated_at.eq(at),
            ))
            .execute(c)?;
    }
    Ok(())
}

fn sender_from(row: SenderRow) -> From {
    From {
        server_id: Some(row.server_id),
        sender_id: Some(row.id),
        name: Some(row.name),
        address: row.address,
    }
}
