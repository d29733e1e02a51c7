//! Ticket operations: create, list, read, change (status/department with history), and post
//! messages — each one transaction that emits its `Tickets.*` events.
//!
//! R-OWN: a caller impersonating a user that is a customer contact is a *customer*: it sees only
//! tickets filed under its own verified address (or its organisation's shared address, once
//! verified), only public messages, and may only reply and resolve. Every other caller holding
//! the permission is staff.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use loket_common::time::{from_db, to_db};
use loket_common::validate::Validator;
use loket_common::{Actor, Code, Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::{
    customer_contacts, organisations, ticket_history, ticket_messages, tickets,
};
use uuid::Uuid;

use crate::api::{
    AuthorKind, Channel, Department, HistoryEntry, IntakeChannel, Message, NewMessage, NewTicket,
    Priority, Ticket, TicketChanges, TicketFilter, TicketStatus, Visibility,
};
use crate::attachments::{Upload, record_uploads, with_attachments};
use crate::events::{
    self, TICKETS_CREATE, TICKETS_MESSAGE, TICKETS_SECURITY_INCIDENT, TICKETS_STATUS_CHANGE,
    TICKETS_UPDATE,
};
use crate::model::{HistoryRow, MessageRow, TicketRow};
use crate::number::TicketNumber;
use crate::privacy::{self, Classification, Scanner};
use crate::{Tickets, confirm, contacts, outgoing, search};

/// Longest name, area or version text.
pub const NAME_MAX: usize = 200;
/// Longest subject.
pub const SUBJECT_MAX: usize = 300;
/// Longest message body (characters).
pub const BODY_MAX: usize = 100_000;
/// Most CC addresses.
pub const CC_MAX: usize = 10;
/// Most labels, and the longest label.
pub const LABELS_MAX: usize = 20;
/// The reporter's culture when the form names none.
pub const DEFAULT_CULTURE: &str = "nl-NL";
/// Default and SLA intervals.
pub const POSTPONE_DEFAULT_DAYS: i64 = 14;
const CONFIRM_HOURS: i64 = 24;
const FIRST_RESPONSE_HOURS: i64 = 24;
const RESPONSE_DAYS: i64 = 14;
/// Tries to draw a free ticket number.
const NUMBER_ATTEMPTS: usize = 8;
/// Bytes of randomness in a tracking code.
pub const TRACKING_CODE_BYTES: usize = 32;

/// Who is looking at tickets.
#[derive(Debug, Clone)]
pub enum Viewer {
    /// Staff: every ticket of the tenant, internal notes included.
    Staff,
    /// A customer contact: only tickets under these (verified, lower-case) addresses.
    Customer {
        /// The contact's user id.
        user_id: Uuid,
        /// Verified addresses; empty until verified (sees nothing).
        emails: Vec<String>,
    },
}

impl Viewer {
    pub(crate) fn is_customer(&self) -> bool {
        matches!(self, Viewer::Customer { .. })
    }

    fn may_see(&self, row: &TicketRow) -> bool {
        match self {
            Viewer::Staff => true,
            Viewer::Customer { emails, .. } => emails.contains(&row.reporter_email.to_lowercase()),
        }
    }

    fn author_kind(&self) -> AuthorKind {
        if self.is_customer() {
            AuthorKind::Customer
        } else {
            AuthorKind::Staff
        }
    }
}

/// The viewer of `p` if staff; a customer is refused with `why` before anything about the
/// ticket is read, so the refusal tells nothing about it.
pub(crate) fn staff_viewer(conn: &mut AnyConnection, p: &Principal, why: &str) -> Result<Viewer> {
    let viewer = viewer(conn, p)?;
    if viewer.is_customer() {
        return Err(Error::forbidden(why));
    }
    Ok(viewer)
}

/// Decides staff or customer for `p` (R-OWN).
pub fn viewer(conn: &mut AnyConnection, p: &Principal) -> Result<Viewer> {
    let Some(user) = p.on_behalf_of() else {
        return Ok(Viewer::Staff);
    };
    let contact: Option<(
        String,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
        String,
    )> = customer_contacts::table
        .filter(customer_contacts::tenant_id.eq(p.tenant_id.to_string()))
        .filter(customer_contacts::user_id.eq(user.to_string()))
        .select((
            customer_contacts::email,
            customer_contacts::verified_at,
            customer_contacts::shared_verified_at,
            customer_contacts::organisation_id,
        ))
        .first(conn)
        .optional()?;
    let Some((email, verified, shared_verified, org)) = contact else {
        return Ok(Viewer::Staff);
    };
    let mut emails = Vec::new();
    if verified.is_some() {
        emails.push(email.to_lowercase());
        if shared_verified.is_some() {
            let shared: Option<Option<String>> = organisations::table
                .filter(organisations::id.eq(&org))
                .select(organisations::shared_email)
                .first(conn)
                .optional()?;
            if let Some(Some(s)) = shared {
                emails.push(s.to_lowercase());
            }
        }
    }
    Ok(Viewer::Customer {
        user_id: user,
        emails,
    })
}

/// Loads a ticket of the tenant by number; 404 for another tenant's or, for a customer, another
/// address's ticket.
pub fn load_by_number(
    conn: &mut AnyConnection,
    tenant: Uuid,
    viewer: &Viewer,
    number: &str,
) -> Result<TicketRow> {
    let row = tickets::table
        .filter(tickets::tenant_id.eq(tenant.to_string()))
        .filter(tickets::number.eq(number))
        .select(TicketRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("ticket"))?;
    if viewer.may_see(&row) {
        Ok(row)
    } else {
        Err(Error::not_found("ticket"))
    }
}

pub(crate) fn load_id(conn: &mut AnyConnection, id: &str) -> Result<TicketRow> {
    Ok(tickets::table
        .find(id)
        .select(TicketRow::as_select())
        .first(conn)?)
}

pub(crate) fn free_number(conn: &mut AnyConnection) -> Result<TicketNumber> {
    for _ in 0..NUMBER_ATTEMPTS {
        let n = TicketNumber::generate();
        let taken: i64 = tickets::table
            .filter(tickets::number.eq(n.as_str()))
            .count()
            .get_result(conn)?;
        if taken == 0 {
            return Ok(n);
        }
    }
    Err(Error::internal("no free ticket number after several draws"))
}

fn check_optional(v: &mut Validator, name: &str, value: Option<&str>, max: usize) {
    if let Some(s) = value {
        v.text(name, s, max);
    }
}

/// Message text: not only white space, at most [`BODY_MAX`] characters, no control characters
/// but tab and line breaks (the `pattern` of the OpenAPI document).
pub(crate) fn check_body(v: &mut Validator, name: &str, value: &str) {
    if value.trim().is_empty() {
        v.fail(name, "must not be empty");
    } else if value.chars().count() > BODY_MAX {
        v.fail(name, format!("must be at most {BODY_MAX} characters"));
    } else if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        v.fail(
            name,
            "must not contain control characters other than tab and line breaks",
        );
    }
}

