//! Attachments of ticket messages (issue 7 "Storage of attachments", R-PRIVACY).
//!
//! The flow, for the portal form and inbound mail alike: [`Tickets::stage_uploads`] scans each
//! upload and stores the bytes of those that may be kept (before the database transaction, as
//! object stores are not transactional); [`record_uploads`] then records them inside the
//! message's transaction (rows, incident label, system message, events). When that transaction
//! fails, [`Tickets::discard_staged`] deletes the stored bytes again (best effort), so no orphan
//! blobs remain.
//!
//! Storage is one [`AttachmentStore`] over the `object_store` crate: a local directory
//! (`file:///abs/dir`) or any S3-compatible store (`s3://bucket/prefix`, credentials and endpoint
//! from the usual `AWS_*` variables).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use loket_common::crypto::sha256_hex;
use loket_common::time::to_db;
use loket_common::validate::Validator;
use loket_common::{Actor, Code, Error, Permission, Principal, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::{ticket_attachments, ticket_messages, tickets};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Tickets;
use crate::api::{AuthorKind, Message, Visibility};
use crate::events::{self, TICKETS_SECURITY_INCIDENT};
use crate::model::{MessageRow, TicketRow};
use crate::privacy::{Classification, Kind, Scan, Scanner};
use crate::service::{MessageInput, add_incident_label, insert_message};

/// Default size limit per attachment (10 MiB).
pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Most attachments on one message.
pub const MAX_ATTACHMENTS: usize = 10;
/// Longest kept file name (characters).
pub const NAME_MAX: usize = 200;
/// Most text extracted from one file for scanning (characters); the rest is not scanned.
const TEXT_MAX: usize = 20_000_000;

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
    /// Why the bytes were not kept (several persons' data), if they were not.
    pub removed_reason: Option<String>,
}

/// An attachment as listed on a message.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    pub id: Uuid,
    /// The (sanitised) file name.
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Set when the bytes were removed (R-PRIVACY: several persons' personal data); downloading
    /// then answers 410.
    pub removed_reason: Option<String>,
}

/// The bytes of an attachment, for download.
#[derive(Debug, Clone)]
pub struct AttachmentContent {
    /// The file name.
    pub name: String,
    /// The declared media type.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Where attachment bytes live: a local directory or an S3-compatible bucket.
#[derive(Clone)]
pub struct AttachmentStore {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    max_bytes: usize,
}

impl std::fmt::Debug for AttachmentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentStore")
            .field("store", &self.store.to_string())
            .field("prefix", &self.prefix)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

impl AttachmentStore {
    /// An in-memory store (unit tests, and the default before one is configured).
    #[must_use]
    pub fn memory(max_bytes: usize) -> Self {
        AttachmentStore {
            store: Arc::new(object_store::memory::InMemory::new()),
            prefix: String::new(),
            max_bytes,
        }
    }

    /// A local directory (created when missing).
    pub fn local(dir: &std::path::Path, max_bytes: usize) -> std::result::Result<Self, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| format!("cannot use {}: {e}", dir.display()))?;
        Ok(AttachmentStore {
            store: Arc::new(fs),
            prefix: String::new(),
            max_bytes,
        })
    }

    /// The store of a URL: `file:///abs/dir` or `s3://bucket[/prefix]` (credentials, region and
    /// endpoint from `AWS_*` variables, as `AmazonS3Builder::from_env` reads them).
    pub fn from_url(url: &str, max_bytes: usize) -> std::result::Result<Self, String> {
        if let Some(path) = url.strip_prefix("file://") {
            let dir = std::path::Path::new(path);
            if !dir.is_absolute() {
                return Err(format!(
                    "`{url}`: a file URL needs an absolute path (file:///abs/dir)"
                ));
            }
            return Self::local(dir, max_bytes);
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!(
                    "`{url}`: an s3 URL needs a bucket (s3://bucket/prefix)"
                ));
            }
            let s3 = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| format!("`{url}`: {e}"))?;
            return Ok(AttachmentStore {
                store: Arc::new(s3),
                prefix: prefix.trim_matches('/').to_owned(),
                max_bytes,
            });
        }
        Err(format!(
            "`{url}` must start with file:/// (a local directory) or s3:// (an S3-compatible bucket)"
        ))
    }

    /// The size limit per attachment.
    #[must_use]
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.store
            .put(&self.path(key), PutPayload::from(bytes))
            .await
            .map_err(Error::unavailable)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self.store.get(&self.path(key)).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(Error::unavailable)?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::unavailable(e)),
        }
    }

    async fn delete(&self, key: &str) {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => tracing::warn!(key, error = %e, "could not delete attachment bytes"),
        }
    }
}

