//! Employees: the people consultations are about. Their contact data is personal data; only
//! callers holding `agenda:read` see it.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use loket_common::time::to_db;
use loket_common::validate::Validator;
use loket_common::{Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::employees;
use uuid::Uuid;

use crate::api::{Employee, EmployeeChanges, NewEmployee};
use crate::events::{self, Topic};
use crate::model::EmployeeRow;
use crate::{AgendaCore, check};

/// How an employee can be reached (R-CONTACT, reminders).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub private_email: Option<String>,
    pub work_email: Option<String>,
    pub private_mobile: Option<String>,
    pub work_mobile: Option<String>,
}

impl Contact {
    /// Whether any e-mail address or mobile number is known, private or work (R-CONTACT: either
    /// kind counts).
    pub fn reachable(&self) -> bool {
        self.email().is_some() || self.mobile().is_some()
    }

    /// The address for e-mail: the private one, else the work one.
    pub fn email(&self) -> Option<&str> {
        self.private_email
            .as_deref()
            .or(self.work_email.as_deref())
            .filter(|s| !s.is_empty())
    }

    /// The number for SMS: the private one, else the work one.
    pub fn mobile(&self) -> Option<&str> {
        self.private_mobile
            .as_deref()
            .or(self.work_mobile.as_deref())
            .filter(|s| !s.is_empty())
    }
}

