//! `/api/v1`: call requests with automatic planning and booking, and staff availabilities.

use actix_web::{HttpResponse, web};
use loket_call_requests::api::{
    Availability, AvailabilityFilter, BookSlot, Booked, CallRequest, CallRequestChanges,
    CallRequestFilter, CallRequestStatus, NewAvailability, NewCallRequest, Planning, SaveOptions,
    SavedCallRequest, Slot,
};
use loket_common::{Page, PageQuery, Problem};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::auth::Caller;
use crate::http::agenda::{Body, created};
use crate::problem::ApiResult;
use crate::state::AppState;

/// The call requests and availabilities part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_call_requests,
        create_call_request,
        get_call_request,
        update_call_request,
        cancel_call_request,
        call_request_availabilities,
        book,
        list_availabilities,
        create_availability,
        get_availability,
        delete_availability,
    ),
    components(schemas(
        CallRequestStatus,
        CallRequest,
        NewCallRequest,
        CallRequestChanges,
        Page<CallRequest>,
        Slot,
        Planning,
        SavedCallRequest,
        BookSlot,
        Booked,
        Availability,
        NewAvailability,
        Page<Availability>,
    ))
)]
pub struct CallRequestsApi;

/// The tenant's call requests, oldest first, filtered.
#[utoipa::path(get, path = "/api/v1/call-requests", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(CallRequestFilter, PageQuery),
    responses(
        (status = 200, description = "One page of call requests.", body = Page<CallRequest>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_call_requests(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<CallRequestFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.call_requests.list(&caller, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates a call request. With `?plan=true` ("save and plan"; also needs `agenda:autoplan` and
/// the product parameter `CalculateAvailabilitiesForAppointmentRequest` = 1) the answer carries
/// the matching availabilities, or a warning when none match (the request stays open).
#[utoipa::path(post, path = "/api/v1/call-requests", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(SaveOptions),
    request_body = NewCallRequest,
    responses(
        (status = 201, description = "The new call request (with `planning` for save and plan).", body = SavedCallRequest,
            headers(("Location" = String, description = "The URL of the new call request."))),
        (status = 403, description = "Missing `agenda:write`, or `agenda:autoplan` for `plan=true`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "An id in the body names no employee, consultation type or staff member of the tenant.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`autoplan-disabled`: `plan=true` while the product parameter is 0.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed, `noshow-select` (R-NOSHOW-SELECT) or `contact` (R-CONTACT).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_call_request(
    state: web::Data<AppState>,
    caller: Caller,
    options: web::Query<SaveOptions>,
    body: Body<NewCallRequest>,
) -> ApiResult<HttpResponse> {
    let saved = state
        .call_requests
        .create(&caller, body.into_inner(), options.plan.unwrap_or(false))
        .await?;
    Ok(created(
        format!("/api/v1/call-requests/{}", saved.call_request.id),
        &saved,
    ))
}

/// One call request.
#[utoipa::path(get, path = "/api/v1/call-requests/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(("id" = Uuid, Path, description = "The call request id.")),
    responses((status = 200, description = "The call request.", body = CallRequest)))]
async fn get_call_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cr = state.call_requests.get(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(cr))
}

/// Changes an open call request; only the fields present change.
#[utoipa::path(patch, path = "/api/v1/call-requests/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The call request id.")),
    request_body = CallRequestChanges,
    responses(
        (status = 200, description = "The changed call request.", body = CallRequest),
        (status = 409, description = "`invalid-state`: the request is planned or cancelled.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed, `noshow-select` or `contact`.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_call_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<CallRequestChanges>,
) -> ApiResult<HttpResponse> {
    let cr = state
        .call_requests
        .update(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(cr))
}

/// Cancels an open call request.
#[utoipa::path(post, path = "/api/v1/call-requests/{id}/cancel", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The call request id.")),
    responses(
        (status = 200, description = "The cancelled call request.", body = CallRequest),
        (status = 409, description = "`invalid-state`: the request is planned or cancelled.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cancel_call_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cr = state
        .call_requests
        .cancel(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(cr))
}

/// The availabilities matching an open call request: free slots of the type's duration before
/// the deadline, with staff allowed for the type (and the preferred staff member or location).
#[utoipa::path(get, path = "/api/v1/call-requests/{id}/availabilities", tag = "agenda",
    security(("oauth2" = ["agenda:autoplan"])),
    params(("id" = Uuid, Path, description = "The call request id.")),
    responses(
        (status = 200, description = "The matching slots, or a warning when none match.", body = Planning),
        (status = 409, description = "`autoplan-disabled` (product parameter is 0) or `invalid-state` (not open).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn call_request_availabilities(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let planning = state
        .call_requests
        .availabilities(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(planning))
}

/// Books a slot for an open call request: the appointment is created with its type's default
/// reminders and the request is marked planned, in one transaction.
#[utoipa::path(post, path = "/api/v1/call-requests/{id}/book", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The call request id.")),
    request_body = BookSlot,
    responses(
        (status = 201, description = "The planned request and its new appointment.", body = Booked,
            headers(("Location" = String, description = "The URL of the new appointment."))),
        (status = 409, description = "`double-booking` (the slot was taken) or `invalid-state` (the request is not open).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (the slot is not within the availability, or the availability does not allow the type), or `contact`/`noshow-select`.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn book(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<BookSlot>,
) -> ApiResult<HttpResponse> {
    let booked = state
        .call_requests
        .book(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(created(
        format!("/api/v1/appointments/{}", booked.appointment.id),
        &booked,
    ))
}

/// A staff member's availabilities by start time; `?from=&to=` select a range.
#[utoipa::path(get, path = "/api/v1/staff/{id}/availabilities", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(("id" = Uuid, Path, description = "The staff member id."), AvailabilityFilter, PageQuery),
    responses(
        (status = 200, description = "One page of availabilities.", body = Page<Availability>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_availabilities(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    filter: web::Query<AvailabilityFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state
        .call_requests
        .list_availabilities(&caller, path.into_inner(), &filter, &page)
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Adds an availability (a time block, optionally limited to some consultation types).
#[utoipa::path(post, path = "/api/v1/staff/{id}/availabilities", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The staff member id.")),
    request_body = NewAvailability,
    responses((status = 201, description = "The new availability.", body = Availability,
        headers(("Location" = String, description = "The URL of the new availability.")))))]
async fn create_availability(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<NewAvailability>,
) -> ApiResult<HttpResponse> {
    let staff_id = path.into_inner();
    let a = state
        .call_requests
        .create_availability(&caller, staff_id, body.into_inner())
        .await?;
    Ok(created(
        format!("/api/v1/staff/{staff_id}/availabilities/{}", a.id),
        &a,
    ))
}

/// One availability.
#[utoipa::path(get, path = "/api/v1/staff/{id}/availabilities/{availability_id}", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(
        ("id" = Uuid, Path, description = "The staff member id."),
        ("availability_id" = Uuid, Path, description = "The availability id."),
    ),
    responses((status = 200, description = "The availability.", body = Availability)))]
async fn get_availability(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (staff_id, id) = path.into_inner();
    let a = state
        .call_requests
        .availability(&caller, staff_id, id)
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

/// Removes an availability (appointments booked in it stay).
#[utoipa::path(delete, path = "/api/v1/staff/{id}/availabilities/{availability_id}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(
        ("id" = Uuid, Path, description = "The staff member id."),
        ("availability_id" = Uuid, Path, description = "The availability id."),
    ),
    responses((status = 204, description = "The availability was removed.")))]
async fn delete_availability(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (staff_id, id) = path.into_inner();
    state
        .call_requests
        .delete_availability(&caller, staff_id, id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the routes under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/call-requests", web::get().to(list_call_requests))
        .route("/call-requests", web::post().to(create_call_request))
        .route("/call-requests/{id}", web::get().to(get_call_request))
        .route("/call-requests/{id}", web::patch().to(update_call_request))
        .route(
            "/call-requests/{id}/cancel",
            web::post().to(cancel_call_request),
        )
        .route(
            "/call-requests/{id}/availabilities",
            web::get().to(call_request_availabilities),
        )
        .route("/call-requests/{id}/book", web::post().to(book))
        .route(
            "/staff/{id}/availabilities",
            web::get().to(list_availabilities),
        )
        .route(
            "/staff/{id}/availabilities",
            web::post().to(create_availability),
        )
        .route(
            "/staff/{id}/availabilities/{availability_id}",
            web::get().to(get_availability),
        )
        .route(
            "/staff/{id}/availabilities/{availability_id}",
            web::delete().to(delete_availability),
        );
}
