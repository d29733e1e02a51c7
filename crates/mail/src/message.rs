//! Building the MIME message of an outbox row: the same headers on every attempt (the
//! `Message-ID` and `Date` are fixed when the message is queued).

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::address::Envelope;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use serde::{Deserialize, Serialize};

use crate::model::OutboxRow;

/// A rendered document attached to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAttachment {
    /// The file name (`AssignmentSignalDocumentnl-NL.html`).
    pub filename: String,
    /// `text/html; charset=utf-8` or `text/plain; charset=utf-8`.
    pub content_type: String,
    /// The rendered content.
    pub content: String,
}

/// `Content-Language`: the culture the message was written for.
#[derive(Debug, Clone)]
struct ContentLanguage(String);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ContentLanguage(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): no out-of-office replies to machine mail.
#[derive(Debug, Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// The fields of one message.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    pub from_name: Option<&'a str>,
    pub from_address: &'a str,
    pub to_name: Option<&'a str>,
    pub to_email: &'a str,
    pub culture: Option<&'a str>,
    pub subject: &'a str,
    pub text_body: &'a str,
    pub html_body: Option<&'a str>,
    pub attachments: &'a [StoredAttachment],
    pub message_id: &'a str,
    pub date: DateTime<Utc>,
}

impl<'a> Draft<'a> {
    /// The draft of a stored message.
    pub fn of(
        row: &'a OutboxRow,
        attachments: &'a [StoredAttachment],
        date: DateTime<Utc>,
    ) -> Self {
        Draft {
            from_name: row.from_name.as_deref(),
            from_address: &row.from_address,
            to_name: row.to_name.as_deref(),
            to_email: &row.to_email,
            culture: row.culture.as_deref(),
            subject: &row.subject,
            text_body: &row.text_body,
            html_body: row.html_body.as_deref(),
            attachments,
            message_id: &row.message_id,
            date,
        }
    }
}

fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox, String> {
    let a: Address = address
        .parse()
        .map_err(|e| format!("`{address}` is not a valid address: {e}"))?;
    Ok(Mailbox::new(name.map(str::to_owned), a))
}

/// Headers of a message that answers in a conversation (a helpdesk reply): `Cc`,
/// `In-Reply-To` and `References` (each `<id@host>`).
#[derive(Debug, Clone, Default)]
pub struct Thread<'a> {
    pub cc: &'a [String],
    pub in_reply_to: Option<&'a str>,
    pub references: &'a [String],
}

/// The envelope and the formatted message.
pub fn build(d: &Draft<'_>) -> Result<(Envelope, Vec<u8>), String> {
    build_in_thread(d, &Thread::default())
}

/// [`build`] with the conversation headers of `t`; `Cc` recipients join the envelope.
pub fn build_in_thread(d: &Draft<'_>, t: &Thread<'_>) -> Result<(Envelope, Vec<u8>), String> {
    let mut b = Message::builder()
        .from(mailbox(d.from_name, d.from_address)?)
        .to(mailbox(d.to_name, d.to_email)?);
    for cc in t.cc {
        b = b.cc(mailbox(None, cc)?);
    }
    if let Some(id) = t.in_reply_to {
        b = b.in_reply_to(id.to_owned());
    }
    if !t.references.is_empty() {
        b = b.references(t.references.join(" "));
    }
    let mut b = b
        .subject(d.subject)
        .message_id(Some(d.message_id.to_owned()))
        .date(SystemTime::from(d.date))
        .header(AutoSubmitted);
    if let Some(c) = d.culture {
        b = b.header(ContentLanguage(c.to_owned()));
    }
    let text = || SinglePart::plain(d.text_body.to_owned());
    let message = match (d.html_body, d.attachments.is_empty()) {
        (None, true) => b.singlepart(text()),
        (Some(html), true) => b.multipart(MultiPart::alternative_plain_html(
            d.text_body.to_owned(),
            html.to_owned(),
        )),
        (html, false) => {
            let mut mixed = match html {
                Some(html) => MultiPart::mixed().multipart(MultiPart::alternative_plain_html(
                    d.text_body.to_owned(),
                    html.to_owned(),
                )),
                None => MultiPart::mixed().singlepart(text()),
            };
            for a in d.attachments {
                let ct = ContentType::parse(&a.content_type)
                    .map_err(|e| format!("attachment `{}`: {e}", a.filename))?;
                mixed = mixed
                    .singlepart(Attachment::new(a.filename.clone()).body(a.content.clone(), ct));
            }
            b.multipart(mixed)
        }
    }
    .map_err(|e| format!("the message cannot be built: {e}"))?;
    Ok((message.envelope().clone(), message.formatted()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_stable_and_complete() {
        let atts = vec![StoredAttachment {
            filename: "Docnl-NL.html".into(),
            content_type: "text/html; charset=utf-8".into(),
            content: "<p>x</p>".into(),
        }];
        let d = Draft {
            from_name: Some("Loket"),
            from_address: "noreply@example.org",
            to_name: Some("Anna de Vries"),
            to_email: "anna@example.org",
            culture: Some("nl-NL"),
            subject: "Uw afspraak — dinsdag",
            text_body: "Hallo",
            html_body: Some("<p>Hallo</p>"),
            attachments: &atts,
            message_id: "<abc@example.org>",
            date: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        };
        let (env, bytes) = build(&d).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("Message-ID: <abc@example.org>"));
        assert!(text.contains("Content-Language: nl-NL"));
        assert!(text.contains("Auto-Submitted: auto-generated"));
        assert!(text.contains("Docnl-NL.html"));
        assert_eq!(env.to()[0].to_string(), "anna@example.org");
        assert_eq!(env.from().unwrap().to_string(), "noreply@example.org");
    }
}
