//! `/api/v1`: helpdesk tickets, their messages and history (issue 7).

use actix_web::{HttpRequest, HttpResponse, web};
use loket_common::{Page, PageQuery, Problem};
use loket_tickets::api::{
    AuthorKind, Channel, Department, Environment, HistoryEntry, IntakeChannel, Message, NewMessage,
    NewTicket, Priority, PublicReply, PublicTicket, SlaFilter, Ticket, TicketChanges, TicketFilter,
    TicketStatus, TrackingCode, Visibility,
};
use loket_tickets::attachments::Attachment;
use loket_tickets::tracking::TrackingCodeRotated;
use utoipa::OpenApi;

use crate::auth::Caller;
use crate::http::agenda::{Body, created};
use crate::http::ticket_uploads::{NewMessageForm, NewTicketForm, WithUploads, download};
use crate::problem::ApiResult;
use crate::state::AppState;

/// The tickets part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_tickets,
        create_ticket,
        get_ticket,
        update_ticket,
        resolve_ticket,
        rotate_tracking_code,
        revoke_tracking_code,
        list_messages,
        post_message,
        ticket_history,
        get_attachment,
        public_ticket,
        public_reply,
        public_attachment,
    ),
    components(schemas(
        TrackingCodeRotated,
        TicketStatus,
        Department,
        Channel,
        IntakeChannel,
        SlaFilter,
        Environment,
        Priority,
        Visibility,
        AuthorKind,
        Ticket,
        NewTicket,
        TicketChanges,
        Page<Ticket>,
        Message,
        NewMessage,
        NewTicketForm,
        NewMessageForm,
        Attachment,
        HistoryEntry,
        PublicTicket,
        PublicReply,
    )),
    tags((name = "tickets", description = "The helpdesk: tickets from the portal, e-mail and phone, their messages, statuses and departments. Customers (impersonated customer contacts) see only their own tickets and public messages (R-OWN)."))
)]
pub struct TicketsApi;