fn load(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<EmployeeRow> {
    employees::table
        .filter(employees::tenant_id.eq(tenant.to_string()))
        .filter(employees::id.eq(id.to_string()))
        .select(EmployeeRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("employee"))
}

/// Refuses with 404 unless the tenant has this employee (R-TEN).
pub fn ensure_exists(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<()> {
    load(conn, tenant, id).map(|_| ())
}

/// The employee's contact data; 404 for an unknown employee.
pub fn contact(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<Contact> {
    let row = load(conn, tenant, id)?;
    Ok(Contact {
        private_email: row.private_email,
        work_email: row.work_email,
        private_mobile: row.private_mobile,
        work_mobile: row.work_mobile,
    })
}

/// The employee's name; 404 for an unknown employee.
pub fn name(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<String> {
    load(conn, tenant, id).map(|r| r.name)
}

fn check_optional_text(v: &mut Validator, field: &str, value: Option<&str>) {
    if let Some(t) = value {
        check::text(v, field, t, check::NAME_MAX);
    }
}

fn check_contact_fields(
    v: &mut Validator,
    private_email: Option<&str>,
    work_email: Option<&str>,
    private_mobile: Option<&str>,
    work_mobile: Option<&str>,
) {
    if let Some(e) = private_email {
        check::email(v, "private_email", e);
    }
    if let Some(e) = work_email {
        check::email(v, "work_email", e);
    }
    if let Some(m) = private_mobile {
        check::mobile(v, "private_mobile", m);
    }
    if let Some(m) = work_mobile {
        check::mobile(v, "work_mobile", m);
    }
}

/// Maps a foreign-key violation on delete to a 409 naming what still refers to the object.
pub fn in_use(what: &str) -> impl Fn(DieselError) -> Error + '_ {
    move |e| match e {
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Error::conflict(
            format!("This {what} is still referred to by appointments or call requests."),
        ),
        other => other.into(),
    }
}

impl AgendaCore {
    /// The tenant's employees, oldest first.
    pub async fn list_employees(&self, p: &Principal, page: &PageQuery) -> Result<Page<Employee>> {
        p.require(Permission::AgendaRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id.to_string();
        let rows = self
            .db
            .read(move |c| {
                let mut q = employees::table
                    .filter(employees::tenant_id.eq(tenant))
                    .order(employees::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(EmployeeRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(employees::id.gt(after));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), |r| r.to_api(true))
    }

    /// One employee.
    pub async fn employee(&self, p: &Principal, id: Uuid) -> Result<Employee> {
        p.require(Permission::AgendaRead)?;
        let tenant = p.tenant_id;
        self.db
            .read(move |c| load(c, tenant, id)?.to_api(true))
            .await
    }

    /// Creates an employee.
    pub async fn create_employee(&self, p: &Principal, new: NewEmployee) -> Result<Employee> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        check::text(&mut v, "name", &new.name, check::NAME_MAX);
        check_optional_text(&mut v, "employer", new.employer.as_deref());
        check_optional_text(&mut v, "department", new.department.as_deref());
        check_contact_fields(
            &mut v,
            new.private_email.as_deref(),
            new.work_email.as_deref(),
            new.private_mobile.as_deref(),
            new.work_mobile.as_deref(),
        );
        if let Some(l) = &new.language {
            check::culture(&mut v, "language", l);
        }
        v.finish()?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        let contact = p.permissions.grants(Permission::AgendaRead);
        self.db
            .write(move |c| {
                let id = ids::new_id();
                let at = to_db(now);
                diesel::insert_into(employees::table)
                    .values((
                        employees::id.eq(id.to_string()),
                        employees::tenant_id.eq(tenant.to_string()),
                        employees::name.eq(check::clean(&new.name)),
                        employees::date_of_birth.eq(new.date_of_birth),
                        employees::employer.eq(new.employer.as_deref().map(check::clean)),
                        employees::department.eq(new.department.as_deref().map(check::clean)),
                        employees::private_email.eq(&new.private_email),
                        employees::work_email.eq(&new.work_email),
                        employees::private_mobile.eq(&new.private_mobile),
                        employees::work_mobile.eq(&new.work_mobile),
                        employees::language.eq(&new.language),
                        employees::created_at.eq(at),
                        employees::updated_at.eq(at),
                    ))
                    .execute(c)?;
                let row = load(c, tenant, id)?;
                events::emit(
                    c,
                    Topic::EmployeesCreate,
                    tenant,
                    id,
                    &row.to_api(true)?,
                    actor,
                    now,
                )?;
                row.to_api(contact)
            })
            .await
    }

    /// Changes an employee; only the fields present change.
    pub async fn update_employee(
        &self,
        p: &Principal,
        id: Uuid,
        changes: EmployeeChanges,
    ) -> Result<Employee> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        if let Some(n) = &changes.name {
            check::text(&mut v, "name", n, check::NAME_MAX);
        }
        check_optional_text(
            &mut v,
            "employer",
            changes.employer.clone().flatten().as_deref(),
        );
        check_optional_text(
            &mut v,
            "department",
            changes.department.clone().flatten().as_deref(),
        );
        check_contact_fields(
            &mut v,
            changes.private_email.clone().flatten().as_deref(),
            changes.work_email.clone().flatten().as_deref(),
            changes.private_mobile.clone().flatten().as_deref(),
            changes.work_mobile.clone().flatten().as_deref(),
        );
        if let Some(Some(l)) = &changes.language {
            check::culture(&mut v, "language", l);
        }
        v.finish()?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        let contact = p.permissions.grants(Permission::AgendaRead);
        self.db
            .write(move |c| {
                load(c, tenant, id)?;
                let clean_opt = |o: Option<Option<String>>| o.map(|v| v.map(|s| check::clean(&s)));
                diesel::update(employees::table.find(id.to_string()))
                    .set((
                        changes
                            .name
                            .as_deref()
                            .map(|n| employees::name.eq(check::clean(n))),
                        changes
                            .date_of_birth
                            .map(|d| employees::date_of_birth.eq(d)),
                        clean_opt(changes.employer).map(|v| employees::employer.eq(v)),
                        clean_opt(changes.department).map(|v| employees::department.eq(v)),
                        changes
                            .private_email
                            .map(|v| employees::private_email.eq(v)),
                        changes.work_email.map(|v| employees::work_email.eq(v)),
                        changes
                            .private_mobile
                            .map(|v| employees::private_mobile.eq(v)),
                        changes.work_mobile.map(|v| employees::work_mobile.eq(v)),
                        changes.language.map(|v| employees::language.eq(v)),
                        employees::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                let row = load(c, tenant, id)?;
                events::emit(
                    c,
                    Topic::EmployeesUpdate,
                    tenant,
                    id,
                    &row.to_api(true)?,
                    actor,
                    now,
                )?;
                row.to_api(contact)
            })
            .await
    }

    /// Deletes an employee that no appointment or call request refers to.
    pub async fn delete_employee(&self, p: &Principal, id: Uuid) -> Result<()> {
        p.require(Permission::AgendaWrite)?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        self.db
            .write(move |c| {
                let row = load(c, tenant, id)?;
                diesel::delete(employees::table.find(id.to_string()))
                    .execute(c)
                    .map_err(in_use("employee"))?;
                events::emit(
                    c,
                    Topic::EmployeesDelete,
                    tenant,
                    id,
                    &row.to_api(true)?,
                    actor,
                    now,
                )
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_contact_counts_private_and_work_addresses_alike() {
        let none = Contact::default();
        assert!(!none.reachable());
        for c in [
            Contact {
                private_email: Some("a@example.org".into()),
                ..Contact::default()
            },
            Contact {
                work_email: Some("a@example.org".into()),
                ..Contact::default()
            },
            Contact {
                private_mobile: Some("+31612345678".into()),
                ..Contact::default()
            },
            Contact {
                work_mobile: Some("0612345678".into()),
                ..Contact::default()
            },
        ] {
            assert!(c.reachable(), "{c:?}");
        }
    }
}
