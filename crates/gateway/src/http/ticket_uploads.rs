//! Request bodies with file attachments: `POST /tickets` and `POST /tickets/{number}/messages`
//! take JSON, or `multipart/form-data` with each field of the JSON body as a form part (array
//! fields repeated, or comma-separated) plus one or more `attachments` file parts. Files are
//! handed to the tickets service as [`Upload`]s, which scans and stores them.

use actix_web::dev::Payload;
use actix_web::http::header::{self, CONTENT_TYPE};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use loket_common::{Code, Error};
use loket_tickets::api::{Environment, IntakeChannel, Priority, Visibility};
use loket_tickets::attachments::{AttachmentContent, MAX_ATTACHMENTS, Upload, too_large, too_many};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::http::agenda::Body;
use crate::problem::ApiError;
use crate::state::AppState;

/// The name of the file parts.
pub const ATTACHMENTS_PART: &str = "attachments";

/// A body type that can arrive as form parts: which of its fields are arrays.
pub(crate) trait FormFields {
    /// Fields that are arrays of strings.
    const ARRAYS: &'static [&'static str];
}

impl FormFields for loket_tickets::api::NewTicket {
    const ARRAYS: &'static [&'static str] = &["cc_emails"];
}

impl FormFields for loket_tickets::api::NewMessage {
    const ARRAYS: &'static [&'static str] = &[];
}

/// A JSON body (as [`Body`]) or a multipart form of its fields plus `attachments` files.
pub(crate) struct WithUploads<T> {
    /// The body.
    pub value: T,
    /// The attached files, in order.
    pub uploads: Vec<Upload>,
}

fn is_multipart(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

impl<T: DeserializeOwned + FormFields + 'static> FromRequest for WithUploads<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if !is_multipart(req) {
            let body = Body::<T>::from_request(req, payload);
            return Box::pin(async move {
                Ok(WithUploads {
                    value: body.await?.into_inner(),
                    uploads: Vec::new(),
                })
            });
        }
        let (max_fields, max_file) = req
            .app_data::<web::Data<AppState>>()
            .map(|s| (s.settings.max_body_bytes, s.settings.attachment_max_bytes))
            .unwrap_or((1024 * 1024, loket_tickets::attachments::DEFAULT_MAX_BYTES));
        let multipart = actix_multipart::Multipart::new(req.headers(), payload.take());
        Box::pin(async move {
            read_form::<T>(multipart, max_fields, max_file)
                .await
                .map_err(|e| ApiError(e).into())
        })
    }
}

fn malformed(e: impl std::fmt::Display) -> Error {
    Error::new(
        Code::MalformedRequest,
        format!("The multipart body could not be read: {e}"),
    )
}

