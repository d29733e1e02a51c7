//! Database rows and their API representations.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use loket_common::time::from_db;
use loket_common::{Error, Result, ids};
use loket_storage::schema::{employees, staff, tasks, trigger_rules};

use crate::api::{
    Employee, ObjectRef, ObjectType, Staff, StaffRole, Task, TriggerAction, TriggerRule,
};
use crate::events::Topic;

/// An employee row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = employees)]
pub struct EmployeeRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub employer: Option<String>,
    pub department: Option<String>,
    pub private_email: Option<String>,
    pub work_email: Option<String>,
    pub private_mobile: Option<String>,
    pub work_mobile: Option<String>,
    pub language: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl EmployeeRow {
    /// The API representation; contact data only when `contact` (the caller may read it).
    pub fn to_api(&self, contact: bool) -> Result<Employee> {
        let shown = |v: &Option<String>| if contact { v.clone() } else { None };
        Ok(Employee {
            id: ids::parse_stored(&self.id)?,
            name: self.name.clone(),
            date_of_birth: self.date_of_birth,
            employer: self.employer.clone(),
            department: self.department.clone(),
            private_email: shown(&self.private_email),
            work_email: shown(&self.work_email),
            private_mobile: shown(&self.private_mobile),
            work_mobile: shown(&self.work_mobile),
            language: self.language.clone(),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// A staff row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = staff)]
pub struct StaffRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub role: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub active: bool,
    pub booking_version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl StaffRow {
    /// The API representation.
    pub fn to_api(&self) -> Result<Staff> {
        Ok(Staff {
            id: ids::parse_stored(&self.id)?,
            name: self.name.clone(),
            role: StaffRole::parse(&self.role),
            email: self.email.clone(),
            mobile: self.mobile.clone(),
            active: self.active,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// A trigger rule row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = trigger_rules)]
pub struct TriggerRuleRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub event: String,
    pub action: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl TriggerRuleRow {
    /// The stored action.
    pub fn action(&self) -> Result<TriggerAction> {
        serde_json::from_str(&self.action).map_err(Error::internal)
    }

    /// The API representation.
    pub fn to_api(&self) -> Result<TriggerRule> {
        Ok(TriggerRule {
            id: ids::parse_stored(&self.id)?,
            name: self.name.clone(),
            event: Topic::parse(&self.event).ok_or_else(|| {
                Error::internal(std::io::Error::other(format!(
                    "unknown stored topic {}",
                    self.event
                )))
            })?,
            action: self.action()?,
            active: self.active,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// A task row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tasks)]
pub struct TaskRow {
    pub id: String,
    pub tenant_id: String,
    pub title: String,
    pub description: Option<String>,
    pub assignee_user_id: Option<String>,
    pub due_at: Option<NaiveDateTime>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub done: bool,
    pub trigger_rule_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl TaskRow {
    /// The API representation.
    pub fn to_api(&self) -> Result<Task> {
        let object = match (&self.object_type, &self.object_id) {
            (Some(t), Some(id)) => ObjectType::parse(t)
                .map(|type_| -> Result<ObjectRef> {
                    Ok(ObjectRef {
                        type_,
                        id: ids::parse_stored(id)?,
                    })
                })
                .transpose()?,
            _ => None,
        };
        Ok(Task {
            id: ids::parse_stored(&self.id)?,
            title: self.title.clone(),
            description: self.description.clone(),
            assignee_user_id: self
                .assignee_user_id
                .as_deref()
                .map(ids::parse_stored)
                .transpose()?,
            due_at: self.due_at.map(from_db),
            object,
            done: self.done,
            trigger_rule_id: self
                .trigger_rule_id
                .as_deref()
                .map(ids::parse_stored)
                .transpose()?,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}
