//! Consultation types: CRUD, and the look-ups the other agenda crates make inside their own
//! transactions.

use std::collections::HashMap;

use diesel::prelude::*;
use loket_agenda_core::check;
use loket_agenda_core::employees::in_use;
use loket_agenda_core::events::{self, Topic};
use loket_common::time::to_db;
use loket_common::validate::Validator;
use loket_common::{Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::consultation_types;
use uuid::Uuid;

use crate::ConsultationTypes;
use crate::api::{
    ConsultationType, ConsultationTypeChanges, ConsultationTypeFilter, DefaultReminder,
    NewConsultationType,
};
use crate::model::ConsultationTypeRow;

/// Shortest and longest consultation (minutes).
pub const DURATION_RANGE: std::ops::RangeInclusive<u32> = 5..=480;
/// Latest reminder (minutes before the start): 30 days.
pub const REMINDER_MAX_MINUTES: u32 = 43_200;
/// Most default reminders per type.
pub const REMINDERS_MAX: usize = 10;
/// Largest amount (cents).
pub const AMOUNT_MAX: i64 = 100_000_000;
/// Longest billing code.
pub const BILLING_CODE_MAX: usize = 50;

/// What the other agenda crates need to know about a consultation type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeInfo {
    pub id: Uuid,
    pub name: String,
    pub duration_minutes: i64,
    pub is_no_show: bool,
    pub requires_contact: bool,
    pub default_reminders: Vec<DefaultReminder>,
    pub billing_code: Option<String>,
    pub amount_cents: i64,
    pub active: bool,
}

impl TryFrom<&ConsultationTypeRow> for TypeInfo {
    type Error = Error;
    fn try_from(r: &ConsultationTypeRow) -> Result<TypeInfo> {
        Ok(TypeInfo {
            id: ids::parse_stored(&r.id)?,
            name: r.name.clone(),
            duration_minutes: i64::from(r.duration_minutes),
            is_no_show: r.is_no_show,
            requires_contact: r.requires_contact,
            default_reminders: r.reminders()?,
            billing_code: r.billing_code.clone(),
            amount_cents: r.amount_cents,
            active: r.active,
        })
    }
}

