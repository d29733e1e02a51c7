//! Identifiers. Every row id is a UUID v7: unique across tenants and installations, and ordered
//! by creation time, which keyset pagination relies on.

use uuid::Uuid;

/// A new, time-ordered id.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Parses an id stored as text in the database.
pub fn parse_stored(s: &str) -> crate::Result<Uuid> {
    Uuid::parse_str(s).map_err(crate::Error::internal)
}