async fn read_form<T: DeserializeOwned + FormFields>(
    mut multipart: actix_multipart::Multipart,
    max_fields: usize,
    max_file: usize,
) -> Result<WithUploads<T>, Error> {
    let mut fields = serde_json::Map::new();
    let mut uploads = Vec::new();
    let mut field_bytes = 0usize;
    while let Some(part) = multipart.next().await {
        let mut part = part.map_err(malformed)?;
        let name = part.name().unwrap_or_default().to_owned();
        if name == ATTACHMENTS_PART {
            if uploads.len() >= MAX_ATTACHMENTS {
                return Err(too_many());
            }
            let Some(file_name) = part
                .content_disposition()
                .and_then(|cd| cd.get_filename())
                .map(str::to_owned)
            else {
                return Err(Error::invalid(
                    format!("attachments[{}]", uploads.len()),
                    "must be a file part (with a `filename`)",
                ));
            };
            let content_type = part
                .content_type()
                .map_or_else(|| "application/octet-stream".to_owned(), |m| m.to_string());
            let mut bytes = Vec::new();
            while let Some(chunk) = part.next().await {
                let chunk = chunk.map_err(malformed)?;
                if bytes.len() + chunk.len() > max_file {
                    return Err(too_large(uploads.len(), &file_name, max_file));
                }
                bytes.extend_from_slice(&chunk);
            }
            uploads.push(Upload {
                name: file_name,
                content_type,
                bytes,
            });
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(malformed)?;
            field_bytes += chunk.len();
            if field_bytes > max_fields {
                return Err(Error::new(
                    Code::PayloadTooLarge,
                    format!("The form fields exceed {max_fields} bytes."),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::invalid(name.clone(), "must be UTF-8 text"))?;
        if T::ARRAYS.contains(&name.as_str()) {
            let entry = fields
                .entry(name.clone())
                .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            if let serde_json::Value::Array(items) = entry {
                items.extend(
                    text.split(',')
                        .map(|s| serde_json::Value::String(s.trim().to_owned())),
                );
            }
        } else if fields
            .insert(name.clone(), serde_json::Value::String(text))
            .is_some()
        {
            return Err(Error::invalid(name, "is given more than once"));
        }
    }
    let value = serde_json::from_value::<T>(serde_json::Value::Object(fields)).map_err(|e| {
        let msg = e.to_string();
        let name = field_named(&msg).unwrap_or_else(|| "body".to_owned());
        Error::invalid(name, msg)
    })?;
    Ok(WithUploads { value, uploads })
}

/// serde names the offending field in backticks: "missing field `name`", "unknown field `x`".
fn field_named(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    let field = &msg[start..start + len];
    (!field.is_empty()
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    .then(|| field.to_owned())
}

/// `POST /tickets` as `multipart/form-data`: the fields of the JSON body as form parts (`cc_emails`
/// repeated) plus `attachments` files.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct NewTicketForm {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub contact_name: String,
    #[schema(format = "email", min_length = 3, max_length = 254)]
    pub contact_email: String,
    /// At most 10 addresses.
    #[schema(value_type = Vec<String>, format = "email", max_items = 10, required = false)]
    pub cc_emails: Vec<String>,
    /// Culture of the reporter (`nl-NL`, `en-GB`) for the mail; defaults to `nl-NL`.
    #[schema(example = "nl-NL", pattern = r"^[a-z]{2}-[A-Z]{2}$")]
    #[schema(required = false)]
    pub language: String,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    #[schema(required = false)]
    pub software_version: String,
    #[schema(required = false)]
    pub environment: Environment,
    /// The area or screen concerned.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    #[schema(required = false)]
    pub area: String,
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub subject: String,
    /// Tabs and line breaks allowed; not only white space.
    #[schema(
        min_length = 1,
        max_length = 100_000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub description: String,
    /// `portal` (default) or, for staff, `phone`.
    #[schema(required = false)]
    pub channel: IntakeChannel,
    /// Staff only.
    #[schema(required = false)]
    pub priority: Priority,
    /// Files to attach to the first message (repeat the part for several; at most 10, each at
    /// most `LOKET_ATTACHMENT_MAX_BYTES`). Scanned for personal data (R-PRIVACY).
    #[schema(value_type = Vec<String>, format = Binary, max_items = 10, required = false)]
    pub attachments: Vec<Vec<u8>>,
}

/// `POST /tickets/{number}/messages` as `multipart/form-data`: `body`, `visibility` and
/// `attachments` files.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct NewMessageForm {
    /// Tabs and line breaks allowed; not only white space.
    #[schema(
        min_length = 1,
        max_length = 100_000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub body: String,
    /// Staff only; customers always post `public`.
    #[schema(required = false)]
    pub visibility: Visibility,
    /// Files to attach (repeat the part for several; at most 10, each at most
    /// `LOKET_ATTACHMENT_MAX_BYTES`). Scanned for personal data (R-PRIVACY).
    #[schema(value_type = Vec<String>, format = Binary, max_items = 10, required = false)]
    pub attachments: Vec<Vec<u8>>,
}

/// RFC 5987 percent-encoding of a UTF-8 file name (`attr-char` kept).
fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The download response: the bytes with their media type, as an attachment (never rendered
/// inline), `nosniff` and a sandboxing content security policy.
pub(crate) fn download(content: AttachmentContent) -> HttpResponse {
    let ascii: String = content
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        pct_encode(&content.name)
    );
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content.content_type))
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(content.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_encoded() {
        assert_eq!(pct_encode("rapport 1.xlsx"), "rapport%201.xlsx");
        assert_eq!(pct_encode("één"), "%C3%A9%C3%A9n");
    }
}
