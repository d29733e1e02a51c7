//! Attachments of ticket messages (issue 7 "Storage of attachments", R-PRIVACY).
//!
//! The flow, for the portal form and inbound mail alike: [`Tickets::stage_uploads`] scans each
//! upload and stores the bytes of those that may be kept (before the database transaction, as
//! object stores are not transactional); [`record_uploads`] then records them inside the
//! message's transaction (rows, incident label, system message, events).
//!
//! INTERFACE STUB (session 2): the attachments work fills this in; inbound mail calls it.

use chrono::{DateTime, Utc};
use loket_common::{Actor, Result};
use loket_storage::AnyConnection;

use crate::Tickets;
use crate::model::TicketRow;
use crate::privacy::Classification;

/// A file as it arrived: a portal upload or a mail part.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The file name as given (sanitised before use).
    pub name: String,
    /// The declared media type.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// An upload after scanning and, unless it must be removed, storing its bytes.
#[derive(Debug, Clone)]
pub struct Staged {
    /// The file name.
    pub name: String,
    /// The declared media type.
    pub content_type: String,
    /// Size of the upload in bytes.
    pub size_bytes: i64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// Where the bytes are stored; `None` when they were not kept.
    pub storage_key: Option<String>,
    /// What the privacy scan found.
    pub classification: Classification,
}

impl Tickets {
    /// Scans each upload and stores the bytes of those that may be kept.
    pub async fn stage_uploads(&self, uploads: Vec<Upload>) -> Result<Vec<Staged>> {
        let _ = uploads;
        Ok(Vec::new())
    }
}

/// Records `staged` for message `message_id` of ticket `row`, inside the caller's transaction;
/// answers the worst classification among them.
pub fn record_uploads(
    conn: &mut AnyConnection,
    row: &TicketRow,
    message_id: &str,
    staged: Vec<Staged>,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<Classification> {
    let _ = (conn, row, message_id, staged, actor, at);
    Ok(Classification::Clean)
}
