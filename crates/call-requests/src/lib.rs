//! Call requests (oproepverzoeken, seed 000 §3.1.3, §3.1.5): a request to plan a consultation
//! for an employee; staff availabilities; automatic planning ("save and plan", gated by the
//! product parameter `CalculateAvailabilitiesForAppointmentRequest` and the `agenda:autoplan`
//! permission); and booking a chosen slot, which creates the appointment with its default
//! reminders and marks the request planned in one transaction.
//!
//! Rules: R-NOSHOW-SELECT with its default-type exception and R-CONTACT (through
//! `loket_consultation_types::rules`); double booking is refused by the appointments crate's
//! [`loket_appointments::service::book`]. [`Link`] lets appointment changes re-open or re-plan
//! their request.

pub mod api;
pub mod availabilities;
pub mod link;
pub mod model;
pub mod planning;
pub mod service;

use loket_common::SharedClock;
use loket_storage::Db;

pub use link::Link;

/// Call requests, availabilities and planning.
#[derive(Clone)]
pub struct CallRequests {
    db: Db,
    clock: SharedClock,
}

impl CallRequests {
    /// The service over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        CallRequests { db, clock }
    }
}
