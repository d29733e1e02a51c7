//! Our outgoing mail about a ticket: signed Message-IDs (R-THREAD) and the staff reply mail.
//!
//! Every message we send about a ticket carries the Message-ID
//! `<{ticket-uuid}.{message-uuid}.{hmac16}@{sender domain}>`, where `hmac16` is the first 16 hex
//! characters of HMAC-SHA256 over `"{ticket-uuid}.{message-uuid}"` under a sub-key of the server
//! secret key. A reply naming such an id in `In-Reply-To`/`References` threads into that ticket
//! whoever sent it; an id with a wrong hash is ignored, so a forged `References` header cannot
//! attach mail to someone else's ticket (as FreeScout does since GHSA-6r38-6mcf-2ww3).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use loket_common::crypto::{SecretKey, constant_time_eq};
use loket_common::{Code, Error, Result};
use loket_mail::api::Recipient;
use loket_mail::{DirectMessage, Mail};
use loket_storage::AnyConnection;
use loket_storage::schema::ticket_messages;
use uuid::Uuid;

use crate::model::{TicketRow, string_list};
use crate::number::find_in_subject;

/// The purpose under which the Message-ID key is derived from the server secret key.
pub const KEY_PURPOSE: &str = "tickets.message-id";
/// Hex characters of the HMAC kept in a Message-ID.
pub const HMAC_HEX: usize = 16;
/// Most ids in the `References` of a reply.
pub const REFERENCES_MAX: usize = 20;

fn hmac16(key: &SecretKey, ticket: Uuid, message: Uuid) -> String {
    let mac = key.mac(KEY_PURPOSE, format!("{ticket}.{message}").as_bytes());
    let mut hex = hex::encode(mac);
    hex.truncate(HMAC_HEX);
    hex
}

/// The left part of our Message-ID for `message` of `ticket`: `ticket.message.hmac16`.
pub fn message_id_local(key: &SecretKey, ticket: Uuid, message: Uuid) -> String {
    format!("{ticket}.{message}.{}", hmac16(key, ticket, message))
}

/// The ticket named by one of our signed Message-IDs (`<t.m.h@host>`, brackets optional);
/// `None` for anything else, including a correct-looking id with a wrong hash.
pub fn verify_message_id(key: &SecretKey, id: &str) -> Option<Uuid> {
    let id = id.trim();
    let id = id.strip_prefix('<').unwrap_or(id);
    let id = id.strip_suffix('>').unwrap_or(id);
    let (local, _host) = id.rsplit_once('@')?;
    let mut parts = local.split('.');
    let (ticket, message, mac) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || mac.len() != HMAC_HEX {
        return None;
    }
    let ticket = Uuid::try_parse(ticket).ok()?;
    let message = Uuid::try_parse(message).ok()?;
    let expected = hmac16(key, ticket, message);
    constant_time_eq(expected.as_bytes(), mac.to_ascii_lowercase().as_bytes()).then_some(ticket)
}

/// The subject of our reply: `Re: <subject> [NUMBER]` (the tag once).
pub fn reply_subject(subject: &str, number: &str) -> String {
    let base = subject.trim();
    let re = if base.len() >= 3 && base.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("re:")) {
        base.to_owned()
    } else {
        format!("Re: {base}")
    };
    if find_in_subject(&re).is_some_and(|n| n.as_str() == number) {
        re
    } else {
        format!("{re} [{number}]")
    }
}

