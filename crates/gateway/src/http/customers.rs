//! `/api/v1`: the helpdesk's customers (issue 7, R-OWN) — organisations, customer contacts and
//! the proof of their addresses, moving tickets to an organisation's shared address — and the
//! privacy-incident report (R-PRIVACY).

use actix_web::{HttpResponse, web};
use loket_common::{Page, PageQuery, Problem};
use loket_tickets::api::{
    ContactFilter, CustomerContact, MoveToShared, MovedTickets, NewCustomerContact,
    NewOrganisation, Organisation, OrganisationChanges, PrivacyIncidentCount, PrivacyReport,
    PrivacyReportQuery, Ticket, VerificationCode,
};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::auth::Caller;
use crate::http::agenda::{Body, created};
use crate::problem::ApiResult;
use crate::state::AppState;

/// The customers part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_organisations,
        create_organisation,
        get_organisation,
        update_organisation,
        move_address_to_shared,
        list_contacts,
        create_contact,
        get_contact,
        verify_contact,
        resend_contact_code,
        send_shared_code,
        verify_shared,
        move_ticket_to_shared,
        privacy_report,
    ),
    components(schemas(
        Organisation,
        NewOrganisation,
        OrganisationChanges,
        Page<Organisation>,
        CustomerContact,
        NewCustomerContact,
        Page<CustomerContact>,
        VerificationCode,
        MoveToShared,
        MovedTickets,
        PrivacyReport,
        PrivacyIncidentCount,
    )),
    tags((name = "customers", description = "The helpdesk's customers (R-OWN): organisations and their contacts. A contact is a user with the `customer` role (`tickets:read` + `tickets:write`); a customer portal acts for it by impersonating it (RFC 8693 token exchange, `requested_subject` = the contact's id). A contact sees exactly the tickets filed under its own verified address, and under its organisation's shared address once it verified that too; it may reply and resolve, nothing else. Staff only, except that a contact may read itself and verify its own codes."))
)]
pub struct CustomersApi;

const STAFF_403: &str =
    "Missing the permission, or an impersonated customer contact (this is for staff).";

// --- Organisations ---------------------------------------------------------------------------

