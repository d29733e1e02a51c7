//! `/api/v1`: appointments with their operations, procedures, reminders and the staff
//! calendar feed.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use loket_appointments::api::{
    Action, Appointment, AppointmentChanges, AppointmentFilter, AppointmentStatus, Lapse,
    NewAppointment, NoShow, NoShowInfo, Procedure, ProcedureFilter, ProcedureKind, ProcedureStatus,
    Reminder, ReminderFailure, ReminderStatus, Reschedule,
};
use loket_common::{Page, PageQuery, Problem};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::auth::Caller;
use crate::http::agenda::{Body, created};
use crate::problem::ApiResult;
use crate::state::AppState;

/// The appointments part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_appointments,
        create_appointment,
        get_appointment,
        update_appointment,
        delete_appointment,
        complete,
        uncomplete,
        reschedule,
        lapse,
        no_show,
        undo_no_show,
        list_reminders,
        list_procedures,
        get_procedure,
        submit_procedure,
        staff_calendar,
    ),
    components(schemas(
        AppointmentStatus,
        Action,
        NoShowInfo,
        Appointment,
        NewAppointment,
        AppointmentChanges,
        Reschedule,
        Lapse,
        NoShow,
        Page<Appointment>,
        ProcedureStatus,
        ProcedureKind,
        Procedure,
        Page<Procedure>,
        ReminderStatus,
        Reminder,
        ReminderFailure,
    ))
)]
pub struct AppointmentsApi;

