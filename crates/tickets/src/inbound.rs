//! Inbound e-mail (issue 7 "Intake"): a raw RFC 5322 message, posted by an MTA pipe or an
//! inbound-parse service, becomes a message on the ticket it answers or a new ticket.
//!
//! [`parse`] reads the MIME structure with `mail-parser` (text and HTML bodies — an HTML-only
//! mail gets a text derived from its HTML —, quoted-printable and base64, non-UTF-8 charsets,
//! attachments); [`thread_hints`] collects what may name a ticket. Both are pure and never panic
//! (proptest below). [`Tickets::ingest`] then decides, in one transaction (R-THREAD):
//!
//! 1. the same `Message-ID` stored before → that ticket, nothing changes;
//! 2. an `In-Reply-To`/`References` id that is one of our signed Message-IDs
//!    ([`crate::outgoing`]) of a ticket of this tenant → that ticket, whoever sent the mail;
//! 3. a `[ABC-DEFGH-123]` subject tag of a ticket of this tenant, when the sender is its
//!    reporter or one of its CC addresses → that ticket;
//! 4. otherwise a new ticket (channel `email`; the `updates` mailbox lands in the `updates`
//!    department) with the confirmation mail of the portal path.
//!
//! Machine mail (`Auto-Submitted`, `Precedence: bulk`, …) is filed but gets no confirmation
//! (RFC 3834), so our own confirmation looping back cannot start a mail loop.
//!
//! A mail threaded into a ticket is a customer message: it sets `open` (re-opening a resolved
//! or postponed ticket, with history and `Tickets.StatusChange`).
//!
//! Privacy (R-PRIVACY): the body is scanned, the envelope is not — the addresses in From, To,
//! Cc, Reply-To and Sender, the ticket's reporter and CC addresses are ignored, as are quoted
//! lines (`> …`, scanned when they arrived) and the sender's signature (below a `-- ` line).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use loket_common::crypto::{SecretKey, random_token, sha256_hex};
use loket_common::time::to_db;
use loket_common::validate::{Validator, is_email};
use loket_common::{Actor, Error, Permission, Principal, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::{ticket_messages, tickets};
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders};
use uuid::Uuid;

use crate::api::{
    AuthorKind, Channel, Department, InboundOutcome, Mailbox, Priority, ThreadedBy, TicketStatus,
    Visibility,
};
use crate::attachments::{Staged, Upload, record_uploads};
use crate::events::{self, TICKETS_CREATE, TICKETS_MESSAGE};
use crate::model::{MessageRow, TicketRow, string_list};
use crate::number::{TicketNumber, find_in_subject};
use crate::outgoing::verify_message_id;
use crate::privacy::{Classification, Scan, Scanner};
use crate::service::{
    BODY_MAX, CC_MAX, DEFAULT_CULTURE, MessageInput, SUBJECT_MAX, TRACKING_CODE_BYTES,
    add_incident_label, insert_message_scanned, set_status, viewer,
};
use crate::{Tickets, confirm};

/// The default largest raw message accepted (`LOKET_MAIL_INBOUND_MAX_BYTES`): 25 MiB, what
/// common mail servers accept.
pub const DEFAULT_MAX_BYTES: usize = 25 * 1024 * 1024;
/// Longest `Message-ID` kept as it is; longer ones are replaced by a hash.
const MESSAGE_ID_MAX: usize = 500;
/// Most `References` ids looked at.
const REFERENCES_MAX: usize = 50;
/// Longest name kept.
const NAME_MAX: usize = 200;
/// The subject of a mail without one.
const NO_SUBJECT: &str = "(no subject)";
/// The body of a mail without text.
const NO_TEXT: &str = "(no text)";

const CONFIRM_HOURS: i64 = 24;
const FIRST_RESPONSE_HOURS: i64 = 24;
const RESPONSE_DAYS: i64 = 14;

