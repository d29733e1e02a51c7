//! Trigger rules ("triggerbeheer", seed 000 §3.1.5.1) and tasks.
//!
//! A rule names an agenda topic and an action. [`fire`] runs inside the transaction of the event
//! (called by [`crate::events::emit`]), so an event and the tasks its rules create commit
//! together. Rules react only to domain events, never to what other rules emit (no chains).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use loket_common::time::to_db;
use loket_common::validate::Validator;
use loket_common::{Actor, Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::{tasks, trigger_rules};
use serde_json::json;
use uuid::Uuid;

use crate::api::{
    NewTask, NewTriggerRule, ObjectType, Task, TaskChanges, TaskFilter, TriggerAction, TriggerRule,
    TriggerRuleChanges,
};
use crate::events::{self, Topic};
use crate::model::{TaskRow, TriggerRuleRow};
use crate::{AgendaCore, check};

/// The kind of object an event of `topic` is about.
fn object_type(topic: Topic) -> Option<ObjectType> {
    match topic.resource() {
        "Appointments" => Some(ObjectType::Appointment),
        "CallRequests" => Some(ObjectType::CallRequest),
        "Procedures" => Some(ObjectType::Procedure),
        "Employees" => Some(ObjectType::Employee),
        "ConsultationTypes" => Some(ObjectType::ConsultationType),
        _ => None,
    }
}

/// A task to insert.
struct TaskInsert<'a> {
    tenant: Uuid,
    title: &'a str,
    description: Option<&'a str>,
    assignee: Option<Uuid>,
    due_at: Option<DateTime<Utc>>,
    object: Option<(ObjectType, Uuid)>,
    rule: Option<Uuid>,
    at: DateTime<Utc>,
}

