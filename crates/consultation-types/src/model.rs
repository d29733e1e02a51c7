//! Database rows and their API representations.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loket_common::time::from_db;
use loket_common::{Error, Result, ids};
use loket_storage::schema::consultation_types;

use crate::api::{ConsultationType, DefaultReminder};

/// A consultation type row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = consultation_types)]
pub struct ConsultationTypeRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub duration_minutes: i32,
    pub is_no_show: bool,
    pub requires_contact: bool,
    pub default_reminders: String,
    pub billing_code: Option<String>,
    pub amount_cents: i64,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ConsultationTypeRow {
    /// The stored default reminders.
    pub fn reminders(&self) -> Result<Vec<DefaultReminder>> {
        serde_json::from_str(&self.default_reminders).map_err(Error::internal)
    }

    /// The API representation.
    pub fn to_api(&self) -> Result<ConsultationType> {
        Ok(ConsultationType {
            id: ids::parse_stored(&self.id)?,
            name: self.name.clone(),
            duration_minutes: u32::try_from(self.duration_minutes).unwrap_or_default(),
            is_no_show: self.is_no_show,
            requires_contact: self.requires_contact,
            default_reminders: self.reminders()?,
            billing_code: self.billing_code.clone(),
            amount_cents: self.amount_cents,
            active: self.active,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}