/// The 422 for an upload over the size limit, naming the file (`attachments[i]`).
#[must_use]
pub fn too_large(index: usize, name: &str, max_bytes: usize) -> Error {
    Error::invalid(
        format!("attachments[{index}]"),
        format!(
            "`{}` is larger than the limit of {max_bytes} bytes",
            sanitise_name(name)
        ),
    )
}

/// The 422 for too many attachments on one message.
#[must_use]
pub fn too_many() -> Error {
    Error::invalid(
        "attachments",
        format!("at most {MAX_ATTACHMENTS} attachments per message"),
    )
}

/// A safe file name: the last path component, without control characters and the characters
/// `"\/:*?<>|`, trimmed, at most [`NAME_MAX`] characters; `attachment` when nothing remains.
#[must_use]
pub fn sanitise_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '*' | '?' | '<' | '>' | '|' | ':'))
        .take(NAME_MAX)
        .collect();
    let trimmed = cleaned.trim().trim_matches('.').trim();
    if trimmed.is_empty() {
        "attachment".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The media type without parameters, lower case; `application/octet-stream` when it is not a
/// plain `type/subtype`.
#[must_use]
pub fn normalise_content_type(ct: &str) -> String {
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let valid = essence.split_once('/').is_some_and(|(t, s)| {
        let ok = |p: &str| {
            !p.is_empty()
                && p.len() <= 100
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-' | b'_'))
        };
        ok(t) && ok(s)
    });
    if valid {
        essence
    } else {
        "application/octet-stream".to_owned()
    }
}

/// How a file's content is read for scanning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readable {
    /// Plain or tabular text (text/plain, text/csv, …).
    Text,
    /// HTML: tags are stripped.
    Html,
    /// A spreadsheet (xlsx, xls, xlsb, ods) read with calamine.
    Spreadsheet,
    /// Not readable (images, PDF, archives): treated as clean.
    Opaque,
}

/// Decides how to read a file from its media type, else its name's extension.
#[must_use]
pub fn readable(content_type: &str, name: &str) -> Readable {
    let ct = normalise_content_type(content_type);
    match ct.as_str() {
        "text/html" | "application/xhtml+xml" => return Readable::Html,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.oasis.opendocument.spreadsheet"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-excel.sheet.binary.macroenabled.12"
        | "application/vnd.ms-excel.sheet.macroenabled.12" => return Readable::Spreadsheet,
        "application/json" | "application/xml" | "application/csv" => return Readable::Text,
        _ if ct.starts_with("text/") => return Readable::Text,
        _ => {}
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "csv" | "tsv" | "log" | "json" | "xml" => Readable::Text,
        "html" | "htm" => Readable::Html,
        "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => Readable::Spreadsheet,
        _ => Readable::Opaque,
    }
}