/// A parsed inbound mail.
#[derive(Debug, Clone, Default)]
pub struct InboundMail {
    /// `<id@host>`: the `Message-ID`, or for a mail without one `<sha256-of-bytes@loket.invalid>`.
    pub message_id: String,
    /// The sender's address, lower case.
    pub from_email: String,
    /// The sender's display name.
    pub from_name: Option<String>,
    /// The subject (decoded, without control characters, at most 300 characters).
    pub subject: String,
    /// `Cc` addresses, lower case, without the sender, at most 10.
    pub cc: Vec<String>,
    /// Every envelope address (From, To, Cc, Reply-To, Sender), lower case.
    pub envelope: Vec<String>,
    /// `In-Reply-To`, `<id@host>`.
    pub in_reply_to: Option<String>,
    /// `In-Reply-To` then `References` newest first, `<id@host>`, without duplicates.
    pub references: Vec<String>,
    /// The text body (text parts, or text derived from the HTML), at most 100 000 characters.
    pub text: String,
    /// The HTML body, if the mail had one.
    pub html: Option<String>,
    /// Attachments (and inline images) as uploads.
    pub attachments: Vec<Upload>,
    /// Sent by a machine (`Auto-Submitted` other than `no`, `Precedence: bulk|junk|list|
    /// auto_reply`, `X-Autoreply`): filed, but never answered with a confirmation (RFC 3834),
    /// so two auto-responders cannot mail each other forever.
    pub auto_submitted: bool,
}

/// What in a mail may name its ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadHints {
    /// Tickets named by our signed Message-IDs in `In-Reply-To`/`References`, most recent first.
    pub signed: Vec<Uuid>,
    /// The subject's ticket tag.
    pub tag: Option<TicketNumber>,
}

/// Text without NUL and control characters other than tab and line breaks; CRLF → LF.
fn clean(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n'))
        .collect()
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

fn one_line(s: &str, max: usize) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncate_chars(
        s.split_whitespace().collect::<Vec<_>>().join(" ").as_str(),
        max,
    )
}

/// `<id>` form of a message id; `None` when empty or unusable.
fn bracketed(id: &str) -> Option<String> {
    let id = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    if id.is_empty() || id.len() > MESSAGE_ID_MAX || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    Some(format!("<{id}>"))
}

fn ids_of(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => t.split_whitespace().filter_map(bracketed).collect(),
        HeaderValue::TextList(l) => l
            .iter()
            .flat_map(|t| t.split_whitespace())
            .filter_map(bracketed)
            .collect(),
        _ => Vec::new(),
    }
}

fn addresses(a: Option<&Address<'_>>) -> Vec<(String, Option<String>)> {
    a.map(|a| {
        a.iter()
            .filter_map(|addr| {
                let email = addr.address.as_deref()?.trim().to_lowercase();
                is_email(&email).then(|| {
                    let name = addr
                        .name
                        .as_deref()
                        .map(|n| one_line(n, NAME_MAX))
                        .filter(|n| !n.is_empty());
                    (email, name)
                })
            })
            .collect()
    })
    .unwrap_or_default()
}

