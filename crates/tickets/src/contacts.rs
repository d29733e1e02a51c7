//! Customers of the helpdesk (R-OWN): organisations and their contacts, the proof of a contact's
//! address and of the organisation's shared address, and moving tickets to the shared address.
//!
//! A contact is a user with the `customer` role ([`customer_permissions`]: `tickets:read` and
//! `tickets:write`, which [`crate::service::viewer`] narrows to the contact's own tickets),
//! created through the accounts domain ([`loket_accounts::directory::create_user_in`]) in the
//! same transaction as its `customer_contacts` row and the registration mail (seed 003: "after
//! registering you get an e-mail with a link to complete the registration").
//!
//! Codes are verified the way the mail domain verifies senders (R-VERIFY): 6 random digits,
//! stored only as a keyed hash (bound to the contact, to what is proven — the own or the shared
//! address — and to the address itself, so a code for an address that changed since no longer
//! verifies), compared in constant time, valid for [`CODE_TTL_MINUTES`] minutes and
//! [`MAX_TRIES`] wrong tries. One code is pending at a time: the own address's until it is
//! verified, then the shared address's.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use loket_accounts::api::NewUser;
use loket_common::crypto::{SecretKey, constant_time_eq};
use loket_common::time::{from_db, to_db};
use loket_common::validate::Validator;
use loket_common::{
    Actor, Code, Error, Page, PageQuery, Permission, Permissions, Principal, Result, ids,
};
use loket_mail::api::{NewMail, Recipient};
use loket_mail::{Mail, PlatformMessage};
use loket_storage::AnyConnection;
use loket_storage::schema::{customer_contacts, organisations, tickets};
use rand::Rng;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Tickets;
use crate::api::{
    AuthorKind, ContactFilter, CustomerContact, MoveToShared, MovedTickets, NewCustomerContact,
    NewOrganisation, Organisation, OrganisationChanges, Ticket, VerificationCode,
};
use crate::events::{self, TICKETS_UPDATE};
use crate::model::TicketRow;
use crate::service::{NAME_MAX, Viewer, load_by_number, record_history, viewer};

/// How long a mailed code is valid.
pub const CODE_TTL_MINUTES: i64 = 30;
/// Wrong tries a code allows.
pub const MAX_TRIES: i32 = 5;
/// The shortest wait before another code is mailed to the same contact.
pub const RESEND_AFTER_SECONDS: i64 = 60;
/// The tenant template of the registration mail (data: `name`, `email`, `organisation`,
/// `code`, `link`, `minutes`); without it a built-in Dutch or English text is sent.
pub const REGISTRATION_TEMPLATE: &str = "CustomerContactRegistration";
/// The tenant template of the mail to the shared address (data: `name`, `contact_email`,
/// `email`, `organisation`, `code`, `minutes`).
pub const SHARED_TEMPLATE: &str = "CustomerSharedEmailVerification";

/// The permissions of the `customer` role: exactly `tickets:read` and `tickets:write`.
pub fn customer_permissions() -> Permissions {
    Permissions::new([Permission::TicketsRead, Permission::TicketsWrite])
}

/// What a code proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// The contact's own address.
    Own,
    /// The organisation's shared address.
    Shared,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Own => "own",
            Purpose::Shared => "shared",
        }
    }
}