fn cap(mut s: String) -> String {
    if s.len() > TEXT_MAX {
        let mut end = TEXT_MAX;
        while end > 0 && !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The visible text of an HTML document: tags, comments, `script` and `style` contents are
/// dropped; block tags become line breaks; common entities are decoded.
#[must_use]
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        let lrest = &lower[i..];
        if lrest.starts_with("<!--") {
            i += lrest.find("-->").map_or(rest.len(), |e| e + 3);
        } else if lrest.starts_with("<script") || lrest.starts_with("<style") {
            let close = if lrest.starts_with("<script") {
                "</script"
            } else {
                "</style"
            };
            match lrest.find(close) {
                Some(e) => i += e + lrest[e..].find('>').map_or(lrest.len() - e, |g| g + 1),
                None => i = html.len(),
            }
        } else if rest.starts_with('<') {
            let end = rest.find('>').map_or(rest.len(), |e| e + 1);
            let tag = &lrest[..end];
            if [
                "<br", "<p", "</p", "<div", "</div", "<tr", "</tr", "<li", "<h",
            ]
            .iter()
            .any(|t| tag.starts_with(t))
            {
                out.push('\n');
            } else if tag.starts_with("<td") || tag.starts_with("<th") {
                out.push(';');
            } else {
                out.push(' ');
            }
            i += end;
        } else if rest.starts_with('&') {
            let entity = rest
                .get(..rest.find(';').map_or(0, |e| e + 1).min(10))
                .unwrap_or("");
            let decoded = match entity {
                "&amp;" => Some("&"),
                "&lt;" => Some("<"),
                "&gt;" => Some(">"),
                "&quot;" => Some("\""),
                "&#39;" | "&apos;" => Some("'"),
                "&nbsp;" | "&#160;" => Some(" "),
                _ => None,
            };
            match decoded {
                Some(d) => {
                    out.push_str(d);
                    i += entity.len();
                }
                None => {
                    out.push('&');
                    i += 1;
                }
            }
        } else {
            let next = rest.find(['<', '&']).unwrap_or(rest.len());
            out.push_str(&rest[..next]);
            i += next;
        }
    }
    out
}

/// Every sheet of a spreadsheet as tabular text: one line per row, cells separated by `;`
/// (the first row is the header the scanner reads). `None` when it cannot be read.
#[must_use]
pub fn spreadsheet_sheets(bytes: &[u8]) -> Option<Vec<String>> {
    use calamine::Reader;
    let read = std::panic::catch_unwind(|| {
        let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).ok()?;
        let mut sheets = Vec::new();
        let mut total = 0usize;
        for (_, range) in book.worksheets() {
            let mut text = String::new();
            for row in range.rows() {
                let cells: Vec<String> = row
                    .iter()
                    .map(|c| c.to_string().replace(['\n', '\r', ';'], " "))
                    .collect();
                text.push_str(&cells.join(";"));
                text.push('\n');
                if total + text.len() > TEXT_MAX {
                    break;
                }
            }
            total += text.len();
            sheets.push(cap(text));
            if total > TEXT_MAX {
                break;
            }
        }
        Some(sheets)
    });
    read.ok().flatten()
}

/// The texts to scan in a file (one per sheet for spreadsheets); empty when unreadable.
#[must_use]
pub fn extract_texts(content_type: &str, name: &str, bytes: &[u8]) -> Vec<String> {
    match readable(content_type, name) {
        Readable::Text => vec![cap(String::from_utf8_lossy(bytes).into_owned())],
        Readable::Html => vec![cap(html_to_text(&String::from_utf8_lossy(bytes)))],
        Readable::Spreadsheet => spreadsheet_sheets(bytes).unwrap_or_default(),
        Readable::Opaque => Vec::new(),
    }
}

/// Scans a file's content for personal data (R-PRIVACY); never panics.
#[must_use]
pub fn scan_file(content_type: &str, name: &str, bytes: &[u8]) -> Scan {
    let scanner = Scanner::default();
    let mut scan = Scan::default();
    for text in extract_texts(content_type, name, bytes) {
        scan.merge(scanner.scan(&text));
    }
    scan
}

