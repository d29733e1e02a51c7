//! What the agenda domains share (DOMAIN.md "Agenda", seed 000 §3.1): the event topics and
//! [`events::emit`], which writes the outbox event and runs the tenant's trigger rules in the
//! same transaction; trigger rules and tasks; employees (whose contact data R-CONTACT checks) and
//! staff (whose row serializes concurrent bookings).
//!
//! The other agenda crates (`consultation-types`, `appointments`, `call-requests`) use this one
//! only through its public functions, most of which take the caller's `&mut AnyConnection` so
//! that they join its transaction.

pub mod api;
pub mod check;
pub mod employees;
pub mod events;
pub mod model;
pub mod staff;
pub mod triggers;

use loket_common::SharedClock;
use loket_storage::Db;

/// Employees, staff, trigger rules and tasks.
#[derive(Clone)]
pub struct AgendaCore {
    db: Db,
    clock: SharedClock,
}

impl AgendaCore {
    /// The service over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        AgendaCore { db, clock }
    }
}
