//! `POST /api/v1/mail/inbound`: inbound e-mail for the helpdesk (issue 7 "Intake", R-THREAD).
//! The body is the raw RFC 5322 message, as an MTA pipe or an inbound-parse service posts it.

use actix_web::http::header::{CONTENT_TYPE, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use loket_common::{Code, Error, Problem};
use loket_tickets::api::{InboundOutcome, InboundQuery, Mailbox, ThreadedBy};
use utoipa::OpenApi;

use crate::auth::Caller;
use crate::problem::ApiResult;
use crate::state::AppState;

/// The inbound-mail part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(inbound_mail),
    components(schemas(Mailbox, ThreadedBy, InboundOutcome)),
    tags((name = "inbound mail", description = "Raw e-mail into the helpdesk: a reply to one of our messages or quoting a ticket number threads into that ticket (R-THREAD); other mail opens a new ticket."))
)]
pub struct InboundApi;

/// The media types a raw message may be posted as (`message/rfc822`; MTA pipes often say
/// `text/plain` or `application/octet-stream`). No `Content-Type` is taken as `message/rfc822`.
const ACCEPTED: &[&str] = &["message/rfc822", "text/plain", "application/octet-stream"];

/// Ingests a raw e-mail (RFC 5322) for the token's tenant. A mail answering one of our messages
/// (`In-Reply-To`/`References` naming our signed `Message-ID`) threads into that ticket; a
/// `[ABC-DEFGH-123]` subject tag threads when the sender is the ticket's reporter or CC; other
/// mail opens a new ticket (channel `email`; the `updates` mailbox lands in the `updates`
/// department) and the reporter gets the confirmation mail. The same `Message-ID` twice is
/// stored once: the second post answers `200` with `threaded_by: duplicate`. At most
/// `LOKET_MAIL_INBOUND_MAX_BYTES` (default 25 MiB).
#[utoipa::path(post, path = "/api/v1/mail/inbound", tag = "inbound mail",
    security(("oauth2" = ["tickets:write"])),
    params(InboundQuery),
    request_body(
        description = "The raw message, headers and body as received.",
        content(
            (String = "message/rfc822"),
            (String = "text/plain"),
            (String = "application/octet-stream"),
        ),
    ),
    responses(
        (status = 201, description = "A new ticket was created for the mail.", body = InboundOutcome,
            headers(("Location" = String, description = "The URL of the ticket."))),
        (status = 200, description = "The mail was added to an existing ticket (or was stored before).", body = InboundOutcome,
            headers(("Location" = String, description = "The URL of the ticket."))),
        (status = 400, description = "`mailbox` is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Missing `tickets:write`, or a customer contact's token.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The message is larger than `LOKET_MAIL_INBOUND_MAX_BYTES`.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `message/rfc822`, `text/plain` or `application/octet-stream`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is empty, not a message, or has no usable `From` address.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn inbound_mail(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    mut payload: web::Payload,
) -> ApiResult<HttpResponse> {
    // Who may post comes first: a refused caller's query and body are never read.
    state.tickets.may_ingest(&caller).await?;
    let query = web::Query::<InboundQuery>::from_query(req.query_string())
        .map_err(crate::extract::query_problem)?;
    let media = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    if let Some(m) = &media
        && !ACCEPTED.contains(&m.as_str())
    {
        return Err(Error::new(
            Code::UnsupportedMediaType,
            "Post the raw message as `message/rfc822` (or `text/plain`, `application/octet-stream`).",
        )
        .into());
    }
    let limit = state.settings.mail_inbound_max_bytes;
    let mut raw = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            Error::new(
                Code::MalformedRequest,
                format!("The body could not be read: {e}"),
            )
        })?;
        if raw.len() + chunk.len() > limit {
            return Err(Error::new(
                Code::PayloadTooLarge,
                format!("The message exceeds {limit} bytes (LOKET_MAIL_INBOUND_MAX_BYTES)."),
            )
            .into());
        }
        raw.extend_from_slice(&chunk);
    }
    let outcome = state
        .tickets
        .ingest(&caller, query.into_inner().mailbox, raw)
        .await?;
    let location = format!("/api/v1/tickets/{}", outcome.ticket.number);
    let mut res = if outcome.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(res.insert_header((LOCATION, location)).json(outcome))
}

/// Registers the route under `/api/v1`; the body limit is its own (not `LOKET_MAX_BODY_BYTES`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/mail/inbound", web::post().to(inbound_mail));
}