/// Parses a raw message. Refused (422, naming the field) when it is empty, not a message, or
/// has no usable `From` address.
pub fn parse(raw: &[u8]) -> Result<InboundMail> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid(
            "body",
            "is empty; post the raw RFC 5322 message",
        ));
    }
    let Some(msg) = MessageParser::default().parse(raw) else {
        return Err(Error::invalid("body", "is not an RFC 5322 message"));
    };
    if msg.headers().is_empty() {
        return Err(Error::invalid(
            "body",
            "is not an RFC 5322 message (no header fields)",
        ));
    }
    let Some((from_email, from_name)) = addresses(msg.from()).into_iter().next() else {
        return Err(Error::invalid(
            "from",
            "the message has no usable `From` address",
        ));
    };
    let mut v = Validator::new();
    v.email("from", &from_email);
    v.finish()?;

    let message_id = msg
        .message_id()
        .and_then(bracketed)
        .unwrap_or_else(|| format!("<{}@loket.invalid>", sha256_hex(raw)));
    let subject = msg
        .subject()
        .map(|s| one_line(s, SUBJECT_MAX))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| NO_SUBJECT.to_owned());

    let mut envelope: Vec<String> = Vec::new();
    for a in [msg.from(), msg.to(), msg.cc(), msg.reply_to(), msg.sender()] {
        envelope.extend(addresses(a).into_iter().map(|(e, _)| e));
    }
    envelope.sort();
    envelope.dedup();
    let mut cc: Vec<String> = Vec::new();
    for (e, _) in addresses(msg.cc()) {
        if e != from_email && !cc.contains(&e) && cc.len() < CC_MAX {
            cc.push(e);
        }
    }

    let in_reply_to = ids_of(msg.in_reply_to()).into_iter().next();
    let mut references: Vec<String> = Vec::new();
    let mut refs = ids_of(msg.references());
    refs.reverse();
    for id in in_reply_to.iter().cloned().chain(refs) {
        if !references.contains(&id) && references.len() < REFERENCES_MAX {
            references.push(id);
        }
    }

    let mut texts: Vec<String> = Vec::new();
    for i in 0..msg.text_body_count() {
        if let Some(t) = msg.body_text(i) {
            let t = clean(&t);
            if !t.trim().is_empty() {
                texts.push(t);
            }
        }
    }
    let text = texts.join("\n\n");
    let text = if text.trim().is_empty() {
        NO_TEXT.to_owned()
    } else {
        truncate_chars(text.trim_end(), BODY_MAX)
    };
    let html = msg
        .html_bodies()
        .find(|p| p.is_text_html())
        .and_then(|p| p.text_contents())
        .map(|h| h.replace('\0', ""));

    let mut attachments = Vec::new();
    for (i, part) in msg.attachments().enumerate() {
        let name = part
            .attachment_name()
            .map(|n| one_line(n, NAME_MAX))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("attachment-{}", i + 1));
        let content_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_owned(),
            })
            .map(|ct| one_line(&ct.to_ascii_lowercase(), 100))
            .filter(|ct| !ct.is_empty())
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        attachments.push(Upload {
            name,
            content_type,
            bytes: part.contents().to_vec(),
        });
    }

    let header = |name: &'static str| {
        msg.header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty())
    };
    let auto_submitted = header("Auto-Submitted").is_some_and(|v| !v.starts_with("no"))
        || header("Precedence")
            .is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply"))
        || header("X-Autoreply").is_some()
        || header("X-Autorespond").is_some();
    Ok(InboundMail {
        message_id,
        from_email,
        from_name,
        subject,
        cc,
        envelope,
        in_reply_to,
        references,
        text,
        html,
        attachments,
        auto_submitted,
    })
}

/// The tickets a mail may belong to: our signed ids in its `In-Reply-To`/`References` (a
/// forged hash names nothing) and its subject tag.
pub fn thread_hints(mail: &InboundMail, key: &SecretKey) -> ThreadHints {
    let mut signed = Vec::new();
    for id in &mail.references {
        if let Some(t) = verify_message_id(key, id)
            && !signed.contains(&t)
        {
            signed.push(t);
        }
    }
    ThreadHints {
        signed,
        tag: find_in_subject(&mail.subject),
    }
}

