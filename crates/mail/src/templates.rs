//! Mail and document templates per code and culture, and the culture lookup: the recipient's
//! culture, then the tenant's default culture, then the template without culture. A code that
//! ends in a culture (`AssignmentSignalDocumentnl-NL`) also finds that template directly.

use diesel::prelude::*;
use loket_common::time::to_db;
use loket_common::validate::{Validator, is_culture};
use loket_common::{Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::mail_templates;
use uuid::Uuid;

use crate::api::{
    HTML_MAX, MailTemplate, MailTemplateChanges, NewMailTemplate, SUBJECT_MAX, TEXT_MAX,
    TemplateFilter,
};
use crate::model::TemplateRow;
use crate::render::{self, Part};
use crate::{Mail, checks};

fn load(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<TemplateRow> {
    mail_templates::table
        .filter(mail_templates::tenant_id.eq(tenant.to_string()))
        .filter(mail_templates::id.eq(id.to_string()))
        .select(TemplateRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("mail template"))
}

fn exact(
    conn: &mut AnyConnection,
    tenant: &str,
    code: &str,
    culture: &str,
) -> Result<Option<TemplateRow>> {
    Ok(mail_templates::table
        .filter(mail_templates::tenant_id.eq(tenant))
        .filter(mail_templates::code.eq(code))
        .filter(mail_templates::culture.eq(culture))
        .select(TemplateRow::as_select())
        .first(conn)
        .optional()?)
}

/// The template for `code`: the first of `cultures` that has one, then the one without
/// culture; or the exact template when `code` ends in a culture code.
pub(crate) fn lookup(
    conn: &mut AnyConnection,
    tenant: Uuid,
    code: &str,
    cultures: &[Option<&str>],
) -> Result<Option<TemplateRow>> {
    let tenant = tenant.to_string();
    let mut tried: Vec<&str> = Vec::new();
    for c in cultures.iter().flatten().copied().chain([""]) {
        if tried.contains(&c) {
            continue;
        }
        tried.push(c);
        if let Some(row) = exact(conn, &tenant, code, c)? {
            return Ok(Some(row));
        }
    }
    if code.len() > 5 && code.is_char_boundary(code.len() - 5) {
        let (base, culture) = code.split_at(code.len() - 5);
        if is_culture(culture) {
            return exact(conn, &tenant, base, culture);
        }
    }
    Ok(None)
}

fn check_source(v: &mut Validator, part: Part, field: &str, source: &str) {
    if let Err(e) = render::check(part, source) {
        v.fail(field, format!("is not a valid template: {e}"));
    }
}

/// Runs `check` on its own; copies its failures into `v`, and says whether it passed.
fn passes(v: &mut Validator, check: impl FnOnce(&mut Validator)) -> bool {
    let mut own = Validator::new();
    check(&mut own);
    match own.finish() {
        Ok(()) => true,
        Err(e) => {
            for p in e.invalid_params {
                v.fail(&p.name, p.reason);
            }
            false
        }
    }
}

fn check_subject(v: &mut Validator, subject: &str) {
    if passes(v, |own| checks::text(own, "subject", subject, SUBJECT_MAX)) {
        check_source(v, Part::Subject, "subject", subject);
    }
}

fn check_body(v: &mut Validator, part: Part, field: &str, body: &str, max: usize) {
    if passes(v, |own| checks::long(own, field, body, max)) {
        check_source(v, part, field, body);
    }
}

impl Mail {
    /// The tenant's templates, by code then culture order of creation; `?code=` narrows.
    pub async fn list_templates(
        &self,
        p: &Principal,
        filter: &TemplateFilter,
        page: &PageQuery,
    ) -> Result<Page<MailTemplate>> {
        p.require(Permission::MailManage)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id.to_string();
        let code = filter.code.clone();
        let rows = self
            .inner
            .db
            .read(move |c| {
                let mut q = mail_templates::table
                    .filter(mail_templates::tenant_id.eq(tenant))
                    .order(mail_templates::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(TemplateRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(mail_templates::id.gt(after));
                }
                if let Some(code) = code {
                    q = q.filter(mail_templates::code.eq(code));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), TemplateRow::to_api)
    }

    /// One template.
    pub async fn template(&self, p: &Principal, id: Uuid) -> Result<MailTemplate> {
        p.require(Permission::MailManage)?;
        let tenant = p.tenant_id;
        self.inner
            .db
            .read(move |c| load(c, tenant, id)?.to_api())
            .await
    }

    /// Adds a template; one per code and culture. Syntax errors are refused with the field.
    pub async fn create_template(
        &self,
        p: &Principal,
        new: NewMailTemplate,
    ) -> Result<MailTemplate> {
        p.require(Permission::MailManage)?;
        let mut v = Validator::new();
        checks::code(&mut v, "code", &new.code);
        if let Some(c) = &new.culture {
            checks::culture(&mut v, "culture", c);
        }
        check_subject(&mut v, &new.subject);
        check_body(&mut v, Part::Text, "text_body", &new.text_body, TEXT_MAX);
        if let Some(h) = &new.html_body {
            check_body(&mut v, Part::Html, "html_body", h, HTML_MAX);
        }
        v.finish()?;
        let tenant = p.tenant_id;
        let at = to_db(self.inner.clock.now());
        self.inner
            .db
            .write(move |c| {
                let culture = new.culture.clone().unwrap_or_default();
                if exact(c, &tenant.to_string(), &new.code, &culture)?.is_some() {
                    return Err(Error::conflict(format!(
                        "A template `{}` for {} already exists; change that one instead.",
                        new.code,
                        if culture.is_empty() {
                            "no culture".to_owned()
                        } else {
                            format!("culture `{culture}`")
                        }
                    )));
                }
                let id = ids::new_id();
                diesel::insert_into(mail_templates::table)
                    .values((
                        mail_templates::id.eq(id.to_string()),
                        mail_templates::tenant_id.eq(tenant.to_string()),
                        mail_templates::code.eq(&new.code),
                        mail_templates::culture.eq(&culture),
                        mail_templates::subject.eq(&new.subject),
                        mail_templates::text_body.eq(&new.text_body),
                        mail_templates::html_body.eq(&new.html_body),
                        mail_templates::created_at.eq(at),
                        mail_templates::updated_at.eq(at),
                    ))
                    .execute(c)?;
                load(c, tenant, id)?.to_api()
            })
            .await
    }

    /// Changes a template; only the fields present change.
    pub async fn update_template(
        &self,
        p: &Principal,
        id: Uuid,
        changes: MailTemplateChanges,
    ) -> Result<MailTemplate> {
        p.require(Permission::MailManage)?;
        let mut v = Validator::new();
        if let Some(s) = &changes.subject {
            check_subject(&mut v, s);
        }
        if let Some(t) = &changes.text_body {
            check_body(&mut v, Part::Text, "text_body", t, TEXT_MAX);
        }
        if let Some(Some(h)) = &changes.html_body {
            check_body(&mut v, Part::Html, "html_body", h, HTML_MAX);
        }
        v.finish()?;
        let tenant = p.tenant_id;
        let at = to_db(self.inner.clock.now());
        self.inner
            .db
            .write(move |c| {
                let row = load(c, tenant, id)?;
                diesel::update(mail_templates::table.find(&row.id))
                    .set((
                        changes
                            .subject
                            .as_ref()
                            .map(|s| mail_templates::subject.eq(s)),
                        changes
                            .text_body
                            .as_ref()
                            .map(|t| mail_templates::text_body.eq(t)),
                        changes
                            .html_body
                            .as_ref()
                            .map(|h| mail_templates::html_body.eq(h.clone())),
                        mail_templates::updated_at.eq(at),
                    ))
                    .execute(c)?;
                load(c, tenant, id)?.to_api()
            })
            .await
    }

    /// Removes a template (queued messages were rendered already and are not affected).
    pub async fn delete_template(&self, p: &Principal, id: Uuid) -> Result<()> {
        p.require(Permission::MailManage)?;
        let tenant = p.tenant_id;
        self.inner
            .db
            .write(move |c| {
                let row = load(c, tenant, id)?;
                diesel::delete(mail_templates::table.find(&row.id)).execute(c)?;
                Ok(())
            })
            .await
    }
}
