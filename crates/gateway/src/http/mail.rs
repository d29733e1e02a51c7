//! `/api/v1`: mail servers, their senders and limits, mail templates, the outbox, settings.
//!
//! Thin handlers: extract the caller, the path and the body, call one `Mail` method (which
//! checks `mail:manage` and the rules R-TLS and R-VERIFY), answer JSON. The problem responses
//! every operation shares are added to the document by `openapi::document`.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use loket_common::{Page, PageQuery, Problem};
use loket_mail::api::{
    MailLimit, MailLimitChanges, MailRecipient, MailServer, MailServerChanges, MailSettings,
    MailSettingsUpdate, MailStatus, MailTemplate, MailTemplateChanges, NewMail, NewMailLimit,
    NewMailServer, NewMailTemplate, NewSender, Object, OutboxFilter, OutboxMessage, Recipient,
    Sender, SenderCreated, SenderStatus, ServerStatus, ServerType, SmtpCheck, SmtpStep,
    TemplateFilter, TlsMode, VerifySender,
};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::auth::Caller;
use crate::problem::ApiResult;
use crate::state::AppState;

/// The mail part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_servers,
        create_server,
        get_server,
        update_server,
        archive_server,
        test_server,
        list_senders,
        add_sender,
        get_sender,
        delete_sender,
        verify_sender,
        list_limits,
        create_limit,
        get_limit,
        update_limit,
        delete_limit,
        list_templates,
        create_template,
        get_template,
        update_template,
        delete_template,
        queue_mail,
        list_outbox,
        get_outbox_message,
        get_settings,
        put_settings,
    ),
    components(schemas(
        ServerType,
        TlsMode,
        ServerStatus,
        MailServer,
        NewMailServer,
        MailServerChanges,
        Page<MailServer>,
        SmtpStep,
        SmtpCheck,
        SenderStatus,
        Sender,
        NewSender,
        SenderCreated,
        VerifySender,
        Page<Sender>,
        MailLimit,
        NewMailLimit,
        MailLimitChanges,
        Page<MailLimit>,
        MailTemplate,
        NewMailTemplate,
        MailTemplateChanges,
        Page<MailTemplate>,
        Recipient,
        NewMail,
        MailStatus,
        MailRecipient,
        OutboxMessage,
        Page<OutboxMessage>,
        MailSettings,
        MailSettingsUpdate,
    )),
    tags((name = "mail", description = "The tenant's mail servers (TLS only), verified senders, sending limits, templates per culture, and the outbox."))
)]
pub struct MailApi;

fn created<T: serde::Serialize>(location: String, body: &T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((LOCATION, location))
        .json(body)
}

// --- Servers -------------------------------------------------------------------------------

/// The tenant's mail servers (archived ones too), oldest first. Passwords are never included.
#[utoipa::path(get, path = "/api/v1/mail-servers", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of mail servers.", body = Page<MailServer>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_servers(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.mail.list_servers(&caller, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Adds a mail server. `type` pre-fills host, port and TLS mode, which the request may
/// override. R-TLS: `tls` must be `implicit` or `starttls`; anything that would send in plain
/// text answers `422 /problems/tls-required`.
#[utoipa::path(post, path = "/api/v1/mail-servers", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    request_body = NewMailServer,
    responses(
        (status = 201, description = "The new mail server.", body = MailServer,
            headers(("Location" = String, description = "The URL of the new mail server."))),
        (status = 422, description = "Invalid fields, or `tls-required` (R-TLS).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_server(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Object<NewMailServer>>,
) -> ApiResult<HttpResponse> {
    let s = state
        .mail
        .create_server(&caller, body.into_inner().0)
        .await?;
    Ok(created(format!("/api/v1/mail-servers/{}", s.id), &s))
}

/// One mail server.
#[utoipa::path(get, path = "/api/v1/mail-servers/{id}", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The mail server id.")),
    responses((status = 200, description = "The mail server.", body = MailServer)))]
