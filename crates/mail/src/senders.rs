//! Senders and their verification (R-VERIFY): adding an address mails a 6-digit code to it
//! through the server; the sender can send only after the code was entered. The code expires
//! after 30 minutes and allows 5 wrong tries; only a keyed hash of it is stored, compared in
//! constant time.

use chrono::Duration;
use diesel::prelude::*;
use loket_common::crypto::{SecretKey, constant_time_eq};
use loket_common::time::to_db;
use loket_common::validate::Validator;
use loket_common::{Code, Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::mail_senders;
use rand::Rng;
use serde_json::json;
use uuid::Uuid;

use crate::api::{NAME_MAX, NewSender, Sender, SenderCreated, SmtpCheck, VerifySender};
use crate::message::{self, Draft};
use crate::model::{MAX_TRIES, SenderRow};
use crate::render::{self, Part};
use crate::servers::{
    QueuedOf, archived_conflict, clear_default_sender, endpoint, fail_queued, load_server,
};
use crate::{Mail, checks, templates};

/// How long a verification code is valid.
pub const CODE_TTL_MINUTES: i64 = 30;
/// The template code of the verification mail; a tenant may define its own.
pub const VERIFICATION_TEMPLATE: &str = "MailSenderVerification";

const DEFAULT_SUBJECT: &str = "Verification code {{ code }}";
const DEFAULT_TEXT: &str = "Hello {{ name }},\n\n\
This address ({{ address }}) was added as a sender of outgoing mail in Loket.\n\n\
Verification code: {{ code }}\n\n\
Enter it within {{ minutes }} minutes to activate the sender. If you did not expect this \
message, you can ignore it; nothing will be sent from this address.\n";

pub(crate) fn load_sender(
    conn: &mut AnyConnection,
    tenant: Uuid,
    server: Uuid,
    id: Uuid,
) -> Result<SenderRow> {
    mail_senders::table
        .filter(mail_senders::tenant_id.eq(tenant.to_string()))
        .filter(mail_senders::server_id.eq(server.to_string()))
        .filter(mail_senders::id.eq(id.to_string()))
        .select(SenderRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("sender"))
}

/// A sender of the tenant by id alone (any of its servers).
pub(crate) fn load_tenant_sender(
    conn: &mut AnyConnection,
    tenant: Uuid,
    id: Uuid,
) -> Result<SenderRow> {
    mail_senders::table
        .filter(mail_senders::tenant_id.eq(tenant.to_string()))
        .filter(mail_senders::id.eq(id.to_string()))
        .select(SenderRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("sender"))
}

/// R-VERIFY: the answer when an unverified sender would be used.
pub(crate) fn unverified(row: &SenderRow) -> Error {
    Error::new(
        Code::SenderUnverified,
        format!(
            "The sender {} has not been verified; enter the code mailed to it first (R-VERIFY).",
            checks::display(&row.name, &row.address)
        ),
    )
}

/// The stored form of a code: a keyed hash bound to the sender.
fn code_hash(key: &SecretKey, sender_id: &str, code: &str) -> String {
    let mac = key.mac(
        "loket/mail/sender-code",
        format!("{sender_id}:{code}").as_bytes(),
    );
    mac.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// What checking a code found; wrong tries are counted even though the request fails.
enum Verdict {
    Verified(Box<Sender>),
    Wrong(i32),
    Expired,
    Exhausted,
}

impl Mail {
    /// The senders of a server, oldest first.
    pub async fn list_senders(
        &self,
        p: &Principal,
        server_id: Uuid,
        page: &PageQuery,
    ) -> Result<Page<Sender>> {
        p.require(Permission::MailManage)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id;
        let rows = self
            .inner
            .db
            .read(move |c| {
                load_server(c, tenant, server_id)?;
                let mut q = mail_senders::table
                    .filter(mail_senders::tenant_id.eq(tenant.to_string()))
                    .filter(mail_senders::server_id.eq(server_id.to_string()))
                    .order(mail_senders::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(SenderRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(mail_senders::id.gt(after));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), SenderRow::to_api)
    }

    /// One sender of a server.
    pub async fn sender(&self, p: &Principal, server_id: Uuid, id: Uuid) -> Result<Sender> {
        p.require(Permission::MailManage)?;
        let tenant = p.tenant_id;
        self.inner
            .db
            .read(move |c| load_sender(c, tenant, server_id, id)?.to_api())
            .await
    }

    /// Adds a sender, or restarts the verification of one that is waiting, and mails it a new
    /// code through the server. Returns the sender, how mailing went, and whether it is new.
    pub async fn add_sender(
        &self,
        p: &Principal,
        server_id: Uuid,
        new: NewSender,
    ) -> Result<(SenderCreated, bool)> {
        p.require(Permission::MailManage)?;
        let mut v = Validator::new();
        checks::text(&mut v, "name", &new.name, NAME_MAX);
        let address = checks::email(&mut v, "address", &new.address);
        v.finish()?;
        let Some(address) = address else {
            return Err(Error::invalid("address", "must be an e-mail address"));
        };
        let name = new.name.trim().to_owned();
        let address_text = address.to_string();
        let address_key = address_text.to_lowercase();
        let tenant = p.tenant_id;
        let code = new_code();
        let now = self.inner.clock.now();
        let expires = now + Duration::minutes(CODE_TTL_MINUTES);

        // 1. Read the server and any sender with this address; render the mail.
        let (ep, existing, draft) = {
            let key = self.inner.key.clone();
            let directory = self.inner.directory.clone();
            let (name, address_text, address_key, code) = (
                name.clone(),
                address_text.clone(),
                address_key.clone(),
                code.clone(),
            );
            self.inner
                .db
                .read(move |c| {
                    let server = load_server(c, tenant, server_id)?;
                    if server.is_archived() {
                        return Err(archived_conflict());
                    }
                    let existing = mail_senders::table
                        .filter(mail_senders::server_id.eq(&server.id))
                        .filter(mail_senders::address_key.eq(&address_key))
                        .select(SenderRow::as_select())
                        .first(c)
                        .optional()?;
                    if let Some(row) = &existing
                        && row.is_verified()
                    {
                        return Err(Error::conflict(format!(
                            "{} is already a verified sender of this server.",
                            checks::display(&row.name, &row.address)
                        )));
                    }
                    let ep = endpoint(&key, &server)?;
                    let culture = match directory.user_language(c, tenant, &address_key)? {
                        Some(l) => Some(l),
                        None => directory.tenant_culture(c, tenant)?,
                    };
                    let tenant_culture = directory.tenant_culture(c, tenant)?;
                    let template = templates::lookup(
                        c,
                        tenant,
                        VERIFICATION_TEMPLATE,
                        &[culture.as_deref(), tenant_culture.as_deref()],
                    )?;
                    let data = json!({
                        "code": code,
                        "name": name,
                        "address": address_text,
                        "minutes": CODE_TTL_MINUTES,
                    });
                    let (subject, text, html, used_culture) = match &template {
                        Some(t) => (
                            t.subject.as_str(),
                            t.text_body.as_str(),
                            t.html_body.as_deref(),
                            t.culture(),
                        ),
                        None => (DEFAULT_SUBJECT, DEFAULT_TEXT, None, None),
                    };
                    let rendered = (|| -> std::result::Result<_, String> {
                        Ok((
                            render::render(Part::Subject, subject, &data)?,
                            render::render(Part::Text, text, &data)?,
                            html.map(|h| render::render(Part::Html, h, &data))
                                .transpose()?,
                        ))
                    })();
                    let (subject, text, html) = match rendered {
                        Ok(r) => r,
                        // A broken tenant template must not block verification.
                        Err(_) => (
                            render::render(Part::Subject, DEFAULT_SUBJECT, &data)
                                .map_err(|e| Error::internal(std::io::Error::other(e)))?,
                            render::render(Part::Text, DEFAULT_TEXT, &data)
                                .map_err(|e| Error::internal(std::io::Error::other(e)))?,
                            None,
                        ),
                    };
                    Ok((ep, existing, (subject, text, html, used_culture)))
                })
                .await?
        };

        // 2. Mail the code (no transaction is held while talking to the server).
        let sender_id = match &existing {
            Some(row) => ids::parse_stored(&row.id)?,
            None => ids::new_id(),
        };
        let (subject, text, html, culture) = draft;
        let message_id = format!("<{}@{}>", ids::new_id(), address.domain());
        let built = message::build(&Draft {
            from_name: Some(&name),
            from_address: &address_text,
            to_name: Some(&name),
            to_email: &address_text,
            culture: culture.as_deref(),
            subject: &subject,
            text_body: &text,
            html_body: html.as_deref(),
            attachments: &[],
            message_id: &message_id,
            date: now,
        });
        let check = match built {
            Err(e) => SmtpCheck {
                ok: false,
                failed_step: None,
                message: e,
                smtp_answer: None,
            },
            Ok((envelope, bytes)) => match self.inner.smtp.send(&ep, &envelope, &bytes).await {
                Ok(answer) => SmtpCheck {
                    ok: true,
                    failed_step: None,
                    message: format!(
                        "The verification code was mailed to {address_text}; it expires in {CODE_TTL_MINUTES} minutes."
                    ),
                    smtp_answer: Some(answer),
                },
                Err(f) => f.to_check(),
            },
        };

        // 3. Store the sender with the hash of the code.
        let hash = code_hash(&self.inner.key, &sender_id.to_string(), &code);
        let at = to_db(now);
        let exp = to_db(expires);
        let (sender, created) = self
            .inner
            .db
            .write(move |c| {
                let server = load_server(c, tenant, server_id)?;
                if server.is_archived() {
                    return Err(archived_conflict());
                }
                let current = mail_senders::table
                    .filter(mail_senders::server_id.eq(&server.id))
                    .filter(mail_senders::address_key.eq(&address_key))
                    .select(SenderRow::as_select())
                    .first(c)
                    .optional()?;
                let created = match current {
                    Some(row) if row.is_verified() => {
                        return Err(Error::conflict(
                            "This address was verified meanwhile; it is already a sender of this server.",
                        ));
                    }
                    Some(row) if row.id == sender_id.to_string() => {
                        diesel::update(mail_senders::table.find(&row.id))
                            .set((
                                mail_senders::name.eq(&name),
                                mail_senders::address.eq(&address_text),
                                mail_senders::code_hash.eq(Some(&hash)),
                                mail_senders::code_expires_at.eq(Some(exp)),
                                mail_senders::failed_tries.eq(0),
                                mail_senders::updated_at.eq(at),
                            ))
                            .execute(c)?;
                        false
                    }
                    Some(_) => {
                        return Err(Error::conflict(
                            "This address was added meanwhile by another request; add it again for a new code.",
                        ));
                    }
                    None => {
                        diesel::insert_into(mail_senders::table)
                            .values((
                                mail_senders::id.eq(sender_id.to_string()),
                                mail_senders::tenant_id.eq(tenant.to_string()),
                                mail_senders::server_id.eq(&server.id),
                                mail_senders::name.eq(&name),
                                mail_senders::address.eq(&address_text),
                                mail_senders::address_key.eq(&address_key),
                                mail_senders::code_hash.eq(Some(&hash)),
                                mail_senders::code_expires_at.eq(Some(exp)),
                                mail_senders::failed_tries.eq(0),
                                mail_senders::created_at.eq(at),
                                mail_senders::updated_at.eq(at),
                            ))
                            .execute(c)?;
                        true
                    }
                };
                Ok((load_sender(c, tenant, server_id, sender_id)?.to_api()?, created))
            })
            .await?;
        Ok((
            SenderCreated {
                sender,
                verification_mail: check,
            },
            created,
        ))
    }

    /// Checks the code mailed to the sender; the right one verifies it (R-VERIFY).
    pub async fn verify_sender(
        &self,
        p: &Principal,
        server_id: Uuid,
        id: Uuid,
        body: VerifySender,
    ) -> Result<Sender> {
        p.require(Permission::MailManage)?;
        let code = body.code;
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid(
                "code",
                "must be the 6 digits mailed to the sender",
            ));
        }
        let tenant = p.tenant_id;
        let key = self.inner.key.clone();
        let now = self.inner.clock.now();
        let verdict = self
            .inner
            .db
            .write(move |c| {
                let server = load_server(c, tenant, server_id)?;
                if server.is_archived() {
                    return Err(archived_conflict());
                }
                let row = load_sender(c, tenant, server_id, id)?;
                if row.is_verified() {
                    return Err(Error::conflict("The sender is already verified."));
                }
                if row.failed_tries >= MAX_TRIES {
                    return Ok(Verdict::Exhausted);
                }
                let (Some(stored), Some(expires)) = (&row.code_hash, row.code_expires_at) else {
                    return Ok(Verdict::Exhausted);
                };
                if to_db(now) >= expires {
                    return Ok(Verdict::Expired);
                }
                let given = code_hash(&key, &row.id, &code);
                let at = to_db(now);
                if constant_time_eq(given.as_bytes(), stored.as_bytes()) {
                    diesel::update(mail_senders::table.find(&row.id))
                        .set((
                            mail_senders::verified_at.eq(Some(at)),
                            mail_senders::code_hash.eq(None::<String>),
                            mail_senders::code_expires_at.eq(None::<chrono::NaiveDateTime>),
                            mail_senders::failed_tries.eq(0),
                            mail_senders::updated_at.eq(at),
                        ))
                        .execute(c)?;
                    Ok(Verdict::Verified(Box::new(
                        load_sender(c, tenant, server_id, id)?.to_api()?,
                    )))
                } else {
                    let tries = row.failed_tries + 1;
                    diesel::update(mail_senders::table.find(&row.id))
                        .set((
                            mail_senders::failed_tries.eq(tries),
                            mail_senders::updated_at.eq(at),
                        ))
                        .execute(c)?;
                    Ok(Verdict::Wrong((MAX_TRIES - tries).max(0)))
                }
            })
            .await?;
        match verdict {
            Verdict::Verified(s) => Ok(*s),
            Verdict::Wrong(0) => Err(Error::new(
                Code::VerificationCodeWrong,
                "The code is wrong, and no tries are left; add the address again to get a new code.",
            )),
            Verdict::Wrong(left) => Err(Error::new(
                Code::VerificationCodeWrong,
                format!(
                    "The code is wrong; {left} {} left.",
                    if left == 1 { "try" } else { "tries" }
                ),
            )),
            Verdict::Expired => Err(Error::new(
                Code::VerificationCodeExpired,
                format!(
                    "The code expired {CODE_TTL_MINUTES} minutes after it was mailed; add the address again to get a new code."
                ),
            )),
            Verdict::Exhausted => Err(Error::new(
                Code::VerificationTriesExhausted,
                "Five wrong codes were entered; add the address again to get a new code.",
            )),
        }
    }

    /// Removes a sender. Its queued messages fail, and it stops being the default sender.
    pub async fn delete_sender(&self, p: &Principal, server_id: Uuid, id: Uuid) -> Result<()> {
        p.require(Permission::MailManage)?;
        let tenant = p.tenant_id;
        let now = to_db(self.inner.clock.now());
        self.inner
            .db
            .write(move |c| {
                let row = load_sender(c, tenant, server_id, id)?;
                fail_queued(
                    c,
                    QueuedOf::Sender(&row.id),
                    "The sender was removed before the message was sent.",
                    now,
                )?;
                clear_default_sender(c, &tenant.to_string(), std::slice::from_ref(&row.id), now)?;
                diesel::delete(mail_senders::table.find(&row.id)).execute(c)?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_hashes_bind_the_sender() {
        for _ in 0..100 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
        let k = SecretKey::generate();
        let a = code_hash(&k, "s1", "123456");
        assert_eq!(a, code_hash(&k, "s1", "123456"));
        assert_ne!(a, code_hash(&k, "s2", "123456"));
        assert_ne!(a, code_hash(&k, "s1", "123457"));
        assert!(!a.contains("123456"));
    }
}