/// Tickets of the tenant (a customer's own), filtered and paginated.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets",
    security(("oauth2" = ["tickets:read"])),
    params(TicketFilter, PageQuery),
    responses(
        (status = 200, description = "One page of tickets.", body = Page<Ticket>),
        (status = 422, description = "`limit` or `sla` is invalid.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_tickets(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<TicketFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let mut page = state.tickets.list(&caller, &filter, &page).await?;
    state
        .helpdesk
        .fill_next_meeting(&caller, &mut page.items)
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates a ticket from the portal form (or, for staff, a phone call with `channel: phone`).
/// As `multipart/form-data`, each field is a form part (`cc_emails` repeated) and one or more
/// `attachments` parts carry files for the first message; they are scanned for personal data
/// (R-PRIVACY): one person's data labels the ticket `security-incident-light`, several persons'
/// data removes the file's bytes, labels it `security-incident` and adds a system message.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets",
    security(("oauth2" = ["tickets:write"])),
    request_body(content(
        (NewTicket = "application/json"),
        (NewTicketForm = "multipart/form-data"),
    )),
    responses(
        (status = 201, description = "The new ticket.", body = Ticket,
            headers(("Location" = String, description = "The URL of the new ticket."))),
        (status = 403, description = "Missing `tickets:write`, or a customer filing under another address.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The form fields exceed `LOKET_MAX_BODY_BYTES`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed; each invalid field is named (an attachment over `LOKET_ATTACHMENT_MAX_BYTES` as `attachments[i]`).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    body: WithUploads<NewTicket>,
) -> ApiResult<HttpResponse> {
    let ticket = state
        .tickets
        .create_with(&caller, body.value, body.uploads)
        .await?;
    Ok(created(
        format!("/api/v1/tickets/{}", ticket.number),
        &ticket,
    ))
}

/// One ticket by number.
#[utoipa::path(get, path = "/api/v1/tickets/{number}", tag = "tickets",
    security(("oauth2" = ["tickets:read"])),
    params(("number" = String, Path, description = "The ticket number (`ABC-DEFGH-123`).")),
    responses(
        (status = 200, description = "The ticket.", body = Ticket),
        (status = 404, description = "No such ticket (or not the customer's own).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let mut t = state.tickets.get(&caller, path.into_inner()).await?;
    state
        .helpdesk
        .fill_next_meeting(&caller, std::slice::from_mut(&mut t))
        .await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Staff change status, department, priority, release version, postponement and labels; only
/// the fields present change. Status and department changes are kept as history.
#[utoipa::path(patch, path = "/api/v1/tickets/{number}", tag = "tickets",
    security(("oauth2" = ["tickets:write"])),
    params(("number" = String, Path, description = "The ticket number.")),
    request_body = TicketChanges,
    responses(
        (status = 200, description = "The changed ticket.", body = Ticket),
        (status = 403, description = "Customers may only reply and resolve.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`postponed_until` without the status `postponed`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (e.g. `planned` without `release_version`).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Body<TicketChanges>,
) -> ApiResult<HttpResponse> {
    let mut t = state
        .tickets
        .update(&caller, path.into_inner(), body.into_inner())
        .await?;
    state
        .helpdesk
        .fill_next_meeting(&caller, std::slice::from_mut(&mut t))
        .await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Marks a ticket resolved (staff, or the customer who owns it).
#[utoipa::path(post, path = "/api/v1/tickets/{number}/resolve", tag = "tickets",
    security(("oauth2" = ["tickets:write"])),
    params(("number" = String, Path, description = "The ticket number.")),
    responses(
        (status = 200, description = "The resolved ticket.", body = Ticket),
        (status = 404, description = "No such ticket.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn resolve_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let t = state.tickets.resolve(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Replaces the reporter's tracking code (staff): the old link stops working at once and the new
/// one is mailed to the reporter in a fresh confirmation. The code is never shown here.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/tracking-code", tag = "tickets",
    security(("oauth2" = ["tickets:write"])),
    params(("number" = String, Path, description = "The ticket number.")),
    responses(
        (status = 200, description = "A new code was made; `mailed` tells whether the link went out.", body = TrackingCodeRotated),
        (status = 404, description = "No such ticket.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn rotate_tracking_code(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let r = state
        .tickets
        .rotate_tracking_code(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Revokes the reporter's tracking code (staff): the public tracking endpoints answer 404 for
/// this ticket until a new code is made.
#[utoipa::path(delete, path = "/api/v1/tickets/{number}/tracking-code", tag = "tickets",
    security(("oauth2" = ["tickets:write"])),
    params(("number" = String, Path, description = "The ticket number.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 404, description = "No such ticket.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_tracking_code(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    state
        .tickets
        .revoke_tracking_code(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The messages of a ticket, oldest first; customers see public messages only.
#[utoipa::path(get, path = "/api/v1/tickets/{number}/messages", tag = "tickets",
    security(("oauth2" = ["tickets:read"])),
    params(("number" = String, Path, description = "The ticket number.")),
    responses(
        (status = 200, description = "The messages.", body = Vec<Message>),
        (status = 404, description = "No such ticket.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_messages(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let m = state.tickets.messages(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(m))
}

/// Posts a message: a staff reply sets `answered`, a customer reply sets `open`; internal notes
/// (staff only) change nothing. As `multipart/form-data`, `body` and `visibility` are form parts
/// and `attachments` parts carry files, scanned for personal data as on creation.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/messages", tag = "tickets",
    security(("oauth2" = ["tickets:write"])),
    params(("number" = String, Path, description = "The ticket number.")),
    request_body(content(
        (NewMessage = "application/json"),
        (NewMessageForm = "multipart/form-data"),
    )),
    responses(
        (status = 201, description = "The new message.", body = Message),
        (status = 404, description = "No such ticket.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The form fields exceed `LOKET_MAX_BODY_BYTES`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (an attachment over `LOKET_ATTACHMENT_MAX_BYTES` as `attachments[i]`).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn post_message(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: WithUploads<NewMessage>,
) -> ApiResult<HttpResponse> {
    let number = path.into_inner();
    let m = state
        .tickets
        .post_message_with(&caller, number.clone(), body.value, body.uploads)
        .await?;
    Ok(created(format!("/api/v1/tickets/{number}/messages"), &m))
}

/// Status, department, label and release-version history of a ticket (staff).
#[utoipa::path(get, path = "/api/v1/tickets/{number}/history", tag = "tickets",
    security(("oauth2" = ["tickets:read"])),
    params(("number" = String, Path, description = "The ticket number.")),
    responses(
        (status = 200, description = "The history, oldest first.", body = Vec<HistoryEntry>),
        (status = 403, description = "Customers do not see the history.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn ticket_history(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let h = state.tickets.history(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(h))
}

/// The bytes of an attachment (as a download: `Content-Disposition: attachment`, `nosniff`).
/// Customers get attachments of public messages of their own tickets only.
#[utoipa::path(get, path = "/api/v1/tickets/{number}/attachments/{id}", tag = "tickets",
    security(("oauth2" = ["tickets:read"])),
    params(
        ("number" = String, Path, description = "The ticket number."),
        ("id" = String, Path, description = "The attachment id (from the message's `attachments`)."),
    ),
    responses(
        (status = 200, description = "The file, with its media type.", body = String, content_type = "application/octet-stream",
            headers(("Content-Disposition" = String, description = "`attachment` with the file name."))),
        (status = 404, description = "No such ticket or attachment (or not the customer's own).", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The bytes were removed (several persons' personal data, R-PRIVACY).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_attachment(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (number, id) = path.into_inner();
    let content = state.tickets.attachment(&caller, number, id).await?;
    Ok(download(content))
}

/// The tracking code from `?code=`, else the `X-Ticket-Code` header; empty when neither (which
/// then matches no ticket: 404).
fn tracking_code(req: &HttpRequest, query: &TrackingCode) -> String {
    query
        .code
        .clone()
        .or_else(|| {
            req.headers()
                .get("X-Ticket-Code")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

/// The reporter's view through the tracking link: the ticket and its public messages. No
/// account; the code from the confirmation mail as `?code=` or header `X-Ticket-Code`.
#[utoipa::path(get, path = "/api/v1/public/tickets/{number}", tag = "tickets",
    security(()),
    params(
        ("number" = String, Path, description = "The ticket number."),
        TrackingCode,
        ("X-Ticket-Code" = Option<String>, Header, description = "The tracking code, instead of `?code=`."),
    ),
    responses(
        (status = 200, description = "The ticket with its public messages.", body = PublicTicket),
        (status = 404, description = "Unknown number, or a wrong or revoked code.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn public_ticket(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<TrackingCode>,
) -> ApiResult<HttpResponse> {
    let code = tracking_code(&req, &query);
    let t = state.tickets.public_get(path.into_inner(), code).await?;
    Ok(HttpResponse::Ok().json(t))
}

/// The reporter's reply through the tracking link; re-opens the ticket.
#[utoipa::path(post, path = "/api/v1/public/tickets/{number}/messages", tag = "tickets",
    security(()),
    params(
        ("number" = String, Path, description = "The ticket number."),
        TrackingCode,
        ("X-Ticket-Code" = Option<String>, Header, description = "The tracking code, instead of `?code=`."),
    ),
    request_body = PublicReply,
    responses(
        (status = 201, description = "The reply.", body = Message),
        (status = 404, description = "Unknown number, or a wrong or revoked code.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn public_reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<TrackingCode>,
    body: Body<PublicReply>,
) -> ApiResult<HttpResponse> {
    let code = tracking_code(&req, &query);
    let number = path.into_inner();
    let m = state
        .tickets
        .public_reply(number.clone(), code, body.into_inner())
        .await?;
    Ok(created(format!("/api/v1/public/tickets/{number}"), &m))
}

/// An attachment of a public message, through the tracking link.
#[utoipa::path(get, path = "/api/v1/public/tickets/{number}/attachments/{id}", tag = "tickets",
    security(()),
    params(
        ("number" = String, Path, description = "The ticket number."),
        ("id" = String, Path, description = "The attachment id."),
        TrackingCode,
        ("X-Ticket-Code" = Option<String>, Header, description = "The tracking code, instead of `?code=`."),
    ),
    responses(
        (status = 200, description = "The file, with its media type.", body = String, content_type = "application/octet-stream",
            headers(("Content-Disposition" = String, description = "`attachment` with the file name."))),
        (status = 404, description = "Unknown number or attachment, a wrong or revoked code, or an internal note's file.", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The bytes were removed (R-PRIVACY).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn public_attachment(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<TrackingCode>,
) -> ApiResult<HttpResponse> {
    let code = tracking_code(&req, &query);
    let (number, id) = path.into_inner();
    let content = state.tickets.public_attachment(number, code, id).await?;
    Ok(download(content))
}

/// Registers the routes under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tickets", web::get().to(list_tickets))
        .route("/tickets", web::post().to(create_ticket))
        .route("/tickets/{number}", web::get().to(get_ticket))
        .route("/tickets/{number}", web::patch().to(update_ticket))
        .route("/tickets/{number}/resolve", web::post().to(resolve_ticket))
        .route(
            "/tickets/{number}/tracking-code",
            web::post().to(rotate_tracking_code),
        )
        .route(
            "/tickets/{number}/tracking-code",
            web::delete().to(revoke_tracking_code),
        )
        .route("/tickets/{number}/messages", web::get().to(list_messages))
        .route("/tickets/{number}/messages", web::post().to(post_message))
        .route("/tickets/{number}/history", web::get().to(ticket_history))
        .route(
            "/tickets/{number}/attachments/{id}",
            web::get().to(get_attachment),
        )
        .route(
            "/public/tickets/{number}/attachments/{id}",
            web::get().to(public_attachment),
        )
        .route("/public/tickets/{number}", web::get().to(public_ticket))
        .route(
            "/public/tickets/{number}/messages",
            web::post().to(public_reply),
        );
}