/// The tenant's customer organisations, oldest first (staff).
#[utoipa::path(get, path = "/api/v1/organisations", tag = "customers",
    security(("oauth2" = ["tickets:read"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of organisations.", body = Page<Organisation>),
        (status = 403, description = STAFF_403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_organisations(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.tickets.list_organisations(&caller, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates a customer organisation (staff).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "customers",
    security(("oauth2" = ["tickets:write"])),
    request_body = NewOrganisation,
    responses(
        (status = 201, description = "The new organisation.", body = Organisation,
            headers(("Location" = String, description = "The URL of the new organisation."))),
        (status = 403, description = STAFF_403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another organisation already uses the shared address.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed; each invalid field is named.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<NewOrganisation>,
) -> ApiResult<HttpResponse> {
    let org = state
        .tickets
        .create_organisation(&caller, body.into_inner())
        .await?;
    Ok(created(format!("/api/v1/organisations/{}", org.id), &org))
}

/// One organisation (staff).
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "customers",
    security(("oauth2" = ["tickets:read"])),
    params(("id" = Uuid, Path, description = "The organisation id.")),
    responses(
        (status = 200, description = "The organisation.", body = Organisation),
        (status = 403, description = STAFF_403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let org = state
        .tickets
        .organisation(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(org))
}

/// Changes an organisation's name or shared address (staff); only the fields present change.
/// A changed or removed shared address must be verified again by every contact.
#[utoipa::path(patch, path = "/api/v1/organisations/{id}", tag = "customers",
    security(("oauth2" = ["tickets:write"])),
    params(("id" = Uuid, Path, description = "The organisation id.")),
    request_body = OrganisationChanges,
    responses(
        (status = 200, description = "The changed organisation.", body = Organisation),
        (status = 403, description = STAFF_403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another organisation already uses the shared address.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed; each invalid field is named.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<OrganisationChanges>,
) -> ApiResult<HttpResponse> {
    let org = state
        .tickets
        .update_organisation(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(org))
}

/// Files every ticket under `from_email` (a contact of this organisation) under the
/// organisation's shared address (staff; seed 003: tickets filed under another address can be
/// moved to the shared one). Each moved ticket gets a `reporter_email` history entry and a
/// `Tickets.Update` event; the contact no longer sees them unless it verified the shared address.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/move-to-shared", tag = "customers",
    security(("oauth2" = ["tickets:write"])),
    params(("id" = Uuid, Path, description = "The organisation id.")),
    request_body = MoveToShared,
    responses(
        (status = 200, description = "The numbers of the moved tickets.", body = MovedTickets),
        (status = 403, description = STAFF_403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The organisation has no shared address.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`from_email` is not the address of a contact of this organisation.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn move_address_to_shared(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<MoveToShared>,
) -> ApiResult<HttpResponse> {
    let moved = state
        .tickets
        .move_address_to_shared(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(moved))
}

// --- Contacts --------------------------------------------------------------------------------

/// The tenant's customer contacts, oldest first, optionally of one organisation (staff).
#[utoipa::path(get, path = "/api/v1/customer-contacts", tag = "customers",
    security(("oauth2" = ["tickets:read"])),
    params(ContactFilter, PageQuery),
    responses(
        (status = 200, description = "One page of contacts.", body = Page<CustomerContact>),
        (status = 403, description = STAFF_403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_contacts(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<ContactFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.tickets.list_contacts(&caller, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Registers a customer contact (staff, or the customer portal's API account): creates the
/// user with the `customer` role (its id is the contact's), and mails it the "complete your
/// registration" message with a 6-digit code and a link, in its language — all or nothing.
/// The code is valid for 30 minutes and 5 tries; until it is entered the contact sees no tickets.
#[utoipa::path(post, path = "/api/v1/customer-contacts", tag = "customers",
    security(("oauth2" = ["tickets:write"])),
    request_body = NewCustomerContact,
    responses(
        (status = 201, description = "The new, unverified contact.", body = CustomerContact,
            headers(("Location" = String, description = "The URL of the new contact."))),
        (status = 403, description = STAFF_403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A user with this e-mail address already exists in this tenant, or no mail can be sent (no tenant sender and no platform mail server); nothing was created.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed; each invalid field is named.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_contact(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<NewCustomerContact>,
) -> ApiResult<HttpResponse> {
    let contact = state
        .tickets
        .create_contact(&caller, body.into_inner())
        .await?;
    Ok(created(
        format!("/api/v1/customer-contacts/{}", contact.id),
        &contact,
    ))
}

/// One customer contact (staff; an impersonated contact only itself).
#[utoipa::path(get, path = "/api/v1/customer-contacts/{id}", tag = "customers",
    security(("oauth2" = ["tickets:read"])),
    params(("id" = Uuid, Path, description = "The contact's (user) id.")),
    responses(
        (status = 200, description = "The contact.", body = CustomerContact),
        (status = 404, description = "No such contact (or, for a contact, not itself).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_contact(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let c = state.tickets.contact(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(c))
}

/// Enters the code of the registration mail: the right one verifies the contact's address.
/// A wrong code counts as a try; the answer never reveals the code.
#[utoipa::path(post, path = "/api/v1/customer-contacts/{id}/verify", tag = "customers",
    security(("oauth2" = ["tickets:write"])),
    params(("id" = Uuid, Path, description = "The contact's (user) id.")),
    request_body = VerificationCode,
    responses(
        (status = 200, description = "The verified contact.", body = CustomerContact),
        (status = 404, description = "No such contact (or, for a contact, not itself).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address is already verified.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not 6 digits (`validation-failed`), wrong (`verification-code-wrong`, tries left in `detail`), expired (`verification-code-expired`) or used up (`verification-tries-exhausted`).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn verify_contact(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<VerificationCode>,
) -> ApiResult<HttpResponse> {
    let c = state
        .tickets
        .verify_contact(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(c))
}

/// Mails a new registration code (the previous one stops working; the tries start over).
#[utoipa::path(post, path = "/api/v1/customer-contacts/{id}/resend-code", tag = "customers",
    security(("oauth2" = ["tickets:write"])),
    params(("id" = Uuid, Path, description = "The contact's (user) id.")),
    responses(
        (status = 200, description = "The contact; the code is on its way.", body = CustomerContact),
        (status = 404, description = "No such contact (or, for a contact, not itself).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already verified, the last code was mailed less than a minute ago, or no mail can be sent.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn resend_contact_code(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let c = state
        .tickets
        .resend_contact_code(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(c))
}

/// Mails a code to the organisation's shared address, for a verified contact that wants to see
/// the tickets filed under it too (same rules as the registration code).
#[utoipa::path(post, path = "/api/v1/customer-contacts/{id}/shared-email/send-code", tag = "customers",
    security(("oauth2" = ["tickets:write"])),
    params(("id" = Uuid, Path, description = "The contact's (user) id.")),
    responses(
        (status = 200, description = "The contact; the code is on its way to the shared address.", body = CustomerContact),
        (status = 404, description = "No such contact (or, for a contact, not itself).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact is not verified yet, already verified the shared address, its organisation has none, the last code was mailed less than a minute ago, or no mail can be sent.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn send_shared_code(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let c = state
        .tickets
        .send_shared_code(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(c))
}

/// Enters the code mailed to the shared address: the right one lets the contact see the tickets
/// filed under it.
#[utoipa::path(post, path = "/api/v1/customer-contacts/{id}/shared-email/verify", tag = "customers",
    security(("oauth2" = ["tickets:write"])),
    params(("id" = Uuid, Path, description = "The contact's (user) id.")),
    request_body = VerificationCode,
    responses(
        (status = 200, description = "The contact, with `shared_email_verified_at` set.", body = CustomerContact),
        (status = 404, description = "No such contact (or, for a contact, not itself).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not verified yet, already verified, or no shared address.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not 6 digits, wrong, expired or used up (see the registration code).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn verify_shared(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<VerificationCode>,
) -> ApiResult<HttpResponse> {
    let c = state
        .tickets
        .verify_shared(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(c))
}

// --- Tickets and reports ---------------------------------------------------------------------

/// Files one ticket under its organisation's shared address (staff). The organisation is the
/// ticket's, else that of the verified contact who filed it. Recorded as a `reporter_email`
/// history entry with a `Tickets.Update` event; a ticket already there is returned unchanged.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/move-to-shared", tag = "tickets",
    security(("oauth2" = ["tickets:write"])),
    params(("number" = String, Path, description = "The ticket number.")),
    responses(
        (status = 200, description = "The ticket, now under the shared address.", body = Ticket),
        (status = 403, description = STAFF_403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The ticket belongs to no organisation, or it has no shared address.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn move_ticket_to_shared(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let t = state
        .tickets
        .move_to_shared(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Privacy incidents (R-PRIVACY) per organisation: tickets labelled `security-incident-light`
/// (`light`) or `security-incident` (`full`) created from `from` to `to` (UTC dates, both
/// inclusive); `total` counts each ticket once (staff).
#[utoipa::path(get, path = "/api/v1/reports/privacy-incidents", tag = "customers",
    security(("oauth2" = ["tickets:read"])),
    params(PrivacyReportQuery),
    responses(
        (status = 200, description = "The counts per organisation.", body = PrivacyReport),
        (status = 403, description = STAFF_403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`from` or `to` is missing or not a date, or `to` is before `from`.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn privacy_report(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PrivacyReportQuery>,
) -> ApiResult<HttpResponse> {
    let r = state.tickets.privacy_report(&caller, &query).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Registers the routes under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/organisations", web::get().to(list_organisations))
        .route("/organisations", web::post().to(create_organisation))
        .route("/organisations/{id}", web::get().to(get_organisation))
        .route("/organisations/{id}", web::patch().to(update_organisation))
        .route(
            "/organisations/{id}/move-to-shared",
            web::post().to(move_address_to_shared),
        )
        .route("/customer-contacts", web::get().to(list_contacts))
        .route("/customer-contacts", web::post().to(create_contact))
        .route("/customer-contacts/{id}", web::get().to(get_contact))
        .route(
            "/customer-contacts/{id}/verify",
            web::post().to(verify_contact),
        )
        .route(
            "/customer-contacts/{id}/resend-code",
            web::post().to(resend_contact_code),
        )
        .route(
            "/customer-contacts/{id}/shared-email/send-code",
            web::post().to(send_shared_code),
        )
        .route(
            "/customer-contacts/{id}/shared-email/verify",
            web::post().to(verify_shared),
        )
        .route(
            "/tickets/{number}/move-to-shared",
            web::post().to(move_ticket_to_shared),
        )
        .route("/reports/privacy-incidents", web::get().to(privacy_report));
}