/// The stored form of a code: a keyed hash bound to the contact, the purpose and the address.
fn code_hash(
    key: &SecretKey,
    contact: &str,
    purpose: Purpose,
    address: &str,
    code: &str,
) -> String {
    let mac = key.mac(
        "loket/tickets/contact-code",
        format!("{contact}:{}:{address}:{code}", purpose.as_str()).as_bytes(),
    );
    mac.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// An organisation row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organisations)]
pub struct OrganisationRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub shared_email: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl OrganisationRow {
    /// The API representation.
    pub fn to_api(&self) -> Result<Organisation> {
        Ok(Organisation {
            id: ids::parse_stored(&self.id)?,
            name: self.name.clone(),
            shared_email: self.shared_email.clone(),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// A customer contact row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = customer_contacts)]
pub struct ContactRow {
    pub user_id: String,
    pub tenant_id: String,
    pub organisation_id: String,
    pub email: String,
    pub code_hash: Option<String>,
    pub code_expires_at: Option<NaiveDateTime>,
    pub code_attempts: i32,
    pub verified_at: Option<NaiveDateTime>,
    pub shared_verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ContactRow {
    fn to_api(&self, user: Option<&loket_accounts::lookup::Contact>) -> Result<CustomerContact> {
        let user = user.ok_or_else(|| {
            Error::internal(format!("customer contact {} has no user", self.user_id))
        })?;
        Ok(CustomerContact {
            id: ids::parse_stored(&self.user_id)?,
            organisation_id: ids::parse_stored(&self.organisation_id)?,
            email: self.email.clone(),
            name: user.name.clone(),
            language: user.language.clone(),
            verified: self.verified_at.is_some(),
            verified_at: self.verified_at.map(from_db),
            shared_email_verified_at: self.shared_verified_at.map(from_db),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// The API representations of contact rows, with their users' names and languages.
fn contacts_to_api(
    conn: &mut AnyConnection,
    tenant: Uuid,
    rows: &[ContactRow],
) -> Result<Vec<CustomerContact>> {
    let ids = rows
        .iter()
        .map(|r| ids::parse_stored(&r.user_id))
        .collect::<Result<Vec<Uuid>>>()?;
    let users: HashMap<Uuid, loket_accounts::lookup::Contact> =
        loket_accounts::lookup::user_contacts(conn, tenant, &ids)?;
    rows.iter()
        .zip(&ids)
        .map(|(r, id)| r.to_api(users.get(id)))
        .collect()
}

fn contact_to_api(
    conn: &mut AnyConnection,
    tenant: Uuid,
    row: &ContactRow,
) -> Result<CustomerContact> {
    contacts_to_api(conn, tenant, std::slice::from_ref(row))?
        .pop()
        .ok_or_else(|| Error::internal("no contact representation"))
}

/// The current representation of contact `id`.
fn reload(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<CustomerContact> {
    let row = load_contact(conn, tenant, id)?;
    contact_to_api(conn, tenant, &row)
}

/// An organisation of the tenant; 404 otherwise.
pub fn load_organisation(
    conn: &mut AnyConnection,
    tenant: Uuid,
    id: Uuid,
) -> Result<OrganisationRow> {
    organisations::table
        .filter(organisations::tenant_id.eq(tenant.to_string()))
        .filter(organisations::id.eq(id.to_string()))
        .select(OrganisationRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("organisation"))
}

/// A contact of the tenant; 404 otherwise.
fn load_contact(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<ContactRow> {
    customer_contacts::table
        .filter(customer_contacts::tenant_id.eq(tenant.to_string()))
        .filter(customer_contacts::user_id.eq(id.to_string()))
        .select(ContactRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("customer contact"))
}

/// The organisation a ticket filed by `email` belongs to: that of the verified contact with this
/// address, else that of the organisation whose shared address it is (once a contact of it
/// verified that address). Used when a ticket is created, from the portal or by mail.
pub fn organisation_for_address(
    conn: &mut AnyConnection,
    tenant: Uuid,
    email: &str,
) -> Result<Option<Uuid>> {
    let email = email.trim().to_lowercase();
    let own: Option<String> = customer_contacts::table
        .filter(customer_contacts::tenant_id.eq(tenant.to_string()))
        .filter(customer_contacts::email.eq(&email))
        .filter(customer_contacts::verified_at.is_not_null())
        .select(customer_contacts::organisation_id)
        .first(conn)
        .optional()?;
    if let Some(org) = own {
        return Ok(Some(ids::parse_stored(&org)?));
    }
    let verifiers = customer_contacts::table
        .filter(customer_contacts::shared_verified_at.is_not_null())
        .select(customer_contacts::organisation_id);
    let shared: Option<String> = organisations::table
        .filter(organisations::tenant_id.eq(tenant.to_string()))
        .filter(organisations::shared_email.eq(&email))
        .filter(organisations::id.eq_any(verifiers))
        .select(organisations::id)
        .order(organisations::id.asc())
        .first(conn)
        .optional()?;
    shared.map(|s| ids::parse_stored(&s)).transpose()
}

/// Staff only: refuses an impersonated customer contact with 403.
fn require_staff(conn: &mut AnyConnection, p: &Principal) -> Result<()> {
    if viewer(conn, p)?.is_customer() {
        Err(Error::forbidden(
            "Customer contacts may read, reply to and resolve their own tickets; this is for staff.",
        ))
    } else {
        Ok(())
    }
}

/// The contact `id` as `p` may see it: staff see every contact of the tenant, a customer only
/// itself (another contact answers 404).
fn contact_for(conn: &mut AnyConnection, p: &Principal, id: Uuid) -> Result<ContactRow> {
    if let Viewer::Customer { user_id, .. } = viewer(conn, p)?
        && user_id != id
    {
        return Err(Error::not_found("customer contact"));
    }
    load_contact(conn, p.tenant_id, id)
}

fn check_shared_email(v: &mut Validator, value: &str) {
    if value.len() < 3 {
        v.fail("shared_email", "must be an e-mail address");
    } else {
        v.email("shared_email", value.trim());
    }
}

fn shared_email_taken(
    conn: &mut AnyConnection,
    tenant: Uuid,
    email: &str,
    except: Option<&str>,
) -> Result<bool> {
    let mut q = organisations::table
        .filter(organisations::tenant_id.eq(tenant.to_string()))
        .filter(organisations::shared_email.eq(email))
        .select(organisations::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(organisations::id.ne(id));
    }
    Ok(q.first::<String>(conn).optional()?.is_some())
}

fn shared_email_conflict() -> Error {
    Error::conflict("Another organisation of this tenant already uses this shared address.")
}

/// A mail to queue in the caller's transaction: the tenant's template if it has one (and a
/// usable sender), else the built-in text through the platform's sender.
struct Notice<'a> {
    tenant: Uuid,
    template: &'a str,
    to: Recipient,
    data: Value,
    /// Subject and body templates, Dutch and English.
    dutch: (&'a str, &'a str),
    english: (&'a str, &'a str),
}

/// Queues `n`; refuses with `409 conflict` when no mail can be sent at all (no tenant sender
/// nor platform mail), so the caller's transaction changes nothing.
fn queue_notice(conn: &mut AnyConnection, mail: &Mail, n: &Notice<'_>) -> Result<()> {
    let templated = NewMail {
        sender_id: None,
        to: n.to.clone(),
        template: n.template.to_owned(),
        data: n.data.as_object().cloned(),
        documents: None,
    };
    // A savepoint, so a refusal leaves the transaction usable for the fallback (PostgreSQL).
    match conn.transaction(|c| mail.queue_in(c, n.tenant, &templated)) {
        Ok(_) => return Ok(()),
        Err(e) if matches!(e.code, Code::NotFound | Code::Unavailable | Code::Conflict) => {
            tracing::debug!(
                template = n.template,
                "no usable tenant template; using the built-in text"
            );
        }
        Err(e) => return Err(e),
    }
    let culture = n.to.culture.as_deref().unwrap_or("nl-NL");
    let (subject, body) = if culture.starts_with("nl") {
        n.dutch
    } else {
        n.english
    };
    let platform = PlatformMessage {
        tenant_id: Some(n.tenant),
        to: n.to.clone(),
        subject: subject.to_owned(),
        text_body: body.to_owned(),
        html_body: None,
        data: n.data.clone(),
    };
    match mail.queue_platform_in(conn, &platform) {
        Ok(_) => Ok(()),
        Err(e) if e.code == Code::Unavailable => Err(Error::conflict(
            "No mail can be sent for this tenant, so the code cannot be mailed: give the tenant a \
             default sender (`PUT /api/v1/mail/settings`) or configure the platform's mail \
             server (`LOKET_PLATFORM_SMTP_URL`). Nothing was changed.",
        )),
        Err(e) => Err(e),
    }
}

const REGISTRATION_NL: (&str, &str) = (
    "Voltooi uw registratie voor de helpdesk",
    "Beste {{ name }},\n\n\
Uw e-mailadres {{ email }} is aangemeld voor het klantportaal van de helpdesk ({{ organisation }}).\n\n\
Verificatiecode: {{ code }}\n\n\
Voltooi uw registratie met deze code, of via {{ link }}\n\
De code is {{ minutes }} minuten geldig. Heeft u zich niet aangemeld? Dan kunt u dit bericht negeren.\n",
);
const REGISTRATION_EN: (&str, &str) = (
    "Complete your registration for the helpdesk",
    "Dear {{ name }},\n\n\
Your address {{ email }} was registered for the helpdesk's customer portal ({{ organisation }}).\n\n\
Verification code: {{ code }}\n\n\
Complete your registration with this code, or at {{ link }}\n\
The code is valid for {{ minutes }} minutes. If you did not register, you can ignore this message.\n",
);
const SHARED_NL: (&str, &str) = (
    "Toegang tot de meldingen van {{ email }}",
    "Beste collega,\n\n\
{{ name }} ({{ contact_email }}) van {{ organisation }} wil in het klantportaal van de helpdesk de meldingen volgen \
die onder het gezamenlijke adres {{ email }} zijn ingediend.\n\n\
Verificatiecode: {{ code }}\n\n\
Geef deze code door als u dat goedvindt; hij is {{ minutes }} minuten geldig. Anders kunt u dit bericht negeren.\n",
);
const SHARED_EN: (&str, &str) = (
    "Access to the tickets of {{ email }}",
    "Dear colleague,\n\n\
{{ name }} ({{ contact_email }}) of {{ organisation }} wants to follow, in the helpdesk's customer portal, the \
tickets filed under the shared address {{ email }}.\n\n\
Verification code: {{ code }}\n\n\
Pass this code on if you agree; it is valid for {{ minutes }} minutes. Otherwise you can ignore this message.\n",
);

/// What checking a code found; wrong tries are counted even though the request fails.
enum Verdict {
    Verified(Box<CustomerContact>),
    Wrong(i32),
    Expired,
    Exhausted,
}

fn verdict_result(v: Verdict, again: &str) -> Result<CustomerContact> {
    match v {
        Verdict::Verified(c) => Ok(*c),
        Verdict::Wrong(0) => Err(Error::new(
            Code::VerificationCodeWrong,
            format!("The code is wrong, and no tries are left; {again}"),
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
            format!("The code expired {CODE_TTL_MINUTES} minutes after it was mailed; {again}"),
        )),
        Verdict::Exhausted => Err(Error::new(
            Code::VerificationTriesExhausted,
            format!("Five wrong codes were entered, or no code is pending; {again}"),
        )),
    }
}

/// Refuses a new code while the last one is less than [`RESEND_AFTER_SECONDS`] old.
fn check_resend(row: &ContactRow, now: DateTime<Utc>) -> Result<()> {
    if let (Some(_), Some(expires)) = (&row.code_hash, row.code_expires_at) {
        let sent = from_db(expires) - Duration::minutes(CODE_TTL_MINUTES);
        if now < sent + Duration::seconds(RESEND_AFTER_SECONDS) {
            return Err(Error::new(
                Code::InvalidState,
                format!(
                    "A code was mailed less than {RESEND_AFTER_SECONDS} seconds ago; wait a moment before asking for another."
                ),
            ));
        }
    }
    Ok(())
}

/// Checks `code` against the pending code of `row` for `purpose` and `address`; the right one
/// clears the code and sets `verified_at` or `shared_verified_at`.
fn check_code(
    c: &mut AnyConnection,
    key: &SecretKey,
    row: &ContactRow,
    purpose: Purpose,
    address: &str,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<Verdict>> {
    if row.code_attempts >= MAX_TRIES {
        return Ok(Some(Verdict::Exhausted));
    }
    let (Some(stored), Some(expires)) = (&row.code_hash, row.code_expires_at) else {
        return Ok(Some(Verdict::Exhausted));
    };
    let at = to_db(now);
    if at >= expires {
        return Ok(Some(Verdict::Expired));
    }
    let given = code_hash(key, &row.user_id, purpose, address, code);
    let target = customer_contacts::table.find(&row.user_id);
    if constant_time_eq(given.as_bytes(), stored.as_bytes()) {
        diesel::update(target)
            .set((
                customer_contacts::code_hash.eq(None::<String>),
                customer_contacts::code_expires_at.eq(None::<NaiveDateTime>),
                customer_contacts::code_attempts.eq(0),
                customer_contacts::updated_at.eq(at),
            ))
            .execute(c)?;
        match purpose {
            Purpose::Own => diesel::update(target)
                .set(customer_contacts::verified_at.eq(Some(at)))
                .execute(c)?,
            Purpose::Shared => diesel::update(target)
                .set(customer_contacts::shared_verified_at.eq(Some(at)))
                .execute(c)?,
        };
        Ok(None)
    } else {
        let tries = row.code_attempts + 1;
        diesel::update(target)
            .set((
                customer_contacts::code_attempts.eq(tries),
                customer_contacts::updated_at.eq(at),
            ))
            .execute(c)?;
        Ok(Some(Verdict::Wrong((MAX_TRIES - tries).max(0))))
    }
}

fn check_code_format(code: &str) -> Result<()> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid("code", "must be the 6 digits from the mail"));
    }
    Ok(())
}

/// Stores a new code for `row` (attempts reset) and returns it.
fn store_code(
    c: &mut AnyConnection,
    key: &SecretKey,
    row: &ContactRow,
    purpose: Purpose,
    address: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    let code = new_code();
    diesel::update(customer_contacts::table.find(&row.user_id))
        .set((
            customer_contacts::code_hash.eq(Some(code_hash(
                key,
                &row.user_id,
                purpose,
                address,
                &code,
            ))),
            customer_contacts::code_expires_at
                .eq(Some(to_db(now + Duration::minutes(CODE_TTL_MINUTES)))),
            customer_contacts::code_attempts.eq(0),
            customer_contacts::updated_at.eq(to_db(now)),
        ))
        .execute(c)?;
    Ok(code)
}

/// Mails the registration code of `row` (in the caller's transaction).
#[allow(clippy::too_many_arguments)]
fn mail_registration(
    c: &mut AnyConnection,
    mail: &Mail,
    public_url: &str,
    tenant: Uuid,
    row: &ContactRow,
    user: &loket_accounts::lookup::Contact,
    organisation: &str,
    code: &str,
) -> Result<()> {
    let link = format!("{public_url}/register/{}?code={code}", row.user_id);
    queue_notice(
        c,
        mail,
        &Notice {
            tenant,
            template: REGISTRATION_TEMPLATE,
            to: Recipient {
                email: row.email.clone(),
                name: Some(user.name.clone()),
                culture: Some(user.language.clone()),
            },
            data: json!({
                "name": user.name,
                "email": row.email,
                "organisation": organisation,
                "code": code,
                "link": link,
                "minutes": CODE_TTL_MINUTES,
            }),
            dutch: REGISTRATION_NL,
            english: REGISTRATION_EN,
        },
    )
}

fn user_of(
    c: &mut AnyConnection,
    tenant: Uuid,
    row: &ContactRow,
) -> Result<loket_accounts::lookup::Contact> {
    let id = ids::parse_stored(&row.user_id)?;
    loket_accounts::lookup::user_contacts(c, tenant, &[id])?
        .remove(&id)
        .ok_or_else(|| Error::internal(format!("customer contact {id} has no user")))
}

impl Tickets {
    // --- Organisations -----------------------------------------------------------------------

    /// Creates a customer organisation (staff).
    pub async fn create_organisation(
        &self,
        p: &Principal,
        new: NewOrganisation,
    ) -> Result<Organisation> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        v.text("name", &new.name, NAME_MAX);
        if let Some(s) = &new.shared_email {
            check_shared_email(&mut v, s);
        }
        v.finish()?;
        let (p, now) = (p.clone(), self.clock.now());
        self.db
            .write(move |c| {
                require_staff(c, &p)?;
                let tenant = p.tenant_id;
                let shared = new.shared_email.map(|s| s.trim().to_lowercase());
                if let Some(s) = &shared
                    && shared_email_taken(c, tenant, s, None)?
                {
                    return Err(shared_email_conflict());
                }
                let id = ids::new_id().to_string();
                let at = to_db(now);
                diesel::insert_into(organisations::table)
                    .values((
                        organisations::id.eq(&id),
                        organisations::tenant_id.eq(tenant.to_string()),
                        organisations::name.eq(new.name.trim()),
                        organisations::shared_email.eq(&shared),
                        organisations::created_at.eq(at),
                        organisations::updated_at.eq(at),
                    ))
                    .execute(c)?;
                organisations::table
                    .find(&id)
                    .select(OrganisationRow::as_select())
                    .first(c)?
                    .to_api()
            })
            .await
    }

    /// The tenant's organisations, oldest first (staff).
    pub async fn list_organisations(
        &self,
        p: &Principal,
        page: &PageQuery,
    ) -> Result<Page<Organisation>> {
        p.require(Permission::TicketsRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let p = p.clone();
        let rows = self
            .db
            .read(move |c| {
                require_staff(c, &p)?;
                let mut q = organisations::table
                    .filter(organisations::tenant_id.eq(p.tenant_id.to_string()))
                    .order(organisations::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(OrganisationRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(organisations::id.gt(after));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), OrganisationRow::to_api)
    }

    /// One organisation (staff).
    pub async fn organisation(&self, p: &Principal, id: Uuid) -> Result<Organisation> {
        p.require(Permission::TicketsRead)?;
        let p = p.clone();
        self.db
            .read(move |c| {
                require_staff(c, &p)?;
                load_organisation(c, p.tenant_id, id)?.to_api()
            })
            .await
    }

    /// Changes an organisation's name or shared address (staff). A changed or removed shared
    /// address is no longer verified by anyone: every contact must verify the new one again.
    pub async fn update_organisation(
        &self,
        p: &Principal,
        id: Uuid,
        ch: OrganisationChanges,
    ) -> Result<Organisation> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        if let Some(n) = &ch.name {
            v.text("name", n, NAME_MAX);
        }
        if let Some(Some(s)) = &ch.shared_email {
            check_shared_email(&mut v, s);
        }
        v.finish()?;
        let (p, now) = (p.clone(), self.clock.now());
        self.db
            .write(move |c| {
                require_staff(c, &p)?;
                let tenant = p.tenant_id;
                let row = load_organisation(c, tenant, id)?;
                let name = ch
                    .name
                    .map(|n| n.trim().to_owned())
                    .unwrap_or_else(|| row.name.clone());
                let shared = match ch.shared_email {
                    Some(s) => s.map(|s| s.trim().to_lowercase()),
                    None => row.shared_email.clone(),
                };
                if name == row.name && shared == row.shared_email {
                    return row.to_api();
                }
                if shared != row.shared_email {
                    if let Some(s) = &shared
                        && shared_email_taken(c, tenant, s, Some(&row.id))?
                    {
                        return Err(shared_email_conflict());
                    }
                    diesel::update(
                        customer_contacts::table
                            .filter(customer_contacts::organisation_id.eq(&row.id)),
                    )
                    .set(customer_contacts::shared_verified_at.eq(None::<NaiveDateTime>))
                    .execute(c)?;
                }
                diesel::update(organisations::table.find(&row.id))
                    .set((
                        organisations::name.eq(&name),
                        organisations::shared_email.eq(&shared),
                        organisations::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                load_organisation(c, tenant, id)?.to_api()
            })
            .await
    }

    // --- Contacts ----------------------------------------------------------------------------

    /// Registers a customer contact (staff or the portal's API account, never a customer): the
    /// user with the `customer` role, its contact row and the registration mail with the code,
    /// in one transaction.
    pub async fn create_contact(
        &self,
        p: &Principal,
        new: NewCustomerContact,
    ) -> Result<CustomerContact> {
        p.require(Permission::TicketsWrite)?;
        let user = NewUser {
            name: new.name.clone(),
            email: new.email.clone(),
            language: new.language.clone(),
            permissions: Some(customer_permissions()),
            active: Some(true),
        };
        loket_accounts::directory::validate_new_user(&user)?;
        let (p, now, actor) = (p.clone(), self.clock.now(), p.actor());
        let (key, mail, public_url) =
            (self.key.clone(), self.mail.clone(), self.public_url.clone());
        let contact = self
            .db
            .write(move |c| {
                require_staff(c, &p)?;
                let tenant = p.tenant_id;
                let org = load_organisation(c, tenant, new.organisation_id)?;
                let created =
                    loket_accounts::directory::create_user_in(c, tenant, actor, &user, now)?;
                let at = to_db(now);
                diesel::insert_into(customer_contacts::table)
                    .values((
                        customer_contacts::user_id.eq(created.id.to_string()),
                        customer_contacts::tenant_id.eq(tenant.to_string()),
                        customer_contacts::organisation_id.eq(&org.id),
                        customer_contacts::email.eq(&created.email),
                        customer_contacts::code_attempts.eq(0),
                        customer_contacts::created_at.eq(at),
                        customer_contacts::updated_at.eq(at),
                    ))
                    .execute(c)?;
                let row = load_contact(c, tenant, created.id)?;
                let code = store_code(c, &key, &row, Purpose::Own, &row.email, now)?;
                let person = loket_accounts::lookup::Contact {
                    name: created.name.clone(),
                    email: created.email.clone(),
                    language: created.language.clone(),
                };
                mail_registration(
                    c,
                    &mail,
                    &public_url,
                    tenant,
                    &row,
                    &person,
                    &org.name,
                    &code,
                )?;
                reload(c, tenant, created.id)
            })
            .await?;
        self.mail.wake();
        Ok(contact)
    }

    /// The tenant's contacts, oldest first, optionally of one organisation (staff).
    pub async fn list_contacts(
        &self,
        p: &Principal,
        filter: &ContactFilter,
        page: &PageQuery,
    ) -> Result<Page<CustomerContact>> {
        p.require(Permission::TicketsRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let (p, org) = (p.clone(), filter.organisation_id);
        let rows: Vec<(String, CustomerContact)> = self
            .db
            .read(move |c| {
                require_staff(c, &p)?;
                let mut q = customer_contacts::table
                    .filter(customer_contacts::tenant_id.eq(p.tenant_id.to_string()))
                    .order(customer_contacts::user_id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(ContactRow::as_select())
                    .into_boxed();
                if let Some(org) = org {
                    q = q.filter(customer_contacts::organisation_id.eq(org.to_string()));
                }
                if let Some(after) = after {
                    q = q.filter(customer_contacts::user_id.gt(after));
                }
                let rows: Vec<ContactRow> = q.load(c)?;
                let api = contacts_to_api(c, p.tenant_id, &rows)?;
                Ok(rows.into_iter().map(|r| r.user_id).zip(api).collect())
            })
            .await?;
        Page::try_from_rows(rows, limit, |(k, _)| k.clone(), |(_, a)| Ok(a.clone()))
    }

    /// One contact (staff; a customer only itself).
    pub async fn contact(&self, p: &Principal, id: Uuid) -> Result<CustomerContact> {
        p.require(Permission::TicketsRead)?;
        let p = p.clone();
        self.db
            .read(move |c| {
                let row = contact_for(c, &p, id)?;
                contact_to_api(c, p.tenant_id, &row)
            })
            .await
    }

    /// Mails a new registration code (the previous one stops working, the tries start over);
    /// refused once the address is verified, and within a minute of the previous code.
    pub async fn resend_contact_code(&self, p: &Principal, id: Uuid) -> Result<CustomerContact> {
        p.require(Permission::TicketsWrite)?;
        let (p, now) = (p.clone(), self.clock.now());
        let (key, mail, public_url) =
            (self.key.clone(), self.mail.clone(), self.public_url.clone());
        let contact = self
            .db
            .write(move |c| {
                let tenant = p.tenant_id;
                let row = contact_for(c, &p, id)?;
                if row.verified_at.is_some() {
                    return Err(Error::conflict(
                        "The contact's address is already verified.",
                    ));
                }
                check_resend(&row, now)?;
                let org = load_organisation(c, tenant, ids::parse_stored(&row.organisation_id)?)?;
                let user = user_of(c, tenant, &row)?;
                let code = store_code(c, &key, &row, Purpose::Own, &row.email, now)?;
                mail_registration(c, &mail, &public_url, tenant, &row, &user, &org.name, &code)?;
                reload(c, tenant, id)
            })
            .await?;
        self.mail.wake();
        Ok(contact)
    }

    /// Checks the registration code; the right one verifies the contact's address (from then on
    /// it sees the tickets filed under it).
    pub async fn verify_contact(
        &self,
        p: &Principal,
        id: Uuid,
        body: VerificationCode,
    ) -> Result<CustomerContact> {
        p.require(Permission::TicketsWrite)?;
        check_code_format(&body.code)?;
        let (p, now, key) = (p.clone(), self.clock.now(), self.key.clone());
        let verdict = self
            .db
            .write(move |c| {
                let tenant = p.tenant_id;
                let row = contact_for(c, &p, id)?;
                if row.verified_at.is_some() {
                    return Err(Error::conflict(
                        "The contact's address is already verified.",
                    ));
                }
                match check_code(c, &key, &row, Purpose::Own, &row.email, &body.code, now)? {
                    Some(v) => Ok(v),
                    None => Ok(Verdict::Verified(Box::new(reload(c, tenant, id)?))),
                }
            })
            .await?;
        verdict_result(
            verdict,
            "ask for a new code (`POST /api/v1/customer-contacts/{id}/resend-code`).",
        )
    }

    /// Mails a code to the organisation's shared address, so the (verified) contact can prove
    /// it may follow the tickets filed under it.
    pub async fn send_shared_code(&self, p: &Principal, id: Uuid) -> Result<CustomerContact> {
        p.require(Permission::TicketsWrite)?;
        let (p, now) = (p.clone(), self.clock.now());
        let (key, mail) = (self.key.clone(), self.mail.clone());
        let contact = self
            .db
            .write(move |c| {
                let tenant = p.tenant_id;
                let row = contact_for(c, &p, id)?;
                if row.verified_at.is_none() {
                    return Err(Error::new(
                        Code::InvalidState,
                        "The contact must verify its own address first.",
                    ));
                }
                if row.shared_verified_at.is_some() {
                    return Err(Error::conflict(
                        "The contact has already verified the organisation's shared address.",
                    ));
                }
                let org = load_organisation(c, tenant, ids::parse_stored(&row.organisation_id)?)?;
                let Some(shared) = org.shared_email.clone() else {
                    return Err(Error::new(
                        Code::InvalidState,
                        "The organisation has no shared address.",
                    ));
                };
                check_resend(&row, now)?;
                let user = user_of(c, tenant, &row)?;
                let code = store_code(c, &key, &row, Purpose::Shared, &shared, now)?;
                queue_notice(
                    c,
                    &mail,
                    &Notice {
                        tenant,
                        template: SHARED_TEMPLATE,
                        to: Recipient {
                            email: shared.clone(),
                            name: Some(org.name.clone()),
                            culture: Some(user.language.clone()),
                        },
                        data: json!({
                            "name": user.name,
                            "contact_email": row.email,
                            "email": shared,
                            "organisation": org.name,
                            "code": code,
                            "minutes": CODE_TTL_MINUTES,
                        }),
                        dutch: SHARED_NL,
                        english: SHARED_EN,
                    },
                )?;
                reload(c, tenant, id)
            })
            .await?;
        self.mail.wake();
        Ok(contact)
    }

    /// Checks the code mailed to the shared address; the right one lets the contact see the
    /// tickets filed under that address too.
    pub async fn verify_shared(
        &self,
        p: &Principal,
        id: Uuid,
        body: VerificationCode,
    ) -> Result<CustomerContact> {
        p.require(Permission::TicketsWrite)?;
        check_code_format(&body.code)?;
        let (p, now, key) = (p.clone(), self.clock.now(), self.key.clone());
        let verdict = self
            .db
            .write(move |c| {
                let tenant = p.tenant_id;
                let row = contact_for(c, &p, id)?;
                if row.verified_at.is_none() {
                    return Err(Error::new(
                        Code::InvalidState,
                        "The contact must verify its own address first.",
                    ));
                }
                if row.shared_verified_at.is_some() {
                    return Err(Error::conflict(
                        "The contact has already verified the organisation's shared address.",
                    ));
                }
                let org = load_organisation(c, tenant, ids::parse_stored(&row.organisation_id)?)?;
                let Some(shared) = org.shared_email else {
                    return Err(Error::new(
                        Code::InvalidState,
                        "The organisation has no shared address.",
                    ));
                };
                match check_code(c, &key, &row, Purpose::Shared, &shared, &body.code, now)? {
                    Some(v) => Ok(v),
                    None => Ok(Verdict::Verified(Box::new(reload(c, tenant, id)?))),
                }
            })
            .await?;
        verdict_result(
            verdict,
            "ask for a new code (`POST /api/v1/customer-contacts/{id}/shared-email/send-code`).",
        )
    }

    // --- Moving tickets to the shared address ------------------------------------------------

    /// Files a ticket under its organisation's shared address (staff; seed 003: tickets filed
    /// under another address can be moved to the shared one). The organisation is the ticket's,
    /// else that of the verified contact who filed it. Recorded as history (`reporter_email`)
    /// with a `Tickets.Update` event; a ticket already under the shared address is unchanged.
    pub async fn move_to_shared(&self, p: &Principal, number: String) -> Result<Ticket> {
        p.require(Permission::TicketsWrite)?;
        let (p, now, actor) = (p.clone(), self.clock.now(), p.actor());
        self.db
            .write(move |c| {
                require_staff(c, &p)?;
                let tenant = p.tenant_id;
                let row = load_by_number(c, tenant, &Viewer::Staff, &number)?;
                let org = match row.organisation_id.as_deref() {
                    Some(o) => Some(ids::parse_stored(o)?),
                    None => organisation_for_address(c, tenant, &row.reporter_email)?,
                };
                let Some(org) = org else {
                    return Err(Error::new(
                        Code::InvalidState,
                        "The ticket belongs to no organisation (its address is no verified contact's).",
                    ));
                };
                let org = load_organisation(c, tenant, org)?;
                let Some(shared) = org.shared_email.clone() else {
                    return Err(Error::new(
                        Code::InvalidState,
                        "The ticket's organisation has no shared address.",
                    ));
                };
                move_ticket(c, tenant, &row, &org.id, &shared, actor, now)?;
                load_by_number(c, tenant, &Viewer::Staff, &number)?.to_api()
            })
            .await
    }

    /// Files every ticket under `from_email`, the address of one of the organisation's contacts,
    /// under the organisation's shared address (staff); answers the moved numbers.
    pub async fn move_address_to_shared(
        &self,
        p: &Principal,
        id: Uuid,
        body: MoveToShared,
    ) -> Result<MovedTickets> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        v.email("from_email", body.from_email.trim());
        v.finish()?;
        let from = body.from_email.trim().to_lowercase();
        let (p, now, actor) = (p.clone(), self.clock.now(), p.actor());
        self.db
            .write(move |c| {
                require_staff(c, &p)?;
                let tenant = p.tenant_id;
                let org = load_organisation(c, tenant, id)?;
                let Some(shared) = org.shared_email.clone() else {
                    return Err(Error::new(
                        Code::InvalidState,
                        "The organisation has no shared address.",
                    ));
                };
                let member: Option<String> = customer_contacts::table
                    .filter(customer_contacts::tenant_id.eq(tenant.to_string()))
                    .filter(customer_contacts::organisation_id.eq(&org.id))
                    .filter(customer_contacts::email.eq(&from))
                    .select(customer_contacts::user_id)
                    .first(c)
                    .optional()?;
                if member.is_none() {
                    return Err(Error::invalid(
                        "from_email",
                        "is not the address of a contact of this organisation",
                    ));
                }
                let rows: Vec<TicketRow> = tickets::table
                    .filter(tickets::tenant_id.eq(tenant.to_string()))
                    .filter(tickets::reporter_email.eq(&from))
                    .order(tickets::id.asc())
                    .select(TicketRow::as_select())
                    .load(c)?;
                let mut moved = Vec::with_capacity(rows.len());
                for row in &rows {
                    move_ticket(c, tenant, row, &org.id, &shared, actor, now)?;
                    moved.push(row.number.clone());
                }
                Ok(MovedTickets {
                    shared_email: shared,
                    moved,
                })
            })
            .await
    }
}

/// Files `row` under `shared` (organisation `org`), with history and `Tickets.Update`.
fn move_ticket(
    c: &mut AnyConnection,
    tenant: Uuid,
    row: &TicketRow,
    org: &str,
    shared: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    if row.reporter_email.eq_ignore_ascii_case(shared) {
        return Ok(());
    }
    diesel::update(tickets::table.find(&row.id))
        .set((
            tickets::reporter_email.eq(shared),
            tickets::organisation_id.eq(Some(org)),
            tickets::updated_at.eq(to_db(now)),
        ))
        .execute(c)?;
    record_history(
        c,
        row,
        "reporter_email",
        Some(&row.reporter_email),
        Some(shared),
        AuthorKind::Staff,
        actor,
        now,
    )?;
    let ticket = tickets::table
        .find(&row.id)
        .select(TicketRow::as_select())
        .first(c)?
        .to_api()?;
    events::emit(c, TICKETS_UPDATE, tenant, ticket.id, &ticket, actor, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_hashes_bind_contact_purpose_and_address() {
        for _ in 0..100 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
        let k = SecretKey::generate();
        let a = code_hash(&k, "u1", Purpose::Own, "a@x.nl", "123456");
        assert_eq!(a, code_hash(&k, "u1", Purpose::Own, "a@x.nl", "123456"));
        assert_ne!(a, code_hash(&k, "u2", Purpose::Own, "a@x.nl", "123456"));
        assert_ne!(a, code_hash(&k, "u1", Purpose::Shared, "a@x.nl", "123456"));
        assert_ne!(a, code_hash(&k, "u1", Purpose::Own, "b@x.nl", "123456"));
        assert_ne!(a, code_hash(&k, "u1", Purpose::Own, "a@x.nl", "123457"));
        assert_ne!(
            a,
            code_hash(
                &SecretKey::generate(),
                "u1",
                Purpose::Own,
                "a@x.nl",
                "123456"
            )
        );
    }

    #[test]
    fn the_customer_role_holds_exactly_tickets_read_and_write() {
        let p: Vec<Permission> = customer_permissions().iter().collect();
        assert_eq!(p, vec![Permission::TicketsRead, Permission::TicketsWrite]);
    }
}
