//! Appointments (DOMAIN.md "Agenda", seed 000 §3.1.2, §3.1.3, §3.1.6): the status machine
//! `planned` → `completed` (→ back while allowed) → `lapsed`, with the concept flag; the
//! procedures written on completion; no-show processing and its undo; default reminders;
//! double-booking protection; and the iCalendar feed of a staff member.
//!
//! Rules: R-COMPLETED-READONLY, R-COMPLETED-OPEN, R-COMPLETED-SUBMITTED and R-NOSHOW-UNDO in
//! [`rules::decide`] (which also computes every appointment's `actions`); R-NOSHOW-SELECT and
//! R-CONTACT through `loket_consultation_types::rules`. Every change is one transaction that
//! emits its events through `loket_agenda_core::events::emit`.
//!
//! Call requests sit above this crate (they book appointments through [`service::book`]); where
//! an appointment change must reach its call request (deleted or no-show: re-open; no-show
//! undone: planned again), this crate calls the [`CallRequestLink`] the call-requests crate
//! implements, inside the same transaction.

pub mod api;
pub mod calendar;
pub mod model;
pub mod reminders;
pub mod repo;
pub mod rules;
pub mod service;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use loket_common::{Actor, Result, SharedClock};
use loket_storage::{AnyConnection, Db};
use uuid::Uuid;

/// How appointment changes reach the call request they were booked for; implemented by the
/// call-requests crate. Both run inside the appointment's transaction.
pub trait CallRequestLink: Send + Sync {
    /// The appointment was deleted or processed as no-show: the request is open again.
    fn reopen(
        &self,
        conn: &mut AnyConnection,
        tenant: Uuid,
        call_request_id: Uuid,
        actor: Actor,
        at: DateTime<Utc>,
    ) -> Result<()>;

    /// The no-show was undone: the request is planned with `appointment_id` again. Refused
    /// (409) when the request was planned or cancelled meanwhile.
    fn replan(
        &self,
        conn: &mut AnyConnection,
        tenant: Uuid,
        call_request_id: Uuid,
        appointment_id: Uuid,
        actor: Actor,
        at: DateTime<Utc>,
    ) -> Result<()>;
}

/// A [`CallRequestLink`] for deployments without call requests (and unit tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCallRequests;

impl CallRequestLink for NoCallRequests {
    fn reopen(
        &self,
        _: &mut AnyConnection,
        _: Uuid,
        _: Uuid,
        _: Actor,
        _: DateTime<Utc>,
    ) -> Result<()> {
        Ok(())
    }

    fn replan(
        &self,
        _: &mut AnyConnection,
        _: Uuid,
        _: Uuid,
        _: Uuid,
        _: Actor,
        _: DateTime<Utc>,
    ) -> Result<()> {
        Ok(())
    }
}

/// Appointments, procedures and reminders.
#[derive(Clone)]
pub struct Appointments {
    db: Db,
    clock: SharedClock,
    link: Arc<dyn CallRequestLink>,
}

impl Appointments {
    /// The service over `db`; `link` carries changes to call requests.
    pub fn new(db: Db, clock: SharedClock, link: Arc<dyn CallRequestLink>) -> Self {
        Appointments { db, clock, link }
    }
}