fn load(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<ConsultationTypeRow> {
    consultation_types::table
        .filter(consultation_types::tenant_id.eq(tenant.to_string()))
        .filter(consultation_types::id.eq(id.to_string()))
        .select(ConsultationTypeRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("consultation type"))
}

/// The consultation type; 404 when the tenant has none with this id (R-TEN).
pub fn info(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<TypeInfo> {
    TypeInfo::try_from(&load(conn, tenant, id)?)
}

/// The given types of the tenant by id (unknown ids are left out).
pub fn infos(
    conn: &mut AnyConnection,
    tenant: Uuid,
    ids_: &[Uuid],
) -> Result<HashMap<Uuid, TypeInfo>> {
    let q = consultation_types::table
        .filter(consultation_types::tenant_id.eq(tenant.to_string()))
        .select(ConsultationTypeRow::as_select())
        .into_boxed();
    // One id (a single appointment) as `=`: a statement SQLite keeps prepared; `IN (…)` with a
    // varying number of values is prepared anew each time.
    let q = match ids_ {
        [one] => q.filter(consultation_types::id.eq(one.to_string())),
        many => q.filter(consultation_types::id.eq_any(many.iter().map(Uuid::to_string))),
    };
    let rows: Vec<ConsultationTypeRow> = q.load(conn)?;
    rows.iter()
        .map(|r| TypeInfo::try_from(r).map(|t| (t.id, t)))
        .collect()
}

/// The tenant's first (oldest) active no-show type, used by no-show processing by default.
pub fn first_no_show(conn: &mut AnyConnection, tenant: Uuid) -> Result<Option<TypeInfo>> {
    consultation_types::table
        .filter(consultation_types::tenant_id.eq(tenant.to_string()))
        .filter(consultation_types::is_no_show.eq(true))
        .filter(consultation_types::active.eq(true))
        .order(consultation_types::id.asc())
        .select(ConsultationTypeRow::as_select())
        .first(conn)
        .optional()?
        .as_ref()
        .map(TypeInfo::try_from)
        .transpose()
}

fn check_reminders(v: &mut Validator, reminders: &[DefaultReminder]) {
    if reminders.len() > REMINDERS_MAX {
        v.fail(
            "default_reminders",
            format!("must hold at most {REMINDERS_MAX} reminders"),
        );
    }
    for (i, r) in reminders.iter().enumerate() {
        if r.minutes_before > REMINDER_MAX_MINUTES {
            v.fail(
                &format!("default_reminders[{i}].minutes_before"),
                format!("must be between 0 and {REMINDER_MAX_MINUTES}"),
            );
        }
    }
}

fn check_duration(v: &mut Validator, d: u32) {
    if !DURATION_RANGE.contains(&d) {
        v.fail(
            "duration_minutes",
            format!(
                "must be between {} and {}",
                DURATION_RANGE.start(),
                DURATION_RANGE.end()
            ),
        );
    }
}

fn check_amount(v: &mut Validator, a: i64) {
    if !(0..=AMOUNT_MAX).contains(&a) {
        v.fail(
            "amount_cents",
            format!("must be between 0 and {AMOUNT_MAX}"),
        );
    }
}

fn check_billing_code(v: &mut Validator, code: &str) {
    let ok = !code.is_empty()
        && code.len() <= BILLING_CODE_MAX
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        v.fail(
            "billing_code",
            format!("must be 1 to {BILLING_CODE_MAX} letters, digits, `.`, `_` or `-`"),
        );
    }
}

fn reminders_json(r: &[DefaultReminder]) -> Result<String> {
    serde_json::to_string(r).map_err(Error::internal)
}

impl ConsultationTypes {
    /// The tenant's consultation types, oldest first, filtered.
    pub async fn list_types(
        &self,
        p: &Principal,
        filter: &ConsultationTypeFilter,
        page: &PageQuery,
    ) -> Result<Page<ConsultationType>> {
        p.require(Permission::AgendaRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id.to_string();
        let filter = filter.clone();
        let rows = self
            .db
            .read(move |c| {
                let mut q = consultation_types::table
                    .filter(consultation_types::tenant_id.eq(tenant))
                    .order(consultation_types::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(ConsultationTypeRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(consultation_types::id.gt(after));
                }
                match filter.selectable {
                    Some(true) => {
                        q = q
                            .filter(consultation_types::active.eq(true))
                            .filter(consultation_types::is_no_show.eq(false));
                    }
                    Some(false) => {
                        q = q.filter(
                            consultation_types::active
                                .eq(false)
                                .or(consultation_types::is_no_show.eq(true)),
                        );
                    }
                    None => {}
                }
                if let Some(n) = filter.is_no_show {
                    q = q.filter(consultation_types::is_no_show.eq(n));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), ConsultationTypeRow::to_api)
    }

    /// One consultation type.
    pub async fn consultation_type(&self, p: &Principal, id: Uuid) -> Result<ConsultationType> {
        p.require(Permission::AgendaRead)?;
        let tenant = p.tenant_id;
        self.db.read(move |c| load(c, tenant, id)?.to_api()).await
    }

    /// Creates a consultation type.
    pub async fn create_type(
        &self,
        p: &Principal,
        new: NewConsultationType,
    ) -> Result<ConsultationType> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        check::text(&mut v, "name", &new.name, check::NAME_MAX);
        check_duration(&mut v, new.duration_minutes);
        let reminders = new.default_reminders.clone().unwrap_or_default();
        check_reminders(&mut v, &reminders);
        if let Some(b) = &new.billing_code {
            check_billing_code(&mut v, b);
        }
        let amount = new.amount_cents.unwrap_or(0);
        check_amount(&mut v, amount);
        v.finish()?;
        let reminders = reminders_json(&reminders)?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        self.db
            .write(move |c| {
                let id = ids::new_id();
                let at = to_db(now);
                diesel::insert_into(consultation_types::table)
                    .values((
                        consultation_types::id.eq(id.to_string()),
                        consultation_types::tenant_id.eq(tenant.to_string()),
                        consultation_types::name.eq(check::clean(&new.name)),
                        consultation_types::duration_minutes
                            .eq(i32::try_from(new.duration_minutes).unwrap_or(i32::MAX)),
                        consultation_types::is_no_show.eq(new.is_no_show.unwrap_or(false)),
                        consultation_types::requires_contact
                            .eq(new.requires_contact.unwrap_or(false)),
                        consultation_types::default_reminders.eq(reminders),
                        consultation_types::billing_code.eq(&new.billing_code),
                        consultation_types::amount_cents.eq(amount),
                        consultation_types::active.eq(new.active.unwrap_or(true)),
                        consultation_types::created_at.eq(at),
                        consultation_types::updated_at.eq(at),
                    ))
                    .execute(c)?;
                let t = load(c, tenant, id)?.to_api()?;
                events::emit(
                    c,
                    Topic::ConsultationTypesCreate,
                    tenant,
                    id,
                    &t,
                    actor,
                    now,
                )?;
                Ok(t)
            })
            .await
    }

    /// Changes a consultation type; only the fields present change. Existing appointments keep
    /// their type (and their procedures their amounts).
    pub async fn update_type(
        &self,
        p: &Principal,
        id: Uuid,
        changes: ConsultationTypeChanges,
    ) -> Result<ConsultationType> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        if let Some(n) = &changes.name {
            check::text(&mut v, "name", n, check::NAME_MAX);
        }
        if let Some(d) = changes.duration_minutes {
            check_duration(&mut v, d);
        }
        if let Some(r) = &changes.default_reminders {
            check_reminders(&mut v, r);
        }
        if let Some(Some(b)) = &changes.billing_code {
            check_billing_code(&mut v, b);
        }
        if let Some(a) = changes.amount_cents {
            check_amount(&mut v, a);
        }
        v.finish()?;
        let reminders = changes
            .default_reminders
            .as_deref()
            .map(reminders_json)
            .transpose()?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        self.db
            .write(move |c| {
                load(c, tenant, id)?;
                diesel::update(consultation_types::table.find(id.to_string()))
                    .set((
                        changes
                            .name
                            .as_deref()
                            .map(|n| consultation_types::name.eq(check::clean(n))),
                        changes.duration_minutes.map(|d| {
                            consultation_types::duration_minutes
                                .eq(i32::try_from(d).unwrap_or(i32::MAX))
                        }),
                        changes
                            .is_no_show
                            .map(|b| consultation_types::is_no_show.eq(b)),
                        changes
                            .requires_contact
                            .map(|b| consultation_types::requires_contact.eq(b)),
                        reminders.map(|r| consultation_types::default_reminders.eq(r)),
                        changes
                            .billing_code
                            .map(|b| consultation_types::billing_code.eq(b)),
                        changes
                            .amount_cents
                            .map(|a| consultation_types::amount_cents.eq(a)),
                        changes.active.map(|a| consultation_types::active.eq(a)),
                        consultation_types::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                let t = load(c, tenant, id)?.to_api()?;
                events::emit(
                    c,
                    Topic::ConsultationTypesUpdate,
                    tenant,
                    id,
                    &t,
                    actor,
                    now,
                )?;
                Ok(t)
            })
            .await
    }

    /// Deletes a consultation type that no appointment or call request uses (deactivate it
    /// otherwise).
    pub async fn delete_type(&self, p: &Principal, id: Uuid) -> Result<()> {
        p.require(Permission::AgendaWrite)?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        self.db
            .write(move |c| {
                let t = load(c, tenant, id)?.to_api()?;
                diesel::delete(consultation_types::table.find(id.to_string()))
                    .execute(c)
                    .map_err(in_use("consultation type"))?;
                events::emit(
                    c,
                    Topic::ConsultationTypesDelete,
                    tenant,
                    id,
                    &t,
                    actor,
                    now,
                )
            })
            .await
    }
}
