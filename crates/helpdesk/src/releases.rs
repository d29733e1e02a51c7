//! Releases and their notes (seed 003 §2 "wijzigingsdocumentatie", §4 departments `planned` and
//! `delivered`).
//!
//! A ticket in department `planned` names its release (`release_version`). Delivering the
//! release is one transaction: the release becomes `delivered`, exactly the tickets of the same
//! tenant planned for that version move to `delivered` (history entry and `Tickets.Update`
//! each), every reporter gets a mail in their language with the release-notes link, and
//! `Releases.Deliver` fires. A second delivery is refused (409).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use loket_common::time::{from_db, to_db};
use loket_common::validate::Validator;
use loket_common::{Code, Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_mail::PlatformMessage;
use loket_mail::api::{NewMail, Recipient};
use loket_storage::AnyConnection;
use loket_storage::schema::{releases, tickets};
use loket_tickets::api::{AuthorKind, Department, Ticket};
use loket_tickets::model::TicketRow;
use loket_tickets::service::{Viewer, record_history, viewer};
use serde_json::json;
use uuid::Uuid;

use crate::api::{
    NewRelease, Release, ReleaseChanges, ReleaseDelivery, ReleaseKind, ReleaseNote, ReleaseStatus,
};
use crate::events::{self, RELEASES_CREATE, RELEASES_DELIVER, RELEASES_UPDATE};
use crate::{Helpdesk, check_body, require_staff, stored};

/// The tenant template code of the delivery mail to a reporter.
pub const TEMPLATE: &str = "ReleaseDelivered";
/// Most notes (cultures) per release.
pub const NOTES_MAX: usize = 20;
/// Longest note (characters).
pub const NOTE_MAX: usize = 100_000;

/// A release row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = releases)]
pub struct ReleaseRow {
    pub id: String,
    pub tenant_id: String,
    pub version: String,
    pub kind: String,
    pub status: String,
    pub planned_date: Option<NaiveDate>,
    pub delivered_at: Option<NaiveDateTime>,
    pub notes: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ReleaseRow {
    fn notes(&self) -> Result<BTreeMap<String, String>> {
        serde_json::from_str(&self.notes).map_err(Error::internal)
    }

    /// The API representation.
    pub fn to_api(&self) -> Result<Release> {
        Ok(Release {
            id: ids::parse_stored(&self.id)?,
            version: self.version.clone(),
            kind: stored("kind", ReleaseKind::parse(&self.kind), &self.kind)?,
            status: stored("status", ReleaseStatus::parse(&self.status), &self.status)?,
            planned_date: self.planned_date,
            delivered_at: self.delivered_at.map(from_db),
            notes: self
                .notes()?
                .into_iter()
                .map(|(culture, body)| ReleaseNote { culture, body })
                .collect(),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// Whether `v` is `major.minor.patch` (each 1–6 digits, no leading zero).
pub fn is_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 6
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

fn check_notes(v: &mut Validator, notes: &[ReleaseNote]) -> BTreeMap<String, String> {
    if notes.len() > NOTES_MAX {
        v.fail("notes", format!("must hold at most {NOTES_MAX} notes"));
    }
    let mut map = BTreeMap::new();
    for n in notes {
        v.culture("notes.culture", &n.culture);
        check_body(v, "notes.body", &n.body, NOTE_MAX);
        if map.insert(n.culture.clone(), n.body.clone()).is_some() {
            v.fail("notes", "holds one note per culture");
        }
    }
    map
}

fn load(conn: &mut AnyConnection, tenant: Uuid, version: &str) -> Result<ReleaseRow> {
    releases::table
        .filter(releases::tenant_id.eq(tenant.to_string()))
        .filter(releases::version.eq(version))
        .select(ReleaseRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("release"))
}

/// What the delivery mail to one reporter says.
struct Notice<'a> {
    tenant: Uuid,
    version: &'a str,
    number: &'a str,
    subject: &'a str,
    email: &'a str,
    name: Option<&'a str>,
    culture: &'a str,
    notes_url: &'a str,
}

/// Queues the delivery mail: the tenant's template `ReleaseDelivered` (culture by the reporter's
/// language) from the tenant's sender, else a built-in text through the platform's sender, else
/// nothing (`Ok(false)`).
fn queue_notice(conn: &mut AnyConnection, mail: &loket_mail::Mail, n: &Notice<'_>) -> Result<bool> {
    let data = json!({
        "version": n.version,
        "number": n.number,
        "subject": n.subject,
        "name": n.name,
        "notes_url": n.notes_url,
    });
    let to = Recipient {
        email: n.email.to_owned(),
        name: n.name.map(str::to_owned),
        culture: Some(n.culture.to_owned()),
    };
    let templated = NewMail {
        sender_id: None,
        to: to.clone(),
        template: TEMPLATE.to_owned(),
        data: data.as_object().cloned(),
        documents: None,
    };
    match mail.queue_in(conn, n.tenant, &templated) {
        Ok(_) => return Ok(true),
        // No template or no usable sender: refused before anything is written.
        Err(e) if matches!(e.code, Code::NotFound | Code::Unavailable | Code::Conflict) => {}
        Err(e) => return Err(e),
    }
    let (subject, body) = if n.culture.starts_with("nl") {
        (
            "Uw melding [{{ number }}] is opgelost in versie {{ version }}",
            "Beste {{ name or 'melder' }},\n\nDe oplossing voor uw melding \"{{ subject }}\" ({{ number }}) is opgeleverd in versie {{ version }}.\nDe release notes staan op {{ notes_url }}\n",
        )
    } else {
        (
            "Your ticket [{{ number }}] is solved in version {{ version }}",
            "Dear {{ name or 'reporter' }},\n\nThe solution for your ticket \"{{ subject }}\" ({{ number }}) was delivered in version {{ version }}.\nRead the release notes at {{ notes_url }}\n",
        )
    };
    let platform = PlatformMessage {
        tenant_id: Some(n.tenant),
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
                ticket = n.number,
                "no mail sender configured; the release mail was not queued"
            );
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

impl Helpdesk {
    /// Creates a planned release (staff).
    pub async fn create_release(&self, p: &Principal, new: NewRelease) -> Result<Release> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        if !is_version(&new.version) {
            v.fail("version", "must be `major.minor.patch`, e.g. `7.4.1`");
        }
        let notes = check_notes(&mut v, &new.notes);
        v.finish()?;
        let (tenant, actor, now, p) = (p.tenant_id, p.actor(), self.clock.now(), p.clone());
        self.db
            .write(move |c| {
                require_staff(c, &p)?;
                let exists: i64 = releases::table
                    .filter(releases::tenant_id.eq(tenant.to_string()))
                    .filter(releases::version.eq(&new.version))
                    .count()
                    .get_result(c)?;
                if exists > 0 {
                    return Err(Error::conflict(format!(
                        "Release {} already exists.",
                        new.version
                    )));
                }
                let id = ids::new_id();
                let at = to_db(now);
                diesel::insert_into(releases::table)
                    .values((
                        releases::id.eq(id.to_string()),
                        releases::tenant_id.eq(tenant.to_string()),
                        releases::version.eq(&new.version),
                        releases::kind.eq(new.kind.as_str()),
                        releases::status.eq(ReleaseStatus::Planned.as_str()),
                        releases::planned_date.eq(new.planned_date),
                        releases::notes.eq(serde_json::to_string(&notes).map_err(Error::internal)?),
                        releases::created_at.eq(at),
                        releases::updated_at.eq(at),
                    ))
                    .execute(c)?;
                let r = load(c, tenant, &new.version)?.to_api()?;
                events::emit(c, RELEASES_CREATE, tenant, id, &r, actor, now)?;
                Ok(r)
            })
            .await
    }

    /// The tenant's releases, oldest first.
    pub async fn list_releases(&self, p: &Principal, page: &PageQuery) -> Result<Page<Release>> {
        p.require(Permission::TicketsRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id;
        let rows = self
            .db
            .read(move |c| {
                let mut q = releases::table
                    .filter(releases::tenant_id.eq(tenant.to_string()))
                    .order(releases::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(ReleaseRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(releases::id.gt(after));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), ReleaseRow::to_api)
    }

    /// One release by version (customers read the notes here).
    pub async fn get_release(&self, p: &Principal, version: String) -> Result<Release> {
        p.require(Permission::TicketsRead)?;
        let tenant = p.tenant_id;
        self.db
            .read(move |c| load(c, tenant, &version)?.to_api())
            .await
    }

    /// Changes kind, planned date (while planned) or notes (staff).
    pub async fn update_release(
        &self,
        p: &Principal,
        version: String,
        ch: ReleaseChanges,
    ) -> Result<Release> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        let notes = ch.notes.as_deref().map(|n| check_notes(&mut v, n));
        v.finish()?;
        let (tenant, actor, now, p) = (p.tenant_id, p.actor(), self.clock.now(), p.clone());
        self.db
            .write(move |c| {
                require_staff(c, &p)?;
                let row = load(c, tenant, &version)?;
                if row.status == ReleaseStatus::Delivered.as_str()
                    && (ch.kind.is_some() || ch.planned_date.is_some())
                {
                    return Err(Error::new(
                        Code::InvalidState,
                        "A delivered release keeps its kind and planned date; only its notes change.",
                    ));
                }
                let kind = ch.kind.map(ReleaseKind::as_str).unwrap_or(&row.kind);
                let planned = ch.planned_date.unwrap_or(row.planned_date);
                let notes = match notes {
                    Some(n) => serde_json::to_string(&n).map_err(Error::internal)?,
                    None => row.notes.clone(),
                };
                diesel::update(releases::table.find(&row.id))
                    .set((
                        releases::kind.eq(kind),
                        releases::planned_date.eq(planned),
                        releases::notes.eq(&notes),
                        releases::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                let r = load(c, tenant, &version)?.to_api()?;
                events::emit(c, RELEASES_UPDATE, tenant, r.id, &r, actor, now)?;
                Ok(r)
            })
            .await
    }

    /// Delivers a release: one transaction moving exactly its planned tickets to `delivered`,
    /// recording history, emitting events and queueing one mail per reporter.
    pub async fn deliver_release(&self, p: &Principal, version: String) -> Result<ReleaseDelivery> {
        p.require(Permission::TicketsWrite)?;
        let (tenant, actor, now, p) = (p.tenant_id, p.actor(), self.clock.now(), p.clone());
        let (mail, public_url) = (self.mail.clone(), self.public_url.clone());
        let delivery = self
            .db
            .write(move |c| {
                require_staff(c, &p)?;
                let row = load(c, tenant, &version)?;
                if row.status == ReleaseStatus::Delivered.as_str() {
                    return Err(Error::new(
                        Code::InvalidState,
                        format!("Release {version} was already delivered."),
                    ));
                }
                let at = to_db(now);
                diesel::update(releases::table.find(&row.id))
                    .set((
                        releases::status.eq(ReleaseStatus::Delivered.as_str()),
                        releases::delivered_at.eq(Some(at)),
                        releases::updated_at.eq(at),
                    ))
                    .execute(c)?;
                let planned: Vec<TicketRow> = tickets::table
                    .filter(tickets::tenant_id.eq(tenant.to_string()))
                    .filter(tickets::department.eq(Department::Planned.as_str()))
                    .filter(tickets::release_version.eq(&version))
                    .order(tickets::id.asc())
                    .select(TicketRow::as_select())
                    .load(c)?;
                let notes_url = format!("{public_url}/api/v1/releases/{version}");
                let mut numbers = Vec::with_capacity(planned.len());
                let mut queued = 0u32;
                for t in &planned {
                    diesel::update(tickets::table.find(&t.id))
                        .set((
                            tickets::department.eq(Department::Delivered.as_str()),
                            tickets::updated_at.eq(at),
                        ))
                        .execute(c)?;
                    record_history(
                        c,
                        t,
                        "department",
                        Some(&t.department),
                        Some(Department::Delivered.as_str()),
                        AuthorKind::Staff,
                        actor,
                        now,
                    )?;
                    let ticket = tickets::table
                        .find(&t.id)
                        .select(TicketRow::as_select())
                        .first(c)?
                        .to_api()?;
                    loket_tickets::events::emit(
                        c,
                        loket_tickets::events::TICKETS_UPDATE,
                        tenant,
                        ticket.id,
                        &ticket,
                        actor,
                        now,
                    )?;
                    if queue_notice(
                        c,
                        &mail,
                        &Notice {
                            tenant,
                            version: &version,
                            number: &t.number,
                            subject: &t.subject,
                            email: &t.reporter_email,
                            name: t.reporter_name.as_deref(),
                            culture: &t.reporter_language,
                            notes_url: &notes_url,
                        },
                    )? {
                        queued += 1;
                    }
                    numbers.push(t.number.clone());
                }
                let release = load(c, tenant, &version)?.to_api()?;
                events::emit(
                    c,
                    RELEASES_DELIVER,
                    tenant,
                    release.id,
                    &release,
                    actor,
                    now,
                )?;
                Ok(ReleaseDelivery {
                    release,
                    tickets: numbers,
                    mails_queued: queued,
                })
            })
            .await?;
        self.mail.wake();
        Ok(delivery)
    }

    /// The tickets a release solves: planned for it, or delivered with it. Customers see only
    /// their own (R-OWN).
    pub async fn release_tickets(&self, p: &Principal, version: String) -> Result<Vec<Ticket>> {
        p.require(Permission::TicketsRead)?;
        let p = p.clone();
        self.db
            .read(move |c| {
                let tenant = p.tenant_id;
                load(c, tenant, &version)?;
                let who = viewer(c, &p)?;
                let mut q = tickets::table
                    .filter(tickets::tenant_id.eq(tenant.to_string()))
                    .filter(tickets::release_version.eq(&version))
                    .filter(
                        tickets::department
                            .eq_any([Department::Planned.as_str(), Department::Delivered.as_str()]),
                    )
                    .order(tickets::id.asc())
                    .select(TicketRow::as_select())
                    .into_boxed();
                if let Viewer::Customer { emails, .. } = &who {
                    let emails: BTreeSet<String> = emails.iter().cloned().collect();
                    q = q.filter(tickets::reporter_email.eq_any(emails));
                }
                q.load(c)?.iter().map(TicketRow::to_api).collect()
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_three_numbers() {
        for ok in ["7.4.1", "0.0.0", "10.20.300"] {
            assert!(is_version(ok), "{ok}");
        }
        for bad in [
            "7.4",
            "7.4.1.2",
            "07.4.1",
            "a.b.c",
            "7..1",
            "",
            "1234567.0.0",
        ] {
            assert!(!is_version(bad), "{bad}");
        }
    }
}