/// The part of a body that is scanned: without quoted lines (`>`) and without the signature
/// (from a `-- ` line to the next quoted line or the end).
pub fn scannable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_signature = false;
    for line in text.lines() {
        let quoted = line.trim_start().starts_with('>');
        if quoted {
            in_signature = false;
            continue;
        }
        if line == "-- " || line == "--" {
            in_signature = true;
        }
        if !in_signature {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The privacy scan of an inbound mail's body on `row` (envelope and ticket addresses ignored).
fn scan(mail: &InboundMail, row: Option<&TicketRow>) -> Result<Scan> {
    let mut ignore: Vec<String> = mail.envelope.clone();
    ignore.extend(mail.from_name.clone());
    if let Some(r) = row {
        ignore.push(r.reporter_email.clone());
        ignore.extend(string_list(&r.cc_emails)?);
    }
    Ok(Scanner::default()
        .ignore(ignore)
        .scan(&scannable(&mail.text)))
}

/// The ticket an inbound mail threads into, and how.
fn find_thread(
    conn: &mut AnyConnection,
    tenant: Uuid,
    mail: &InboundMail,
    hints: &ThreadHints,
) -> Result<Option<(TicketRow, ThreadedBy)>> {
    for id in &hints.signed {
        let row = tickets::table
            .filter(tickets::id.eq(id.to_string()))
            .filter(tickets::tenant_id.eq(tenant.to_string()))
            .select(TicketRow::as_select())
            .first(conn)
            .optional()?;
        if let Some(row) = row {
            return Ok(Some((row, ThreadedBy::References)));
        }
    }
    if let Some(n) = &hints.tag {
        let row = tickets::table
            .filter(tickets::number.eq(n.as_str()))
            .filter(tickets::tenant_id.eq(tenant.to_string()))
            .select(TicketRow::as_select())
            .first(conn)
            .optional()?;
        if let Some(row) = row {
            let known = row.reporter_email.to_lowercase() == mail.from_email
                || string_list(&row.cc_emails)?
                    .iter()
                    .any(|c| c.to_lowercase() == mail.from_email);
            if known {
                return Ok(Some((row, ThreadedBy::SubjectTag)));
            }
        }
    }
    Ok(None)
}

/// The ticket and message already stored for this Message-ID, if any.
fn existing(
    conn: &mut AnyConnection,
    tenant: Uuid,
    message_id: &str,
) -> Result<Option<(TicketRow, MessageRow)>> {
    let msg = ticket_messages::table
        .filter(ticket_messages::tenant_id.eq(tenant.to_string()))
        .filter(ticket_messages::message_id.eq(message_id))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?;
    let Some(msg) = msg else { return Ok(None) };
    let row = tickets::table
        .find(&msg.ticket_id)
        .select(TicketRow::as_select())
        .first(conn)?;
    Ok(Some((row, msg)))
}

fn duplicate_outcome(row: &TicketRow, msg: &MessageRow) -> Result<InboundOutcome> {
    Ok(InboundOutcome {
        ticket: row.to_api()?,
        message_id: ids::parse_stored(&msg.id)?,
        mail_message_id: msg.message_id.clone().unwrap_or_default(),
        created: false,
        threaded_by: ThreadedBy::Duplicate,
    })
}

/// Inserts the ticket of a mail that threads nowhere; answers the row and its tracking code.
fn insert_ticket(
    conn: &mut AnyConnection,
    tenant: Uuid,
    mailbox: Mailbox,
    mail: &InboundMail,
    now: DateTime<Utc>,
) -> Result<(TicketRow, String)> {
    let number = crate::service::free_number(conn)?;
    let code = random_token(TRACKING_CODE_BYTES);
    let id = ids::new_id();
    let at = to_db(now);
    let department = match mailbox {
        Mailbox::Helpdesk => Department::Helpdesk,
        Mailbox::Updates => Department::Updates,
    };
    let organisation = crate::contacts::organisation_for_address(conn, tenant, &mail.from_email)?
        .map(|o| o.to_string());
    diesel::insert_into(tickets::table)
        .values((
            tickets::id.eq(id.to_string()),
            tickets::tenant_id.eq(tenant.to_string()),
            tickets::number.eq(number.as_str()),
            tickets::channel.eq(Channel::Email.as_str()),
            tickets::mailbox.eq(Some(mailbox.as_str())),
            tickets::subject.eq(&mail.subject),
            tickets::status.eq(TicketStatus::New.as_str()),
            tickets::department.eq(department.as_str()),
            tickets::priority.eq(Priority::Normal.as_str()),
            tickets::disruption.eq(false),
            tickets::labels.eq("[]"),
            tickets::reporter_email.eq(&mail.from_email),
            tickets::reporter_name.eq(mail.from_name.as_deref()),
            tickets::reporter_language.eq(DEFAULT_CULTURE),
            tickets::cc_emails.eq(serde_json::to_string(&mail.cc).map_err(Error::internal)?),
            tickets::organisation_id.eq(organisation),
            tickets::tracking_code_hash.eq(sha256_hex(code.as_bytes())),
            tickets::confirm_due.eq(to_db(now + Duration::hours(CONFIRM_HOURS))),
            tickets::first_response_due.eq(to_db(now + Duration::hours(FIRST_RESPONSE_HOURS))),
            tickets::response_due.eq(to_db(now + Duration::days(RESPONSE_DAYS))),
            tickets::created_at.eq(at),
            tickets::updated_at.eq(at),
        ))
        .execute(conn)?;
    let row = tickets::table
        .find(id.to_string())
        .select(TicketRow::as_select())
        .first(conn)?;
    Ok((row, code))
}

fn load_ticket(conn: &mut AnyConnection, id: &str) -> Result<TicketRow> {
    Ok(tickets::table
        .find(id)
        .select(TicketRow::as_select())
        .first(conn)?)
}

impl Tickets {
    /// `POST /mail/inbound`: ingests a raw message for the caller's tenant (staff with
    /// `tickets:write`; customer contacts may not).
    pub async fn ingest(
        &self,
        p: &Principal,
        mailbox: Mailbox,
        raw: Vec<u8>,
    ) -> Result<InboundOutcome> {
        self.may_ingest(p).await?;
        self.ingest_for(p.tenant_id, p.actor(), mailbox, raw).await
    }

    /// Whether `p` may post inbound mail: `tickets:write`, and not a customer contact. The HTTP
    /// endpoint asks before it reads the query or the (large) body.
    pub async fn may_ingest(&self, p: &Principal) -> Result<()> {
        p.require(Permission::TicketsWrite)?;
        let pc = p.clone();
        let customer = self
            .db
            .read(move |c| {
                Ok(matches!(
                    viewer(c, &pc)?,
                    crate::service::Viewer::Customer { .. }
                ))
            })
            .await?;
        if customer {
            return Err(Error::forbidden(
                "Inbound mail is posted by the mail integration, not by a customer.",
            ));
        }
        Ok(())
    }

    /// Ingests a raw message for `tenant` (the HTTP endpoint and `loket mail ingest`).
    pub async fn ingest_for(
        &self,
        tenant: Uuid,
        actor: Actor,
        mailbox: Mailbox,
        raw: Vec<u8>,
    ) -> Result<InboundOutcome> {
        let mail = parse(&raw)?;
        drop(raw);
        let hints = thread_hints(&mail, &self.key);
        // The same mail again: answer its ticket before storing any attachment.
        let mid = mail.message_id.clone();
        if let Some((row, msg)) = self.db.read(move |c| existing(c, tenant, &mid)).await? {
            return duplicate_outcome(&row, &msg);
        }
        let staged = self.stage_uploads(mail.attachments.clone()).await?;
        let kept = staged.clone();
        let now = self.clock.now();
        let (mail_service, public_url) = (self.mail.clone(), self.public_url.clone());
        let mid = mail.message_id.clone();
        let result = self
            .db
            .write(move |c| {
                ingest_in(
                    c,
                    &mail_service,
                    &public_url,
                    tenant,
                    actor,
                    mailbox,
                    &mail,
                    &hints,
                    staged,
                    now,
                )
            })
            .await;
        match result {
            Ok(outcome) => {
                self.mail.wake();
                Ok(outcome)
            }
            // Two deliveries of one mail at once: the unique index kept one; answer it.
            Err(e) if crate::outgoing::is_conflict(&e) => {
                self.discard_staged(&kept).await;
                match self.db.read(move |c| existing(c, tenant, &mid)).await? {
                    Some((row, msg)) => duplicate_outcome(&row, &msg),
                    None => Err(e),
                }
            }
            Err(e) => {
                self.discard_staged(&kept).await;
                Err(e)
            }
        }
    }
}

/// The transaction of [`Tickets::ingest_for`].
#[allow(clippy::too_many_arguments)]
fn ingest_in(
    c: &mut AnyConnection,
    mail_service: &loket_mail::Mail,
    public_url: &str,
    tenant: Uuid,
    actor: Actor,
    mailbox: Mailbox,
    mail: &InboundMail,
    hints: &ThreadHints,
    staged: Vec<Staged>,
    now: DateTime<Utc>,
) -> Result<InboundOutcome> {
    if let Some((row, msg)) = existing(c, tenant, &mail.message_id)? {
        return duplicate_outcome(&row, &msg);
    }
    let thread = find_thread(c, tenant, mail, hints)?;
    let (row, threaded_by, code) = match thread {
        Some((row, by)) => (row, by, None),
        None => {
            let (row, code) = insert_ticket(c, tenant, mailbox, mail, now)?;
            (row, ThreadedBy::New, Some(code))
        }
    };
    let created = code.is_some();
    let scan = scan(mail, Some(&row))?;
    let (msg, body_class) = insert_message_scanned(
        c,
        &row,
        &MessageInput {
            author_kind: AuthorKind::Customer,
            author_id: None,
            author_email: Some(&mail.from_email),
            author_name: mail.from_name.as_deref(),
            visibility: Visibility::Public,
            body_text: &mail.text,
            body_html: mail.html.as_deref(),
            message_id: Some(&mail.message_id),
            in_reply_to: mail.in_reply_to.as_deref(),
        },
        scan,
        now,
    )?;
    let files_class = record_uploads(c, &row, &msg.id, staged, actor, now)?;
    let class: Classification = body_class.max(files_class);
    let status_changed = if created {
        false
    } else {
        diesel::update(tickets::table.find(&row.id))
            .set(tickets::last_customer_message_at.eq(to_db(now)))
            .execute(c)?;
        set_status(
            c,
            &row,
            TicketStatus::Open,
            AuthorKind::Customer,
            actor,
            now,
        )?
    };
    let current = load_ticket(c, &row.id)?;
    let incident = add_incident_label(c, &current, class, actor, now)?;
    let ticket = load_ticket(c, &row.id)?.to_api()?;
    let topic = if created {
        TICKETS_CREATE
    } else {
        TICKETS_MESSAGE
    };
    events::emit_message_events(
        c,
        topic,
        tenant,
        &ticket,
        status_changed,
        incident,
        actor,
        now,
    )?;
    if let Some(code) = code.filter(|_| !mail.auto_submitted) {
        let tracking_url = confirm::tracking_url(public_url, &row.number, &code);
        let confirmed = confirm::queue(
            c,
            mail_service,
            &confirm::Confirmation::of(tenant, &row, &tracking_url),
        )?;
        if confirmed {
            diesel::update(tickets::table.find(&row.id))
                .set(tickets::confirmed_at.eq(to_db(now)))
                .execute(c)?;
        }
    }
    Ok(InboundOutcome {
        ticket,
        message_id: ids::parse_stored(&msg.id)?,
        mail_message_id: mail.message_id.clone(),
        created,
        threaded_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use loket_common::Code;
    use proptest::prelude::*;

    const PLAIN: &[u8] = b"From: Jan Jansen <Jan@Gemeente.example>\r\n\
To: helpdesk@loket.test\r\n\
Cc: Piet <piet@gemeente.example>, jan@gemeente.example\r\n\
Subject: =?ISO-8859-1?Q?Caf=E9_stuk?=\r\n\
Message-ID: <abc@mail.example>\r\n\
In-Reply-To: <x1@y>\r\n\
References: <x0@y> <x1@y>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hallo,\r\nhet werkt niet.\r\n-- \r\nJan 06-12345678\r\n";

    #[test]
    fn parses_the_envelope_and_body() {
        let m = parse(PLAIN).unwrap();
        assert_eq!(m.from_email, "jan@gemeente.example");
        assert_eq!(m.from_name.as_deref(), Some("Jan Jansen"));
        assert_eq!(m.subject, "Café stuk");
        assert_eq!(m.message_id, "<abc@mail.example>");
        assert_eq!(m.cc, vec!["piet@gemeente.example".to_owned()]);
        assert_eq!(m.in_reply_to.as_deref(), Some("<x1@y>"));
        assert_eq!(m.references, vec!["<x1@y>".to_owned(), "<x0@y>".to_owned()]);
        assert!(m.text.starts_with("Hallo,\nhet werkt niet."));
        assert!(!m.auto_submitted);
        let mut auto = b"Auto-Submitted: auto-replied\r\n".to_vec();
        auto.extend_from_slice(PLAIN);
        assert!(parse(&auto).unwrap().auto_submitted);
        let mut human = b"Auto-Submitted: no\r\n".to_vec();
        human.extend_from_slice(PLAIN);
        assert!(!parse(&human).unwrap().auto_submitted);
        // The signature is not scanned: the sender's own phone number is no incident.
        assert_eq!(
            scan(&m, None).unwrap().classification(),
            Classification::Clean
        );
    }

    #[test]
    fn refuses_what_is_not_a_mail_with_a_sender() {
        for raw in [
            &b""[..],
            b"   \r\n",
            b"Subject: hi\r\n\r\nno sender",
            b"From: nobody\r\n\r\nx",
        ] {
            let e = parse(raw).unwrap_err();
            assert_eq!(e.code, Code::ValidationFailed, "{raw:?}");
        }
    }

    #[test]
    fn quoted_lines_and_signatures_are_not_scanned() {
        let t = "Nieuw.\n> BSN 111222333\n-- \nT 06-12345678\n> meer\nnog iets";
        assert_eq!(scannable(t), "Nieuw.\nnog iets\n");
    }

    #[test]
    fn hints_come_from_signed_references_and_the_subject() {
        let key = SecretKey::generate();
        let (t, m) = (Uuid::new_v4(), Uuid::new_v4());
        let ours = format!(
            "<{}@loket.test>",
            crate::outgoing::message_id_local(&key, t, m)
        );
        let forged = format!("<{}.{}.0123456789abcdef@loket.test>", Uuid::new_v4(), m);
        let mail = InboundMail {
            subject: "Re: x [ABC-DEFGH-123]".into(),
            references: vec![forged, "<a@b>".into(), ours],
            ..InboundMail::default()
        };
        let h = thread_hints(&mail, &key);
        assert_eq!(h.signed, vec![t]);
        assert_eq!(
            h.tag.map(|n| n.to_string()).as_deref(),
            Some("ABC-DEFGH-123")
        );
    }

    fn fixtures() -> Vec<Vec<u8>> {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/mail");
        let mut out = vec![PLAIN.to_vec()];
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if let Ok(b) = std::fs::read(e.path()) {
                    out.push(b);
                }
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let key = SecretKey::generate();
            if let Ok(m) = parse(&raw) {
                let _ = thread_hints(&m, &key);
                let _ = scan(&m, None);
            }
        }

        #[test]
        fn mutated_fixtures_never_panic(
            pick in any::<prop::sample::Index>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..32),
        ) {
            let all = fixtures();
            let mut raw = pick.get(&all).clone();
            for (at, byte, op) in edits {
                if raw.is_empty() {
                    raw.push(byte);
                    continue;
                }
                let i = at.index(raw.len());
                match op {
                    0 => raw[i] = byte,
                    1 => raw.insert(i, byte),
                    _ => { raw.remove(i); }
                }
            }
            let key = SecretKey::generate();
            if let Ok(m) = parse(&raw) {
                prop_assert!(!m.from_email.is_empty());
                prop_assert!(m.text.chars().count() <= BODY_MAX);
                let _ = thread_hints(&m, &key);
                let _ = scan(&m, None);
            }
        }
    }
}
