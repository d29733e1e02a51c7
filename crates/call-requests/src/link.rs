//! How appointment changes reach their call request (the appointments crate calls these inside
//! its own transaction).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use loket_agenda_core::events::{self, Topic};
use loket_appointments::CallRequestLink;
use loket_common::time::to_db;
use loket_common::{Actor, Error, Result};
use loket_storage::AnyConnection;
use loket_storage::schema::call_requests;
use uuid::Uuid;

use crate::api::CallRequestStatus;
use crate::service;

/// The [`CallRequestLink`] of this crate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Link;

impl CallRequestLink for Link {
    fn reopen(
        &self,
        conn: &mut AnyConnection,
        tenant: Uuid,
        call_request_id: Uuid,
        actor: Actor,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let row = service::lock(conn, tenant, call_request_id)?;
        if row.status() != CallRequestStatus::Planned {
            return Ok(());
        }
        diesel::update(call_requests::table.find(&row.id))
            .set((
                call_requests::status.eq(CallRequestStatus::Open.as_str()),
                call_requests::appointment_id.eq(None::<String>),
                call_requests::updated_at.eq(to_db(at)),
            ))
            .execute(conn)?;
        let cr = service::load(conn, tenant, call_request_id)?.to_api()?;
        events::emit(
            conn,
            Topic::CallRequestsUpdate,
            tenant,
            call_request_id,
            &cr,
            actor,
            at,
        )
    }

    fn replan(
        &self,
        conn: &mut AnyConnection,
        tenant: Uuid,
        call_request_id: Uuid,
        appointment_id: Uuid,
        actor: Actor,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let row = service::lock(conn, tenant, call_request_id)?;
        if row.status() != CallRequestStatus::Open {
            return Err(Error::conflict(
                "The call request was planned again or cancelled after the no-show; the no-show \
                 cannot be undone.",
            ));
        }
        diesel::update(call_requests::table.find(&row.id))
            .set((
                call_requests::status.eq(CallRequestStatus::Planned.as_str()),
                call_requests::appointment_id.eq(Some(appointment_id.to_string())),
                call_requests::updated_at.eq(to_db(at)),
            ))
            .execute(conn)?;
        let cr = service::load(conn, tenant, call_request_id)?.to_api()?;
        events::emit(
            conn,
            Topic::CallRequestsUpdate,
            tenant,
            call_request_id,
            &cr,
            actor,
            at,
        )
    }
}