async fn get_server(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let s = state.mail.server(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Changes a mail server; only the fields present change. R-TLS holds here too.
#[utoipa::path(patch, path = "/api/v1/mail-servers/{id}", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The mail server id.")),
    request_body = MailServerChanges,
    responses(
        (status = 200, description = "The changed mail server.", body = MailServer),
        (status = 409, description = "The server is archived.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or `tls-required` (R-TLS).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_server(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: web::Json<Object<MailServerChanges>>,
) -> ApiResult<HttpResponse> {
    let s = state
        .mail
        .update_server(&caller, path.into_inner(), body.into_inner().0)
        .await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Archives a mail server: it sends nothing more, its queued messages fail, and it stops being
/// the default sender's server. Archiving an archived server changes nothing.
#[utoipa::path(post, path = "/api/v1/mail-servers/{id}/archive", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The mail server id.")),
    responses((status = 200, description = "The archived mail server.", body = MailServer)))]
async fn archive_server(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let s = state
        .mail
        .archive_server(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Connects to the server, sets up TLS (verifying its certificate) and logs in. The answer
/// says in plain words which step failed: DNS, connection, TLS or authentication.
#[utoipa::path(post, path = "/api/v1/mail-servers/{id}/test", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The mail server id.")),
    responses((status = 200, description = "What happened (`ok` false names the failed step).", body = SmtpCheck)))]
async fn test_server(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let check = state.mail.test_server(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(check))
}

// --- Senders -------------------------------------------------------------------------------

/// The senders of a mail server, oldest first.
#[utoipa::path(get, path = "/api/v1/mail-servers/{id}/senders", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The mail server id."), PageQuery),
    responses(
        (status = 200, description = "One page of senders.", body = Page<Sender>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_senders(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state
        .mail
        .list_senders(&caller, path.into_inner(), &page)
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Adds a sender and mails a 6-digit code to its address through this server (valid 30
/// minutes, 5 tries). R-VERIFY: the sender cannot send until the code is entered at
/// `…/verify`. Adding an address that is still waiting sends a new code (answer 200).
#[utoipa::path(post, path = "/api/v1/mail-servers/{id}/senders", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The mail server id.")),
    request_body = NewSender,
    responses(
        (status = 201, description = "The new, unverified sender, and how mailing its code went.", body = SenderCreated,
            headers(("Location" = String, description = "The URL of the sender."))),
        (status = 200, description = "The sender was waiting for verification; a new code was mailed.", body = SenderCreated),
        (status = 409, description = "The address is already a verified sender of this server, or the server is archived.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_sender(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: web::Json<Object<NewSender>>,
) -> ApiResult<HttpResponse> {
    let server = path.into_inner();
    let (s, new) = state
        .mail
        .add_sender(&caller, server, body.into_inner().0)
        .await?;
    if new {
        Ok(created(
            format!("/api/v1/mail-servers/{server}/senders/{}", s.sender.id),
            &s,
        ))
    } else {
        Ok(HttpResponse::Ok().json(s))
    }
}

/// One sender.
#[utoipa::path(get, path = "/api/v1/mail-servers/{id}/senders/{sender_id}", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The mail server id."),
        ("sender_id" = Uuid, Path, description = "The sender id.")),
    responses((status = 200, description = "The sender.", body = Sender)))]
async fn get_sender(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (server, id) = path.into_inner();
    let s = state.mail.sender(&caller, server, id).await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Removes a sender. Its queued messages fail, and it stops being the default sender.
#[utoipa::path(delete, path = "/api/v1/mail-servers/{id}/senders/{sender_id}", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The mail server id."),
        ("sender_id" = Uuid, Path, description = "The sender id.")),
    responses((status = 204, description = "The sender was removed.")))]
async fn delete_sender(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (server, id) = path.into_inner();
    state.mail.delete_sender(&caller, server, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Enters the code mailed to the sender's address; the right code verifies it (R-VERIFY). A
/// wrong code uses up one of 5 tries; an expired or used-up code needs a new one (add the
/// address again).
#[utoipa::path(post, path = "/api/v1/mail-servers/{id}/senders/{sender_id}/verify", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The mail server id."),
        ("sender_id" = Uuid, Path, description = "The sender id.")),
    request_body = VerifySender,
    responses(
        (status = 200, description = "The verified sender.", body = Sender),
        (status = 409, description = "The sender is already verified, or the server is archived.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`verification-code-wrong`, `verification-code-expired` or `verification-tries-exhausted`.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn verify_sender(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<Object<VerifySender>>,
) -> ApiResult<HttpResponse> {
    let (server, id) = path.into_inner();
    let s = state
        .mail
        .verify_sender(&caller, server, id, body.into_inner().0)
        .await?;
    Ok(HttpResponse::Ok().json(s))
}

// --- Limits --------------------------------------------------------------------------------

/// The sending limits of a mail server.
#[utoipa::path(get, path = "/api/v1/mail-servers/{id}/limits", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The mail server id."), PageQuery),
    responses(
        (status = 200, description = "One page of limits.", body = Page<MailLimit>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_limits(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state
        .mail
        .list_limits(&caller, path.into_inner(), &page)
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Adds a limit: at most `max_messages` per `window_seconds` through this server. Mail over
/// the limit stays `queued` until the window allows it; it is never dropped.
#[utoipa::path(post, path = "/api/v1/mail-servers/{id}/limits", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The mail server id.")),
    request_body = NewMailLimit,
    responses(
        (status = 201, description = "The new limit.", body = MailLimit,
            headers(("Location" = String, description = "The URL of the limit."))),
        (status = 409, description = "The server is archived.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_limit(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: web::Json<Object<NewMailLimit>>,
) -> ApiResult<HttpResponse> {
    let server = path.into_inner();
    let l = state
        .mail
        .create_limit(&caller, server, body.into_inner().0)
        .await?;
    Ok(created(
        format!("/api/v1/mail-servers/{server}/limits/{}", l.id),
        &l,
    ))
}

/// One limit.
#[utoipa::path(get, path = "/api/v1/mail-servers/{id}/limits/{limit_id}", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The mail server id."),
        ("limit_id" = Uuid, Path, description = "The limit id.")),
    responses((status = 200, description = "The limit.", body = MailLimit)))]
async fn get_limit(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (server, id) = path.into_inner();
    let l = state.mail.limit(&caller, server, id).await?;
    Ok(HttpResponse::Ok().json(l))
}

/// Changes a limit; only the fields present change.
#[utoipa::path(patch, path = "/api/v1/mail-servers/{id}/limits/{limit_id}", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The mail server id."),
        ("limit_id" = Uuid, Path, description = "The limit id.")),
    request_body = MailLimitChanges,
    responses(
        (status = 200, description = "The changed limit.", body = MailLimit),
        (status = 409, description = "The server is archived.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_limit(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<Object<MailLimitChanges>>,
) -> ApiResult<HttpResponse> {
    let (server, id) = path.into_inner();
    let l = state
        .mail
        .update_limit(&caller, server, id, body.into_inner().0)
        .await?;
    Ok(HttpResponse::Ok().json(l))
}

/// Removes a limit.
#[utoipa::path(delete, path = "/api/v1/mail-servers/{id}/limits/{limit_id}", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The mail server id."),
        ("limit_id" = Uuid, Path, description = "The limit id.")),
    responses((status = 204, description = "The limit was removed.")))]
async fn delete_limit(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (server, id) = path.into_inner();
    state.mail.delete_limit(&caller, server, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

// --- Templates -----------------------------------------------------------------------------

/// The tenant's mail and document templates; `code` narrows to one code's cultures.
#[utoipa::path(get, path = "/api/v1/mail-templates", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(TemplateFilter, PageQuery),
    responses(
        (status = 200, description = "One page of templates.", body = Page<MailTemplate>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_templates(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<TemplateFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.mail.list_templates(&caller, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Adds a template for a code and culture (or without culture: the last fallback). Subject
/// and bodies are MiniJinja templates; values inserted into the HTML body are HTML-escaped.
#[utoipa::path(post, path = "/api/v1/mail-templates", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    request_body = NewMailTemplate,
    responses(
        (status = 201, description = "The new template.", body = MailTemplate,
            headers(("Location" = String, description = "The URL of the template."))),
        (status = 409, description = "A template for this code and culture exists.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_template(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Object<NewMailTemplate>>,
) -> ApiResult<HttpResponse> {
    let t = state
        .mail
        .create_template(&caller, body.into_inner().0)
        .await?;
    Ok(created(format!("/api/v1/mail-templates/{}", t.id), &t))
}

/// One template.
#[utoipa::path(get, path = "/api/v1/mail-templates/{id}", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The template id.")),
    responses((status = 200, description = "The template.", body = MailTemplate)))]
async fn get_template(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let t = state.mail.template(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Changes a template; only the fields present change. Messages already queued keep what
/// they were rendered with.
#[utoipa::path(patch, path = "/api/v1/mail-templates/{id}", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The template id.")),
    request_body = MailTemplateChanges,
    responses((status = 200, description = "The changed template.", body = MailTemplate)))]
async fn update_template(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: web::Json<Object<MailTemplateChanges>>,
) -> ApiResult<HttpResponse> {
    let t = state
        .mail
        .update_template(&caller, path.into_inner(), body.into_inner().0)
        .await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Removes a template.
#[utoipa::path(delete, path = "/api/v1/mail-templates/{id}", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The template id.")),
    responses((status = 204, description = "The template was removed.")))]
async fn delete_template(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .mail
        .delete_template(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// --- Outbox and settings -------------------------------------------------------------------

/// Queues a templated message. The sender must be verified (R-VERIFY); without `sender_id`
/// the tenant's default sender is used, else the platform's. The recipient's culture (else the
/// language of the tenant's user with that address, else the tenant's default culture) picks
/// the template, falling back to the tenant's default culture, then to the template without
/// culture. The message is sent by the worker; follow it in `GET /mail/outbox`.
#[utoipa::path(post, path = "/api/v1/mail/outbox", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    request_body = NewMail,
    responses(
        (status = 201, description = "The queued message.", body = OutboxMessage,
            headers(("Location" = String, description = "The URL of the message."))),
        (status = 404, description = "No such sender, or no template (or document) with this code.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`sender-unverified` (R-VERIFY), an archived server, or no sender at all.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn queue_mail(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Object<NewMail>>,
) -> ApiResult<HttpResponse> {
    let m = state.mail.queue(&caller, body.into_inner().0).await?;
    Ok(created(format!("/api/v1/mail/outbox/{}", m.id), &m))
}

/// The tenant's outbox, newest first: status (`queued`, `sent`, `failed` with the SMTP answer),
/// attempts, and the server and sender used.
#[utoipa::path(get, path = "/api/v1/mail/outbox", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(OutboxFilter, PageQuery),
    responses(
        (status = 200, description = "One page of messages.", body = Page<OutboxMessage>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_outbox(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<OutboxFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.mail.list_outbox(&caller, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One message of the outbox.
#[utoipa::path(get, path = "/api/v1/mail/outbox/{id}", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    params(("id" = Uuid, Path, description = "The message id.")),
    responses((status = 200, description = "The message.", body = OutboxMessage)))]
async fn get_outbox_message(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let m = state
        .mail
        .outbox_message(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(m))
}

/// The tenant's mail settings: its default sender.
#[utoipa::path(get, path = "/api/v1/mail/settings", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    responses((status = 200, description = "The settings.", body = MailSettings)))]
async fn get_settings(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let s = state.mail.settings(&caller).await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Replaces the tenant's mail settings. The default sender (used for ticket mail, reminders
/// and other mail that names no sender) must be verified (R-VERIFY); `null` means the
/// platform's sender.
#[utoipa::path(put, path = "/api/v1/mail/settings", tag = "mail",
    security(("oauth2" = ["mail:manage"])),
    request_body = MailSettingsUpdate,
    responses(
        (status = 200, description = "The new settings.", body = MailSettings),
        (status = 404, description = "No such sender.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`sender-unverified` (R-VERIFY), or the sender's server is archived.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn put_settings(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Object<MailSettingsUpdate>>,
) -> ApiResult<HttpResponse> {
    let s = state
        .mail
        .update_settings(&caller, body.into_inner().0)
        .await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/mail-servers", web::get().to(list_servers))
        .route("/mail-servers", web::post().to(create_server))
        .route("/mail-servers/{id}", web::get().to(get_server))
        .route("/mail-servers/{id}", web::patch().to(update_server))
        .route("/mail-servers/{id}/archive", web::post().to(archive_server))
        .route("/mail-servers/{id}/test", web::post().to(test_server))
        .route("/mail-servers/{id}/senders", web::get().to(list_senders))
        .route("/mail-servers/{id}/senders", web::post().to(add_sender))
        .route(
            "/mail-servers/{id}/senders/{sender_id}",
            web::get().to(get_sender),
        )
        .route(
            "/mail-servers/{id}/senders/{sender_id}",
            web::delete().to(delete_sender),
        )
        .route(
            "/mail-servers/{id}/senders/{sender_id}/verify",
            web::post().to(verify_sender),
        )
        .route("/mail-servers/{id}/limits", web::get().to(list_limits))
        .route("/mail-servers/{id}/limits", web::post().to(create_limit))
        .route(
            "/mail-servers/{id}/limits/{limit_id}",
            web::get().to(get_limit),
        )
        .route(
            "/mail-servers/{id}/limits/{limit_id}",
            web::patch().to(update_limit),
        )
        .route(
            "/mail-servers/{id}/limits/{limit_id}",
            web::delete().to(delete_limit),
        )
        .route("/mail-templates", web::get().to(list_templates))
        .route("/mail-templates", web::post().to(create_template))
        .route("/mail-templates/{id}", web::get().to(get_template))
        .route("/mail-templates/{id}", web::patch().to(update_template))
        .route("/mail-templates/{id}", web::delete().to(delete_template))
        .route("/mail/outbox", web::post().to(queue_mail))
        .route("/mail/outbox", web::get().to(list_outbox))
        .route("/mail/outbox/{id}", web::get().to(get_outbox_message))
        .route("/mail/settings", web::get().to(get_settings))
        .route("/mail/settings", web::put().to(put_settings));
}
