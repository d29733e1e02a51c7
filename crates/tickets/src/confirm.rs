//! The confirmation to the reporter (DOMAIN.md "Tickets": within one day, at once in practice):
//! the number and a tracking link with the ticket's secret code.
//!
//! Queued inside the create transaction through the mail crate: the tenant's template
//! `TicketConfirmation` (culture chosen by the reporter's language) from the tenant's sender;
//! without such a template or sender, a built-in text through the platform's sender; without
//! platform mail either, nothing is queued, `confirmed_at` stays empty and the ticket shows up
//! under `?sla=breached` once `confirm_due` passes.

use loket_common::{Code, Result};
use loket_mail::Mail;
use loket_mail::PlatformMessage;
use loket_mail::api::{NewMail, Recipient};
use loket_storage::AnyConnection;
use serde_json::json;
use uuid::Uuid;

use crate::model::TicketRow;

/// The tenant template code of the confirmation.
pub const TEMPLATE: &str = "TicketConfirmation";

/// What the confirmation says.
pub struct Confirmation<'a> {
    pub tenant: Uuid,
    pub number: &'a str,
    pub subject: &'a str,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub culture: &'a str,
    /// `{public_url}/t/{number}?code={code}`.
    pub tracking_url: &'a str,
}

impl<'a> Confirmation<'a> {
    /// The confirmation of ticket `row` of `tenant`, linking to `tracking_url`.
    pub fn of(tenant: Uuid, row: &'a TicketRow, tracking_url: &'a str) -> Self {
        Confirmation {
            tenant,
            number: &row.number,
            subject: &row.subject,
            email: &row.reporter_email,
            name: row.reporter_name.as_deref(),
            culture: &row.reporter_language,
            tracking_url,
        }
    }
}

/// The tracking link of ticket `number` with its secret `code`.
pub fn tracking_url(public_url: &str, number: &str, code: &str) -> String {
    format!("{public_url}/t/{number}?code={code}")
}

/// Queues the confirmation; `Ok(true)` when a message was queued.
pub fn queue(conn: &mut AnyConnection, mail: &Mail, c: &Confirmation<'_>) -> Result<bool> {
    let data = json!({
        "number": c.number,
        "subject": c.subject,
        "name": c.name,
        "tracking_url": c.tracking_url,
    });
    let to = Recipient {
        email: c.email.to_owned(),
        name: c.name.map(str::to_owned),
        culture: Some(c.culture.to_owned()),
    };
    let templated = NewMail {
        sender_id: None,
        to: to.clone(),
        template: TEMPLATE.to_owned(),
        data: data.as_object().cloned(),
        documents: None,
    };
    match mail.queue_in(conn, c.tenant, &templated) {
        Ok(_) => return Ok(true),
        // No template, or no usable sender (409): both are refused before anything is written,
        // so the transaction is still usable for the platform fallback.
        Err(e) if matches!(e.code, Code::NotFound | Code::Unavailable | Code::Conflict) => {
            tracing::debug!(
                ticket = c.number,
                "no usable confirmation template; using the built-in text"
            );
        }
        Err(e) => return Err(e),
    }
    let dutch = c.culture.starts_with("nl");
    let (subject, body) = if dutch {
        (
            "Uw melding [{{ number }}] is ontvangen",
            "Beste {{ name or 'melder' }},\n\nWe hebben uw melding \"{{ subject }}\" ontvangen onder nummer {{ number }}.\nVolg en beantwoord hem via {{ tracking_url }}\n",
        )
    } else {
        (
            "Your ticket [{{ number }}] was received",
            "Dear {{ name or 'reporter' }},\n\nWe received your ticket \"{{ subject }}\" as number {{ number }}.\nFollow and answer it at {{ tracking_url }}\n",
        )
    };
    let platform = PlatformMessage {
        tenant_id: Some(c.tenant),
        to,
        subject: subject.to_owned(),
        text_body: body.to_owned(),
        html_body: None,
        data,
    };
    match mail.queue_platform_in(conn, &platform) {
        Ok(_) => Ok(true),
        Err(e) if e.code == Code::Unavailable => {
            tracing::warn!(
                ticket = c.number,
                "no mail sender configured; the ticket confirmation was not queued"
            );
            Ok(false)
        }
        Err(e) => Err(e),
    }
}
