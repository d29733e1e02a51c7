//! Consultation meetings (seed 003 §4): the weekly internal discussion (helpdesk and product
//! manager) and the monthly functional consultation (product manager and consultants). A ticket
//! in department `internal-discussion` or `functional-consultation` shows the next meeting of
//! that kind as `next_meeting_at`, so the customer sees when to expect an answer.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loket_common::time::{from_db, to_db};
use loket_common::validate::Validator;
use loket_common::{Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::helpdesk_meetings;
use loket_tickets::api::{Department, Ticket};
use uuid::Uuid;

use crate::api::{Meeting, MeetingFilter, MeetingKind, NewMeeting};
use crate::{Helpdesk, require_staff, stored};

/// A meeting row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = helpdesk_meetings)]
pub struct MeetingRow {
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    pub starts_at: NaiveDateTime,
    pub title: Option<String>,
    pub created_at: NaiveDateTime,
}

impl MeetingRow {
    /// The API representation.
    pub fn to_api(&self) -> Result<Meeting> {
        Ok(Meeting {
            id: ids::parse_stored(&self.id)?,
            kind: stored("kind", MeetingKind::parse(&self.kind), &self.kind)?,
            starts_at: from_db(self.starts_at),
            title: self.title.clone(),
            created_at: from_db(self.created_at),
        })
    }
}

/// The meeting kind a ticket in `department` waits for.
pub fn kind_for(department: Department) -> Option<MeetingKind> {
    match department {
        Department::InternalDiscussion => Some(MeetingKind::InternalDiscussion),
        Department::FunctionalConsultation => Some(MeetingKind::FunctionalConsultation),
        _ => None,
    }
}

/// The start of the tenant's next meeting of `kind` after `now`.
pub fn next_meeting(
    conn: &mut AnyConnection,
    tenant: Uuid,
    kind: MeetingKind,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let at: Option<NaiveDateTime> = helpdesk_meetings::table
        .filter(helpdesk_meetings::tenant_id.eq(tenant.to_string()))
        .filter(helpdesk_meetings::kind.eq(kind.as_str()))
        .filter(helpdesk_meetings::starts_at.gt(to_db(now)))
        .order(helpdesk_meetings::starts_at.asc())
        .select(helpdesk_meetings::starts_at)
        .first(conn)
        .optional()?;
    Ok(at.map(from_db))
}

impl Helpdesk {
    /// Adds a meeting date (staff).
    pub async fn create_meeting(&self, p: &Principal, new: NewMeeting) -> Result<Meeting> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        if let Some(t) = &new.title {
            v.text("title", t, 200);
        }
        v.finish()?;
        let (tenant, now, p) = (p.tenant_id, self.clock.now(), p.clone());
        self.db
            .write(move |c| {
                require_staff(c, &p)?;
                let id = ids::new_id().to_string();
                diesel::insert_into(helpdesk_meetings::table)
                    .values((
                        helpdesk_meetings::id.eq(&id),
                        helpdesk_meetings::tenant_id.eq(tenant.to_string()),
                        helpdesk_meetings::kind.eq(new.kind.as_str()),
                        helpdesk_meetings::starts_at.eq(to_db(new.starts_at)),
                        helpdesk_meetings::title.eq(new.title.as_deref().map(str::trim)),
                        helpdesk_meetings::created_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                helpdesk_meetings::table
                    .find(&id)
                    .select(MeetingRow::as_select())
                    .first(c)?
                    .to_api()
            })
            .await
    }

    /// The tenant's meetings, by start time.
    pub async fn list_meetings(
        &self,
        p: &Principal,
        filter: &MeetingFilter,
        page: &PageQuery,
    ) -> Result<Page<Meeting>> {
        p.require(Permission::TicketsRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let (tenant, filter) = (p.tenant_id, filter.clone());
        let rows = self
            .db
            .read(move |c| {
                let mut q = helpdesk_meetings::table
                    .filter(helpdesk_meetings::tenant_id.eq(tenant.to_string()))
                    .order((
                        helpdesk_meetings::starts_at.asc(),
                        helpdesk_meetings::id.asc(),
                    ))
                    .limit(i64::from(limit) + 1)
                    .select(MeetingRow::as_select())
                    .into_boxed();
                if let Some(k) = filter.kind {
                    q = q.filter(helpdesk_meetings::kind.eq(k.as_str()));
                }
                if let Some(from) = filter.from {
                    q = q.filter(helpdesk_meetings::starts_at.ge(to_db(from)));
                }
                // The cursor is `<starts_at as stored>|<id>`; one this API did not hand out
                // merely starts at the beginning.
                let cursor = after.as_deref().and_then(|a| {
                    let (at, id) = a.split_once('|')?;
                    let at = NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
                    Some((at, id.to_owned()))
                });
                if let Some((at, id)) = cursor {
                    q = q.filter(
                        helpdesk_meetings::starts_at
                            .gt(at)
                            .or(helpdesk_meetings::starts_at
                                .eq(at)
                                .and(helpdesk_meetings::id.gt(id))),
                    );
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(
            rows,
            limit,
            |r| format!("{}|{}", r.starts_at.format("%Y-%m-%dT%H:%M:%S%.f"), r.id),
            MeetingRow::to_api,
        )
    }

    /// Deletes a meeting date (staff).
    pub async fn delete_meeting(&self, p: &Principal, id: Uuid) -> Result<()> {
        p.require(Permission::TicketsWrite)?;
        let (tenant, p) = (p.tenant_id, p.clone());
        self.db
            .write(move |c| {
                require_staff(c, &p)?;
                let n = diesel::delete(
                    helpdesk_meetings::table
                        .filter(helpdesk_meetings::tenant_id.eq(tenant.to_string()))
                        .filter(helpdesk_meetings::id.eq(id.to_string())),
                )
                .execute(c)?;
                if n == 0 {
                    return Err(Error::not_found("meeting"));
                }
                Ok(())
            })
            .await
    }

    /// Sets `next_meeting_at` on tickets of the caller's tenant waiting for a meeting.
    pub async fn fill_next_meeting(&self, p: &Principal, tickets: &mut [Ticket]) -> Result<()> {
        let kinds: Vec<MeetingKind> = tickets
            .iter()
            .filter_map(|t| kind_for(t.department))
            .collect();
        if kinds.is_empty() {
            return Ok(());
        }
        let (tenant, now) = (p.tenant_id, self.clock.now());
        let next = self
            .db
            .read(move |c| {
                let mut out = Vec::new();
                for k in MeetingKind::ALL {
                    if kinds.contains(k) {
                        out.push((*k, next_meeting(c, tenant, *k, now)?));
                    }
                }
                Ok(out)
            })
            .await?;
        for t in tickets {
            if let Some(k) = kind_for(t.department) {
                t.next_meeting_at = next.iter().find(|(kk, _)| *kk == k).and_then(|(_, at)| *at);
            }
        }
        Ok(())
    }
}
