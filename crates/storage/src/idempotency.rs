//! Storage of idempotent POST requests (the `Idempotency-Key` header, as Stripe does it).
//!
//! A key is claimed before the request runs (`in_progress`), then completed with the response.
//! The same key with the same request replays the stored response; with a different request
//! it is refused; while in progress, it is refused as a conflict.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use loket_common::{Result, time};

use crate::AnyConnection;
use crate::schema::idempotency_keys;

/// How long a stored response is kept.
pub const RETENTION_HOURS: i64 = 24;

/// A stored response.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
pub struct StoredResponse {
    /// Hash of method, path and body of the original request.
    pub request_hash: String,
    /// `in_progress` or `completed`.
    pub state: String,
    /// HTTP status.
    pub status_code: Option<i32>,
    /// Content type.
    pub content_type: Option<String>,
    /// `Location` header, if any.
    pub location: Option<String>,
    /// The body.
    pub body: Option<String>,
    /// When the key was first used.
    pub created_at: chrono::NaiveDateTime,
}

/// What claiming a key found.
#[derive(Debug)]
pub enum Claim {
    /// The key is new and now reserved for this request.
    Claimed,
    /// The key was used before.
    Existing(StoredResponse),
}

/// Reserves `(scope, key)` for a request with `request_hash`, or returns the earlier use.
/// Keys older than the retention period are forgotten first.
pub fn claim(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
) -> Result<Claim> {
    let expired = time::to_db(now - chrono::Duration::hours(RETENTION_HOURS));
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::scope.eq(scope))
            .filter(idempotency_keys::key.eq(key))
            .filter(idempotency_keys::created_at.lt(expired)),
    )
    .execute(conn)?;
    let stored = |conn: &mut AnyConnection| {
        idempotency_keys::table
            .filter(idempotency_keys::scope.eq(scope))
            .filter(idempotency_keys::key.eq(key))
            .select(StoredResponse::as_select())
            .first(conn)
            .optional()
    };
    if let Some(row) = stored(conn)? {
        return Ok(Claim::Existing(row));
    }
    // In a savepoint: on PostgreSQL a failed statement (a concurrent claim of the same key)
    // would otherwise abort the whole transaction.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::scope.eq(scope),
                idempotency_keys::key.eq(key),
                idempotency_keys::request_hash.eq(request_hash),
                idempotency_keys::state.eq("in_progress"),
                idempotency_keys::created_at.eq(time::to_db(now)),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(Claim::Claimed),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            match stored(conn)? {
                Some(row) => Ok(Claim::Existing(row)),
                None => Err(DieselError::NotFound.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// The state of a key whose response held credentials shown only once: the request is not
/// repeated, and its response is not kept or replayed (R-ONCE).
pub const WITHHELD: &str = "withheld";

/// Stores the response of a claimed request; `body` is `None` for a [`WITHHELD`] response.
pub fn complete(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    status: u16,
    content_type: Option<&str>,
    location: Option<&str>,
    body: Option<&str>,
) -> Result<()> {
    diesel::update(
        idempotency_keys::table
            .filter(idempotency_keys::scope.eq(scope))
            .filter(idempotency_keys::key.eq(key)),
    )
    .set((
        idempotency_keys::state.eq(if body.is_some() {
            "completed"
        } else {
            WITHHELD
        }),
        idempotency_keys::status_code.eq(Some(i32::from(status))),
        idempotency_keys::content_type.eq(content_type),
        idempotency_keys::location.eq(location),
        idempotency_keys::body.eq(body),
    ))
    .execute(conn)?;
    Ok(())
}

/// Releases a claimed key whose request failed on the server side, so a retry may run again.
pub fn release(conn: &mut AnyConnection, scope: &str, key: &str) -> Result<()> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::scope.eq(scope))
            .filter(idempotency_keys::key.eq(key)),
    )
    .execute(conn)?;
    Ok(())
}