fn check_labels(v: &mut Validator, labels: &[String]) {
    if labels.len() > LABELS_MAX {
        v.fail("labels", format!("must hold at most {LABELS_MAX} labels"));
    }
    for l in labels {
        if l.is_empty()
            || l.len() > 50
            || !l
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            v.fail(
                "labels",
                "each label is 1–50 characters of a–z, 0–9 and `-`",
            );
            break;
        }
    }
}

/// Records a change of `field` in the history.
#[allow(clippy::too_many_arguments)]
pub fn record_history(
    conn: &mut AnyConnection,
    row: &TicketRow,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
    actor_kind: AuthorKind,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<()> {
    diesel::insert_into(ticket_history::table)
        .values((
            ticket_history::id.eq(ids::new_id().to_string()),
            ticket_history::tenant_id.eq(&row.tenant_id),
            ticket_history::ticket_id.eq(&row.id),
            ticket_history::field.eq(field),
            ticket_history::old_value.eq(old),
            ticket_history::new_value.eq(new),
            ticket_history::actor_kind.eq(actor_kind.as_str()),
            ticket_history::actor_id.eq(actor
                .user_id
                .or(actor.api_account_id)
                .map(|u| u.to_string())),
            ticket_history::at.eq(to_db(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A message to insert.
pub struct MessageInput<'a> {
    pub author_kind: AuthorKind,
    pub author_id: Option<Uuid>,
    pub author_email: Option<&'a str>,
    pub author_name: Option<&'a str>,
    pub visibility: Visibility,
    pub body_text: &'a str,
    pub body_html: Option<&'a str>,
    pub message_id: Option<&'a str>,
    pub in_reply_to: Option<&'a str>,
}

/// Inserts a message; customer (inbound) messages are scanned for personal data (R-PRIVACY) and
/// the scan's classification is returned.
pub fn insert_message(
    conn: &mut AnyConnection,
    row: &TicketRow,
    m: &MessageInput<'_>,
    at: DateTime<Utc>,
) -> Result<(MessageRow, Classification)> {
    let scan = if m.author_kind == AuthorKind::Customer {
        Scanner::default()
            .ignore(
                m.author_email
                    .into_iter()
                    .chain([row.reporter_email.as_str()]),
            )
            .scan(m.body_text)
    } else {
        privacy::Scan::default()
    };
    insert_message_scanned(conn, row, m, scan, at)
}

/// [`insert_message`] with the privacy scan done by the caller (inbound mail scans the body
/// without quotes and signature, ignoring the envelope's addresses).
pub fn insert_message_scanned(
    conn: &mut AnyConnection,
    row: &TicketRow,
    m: &MessageInput<'_>,
    scan: privacy::Scan,
    at: DateTime<Utc>,
) -> Result<(MessageRow, Classification)> {
    let kinds: Vec<privacy::Kind> = scan.kinds().into_iter().collect();
    let persons = i32::try_from(scan.persons()).unwrap_or(i32::MAX);
    let id = ids::new_id().to_string();
    diesel::insert_into(ticket_messages::table)
        .values((
            ticket_messages::id.eq(&id),
            ticket_messages::tenant_id.eq(&row.tenant_id),
            ticket_messages::ticket_id.eq(&row.id),
            ticket_messages::author_kind.eq(m.author_kind.as_str()),
            ticket_messages::author_id.eq(m.author_id.map(|u| u.to_string())),
            ticket_messages::author_email.eq(m.author_email),
            ticket_messages::author_name.eq(m.author_name),
            ticket_messages::visibility.eq(m.visibility.as_str()),
            ticket_messages::body_text.eq(m.body_text),
            ticket_messages::body_html.eq(m.body_html),
            ticket_messages::message_id.eq(m.message_id),
            ticket_messages::in_reply_to.eq(m.in_reply_to),
            ticket_messages::privacy_kinds
                .eq(serde_json::to_string(&kinds).map_err(Error::internal)?),
            ticket_messages::privacy_persons.eq(persons),
            ticket_messages::created_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    let msg = ticket_messages::table
        .find(&id)
        .select(MessageRow::as_select())
        .first(conn)?;
    Ok((msg, scan.classification()))
}

/// Adds the incident label of `class` (if any, and not already there); true when it changed.
pub fn add_incident_label(
    conn: &mut AnyConnection,
    row: &TicketRow,
    class: Classification,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<bool> {
    let Some(label) = class.label() else {
        return Ok(false);
    };
    let mut labels = row.labels()?;
    if labels.iter().any(|l| l == label) {
        return Ok(false);
    }
    let old = labels.join(",");
    labels.push(label.to_owned());
    diesel::update(tickets::table.find(&row.id))
        .set(tickets::labels.eq(serde_json::to_string(&labels).map_err(Error::internal)?))
        .execute(conn)?;
    record_history(
        conn,
        row,
        "labels",
        Some(&old),
        Some(&labels.join(",")),
        AuthorKind::System,
        actor,
        at,
    )?;
    Ok(true)
}

/// Sets the status (clearing `postponed_until` unless postponed, `resolved_at` unless resolved)
/// and records the change; false when it already had that status.
pub fn set_status(
    conn: &mut AnyConnection,
    row: &TicketRow,
    to: TicketStatus,
    actor_kind: AuthorKind,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<bool> {
    let from = row.status()?;
    if from == to {
        return Ok(false);
    }
    let db_at = to_db(at);
    diesel::update(tickets::table.find(&row.id))
        .set((
            tickets::status.eq(to.as_str()),
            tickets::resolved_at.eq((to == TicketStatus::Resolved).then_some(db_at)),
            tickets::updated_at.eq(db_at),
        ))
        .execute(conn)?;
    if to != TicketStatus::Postponed {
        diesel::update(tickets::table.find(&row.id))
            .set(tickets::postponed_until.eq(None::<chrono::NaiveDateTime>))
            .execute(conn)?;
    }
    record_history(
        conn,
        row,
        "status",
        Some(from.as_str()),
        Some(to.as_str()),
        actor_kind,
        actor,
        at,
    )?;
    Ok(true)
}

impl Tickets {
    /// Creates a ticket from the portal form, or (staff) a phone call.
    pub async fn create(&self, p: &Principal, new: NewTicket) -> Result<Ticket> {
        self.create_with(p, new, Vec::new()).await
    }

    /// Creates a ticket with files attached to its first message (scanned, R-PRIVACY).
    pub async fn create_with(
        &self,
        p: &Principal,
        new: NewTicket,
        uploads: Vec<Upload>,
    ) -> Result<Ticket> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        v.text("contact_name", &new.contact_name, NAME_MAX);
        v.email("contact_email", new.contact_email.trim());
        if new.cc_emails.len() > CC_MAX {
            v.fail("cc_emails", format!("must hold at most {CC_MAX} addresses"));
        }
        for cc in &new.cc_emails {
            v.email("cc_emails", cc.trim());
        }
        if let Some(l) = &new.language {
            v.culture("language", l);
        }
        check_optional(
            &mut v,
            "software_version",
            new.software_version.as_deref(),
            100,
        );
        check_optional(&mut v, "area", new.area.as_deref(), NAME_MAX);
        v.text("subject", &new.subject, SUBJECT_MAX);
        check_body(&mut v, "description", &new.description);
        v.finish()?;
        let staged = self.stage_uploads(uploads).await?;
        let kept = staged.clone();
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        let p = p.clone();
        let (mail, public_url) = (self.mail.clone(), self.public_url.clone());
        let result = self
            .db
            .write(move |c| {
                let viewer = viewer(c, &p)?;
                let email = new.contact_email.trim().to_lowercase();
                if let Viewer::Customer { emails, .. } = &viewer {
                    if !emails.contains(&email) {
                        return Err(Error::forbidden(
                            "A customer files tickets under their own verified address only.",
                        ));
                    }
                    if new.channel == Some(IntakeChannel::Phone) || new.priority.is_some() {
                        return Err(Error::forbidden("Only staff set the channel or priority."));
                    }
                }
                let organisation = contacts::organisation_for_address(c, tenant, &email)?;
                let number = free_number(c)?;
                let code = loket_common::crypto::random_token(TRACKING_CODE_BYTES);
                let priority = new.priority.unwrap_or(Priority::Normal);
                let severe = priority == Priority::Disruption;
                let id = ids::new_id();
                let at = to_db(now);
                let cc: Vec<String> = new
                    .cc_emails
                    .iter()
                    .map(|e| e.trim().to_lowercase())
                    .collect();
                diesel::insert_into(tickets::table)
                    .values((
                        tickets::id.eq(id.to_string()),
                        tickets::tenant_id.eq(tenant.to_string()),
                        tickets::number.eq(number.as_str()),
                        tickets::channel
                            .eq(Channel::from(new.channel.unwrap_or(IntakeChannel::Portal))
                                .as_str()),
                        tickets::subject.eq(new.subject.trim()),
                        tickets::status.eq(TicketStatus::New.as_str()),
                        tickets::department.eq(Department::Helpdesk.as_str()),
                        tickets::priority.eq(priority.as_str()),
                        tickets::disruption.eq(severe),
                        tickets::labels.eq("[]"),
                        tickets::reporter_email.eq(&email),
                        tickets::reporter_name.eq(Some(new.contact_name.trim())),
                        tickets::reporter_language
                            .eq(new.language.as_deref().unwrap_or(DEFAULT_CULTURE)),
                        tickets::cc_emails.eq(serde_json::to_string(&cc).map_err(Error::internal)?),
                        tickets::organisation_id.eq(organisation.map(|o| o.to_string())),
                        tickets::software_version
                            .eq(new.software_version.as_deref().map(str::trim)),
                        tickets::environment.eq(new.environment.map(|e| e.as_str())),
                        tickets::area.eq(new.area.as_deref().map(str::trim)),
                        tickets::tracking_code_hash
                            .eq(loket_common::crypto::sha256_hex(code.as_bytes())),
                        tickets::confirm_due.eq(to_db(now + Duration::hours(CONFIRM_HOURS))),
                        tickets::first_response_due.eq(to_db(if severe {
                            now
                        } else {
                            now + Duration::hours(FIRST_RESPONSE_HOURS)
                        })),
                        tickets::response_due.eq(to_db(if severe {
                            now
                        } else {
                            now + Duration::days(RESPONSE_DAYS)
                        })),
                        tickets::created_at.eq(at),
                        tickets::updated_at.eq(at),
                    ))
                    .execute(c)?;
                let row = load_id(c, &id.to_string())?;
                let (first, class) = insert_message(
                    c,
                    &row,
                    &MessageInput {
                        author_kind: AuthorKind::Customer,
                        author_id: p.on_behalf_of().filter(|_| viewer.is_customer()),
                        author_email: Some(&email),
                        author_name: Some(new.contact_name.trim()),
                        visibility: Visibility::Public,
                        body_text: &new.description,
                        body_html: None,
                        message_id: None,
                        in_reply_to: None,
                    },
                    now,
                )?;
                let incident = add_incident_label(c, &row, class, actor, now)?;
                let ticket = load_id(c, &row.id)?.to_api()?;
                events::emit(c, TICKETS_CREATE, tenant, id, &ticket, actor, now)?;
                record_uploads(c, &row, &first.id, staged, actor, now)?;
                let ticket = load_id(c, &row.id)?.to_api()?;
                if incident {
                    events::emit(
                        c,
                        TICKETS_SECURITY_INCIDENT,
                        tenant,
                        id,
                        &ticket,
                        actor,
                        now,
                    )?;
                }
                let tracking_url = confirm::tracking_url(&public_url, &row.number, &code);
                let confirmed = confirm::queue(
                    c,
                    &mail,
                    &confirm::Confirmation::of(tenant, &row, &tracking_url),
                )?;
                if confirmed {
                    diesel::update(tickets::table.find(&row.id))
                        .set(tickets::confirmed_at.eq(at))
                        .execute(c)?;
                }
                Ok((ticket, code))
            })
            .await;
        let (ticket, _code) = match result {
            Ok(r) => r,
            Err(e) => {
                self.discard_staged(&kept).await;
                return Err(e);
            }
        };
        self.mail.wake();
        Ok(ticket)
    }

    /// The tenant's tickets (a customer's own), newest id last, filtered.
    pub async fn list(
        &self,
        p: &Principal,
        filter: &TicketFilter,
        page: &PageQuery,
    ) -> Result<Page<Ticket>> {
        p.require(Permission::TicketsRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let (p, filter, now) = (p.clone(), filter.clone(), self.clock.now());
        let rows = self
            .db
            .read(move |c| {
                let viewer = viewer(c, &p)?;
                // A search on SQLite starts from its hits (see `search::eq_unindexed`).
                let from_hits = filter.q.is_some() && matches!(c, AnyConnection::Sqlite(_));
                let tenant = p.tenant_id.to_string();
                let mut q = tickets::table
                    .order(tickets::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(TicketRow::as_select())
                    .into_boxed();
                q = if from_hits {
                    q.filter(search::eq_unindexed("tickets.tenant_id", tenant))
                } else {
                    q.filter(tickets::tenant_id.eq(tenant))
                };
                if let Viewer::Customer { emails, .. } = &viewer {
                    q = q.filter(tickets::reporter_email.eq_any(emails.clone()));
                }
                if let Some(after) = after {
                    q = q.filter(tickets::id.gt(after));
                }
                if let Some(n) = filter.number {
                    q = q.filter(tickets::number.eq(n.trim().to_uppercase()));
                }
                if let Some(s) = filter.status {
                    q = if from_hits {
                        q.filter(search::eq_unindexed(
                            "tickets.status",
                            s.as_str().to_owned(),
                        ))
                    } else {
                        q.filter(tickets::status.eq(s.as_str()))
                    };
                }
                if let Some(d) = filter.department {
                    q = q.filter(tickets::department.eq(d.as_str()));
                }
                match filter.open {
                    Some(true) => q = q.filter(tickets::status.ne(TicketStatus::Resolved.as_str())),
                    Some(false) => {
                        q = q.filter(tickets::status.eq(TicketStatus::Resolved.as_str()))
                    }
                    None => {}
                }
                if filter.sla.is_some() {
                    q = q
                        .filter(tickets::status.ne(TicketStatus::Resolved.as_str()))
                        .filter(
                            tickets::first_response_at
                                .is_null()
                                .and(tickets::first_response_due.lt(to_db(now)))
                                .or(tickets::response_due.lt(to_db(now))),
                        );
                }
                if let Some(kw) = &filter.q {
                    match search::matching(c, kw, !viewer.is_customer()) {
                        Some(m) => q = q.filter(m),
                        None => return Ok(Vec::new()),
                    }
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), TicketRow::to_api)
    }

    /// One ticket by number.
    pub async fn get(&self, p: &Principal, number: String) -> Result<Ticket> {
        p.require(Permission::TicketsRead)?;
        let p = p.clone();
        self.db
            .read(move |c| {
                let viewer = viewer(c, &p)?;
                load_by_number(c, p.tenant_id, &viewer, &number)?.to_api()
            })
            .await
    }

    /// Staff change status, department, priority, release version, postponement and labels;
    /// status and department changes are kept as history.
    pub async fn update(&self, p: &Principal, number: String, ch: TicketChanges) -> Result<Ticket> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        if let Some(Some(r)) = &ch.release_version {
            v.text("release_version", r, 100);
        }
        if let Some(l) = &ch.labels {
            check_labels(&mut v, l);
        }
        let now = self.clock.now();
        if let Some(Some(until)) = ch.postponed_until
            && until <= now
        {
            v.fail("postponed_until", "must be in the future");
        }
        v.finish()?;
        let (tenant, actor, p) = (p.tenant_id, p.actor(), p.clone());
        self.db
            .write(move |c| {
                let viewer = staff_viewer(
                    c,
                    &p,
                    "Customers may reply and resolve; other changes are for staff.",
                )?;
                let row = load_by_number(c, tenant, &viewer, &number)?;
                let id = ids::parse_stored(&row.id)?;
                let release = match &ch.release_version {
                    Some(r) => r.as_deref().map(str::trim).map(str::to_owned),
                    None => row.release_version.clone(),
                };
                let department = ch.department.unwrap_or(row.department()?);
                if department == Department::Planned && release.is_none() {
                    return Err(Error::invalid(
                        "release_version",
                        "is required for the `planned` department",
                    ));
                }
                let status = ch.status.unwrap_or(row.status()?);
                let postponed_until = match (status, ch.postponed_until) {
                    (TicketStatus::Postponed, Some(Some(t))) => Some(t),
                    (TicketStatus::Postponed, _) => Some(
                        row.postponed_until
                            .map(from_db)
                            .filter(|t| *t > now && row.status == TicketStatus::Postponed.as_str())
                            .unwrap_or(now + Duration::days(POSTPONE_DEFAULT_DAYS)),
                    ),
                    (_, Some(Some(_))) => {
                        return Err(Error::new(
                            Code::InvalidState,
                            "`postponed_until` needs the status `postponed`.",
                        ));
                    }
                    _ => None,
                };
                let status_changed = set_status(c, &row, status, AuthorKind::Staff, actor, now)?;
                let mut updated = false;
                if department.as_str() != row.department {
                    record_history(
                        c,
                        &row,
                        "department",
                        Some(&row.department),
                        Some(department.as_str()),
                        AuthorKind::Staff,
                        actor,
                        now,
                    )?;
                    updated = true;
                }
                if release != row.release_version {
                    record_history(
                        c,
                        &row,
                        "release_version",
                        row.release_version.as_deref(),
                        release.as_deref(),
                        AuthorKind::Staff,
                        actor,
                        now,
                    )?;
                    updated = true;
                }
                let labels = match &ch.labels {
                    Some(l) => {
                        let mut l = l.clone();
                        l.sort();
                        l.dedup();
                        let old = row.labels()?;
                        if old != l {
                            record_history(
                                c,
                                &row,
                                "labels",
                                Some(&old.join(",")),
                                Some(&l.join(",")),
                                AuthorKind::Staff,
                                actor,
                                now,
                            )?;
                            updated = true;
                        }
                        l
                    }
                    None => row.labels()?,
                };
                let priority = ch.priority.map(Priority::as_str).unwrap_or(&row.priority);
                updated |= priority != row.priority
                    || postponed_until.map(to_db) != row.postponed_until
                        && status == TicketStatus::Postponed
                        && !status_changed;
                diesel::update(tickets::table.find(&row.id))
                    .set((
                        tickets::department.eq(department.as_str()),
                        tickets::release_version.eq(&release),
                        tickets::labels
                            .eq(serde_json::to_string(&labels).map_err(Error::internal)?),
                        tickets::priority.eq(priority),
                        tickets::disruption.eq(priority == Priority::Disruption.as_str()),
                        tickets::postponed_until.eq(postponed_until.map(to_db)),
                        tickets::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                let ticket = load_id(c, &row.id)?.to_api()?;
                if status_changed {
                    events::emit(c, TICKETS_STATUS_CHANGE, tenant, id, &ticket, actor, now)?;
                }
                if updated {
                    events::emit(c, TICKETS_UPDATE, tenant, id, &ticket, actor, now)?;
                }
                Ok(ticket)
            })
            .await
    }

    /// Marks a ticket resolved (staff, or the customer who owns it).
    pub async fn resolve(&self, p: &Principal, number: String) -> Result<Ticket> {
        p.require(Permission::TicketsWrite)?;
        let (tenant, actor, now, p) = (p.tenant_id, p.actor(), self.clock.now(), p.clone());
        self.db
            .write(move |c| {
                let viewer = viewer(c, &p)?;
                let row = load_by_number(c, tenant, &viewer, &number)?;
                let changed = set_status(
                    c,
                    &row,
                    TicketStatus::Resolved,
                    viewer.author_kind(),
                    actor,
                    now,
                )?;
                let ticket = load_id(c, &row.id)?.to_api()?;
                if changed {
                    events::emit(
                        c,
                        TICKETS_STATUS_CHANGE,
                        tenant,
                        ticket.id,
                        &ticket,
                        actor,
                        now,
                    )?;
                }
                Ok(ticket)
            })
            .await
    }

    /// The messages of a ticket, oldest first; customers see public ones only.
    pub async fn messages(&self, p: &Principal, number: String) -> Result<Vec<Message>> {
        p.require(Permission::TicketsRead)?;
        let p = p.clone();
        self.db
            .read(move |c| {
                let viewer = viewer(c, &p)?;
                let row = load_by_number(c, p.tenant_id, &viewer, &number)?;
                let mut q = ticket_messages::table
                    .filter(ticket_messages::ticket_id.eq(&row.id))
                    .order((ticket_messages::created_at.asc(), ticket_messages::id.asc()))
                    .select(MessageRow::as_select())
                    .into_boxed();
                if viewer.is_customer() {
                    q = q.filter(ticket_messages::visibility.eq(Visibility::Public.as_str()));
                }
                let rows: Vec<MessageRow> = q.load(c)?;
                with_attachments(c, &rows)
            })
            .await
    }

    /// Posts a message. A staff public reply sets `answered`; a customer reply sets `open`
    /// (re-opening a resolved or postponed ticket); internal notes change nothing.
    pub async fn post_message(
        &self,
        p: &Principal,
        number: String,
        new: NewMessage,
    ) -> Result<Message> {
        self.post_message_with(p, number, new, Vec::new()).await
    }

    /// Posts a message with files attached (scanned, R-PRIVACY); as [`Tickets::post_message`].
    pub async fn post_message_with(
        &self,
        p: &Principal,
        number: String,
        new: NewMessage,
        uploads: Vec<Upload>,
    ) -> Result<Message> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        check_body(&mut v, "body", &new.body);
        v.finish()?;
        let staged = self.stage_uploads(uploads).await?;
        let kept = staged.clone();
        let (tenant, actor, now, p) = (p.tenant_id, p.actor(), self.clock.now(), p.clone());
        let (mail, key) = (self.mail.clone(), self.key.clone());
        let result = self
            .db
            .write(move |c| {
                let viewer = viewer(c, &p)?;
                let row = load_by_number(c, tenant, &viewer, &number)?;
                let kind = viewer.author_kind();
                let mut reply_mailed = false;
                let visibility = match (&viewer, new.visibility) {
                    (Viewer::Customer { .. }, Some(Visibility::Internal)) => {
                        return Err(Error::invalid(
                            "visibility",
                            "customers post public messages only",
                        ));
                    }
                    (_, Some(vis)) => vis,
                    (_, None) => Visibility::Public,
                };
                let (msg, class) = insert_message(
                    c,
                    &row,
                    &MessageInput {
                        author_kind: kind,
                        author_id: p.on_behalf_of(),
                        author_email: None,
                        author_name: None,
                        visibility,
                        body_text: &new.body,
                        body_html: None,
                        message_id: None,
                        in_reply_to: None,
                    },
                    now,
                )?;
                let db_now = to_db(now);
                let status_changed = match (kind, visibility) {
                    (AuthorKind::Customer, _) => {
                        diesel::update(tickets::table.find(&row.id))
                            .set(tickets::last_customer_message_at.eq(db_now))
                            .execute(c)?;
                        set_status(c, &row, TicketStatus::Open, kind, actor, now)?
                    }
                    (AuthorKind::Staff, Visibility::Public) => {
                        if row.first_response_at.is_none() {
                            diesel::update(tickets::table.find(&row.id))
                                .set(tickets::first_response_at.eq(db_now))
                                .execute(c)?;
                        }
                        let msg_id = ids::parse_stored(&msg.id)?;
                        reply_mailed =
                            outgoing::queue_reply(c, &mail, &key, &row, msg_id, &new.body, now)?;
                        set_status(c, &row, TicketStatus::Answered, kind, actor, now)?
                    }
                    _ => false,
                };
                let incident = add_incident_label(c, &row, class, actor, now)?;
                let ticket = load_id(c, &row.id)?.to_api()?;
                events::emit_message_events(
                    c,
                    TICKETS_MESSAGE,
                    tenant,
                    &ticket,
                    status_changed,
                    incident,
                    actor,
                    now,
                )?;
                record_uploads(c, &row, &msg.id, staged, actor, now)?;
                let msg = with_attachments(c, std::slice::from_ref(&msg))?
                    .pop()
                    .ok_or_else(|| Error::internal("the new message vanished"))?;
                Ok((msg, reply_mailed))
            })
            .await;
        match result {
            Ok((msg, reply_mailed)) => {
                if reply_mailed {
                    self.mail.wake();
                }
                Ok(msg)
            }
            Err(e) => {
                self.discard_staged(&kept).await;
                Err(e)
            }
        }
    }

    /// Status, department and label history of a ticket (staff).
    pub async fn history(&self, p: &Principal, number: String) -> Result<Vec<HistoryEntry>> {
        p.require(Permission::TicketsRead)?;
        let p = p.clone();
        self.db
            .read(move |c| {
                let viewer = staff_viewer(c, &p, "The history is for staff.")?;
                let row = load_by_number(c, p.tenant_id, &viewer, &number)?;
                ticket_history::table
                    .filter(ticket_history::ticket_id.eq(&row.id))
                    .order((ticket_history::at.asc(), ticket_history::id.asc()))
                    .select(HistoryRow::as_select())
                    .load(c)?
                    .iter()
                    .map(HistoryRow::to_api)
                    .collect()
            })
            .await
    }
}
