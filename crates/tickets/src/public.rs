//! The reporter's view through the tracking link (no account): read the ticket with its public
//! messages and reply. The code is long and random, stored only as its SHA-256, compared in
//! constant time; a wrong or revoked code answers 404 like an unknown number.

use diesel::prelude::*;
use loket_common::crypto::{constant_time_eq, sha256_hex};
use loket_common::time::{from_db, to_db};
use loket_common::validate::Validator;
use loket_common::{Actor, Error, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::{ticket_messages, tickets};

use crate::Tickets;
use crate::api::{AuthorKind, Message, PublicReply, PublicTicket, TicketStatus, Visibility};
use crate::events::{self, TICKETS_MESSAGE};
use crate::model::{MessageRow, TicketRow};
use crate::service::{MessageInput, add_incident_label, check_body, insert_message, set_status};

/// The ticket with this number whose tracking code is `code`; 404 otherwise.
pub fn load_with_code(conn: &mut AnyConnection, number: &str, code: &str) -> Result<TicketRow> {
    let row = tickets::table
        .filter(tickets::number.eq(number))
        .select(TicketRow::as_select())
        .first(conn)
        .optional()?;
    let given = sha256_hex(code.as_bytes());
    match row {
        Some(r)
            if r.tracking_code_hash
                .as_deref()
                .is_some_and(|h| constant_time_eq(h.as_bytes(), given.as_bytes())) =>
        {
            Ok(r)
        }
        _ => Err(Error::not_found("ticket")),
    }
}

impl Tickets {
    /// The ticket and its public messages, for the holder of the tracking code.
    pub async fn public_get(&self, number: String, code: String) -> Result<PublicTicket> {
        self.db
            .read(move |c| {
                let row = load_with_code(c, &number, &code)?;
                let messages: Vec<MessageRow> = ticket_messages::table
                    .filter(ticket_messages::ticket_id.eq(&row.id))
                    .filter(ticket_messages::visibility.eq(Visibility::Public.as_str()))
                    .order((ticket_messages::created_at.asc(), ticket_messages::id.asc()))
                    .select(MessageRow::as_select())
                    .load(c)?;
                let messages = crate::attachments::with_attachments(c, &messages)?;
                Ok(PublicTicket {
                    number: row.number.clone(),
                    subject: row.subject.clone(),
                    status: row.status()?,
                    labels: row.labels()?,
                    created_at: from_db(row.created_at),
                    messages,
                })
            })
            .await
    }

    /// The reporter's reply: a public customer message that re-opens the ticket.
    pub async fn public_reply(
        &self,
        number: String,
        code: String,
        reply: PublicReply,
    ) -> Result<Message> {
        let mut v = Validator::new();
        check_body(&mut v, "body", &reply.body);
        v.finish()?;
        let (now, actor) = (self.clock.now(), Actor::system());
        self.db
            .write(move |c| {
                let row = load_with_code(c, &number, &code)?;
                let tenant = ids::parse_stored(&row.tenant_id)?;
                let (msg, class) = insert_message(
                    c,
                    &row,
                    &MessageInput {
                        author_kind: AuthorKind::Customer,
                        author_id: None,
                        author_email: Some(&row.reporter_email),
                        author_name: row.reporter_name.as_deref(),
                        visibility: Visibility::Public,
                        body_text: &reply.body,
                        body_html: None,
                        message_id: None,
                        in_reply_to: None,
                    },
                    now,
                )?;
                diesel::update(tickets::table.find(&row.id))
                    .set(tickets::last_customer_message_at.eq(to_db(now)))
                    .execute(c)?;
                let changed = set_status(
                    c,
                    &row,
                    TicketStatus::Open,
                    AuthorKind::Customer,
                    actor,
                    now,
                )?;
                let incident = add_incident_label(c, &row, class, actor, now)?;
                let ticket = tickets::table
                    .find(&row.id)
                    .select(TicketRow::as_select())
                    .first(c)?
                    .to_api()?;
                events::emit_message_events(
                    c,
                    TICKETS_MESSAGE,
                    tenant,
                    &ticket,
                    changed,
                    incident,
                    actor,
                    now,
                )?;
                msg.to_api()
            })
            .await
    }
}