fn kinds_text(scan: &Scan) -> String {
    scan.kinds()
        .into_iter()
        .map(|k| match k {
            Kind::Bsn => "BSN",
            Kind::Iban => "IBAN",
            Kind::Email => "e-mail",
            Kind::Phone => "phone",
            Kind::Address => "address",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Tickets {
    /// The attachment store.
    #[must_use]
    pub fn attachment_store(&self) -> &AttachmentStore {
        &self.attachments
    }

    /// Scans each upload and stores the bytes of those that may be kept. An upload over the
    /// size limit answers 422 naming it (`attachments[i]`), as do more than
    /// [`MAX_ATTACHMENTS`]; nothing is stored then.
    pub async fn stage_uploads(&self, uploads: Vec<Upload>) -> Result<Vec<Staged>> {
        let max = self.attachments.max_bytes;
        if uploads.len() > MAX_ATTACHMENTS {
            return Err(too_many());
        }
        let mut v = Validator::new();
        for (i, u) in uploads.iter().enumerate() {
            if u.bytes.len() > max {
                v.fail(
                    &format!("attachments[{i}]"),
                    format!(
                        "`{}` is larger than the limit of {max} bytes",
                        sanitise_name(&u.name)
                    ),
                );
            }
        }
        v.finish()?;
        let mut staged = Vec::with_capacity(uploads.len());
        for u in uploads {
            let name = sanitise_name(&u.name);
            let content_type = normalise_content_type(&u.content_type);
            let (ct, n) = (content_type.clone(), name.clone());
            let (bytes, scan, sha256) = tokio::task::spawn_blocking(move || {
                let scan = scan_file(&ct, &n, &u.bytes);
                let sha = sha256_hex(&u.bytes);
                (u.bytes, scan, sha)
            })
            .await
            .map_err(Error::internal)?;
            let classification = scan.classification();
            let size_bytes = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
            let (storage_key, removed_reason) = if classification == Classification::Full {
                let reason = format!(
                    "Removed: personal data of {} persons ({}) / Verwijderd: persoonsgegevens van {} personen ({}).",
                    scan.persons(),
                    kinds_text(&scan),
                    scan.persons(),
                    kinds_text(&scan)
                );
                (None, Some(reason))
            } else {
                let key = format!("attachments/{}", ids::new_id());
                if let Err(e) = self.attachments.put(&key, bytes).await {
                    self.discard_staged(&staged).await;
                    return Err(e);
                }
                (Some(key), None)
            };
            staged.push(Staged {
                name,
                content_type,
                size_bytes,
                sha256,
                storage_key,
                classification,
                removed_reason,
            });
        }
        Ok(staged)
    }

    /// Deletes the stored bytes of staged uploads (best effort): call it when the transaction
    /// that should have recorded them failed.
    pub async fn discard_staged(&self, staged: &[Staged]) {
        for s in staged {
            if let Some(key) = &s.storage_key {
                self.attachments.delete(key).await;
            }
        }
    }

    /// The bytes of attachment `id` of ticket `number`: staff see every attachment of the
    /// tenant's tickets, customers (R-OWN) only those of public messages of their own tickets;
    /// 404 otherwise, 410 when the bytes were removed.
    pub async fn attachment(
        &self,
        p: &Principal,
        number: String,
        id: String,
    ) -> Result<AttachmentContent> {
        p.require(Permission::TicketsRead)?;
        let p = p.clone();
        let row = self
            .db
            .read(move |c| {
                let viewer = crate::service::viewer(c, &p)?;
                let ticket = crate::service::load_by_number(c, p.tenant_id, &viewer, &number)?;
                load_attachment(
                    c,
                    &ticket,
                    &id,
                    matches!(viewer, crate::service::Viewer::Customer { .. }),
                )
            })
            .await?;
        self.content(row).await
    }

    /// An attachment of a public message, for the holder of the tracking code; 404 otherwise,
    /// 410 when the bytes were removed.
    pub async fn public_attachment(
        &self,
        number: String,
        code: String,
        id: String,
    ) -> Result<AttachmentContent> {
        let row = self
            .db
            .read(move |c| {
                let ticket = crate::public::load_with_code(c, &number, &code)?;
                load_attachment(c, &ticket, &id, true)
            })
            .await?;
        self.content(row).await
    }

    async fn content(&self, row: AttachmentRow) -> Result<AttachmentContent> {
        let gone = || {
            Error::new(
                Code::Gone,
                "The bytes of this attachment were removed because they held several persons' \
                 personal data; only its name and size remain.",
            )
        };
        let Some(key) = row
            .storage_key
            .as_deref()
            .filter(|_| row.removed_reason.is_none())
        else {
            return Err(gone());
        };
        let bytes = self.attachments.get(key).await?.ok_or_else(gone)?;
        Ok(AttachmentContent {
            name: row.name,
            content_type: row.content_type,
            bytes,
        })
    }
}

/// An attachment row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ticket_attachments)]
pub struct AttachmentRow {
    pub id: String,
    pub tenant_id: String,
    pub ticket_id: String,
    pub message_id: Option<String>,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: Option<String>,
    pub removed_reason: Option<String>,
    pub removed_at: Option<chrono::NaiveDateTime>,
    pub created_at: chrono::NaiveDateTime,
}

impl AttachmentRow {
    /// The API representation.
    pub fn to_api(&self) -> Result<Attachment> {
        Ok(Attachment {
            id: ids::parse_stored(&self.id)?,
            name: self.name.clone(),
            content_type: self.content_type.clone(),
            size_bytes: self.size_bytes,
            removed_reason: self.removed_reason.clone(),
        })
    }
}

fn load_attachment(
    c: &mut AnyConnection,
    ticket: &TicketRow,
    id: &str,
    public_only: bool,
) -> Result<AttachmentRow> {
    let not_found = || Error::not_found("attachment");
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let row = ticket_attachments::table
        .filter(ticket_attachments::id.eq(id.to_string()))
        .filter(ticket_attachments::ticket_id.eq(&ticket.id))
        .filter(ticket_attachments::tenant_id.eq(&ticket.tenant_id))
        .select(AttachmentRow::as_select())
        .first(c)
        .optional()?
        .ok_or_else(not_found)?;
    if public_only {
        let public: i64 = ticket_messages::table
            .filter(ticket_messages::id.nullable().eq(&row.message_id))
            .filter(ticket_messages::visibility.eq(Visibility::Public.as_str()))
            .count()
            .get_result(c)?;
        if public == 0 {
            return Err(not_found());
        }
    }
    Ok(row)
}

/// The API messages of `rows` with their attachments (one query for all).
pub fn with_attachments(c: &mut AnyConnection, rows: &[MessageRow]) -> Result<Vec<Message>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let atts: Vec<AttachmentRow> = if ids.is_empty() {
        Vec::new()
    } else {
        ticket_attachments::table
            .filter(ticket_attachments::message_id.eq_any(ids))
            .order((
                ticket_attachments::created_at.asc(),
                ticket_attachments::id.asc(),
            ))
            .select(AttachmentRow::as_select())
            .load(c)?
    };
    rows.iter()
        .map(|r| {
            let mut m = r.to_api()?;
            m.attachments = atts
                .iter()
                .filter(|a| a.message_id.as_deref() == Some(r.id.as_str()))
                .map(AttachmentRow::to_api)
                .collect::<Result<_>>()?;
            Ok(m)
        })
        .collect()
}

/// Records `staged` for message `message_id` of ticket `row`, inside the caller's transaction;
/// answers the worst classification among them. Adds the incident label (reloading the ticket,
/// so labels added earlier in the transaction stay), a public system message when bytes were
/// removed, and emits `Tickets.SecurityIncident` when the label was added or bytes removed.
pub fn record_uploads(
    conn: &mut AnyConnection,
    row: &TicketRow,
    message_id: &str,
    staged: Vec<Staged>,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<Classification> {
    let mut worst = Classification::Clean;
    let mut removed: Vec<String> = Vec::new();
    for s in staged {
        worst = worst.max(s.classification);
        let gone = s.storage_key.is_none() || s.removed_reason.is_some();
        let reason = match (&s.removed_reason, gone) {
            (Some(r), _) => Some(r.clone()),
            (None, true) => Some("Removed / Verwijderd.".to_owned()),
            (None, false) => None,
        };
        if gone {
            removed.push(s.name.clone());
        }
        diesel::insert_into(ticket_attachments::table)
            .values((
                ticket_attachments::id.eq(ids::new_id().to_string()),
                ticket_attachments::tenant_id.eq(&row.tenant_id),
                ticket_attachments::ticket_id.eq(&row.id),
                ticket_attachments::message_id.eq(Some(message_id)),
                ticket_attachments::name.eq(&s.name),
                ticket_attachments::content_type.eq(&s.content_type),
                ticket_attachments::size_bytes.eq(s.size_bytes),
                ticket_attachments::sha256.eq(&s.sha256),
                ticket_attachments::storage_key.eq(s.storage_key.as_deref().filter(|_| !gone)),
                ticket_attachments::removed_reason.eq(reason),
                ticket_attachments::removed_at.eq(gone.then(|| to_db(at))),
                ticket_attachments::created_at.eq(to_db(at)),
            ))
            .execute(conn)?;
    }
    if worst == Classification::Clean && removed.is_empty() {
        return Ok(worst);
    }
    let fresh = tickets::table
        .find(&row.id)
        .select(TicketRow::as_select())
        .first(conn)?;
    let labelled = add_incident_label(conn, &fresh, worst, actor, at)?;
    if !removed.is_empty() {
        let names = removed.join(", ");
        let body = format!(
            "De bijlage(n) {names} bevatte(n) persoonsgegevens van meerdere personen en is/zijn \
             daarom verwijderd; alleen de naam en grootte zijn bewaard. Stuur zulke gegevens \
             niet via de helpdesk.\n\n\
             The attachment(s) {names} contained personal data of several persons and were \
             therefore removed; only the name and size were kept. Please do not send such data \
             through the helpdesk."
        );
        insert_message(
            conn,
            &fresh,
            &MessageInput {
                author_kind: AuthorKind::System,
                author_id: None,
                author_email: None,
                author_name: None,
                visibility: Visibility::Public,
                body_text: &body,
                body_html: None,
                message_id: None,
                in_reply_to: None,
            },
            at,
        )?;
    }
    if labelled || !removed.is_empty() {
        let ticket = tickets::table
            .find(&row.id)
            .select(TicketRow::as_select())
            .first(conn)?
            .to_api()?;
        let tenant = ids::parse_stored(&row.tenant_id)?;
        events::emit(
            conn,
            TICKETS_SECURITY_INCIDENT,
            tenant,
            ticket.id,
            &ticket,
            actor,
            at,
        )?;
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_sanitised() {
        assert_eq!(sanitise_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitise_name("C:\\Users\\x\\rapport.xlsx"), "rapport.xlsx");
        assert_eq!(sanitise_name("a\"b\r\n.txt"), "ab.txt");
        assert_eq!(sanitise_name(" .. "), "attachment");
        assert_eq!(sanitise_name(&"x".repeat(500)).chars().count(), NAME_MAX);
    }

    #[test]
    fn content_types_are_normalised() {
        assert_eq!(
            normalise_content_type("Text/CSV; charset=utf-8"),
            "text/csv"
        );
        assert_eq!(
            normalise_content_type("nonsense"),
            "application/octet-stream"
        );
        assert_eq!(
            normalise_content_type("text/html\r\nX-Evil: 1"),
            "application/octet-stream"
        );
    }

    #[test]
    fn csv_with_a_bsn_column_counts_each_row() {
        let csv = "naam;BSN;plaats\nJan;111222333;Utrecht\nPiet;123456782;Zwolle\n";
        let scan = scan_file("text/csv", "lijst.csv", csv.as_bytes());
        assert_eq!(scan.persons(), 2);
        assert_eq!(scan.classification(), Classification::Full);
        // Without the header the same numbers are not BSNs (order numbers).
        let csv = "order;bedrag\n111222333;10\n123456782;12\n";
        assert_eq!(
            scan_file("text/csv", "orders.csv", csv.as_bytes()).classification(),
            Classification::Clean
        );
    }

    fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (u32::try_from(r).unwrap_or(0), u16::try_from(c).unwrap_or(0));
                if let Ok(n) = cell.parse::<f64>() {
                    let _ = sheet.write_number(r, c, n);
                } else {
                    let _ = sheet.write_string(r, c, *cell);
                }
            }
        }
        book.save_to_buffer().unwrap_or_default()
    }

    #[test]
    fn spreadsheet_cells_become_tabular_text() {
        let bytes = xlsx(&[
            &["Naam", "BSN"],
            &["Jan", "111222333"],
            &["Piet", "123456782"],
        ]);
        let sheets = spreadsheet_sheets(&bytes).unwrap_or_default();
        assert_eq!(
            sheets,
            vec!["Naam;BSN\nJan;111222333\nPiet;123456782\n".to_owned()]
        );
        let scan = scan_file("application/octet-stream", "lijst.xlsx", &bytes);
        assert_eq!(scan.persons(), 2);
        assert_eq!(scan.classification(), Classification::Full);
        let one = xlsx(&[&["Naam", "BSN"], &["Jan", "111222333"]]);
        assert_eq!(
            scan_file("application/octet-stream", "een.xlsx", &one).classification(),
            Classification::Light
        );
        let orders = xlsx(&[&["Order", "Bedrag"], &["111222333", "12"]]);
        assert_eq!(
            scan_file("application/octet-stream", "orders.xlsx", &orders).classification(),
            Classification::Clean
        );
    }

    #[test]
    fn html_is_stripped_before_scanning() {
        let html = "<html><style>p{}</style><script>var bsn='111222333'</script><p>BSN:&nbsp;<b>111222333</b></p></html>";
        let text = html_to_text(html);
        assert!(!text.contains('<'));
        assert!(text.contains("BSN: "));
        assert!(!text.contains("var bsn"));
        let scan = scan_file("text/html", "x.html", html.as_bytes());
        assert_eq!(scan.classification(), Classification::Light);
    }

    #[test]
    fn readable_by_type_or_extension() {
        assert_eq!(readable("image/png", "shot.png"), Readable::Opaque);
        assert_eq!(readable("application/pdf", "a.pdf"), Readable::Opaque);
        assert_eq!(
            readable("application/octet-stream", "a.XLSX"),
            Readable::Spreadsheet
        );
        assert_eq!(
            readable("application/vnd.oasis.opendocument.spreadsheet", "a"),
            Readable::Spreadsheet
        );
        assert_eq!(readable("text/plain", "a.bin"), Readable::Text);
    }

    #[test]
    fn unreadable_spreadsheet_is_clean() {
        assert!(spreadsheet_sheets(b"not a zip").is_none());
        assert_eq!(
            scan_file(
                "application/vnd.ms-excel",
                "a.xls",
                b"BSN 111222333 garbage"
            )
            .classification(),
            Classification::Clean
        );
    }

    #[test]
    fn store_urls() {
        assert!(AttachmentStore::from_url("file://relative", 1).is_err());
        assert!(AttachmentStore::from_url("ftp://x/y", 1).is_err());
        assert!(AttachmentStore::from_url("s3:///prefix", 1).is_err());
        let s3 = AttachmentStore::from_url("s3://bucket/loket/files/", 1);
        assert_eq!(
            s3.map(|s| s.path("a/b").to_string()).ok().as_deref(),
            Some("loket/files/a/b")
        );
        let dir = std::env::temp_dir().join(format!("loket-store-{}", ids::new_id()));
        let url = format!("file://{}", dir.display());
        assert!(AttachmentStore::from_url(&url, 1).is_ok());
        assert!(dir.is_dir(), "the directory is created");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn memory_store_round_trip() {
        let t = AttachmentStore::memory(100);
        let staged_ok = t.put("k", b"x".to_vec()).await;
        assert!(staged_ok.is_ok());
        assert_eq!(t.get("k").await.ok().flatten(), Some(b"x".to_vec()));
        t.delete("k").await;
        assert_eq!(t.get("k").await.ok().flatten(), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn scanning_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..2048),
            ct in prop_oneof![
                Just("text/plain".to_owned()), Just("text/html".to_owned()), Just("text/csv".to_owned()),
                Just("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned()),
                Just("application/vnd.oasis.opendocument.spreadsheet".to_owned()),
                Just("application/vnd.ms-excel".to_owned()), Just("image/png".to_owned()),
                Just("application/pdf".to_owned()),
                "[ -~]{0,40}",
            ],
            name in "[ -~]{0,40}",
        ) {
            let _ = scan_file(&ct, &name, &bytes);
            let _ = sanitise_name(&name);
            let _ = normalise_content_type(&ct);
        }

        #[test]
        fn zip_like_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let mut bytes = b"PK\x03\x04".to_vec();
            bytes.extend(tail);
            let _ = scan_file("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "a.xlsx", &bytes);
        }
    }
}