/// Appointments by start time, over an index: `?from=&to=` select a date range (by start),
/// optionally of one staff member or employee, or one status.
#[utoipa::path(get, path = "/api/v1/appointments", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(AppointmentFilter, PageQuery),
    responses(
        (status = 200, description = "One page of appointments, each with its allowed `actions`.", body = Page<Appointment>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_appointments(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<AppointmentFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.appointments.list(&caller, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates an appointment with its type's default reminders. Refused: a no-show type (422
/// `noshow-select`), an employee the type cannot reach (422 `contact`), a time the staff member
/// is already booked (409 `double-booking`).
#[utoipa::path(post, path = "/api/v1/appointments", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    request_body = NewAppointment,
    responses(
        (status = 201, description = "The new appointment.", body = Appointment,
            headers(("Location" = String, description = "The URL of the new appointment."))),
        (status = 404, description = "An id in the body names no employee, staff member or consultation type of the tenant.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`double-booking`: the staff member has an overlapping appointment.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed, `noshow-select` (R-NOSHOW-SELECT) or `contact` (R-CONTACT).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_appointment(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<NewAppointment>,
) -> ApiResult<HttpResponse> {
    let a = state
        .appointments
        .create(&caller, body.into_inner())
        .await?;
    Ok(created(format!("/api/v1/appointments/{}", a.id), &a))
}

/// One appointment with its allowed `actions`.
#[utoipa::path(get, path = "/api/v1/appointments/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(("id" = Uuid, Path, description = "The appointment id.")),
    responses((status = 200, description = "The appointment.", body = Appointment)))]
async fn get_appointment(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let a = state.appointments.get(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(a))
}

/// Edits a planned appointment (including marking it concept); only the fields present change.
#[utoipa::path(patch, path = "/api/v1/appointments/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The appointment id.")),
    request_body = AppointmentChanges,
    responses(
        (status = 200, description = "The changed appointment.", body = Appointment),
        (status = 409, description = "`completed-readonly` (R-COMPLETED-READONLY), `double-booking`, or `invalid-state` (lapsed; type of a processed no-show).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed, `noshow-select` or `contact`.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_appointment(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<AppointmentChanges>,
) -> ApiResult<HttpResponse> {
    let a = state
        .appointments
        .update(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

/// Deletes an appointment with its open procedures (R-COMPLETED-OPEN) and reminders; its call
/// request is open again.
#[utoipa::path(delete, path = "/api/v1/appointments/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The appointment id.")),
    responses(
        (status = 204, description = "The appointment was deleted."),
        (status = 409, description = "`completed-submitted` (R-COMPLETED-SUBMITTED) or `invalid-state` (lapsed).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_appointment(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .appointments
        .delete(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Completes an appointment and writes its procedure.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/complete", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The appointment id.")),
    responses(
        (status = 200, description = "The completed appointment.", body = Appointment),
        (status = 409, description = "`invalid-state`: already completed, concept, or lapsed.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn complete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let a = state
        .appointments
        .complete(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

/// Reverts a completion while no procedure is submitted; its open procedures are deleted.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/uncomplete", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The appointment id.")),
    responses(
        (status = 200, description = "The appointment, planned again.", body = Appointment),
        (status = 409, description = "`completed-submitted` (R-COMPLETED-SUBMITTED) or `invalid-state`.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn uncomplete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let a = state
        .appointments
        .uncomplete(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

/// Moves an appointment to a new start (the wizard's reschedule). It keeps its id and status;
/// its procedures and reminders move along (R-COMPLETED-OPEN).
#[utoipa::path(post, path = "/api/v1/appointments/{id}/reschedule", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The appointment id.")),
    request_body = Reschedule,
    responses(
        (status = 200, description = "The rescheduled appointment.", body = Appointment),
        (status = 409, description = "`completed-submitted` (R-COMPLETED-SUBMITTED), `double-booking` or `invalid-state`.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn reschedule(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<Reschedule>,
) -> ApiResult<HttpResponse> {
    let a = state
        .appointments
        .reschedule(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

/// Marks a completed appointment whose procedures were submitted lapsed, with a reason, and
/// writes the refund procedures — one transaction (R-COMPLETED-SUBMITTED).
#[utoipa::path(post, path = "/api/v1/appointments/{id}/lapse", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The appointment id.")),
    request_body = Lapse,
    responses(
        (status = 200, description = "The lapsed appointment.", body = Appointment),
        (status = 409, description = "`completed-open` (R-COMPLETED-OPEN: nothing submitted) or `invalid-state` (not completed, or lapsed).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn lapse(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<Lapse>,
) -> ApiResult<HttpResponse> {
    let a = state
        .appointments
        .lapse(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

/// Processes the appointment as no-show: it switches to the given no-show type (default: the
/// tenant's first active one), its open procedure is replaced by the no-show type's, its call
/// request is open again.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/no-show", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The appointment id.")),
    request_body = NoShow,
    responses(
        (status = 200, description = "The appointment as no-show.", body = Appointment),
        (status = 409, description = "`completed-submitted` or `invalid-state` (already a no-show, lapsed, or no no-show type exists).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn no_show(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<NoShow>,
) -> ApiResult<HttpResponse> {
    let a = state
        .appointments
        .no_show(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

/// Undoes no-show processing: the original type, status, procedures and call request come back
/// (R-NOSHOW-UNDO).
#[utoipa::path(post, path = "/api/v1/appointments/{id}/undo-no-show", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The appointment id.")),
    responses(
        (status = 200, description = "The restored appointment.", body = Appointment),
        (status = 409, description = "`noshow-undo` (R-NOSHOW-UNDO: the no-show was completed), `completed-submitted`, `invalid-state` (not a no-show) or `conflict` (the call request was planned again).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn undo_no_show(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let a = state
        .appointments
        .undo_no_show(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

/// The appointment's reminders (a stored schedule, sent by the mail/SMS worker when due).
#[utoipa::path(get, path = "/api/v1/appointments/{id}/reminders", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(("id" = Uuid, Path, description = "The appointment id.")),
    responses((status = 200, description = "The reminders, by send time.", body = Vec<Reminder>)))]
async fn list_reminders(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let r = state
        .appointments
        .reminders(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Procedures, oldest first: filter by appointment, employee, status and date.
#[utoipa::path(get, path = "/api/v1/procedures", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(ProcedureFilter, PageQuery),
    responses(
        (status = 200, description = "One page of procedures.", body = Page<Procedure>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_procedures(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<ProcedureFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state
        .appointments
        .list_procedures(&caller, &filter, &page)
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One procedure.
#[utoipa::path(get, path = "/api/v1/procedures/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(("id" = Uuid, Path, description = "The procedure id.")),
    responses((status = 200, description = "The procedure.", body = Procedure)))]
async fn get_procedure(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let p = state
        .appointments
        .procedure(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Submits a procedure (offers it for invoicing).
#[utoipa::path(post, path = "/api/v1/procedures/{id}/submit", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The procedure id.")),
    responses(
        (status = 200, description = "The submitted procedure.", body = Procedure),
        (status = 409, description = "`invalid-state`: already submitted.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn submit_procedure(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let p = state
        .appointments
        .submit_procedure(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// The staff member's appointments as an iCalendar (RFC 5545) feed, from 90 days back to 400
/// days ahead, for calendar clients.
#[utoipa::path(get, path = "/api/v1/staff/{id}/calendar.ics", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(("id" = Uuid, Path, description = "The staff member id.")),
    responses((status = 200, description = "The calendar.", body = String, content_type = "text/calendar")))]
async fn staff_calendar(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let host = state
        .public_url
        .split("://")
        .nth(1)
        .unwrap_or(&state.public_url)
        .split(['/', ':'])
        .next()
        .unwrap_or("loket")
        .to_owned();
    let ics = state
        .appointments
        .calendar(&caller, path.into_inner(), host)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/calendar; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "private, max-age=300"))
        .body(ics))
}

/// Registers the routes under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/appointments", web::get().to(list_appointments))
        .route("/appointments", web::post().to(create_appointment))
        .route("/appointments/{id}", web::get().to(get_appointment))
        .route("/appointments/{id}", web::patch().to(update_appointment))
        .route("/appointments/{id}", web::delete().to(delete_appointment))
        .route("/appointments/{id}/complete", web::post().to(complete))
        .route("/appointments/{id}/uncomplete", web::post().to(uncomplete))
        .route("/appointments/{id}/reschedule", web::post().to(reschedule))
        .route("/appointments/{id}/lapse", web::post().to(lapse))
        .route("/appointments/{id}/no-show", web::post().to(no_show))
        .route(
            "/appointments/{id}/undo-no-show",
            web::post().to(undo_no_show),
        )
        .route(
            "/appointments/{id}/reminders",
            web::get().to(list_reminders),
        )
        .route("/procedures", web::get().to(list_procedures))
        .route("/procedures/{id}", web::get().to(get_procedure))
        .route("/procedures/{id}/submit", web::post().to(submit_procedure))
        .route("/staff/{id}/calendar.ics", web::get().to(staff_calendar));
}
