//! Consultation types (spreekuursoorten) with their default reminders; the agenda's product
//! parameters; and the rules that decide whether a type may be chosen:
//! R-NOSHOW-SELECT (no-show types are not selectable for new appointments and call requests,
//! except the default type named by a product parameter, for call requests) and R-CONTACT (a
//! type may require that the employee is reachable by e-mail or mobile, private or work).

pub mod api;
pub mod model;
pub mod parameters;
pub mod rules;
pub mod types;

use loket_common::SharedClock;
use loket_storage::Db;

/// Consultation types and product parameters.
#[derive(Clone)]
pub struct ConsultationTypes {
    db: Db,
    clock: SharedClock,
}

impl ConsultationTypes {
    /// The service over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        ConsultationTypes { db, clock }
    }
}