fn insert_task(conn: &mut AnyConnection, t: &TaskInsert<'_>) -> Result<Uuid> {
    let id = ids::new_id();
    let at = to_db(t.at);
    diesel::insert_into(tasks::table)
        .values((
            tasks::id.eq(id.to_string()),
            tasks::tenant_id.eq(t.tenant.to_string()),
            tasks::title.eq(t.title),
            tasks::description.eq(t.description),
            tasks::assignee_user_id.eq(t.assignee.map(|u| u.to_string())),
            tasks::due_at.eq(t.due_at.map(to_db)),
            tasks::object_type.eq(t.object.map(|(ty, _)| ty.as_str())),
            tasks::object_id.eq(t.object.map(|(_, id)| id.to_string())),
            tasks::done.eq(false),
            tasks::trigger_rule_id.eq(t.rule.map(|r| r.to_string())),
            tasks::created_at.eq(at),
            tasks::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Runs the tenant's active rules for `topic` about `object_id`; called by
/// [`crate::events::emit`] inside the event's transaction.
pub(crate) fn fire(
    conn: &mut AnyConnection,
    topic: Topic,
    tenant_id: Uuid,
    object_id: Uuid,
    payload: &serde_json::Value,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<()> {
    let rules: Vec<TriggerRuleRow> = trigger_rules::table
        .filter(trigger_rules::tenant_id.eq(tenant_id.to_string()))
        .filter(trigger_rules::event.eq(topic.as_str()))
        .filter(trigger_rules::active.eq(true))
        .order(trigger_rules::id.asc())
        .select(TriggerRuleRow::as_select())
        .load(conn)?;
    for rule in rules {
        let rule_id = ids::parse_stored(&rule.id)?;
        match rule.action()? {
            TriggerAction::CreateTask {
                title,
                description,
                assignee_user_id,
                due_in_days,
            } => {
                let due_at =
                    due_in_days.and_then(|d| at.checked_add_signed(Duration::days(i64::from(d))));
                insert_task(
                    conn,
                    &TaskInsert {
                        tenant: tenant_id,
                        title: &title,
                        description: description.as_deref(),
                        assignee: assignee_user_id,
                        due_at,
                        object: object_type(topic).map(|t| (t, object_id)),
                        rule: Some(rule_id),
                        at,
                    },
                )?;
            }
            TriggerAction::EmitTopic {} => {
                events::publish(
                    conn,
                    Topic::TriggerRulesFired,
                    tenant_id,
                    object_id,
                    json!({
                        "rule_id": rule_id,
                        "rule_name": rule.name,
                        "event": topic.as_str(),
                        "object_id": object_id,
                        "data": payload,
                    }),
                    actor,
                    at,
                )?;
            }
        }
    }
    Ok(())
}

fn load_rule(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<TriggerRuleRow> {
    trigger_rules::table
        .filter(trigger_rules::tenant_id.eq(tenant.to_string()))
        .filter(trigger_rules::id.eq(id.to_string()))
        .select(TriggerRuleRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("trigger rule"))
}

fn load_task(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<TaskRow> {
    tasks::table
        .filter(tasks::tenant_id.eq(tenant.to_string()))
        .filter(tasks::id.eq(id.to_string()))
        .select(TaskRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("task"))
}

/// 404 unless the assignee is a user of the tenant (R-TEN).
fn check_assignee(conn: &mut AnyConnection, tenant: Uuid, user: Option<Uuid>) -> Result<()> {
    match user {
        Some(u) if !loket_accounts::lookup::user_exists(conn, tenant, u)? => {
            Err(Error::not_found("user"))
        }
        _ => Ok(()),
    }
}

fn check_action(v: &mut Validator, action: &TriggerAction) {
    if let TriggerAction::CreateTask {
        title,
        description,
        due_in_days,
        ..
    } = action
    {
        check::text(v, "action.title", title, check::NAME_MAX);
        if let Some(d) = description {
            check::notes(v, "action.description", d, check::NOTES_MAX);
        }
        if due_in_days.is_some_and(|d| d > 365) {
            v.fail("action.due_in_days", "must be between 0 and 365");
        }
    }
}

fn check_event(v: &mut Validator, event: Topic) {
    if !event.triggerable() {
        v.fail(
            "event",
            "rules cannot react to `TriggerRules.Fired` (rules do not chain)",
        );
    }
}

fn assignee_of(action: &TriggerAction) -> Option<Uuid> {
    match action {
        TriggerAction::CreateTask {
            assignee_user_id, ..
        } => *assignee_user_id,
        TriggerAction::EmitTopic {} => None,
    }
}

fn action_json(action: &TriggerAction) -> Result<String> {
    serde_json::to_string(action).map_err(Error::internal)
}

impl AgendaCore {
    /// The tenant's trigger rules, oldest first.
    pub async fn list_trigger_rules(
        &self,
        p: &Principal,
        page: &PageQuery,
    ) -> Result<Page<TriggerRule>> {
        p.require(Permission::AgendaRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id.to_string();
        let rows = self
            .db
            .read(move |c| {
                let mut q = trigger_rules::table
                    .filter(trigger_rules::tenant_id.eq(tenant))
                    .order(trigger_rules::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(TriggerRuleRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(trigger_rules::id.gt(after));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), TriggerRuleRow::to_api)
    }

    /// One trigger rule.
    pub async fn trigger_rule(&self, p: &Principal, id: Uuid) -> Result<TriggerRule> {
        p.require(Permission::AgendaRead)?;
        let tenant = p.tenant_id;
        self.db
            .read(move |c| load_rule(c, tenant, id)?.to_api())
            .await
    }

    /// Creates a trigger rule.
    pub async fn create_trigger_rule(
        &self,
        p: &Principal,
        new: NewTriggerRule,
    ) -> Result<TriggerRule> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        check::text(&mut v, "name", &new.name, check::NAME_MAX);
        check_event(&mut v, new.event);
        check_action(&mut v, &new.action);
        v.finish()?;
        let action = action_json(&new.action)?;
        let (tenant, now) = (p.tenant_id, self.clock.now());
        self.db
            .write(move |c| {
                check_assignee(c, tenant, assignee_of(&new.action))?;
                let id = ids::new_id();
                let at = to_db(now);
                diesel::insert_into(trigger_rules::table)
                    .values((
                        trigger_rules::id.eq(id.to_string()),
                        trigger_rules::tenant_id.eq(tenant.to_string()),
                        trigger_rules::name.eq(check::clean(&new.name)),
                        trigger_rules::event.eq(new.event.as_str()),
                        trigger_rules::action.eq(action),
                        trigger_rules::active.eq(new.active.unwrap_or(true)),
                        trigger_rules::created_at.eq(at),
                        trigger_rules::updated_at.eq(at),
                    ))
                    .execute(c)?;
                load_rule(c, tenant, id)?.to_api()
            })
            .await
    }

    /// Changes a trigger rule; only the fields present change.
    pub async fn update_trigger_rule(
        &self,
        p: &Principal,
        id: Uuid,
        changes: TriggerRuleChanges,
    ) -> Result<TriggerRule> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        if let Some(n) = &changes.name {
            check::text(&mut v, "name", n, check::NAME_MAX);
        }
        if let Some(e) = changes.event {
            check_event(&mut v, e);
        }
        if let Some(a) = &changes.action {
            check_action(&mut v, a);
        }
        v.finish()?;
        let action = changes.action.as_ref().map(action_json).transpose()?;
        let (tenant, now) = (p.tenant_id, self.clock.now());
        self.db
            .write(move |c| {
                load_rule(c, tenant, id)?;
                if let Some(a) = &changes.action {
                    check_assignee(c, tenant, assignee_of(a))?;
                }
                diesel::update(trigger_rules::table.find(id.to_string()))
                    .set((
                        changes
                            .name
                            .as_deref()
                            .map(|n| trigger_rules::name.eq(check::clean(n))),
                        changes.event.map(|e| trigger_rules::event.eq(e.as_str())),
                        action.map(|a| trigger_rules::action.eq(a)),
                        changes.active.map(|a| trigger_rules::active.eq(a)),
                        trigger_rules::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                load_rule(c, tenant, id)?.to_api()
            })
            .await
    }

    /// Deletes a trigger rule (tasks it created stay).
    pub async fn delete_trigger_rule(&self, p: &Principal, id: Uuid) -> Result<()> {
        p.require(Permission::AgendaWrite)?;
        let tenant = p.tenant_id;
        self.db
            .write(move |c| {
                load_rule(c, tenant, id)?;
                diesel::delete(trigger_rules::table.find(id.to_string())).execute(c)?;
                Ok(())
            })
            .await
    }

    /// The tenant's tasks, oldest first, filtered.
    pub async fn list_tasks(
        &self,
        p: &Principal,
        filter: &TaskFilter,
        page: &PageQuery,
    ) -> Result<Page<Task>> {
        p.require(Permission::AgendaRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id.to_string();
        let filter = filter.clone();
        let rows = self
            .db
            .read(move |c| {
                let mut q = tasks::table
                    .filter(tasks::tenant_id.eq(tenant))
                    .order(tasks::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(TaskRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(tasks::id.gt(after));
                }
                if let Some(done) = filter.done {
                    q = q.filter(tasks::done.eq(done));
                }
                if let Some(u) = filter.assignee_user_id {
                    q = q.filter(tasks::assignee_user_id.eq(u.to_string()));
                }
                if let Some(o) = filter.object_id {
                    q = q.filter(tasks::object_id.eq(o.to_string()));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), TaskRow::to_api)
    }

    /// One task.
    pub async fn task(&self, p: &Principal, id: Uuid) -> Result<Task> {
        p.require(Permission::AgendaRead)?;
        let tenant = p.tenant_id;
        self.db
            .read(move |c| load_task(c, tenant, id)?.to_api())
            .await
    }

    /// Creates a task.
    pub async fn create_task(&self, p: &Principal, new: NewTask) -> Result<Task> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        check::text(&mut v, "title", &new.title, check::NAME_MAX);
        if let Some(d) = &new.description {
            check::notes(&mut v, "description", d, check::NOTES_MAX);
        }
        v.finish()?;
        let (tenant, now) = (p.tenant_id, self.clock.now());
        self.db
            .write(move |c| {
                check_assignee(c, tenant, new.assignee_user_id)?;
                let title = check::clean(&new.title);
                let id = insert_task(
                    c,
                    &TaskInsert {
                        tenant,
                        title: &title,
                        description: new.description.as_deref(),
                        assignee: new.assignee_user_id,
                        due_at: new.due_at,
                        object: new.object.map(|o| (o.type_, o.id)),
                        rule: None,
                        at: now,
                    },
                )?;
                load_task(c, tenant, id)?.to_api()
            })
            .await
    }

    /// Changes a task (e.g. marks it done); only the fields present change.
    pub async fn update_task(&self, p: &Principal, id: Uuid, changes: TaskChanges) -> Result<Task> {
        p.require(Permission::AgendaWrite)?;
        let mut v = Validator::new();
        if let Some(t) = &changes.title {
            check::text(&mut v, "title", t, check::NAME_MAX);
        }
        if let Some(Some(d)) = &changes.description {
            check::notes(&mut v, "description", d, check::NOTES_MAX);
        }
        v.finish()?;
        let (tenant, now) = (p.tenant_id, self.clock.now());
        self.db
            .write(move |c| {
                load_task(c, tenant, id)?;
                if let Some(a) = changes.assignee_user_id {
                    check_assignee(c, tenant, a)?;
                }
                diesel::update(tasks::table.find(id.to_string()))
                    .set((
                        changes
                            .title
                            .as_deref()
                            .map(|t| tasks::title.eq(check::clean(t))),
                        changes.description.map(|d| tasks::description.eq(d)),
                        changes
                            .assignee_user_id
                            .map(|a| tasks::assignee_user_id.eq(a.map(|u| u.to_string()))),
                        changes.due_at.map(|d| tasks::due_at.eq(d.map(to_db))),
                        changes.done.map(|d| tasks::done.eq(d)),
                        tasks::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                load_task(c, tenant, id)?.to_api()
            })
            .await
    }

    /// Deletes a task.
    pub async fn delete_task(&self, p: &Principal, id: Uuid) -> Result<()> {
        p.require(Permission::AgendaWrite)?;
        let tenant = p.tenant_id;
        self.db
            .write(move |c| {
                load_task(c, tenant, id)?;
                diesel::delete(tasks::table.find(id.to_string())).execute(c)?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_link_tasks_to_their_object_kind() {
        assert_eq!(
            object_type(Topic::AppointmentsRemindersFailed),
            Some(ObjectType::Appointment)
        );
        assert_eq!(
            object_type(Topic::CallRequestsPlan),
            Some(ObjectType::CallRequest)
        );
        assert_eq!(object_type(Topic::TriggerRulesFired), None);
    }

    #[test]
    fn rules_cannot_react_to_what_rules_emit() {
        let mut v = Validator::new();
        check_event(&mut v, Topic::TriggerRulesFired);
        assert!(v.finish().is_err());
        let mut v = Validator::new();
        check_event(&mut v, Topic::AppointmentsRemindersFailed);
        assert!(v.finish().is_ok());
    }
}
