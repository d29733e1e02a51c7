//! Database rows and their API representations.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loket_common::time::from_db;
use loket_common::{Error, Result, ids};
use loket_storage::schema::{availabilities, call_requests};
use uuid::Uuid;

use crate::api::{Availability, CallRequest, CallRequestStatus};

/// A call request row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = call_requests)]
pub struct CallRequestRow {
    pub id: String,
    pub tenant_id: String,
    pub employee_id: String,
    pub consultation_type_id: String,
    pub reason: Option<String>,
    pub deadline: Option<NaiveDateTime>,
    pub preferred_staff_id: Option<String>,
    pub preferred_location: Option<String>,
    pub status: String,
    pub appointment_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

fn opt_id(s: &Option<String>) -> Result<Option<Uuid>> {
    s.as_deref().map(ids::parse_stored).transpose()
}

impl CallRequestRow {
    /// The status.
    pub fn status(&self) -> CallRequestStatus {
        CallRequestStatus::parse(&self.status)
    }

    /// The API representation.
    pub fn to_api(&self) -> Result<CallRequest> {
        Ok(CallRequest {
            id: ids::parse_stored(&self.id)?,
            employee_id: ids::parse_stored(&self.employee_id)?,
            consultation_type_id: ids::parse_stored(&self.consultation_type_id)?,
            reason: self.reason.clone(),
            deadline: self.deadline.map(from_db),
            preferred_staff_id: opt_id(&self.preferred_staff_id)?,
            preferred_location: self.preferred_location.clone(),
            status: self.status(),
            appointment_id: opt_id(&self.appointment_id)?,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// An availability row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = availabilities)]
pub struct AvailabilityRow {
    pub id: String,
    pub tenant_id: String,
    pub staff_id: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub location: Option<String>,
    pub consultation_type_ids: String,
    pub created_at: NaiveDateTime,
}

impl AvailabilityRow {
    /// The allowed consultation types (empty: any).
    pub fn type_ids(&self) -> Result<Vec<Uuid>> {
        serde_json::from_str(&self.consultation_type_ids).map_err(Error::internal)
    }

    /// Whether consultations of `type_id` may be planned in it.
    pub fn allows(&self, type_id: Uuid) -> Result<bool> {
        let ids = self.type_ids()?;
        Ok(ids.is_empty() || ids.contains(&type_id))
    }

    /// The API representation.
    pub fn to_api(&self) -> Result<Availability> {
        Ok(Availability {
            id: ids::parse_stored(&self.id)?,
            staff_id: ids::parse_stored(&self.staff_id)?,
            starts_at: from_db(self.starts_at),
            ends_at: from_db(self.ends_at),
            location: self.location.clone(),
            consultation_type_ids: self.type_ids()?,
            created_at: from_db(self.created_at),
        })
    }
}