/// Queues the mail of a staff reply to the reporter (CC the ticket's CC addresses) inside the
/// caller's transaction, with our signed Message-ID and `In-Reply-To`/`References` of the
/// ticket's earlier mail, and records that Message-ID on the message row. Without a usable
/// sender nothing is queued (logged); answers whether a mail was queued.
pub fn queue_reply(
    conn: &mut AnyConnection,
    mail: &Mail,
    key: &SecretKey,
    row: &TicketRow,
    message_id: Uuid,
    body: &str,
    _at: DateTime<Utc>,
) -> Result<bool> {
    let tenant = loket_common::ids::parse_stored(&row.tenant_id)?;
    let ticket = loket_common::ids::parse_stored(&row.id)?;
    // The earlier mail of the ticket, oldest first: the last inbound one is answered.
    let earlier: Vec<(String, String)> = ticket_messages::table
        .filter(ticket_messages::ticket_id.eq(&row.id))
        .filter(ticket_messages::message_id.is_not_null())
        .filter(ticket_messages::id.ne(message_id.to_string()))
        .order((ticket_messages::created_at.asc(), ticket_messages::id.asc()))
        .select((
            ticket_messages::author_kind,
            ticket_messages::message_id.assume_not_null(),
        ))
        .load(conn)?;
    let in_reply_to = earlier
        .iter()
        .rev()
        .find(|(kind, _)| kind == "customer")
        .map(|(_, id)| id.clone());
    let mut references: Vec<String> = earlier.into_iter().map(|(_, id)| id).collect();
    if references.len() > REFERENCES_MAX {
        references.drain(..references.len() - REFERENCES_MAX);
    }
    let reporter = row.reporter_email.to_lowercase();
    let mut cc: Vec<String> = string_list(&row.cc_emails)?
        .into_iter()
        .map(|c| c.to_lowercase())
        .filter(|c| *c != reporter)
        .collect();
    cc.sort();
    cc.dedup();
    let dutch = row.reporter_language.starts_with("nl");
    let footer = if dutch {
        format!(
            "\n\n-- \nBeantwoord deze e-mail om te reageren op melding {}.",
            row.number
        )
    } else {
        format!(
            "\n\n-- \nReply to this e-mail to answer on ticket {}.",
            row.number
        )
    };
    let direct = DirectMessage {
        to: Recipient {
            email: row.reporter_email.clone(),
            name: row.reporter_name.clone(),
            culture: Some(row.reporter_language.clone()),
        },
        cc,
        subject: reply_subject(&row.subject, &row.number),
        text_body: format!("{}{footer}", body.trim_end()),
        message_id_local: Some(message_id_local(key, ticket, message_id)),
        in_reply_to: in_reply_to.clone(),
        references,
    };
    match mail.queue_direct_in(conn, tenant, &direct) {
        Ok(queued) => {
            diesel::update(ticket_messages::table.find(message_id.to_string()))
                .set((
                    ticket_messages::message_id.eq(Some(&queued.message_id)),
                    ticket_messages::in_reply_to.eq(in_reply_to),
                ))
                .execute(conn)?;
            Ok(true)
        }
        // Refused before anything was written: no sender, or an address the mail crate
        // does not accept. The reply itself stands.
        Err(e)
            if matches!(
                e.code,
                Code::Unavailable | Code::ValidationFailed | Code::Conflict | Code::NotFound
            ) =>
        {
            tracing::warn!(ticket = %row.number, problem = %e.code.slug(), "the reply mail was not queued");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Whether `e` is the unique violation of a Message-ID stored twice.
pub(crate) fn is_conflict(e: &Error) -> bool {
    e.code == Code::Conflict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_ids_verify_and_forged_ones_do_not() {
        let key = SecretKey::generate();
        let (t, m) = (Uuid::new_v4(), Uuid::new_v4());
        let local = message_id_local(&key, t, m);
        assert_eq!(
            verify_message_id(&key, &format!("<{local}@example.org>")),
            Some(t)
        );
        assert_eq!(verify_message_id(&key, &format!("{local}@x")), Some(t));
        // Another key, another ticket with the same hash, a changed hash: nothing.
        assert_eq!(
            verify_message_id(&SecretKey::generate(), &format!("<{local}@x>")),
            None
        );
        let other = Uuid::new_v4();
        let forged = local.replacen(&t.to_string(), &other.to_string(), 1);
        assert_eq!(verify_message_id(&key, &format!("<{forged}@x>")), None);
        let mut bad = local.clone();
        bad.pop();
        bad.push(if local.ends_with('0') { '1' } else { '0' });
        assert_eq!(verify_message_id(&key, &format!("<{bad}@x>")), None);
        for junk in ["", "<>", "<@>", "<a.b.c@d>", "x", "<ü.ü.ü@ü>"] {
            assert_eq!(verify_message_id(&key, junk), None, "{junk}");
        }
    }

    #[test]
    fn reply_subjects_carry_the_tag_once() {
        assert_eq!(
            reply_subject("Printer stuk", "ABC-DEFGH-123"),
            "Re: Printer stuk [ABC-DEFGH-123]"
        );
        assert_eq!(
            reply_subject("RE: Printer stuk [ABC-DEFGH-123]", "ABC-DEFGH-123"),
            "RE: Printer stuk [ABC-DEFGH-123]"
        );
        assert_eq!(reply_subject("é", "ABC-DEFGH-123"), "Re: é [ABC-DEFGH-123]");
    }
}
