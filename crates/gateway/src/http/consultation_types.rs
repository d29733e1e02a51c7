//! `/api/v1`: consultation types and product parameters.

use actix_web::{HttpResponse, web};
use loket_common::{Page, PageQuery, Problem};
use loket_consultation_types::api::{
    ConsultationType, ConsultationTypeChanges, ConsultationTypeFilter, ConsultationTypeValue,
    DefaultReminder, FlagValue, NewConsultationType, ParameterType, ProductParameter,
    ReminderChannel, ReminderRecipient,
};
use loket_consultation_types::parameters;
use utoipa::OpenApi;
use uuid::Uuid;

use crate::auth::Caller;
use crate::http::agenda::{Body, created};
use crate::problem::ApiResult;
use crate::state::AppState;

/// The consultation types and product parameters part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_types,
        create_type,
        get_type,
        update_type,
        delete_type,
        list_parameters,
        get_autoplan,
        set_autoplan,
        get_default_type,
        set_default_type,
    ),
    components(schemas(
        ReminderChannel,
        ReminderRecipient,
        DefaultReminder,
        ConsultationType,
        NewConsultationType,
        ConsultationTypeChanges,
        Page<ConsultationType>,
        ParameterType,
        ProductParameter,
        FlagValue,
        ConsultationTypeValue,
        Page<ProductParameter>,
    ))
)]
pub struct ConsultationTypesApi;

/// The tenant's consultation types, oldest first. `?selectable=true` lists only those a planner
/// may choose for a new appointment (active, not no-show; R-NOSHOW-SELECT).
#[utoipa::path(get, path = "/api/v1/consultation-types", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(ConsultationTypeFilter, PageQuery),
    responses(
        (status = 200, description = "One page of consultation types.", body = Page<ConsultationType>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_types(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<ConsultationTypeFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state
        .consultation_types
        .list_types(&caller, &filter, &page)
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates a consultation type.
#[utoipa::path(post, path = "/api/v1/consultation-types", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    request_body = NewConsultationType,
    responses((status = 201, description = "The new consultation type.", body = ConsultationType,
        headers(("Location" = String, description = "The URL of the new consultation type.")))))]
async fn create_type(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<NewConsultationType>,
) -> ApiResult<HttpResponse> {
    let t = state
        .consultation_types
        .create_type(&caller, body.into_inner())
        .await?;
    Ok(created(format!("/api/v1/consultation-types/{}", t.id), &t))
}

/// One consultation type.
#[utoipa::path(get, path = "/api/v1/consultation-types/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(("id" = Uuid, Path, description = "The consultation type id.")),
    responses((status = 200, description = "The consultation type.", body = ConsultationType)))]
async fn get_type(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let t = state
        .consultation_types
        .consultation_type(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Changes a consultation type; only the fields present change. Existing appointments and
/// procedures keep what they have.
#[utoipa::path(patch, path = "/api/v1/consultation-types/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The consultation type id.")),
    request_body = ConsultationTypeChanges,
    responses((status = 200, description = "The changed consultation type.", body = ConsultationType)))]
async fn update_type(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<ConsultationTypeChanges>,
) -> ApiResult<HttpResponse> {
    let t = state
        .consultation_types
        .update_type(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Deletes a consultation type no appointment or call request uses (deactivate it otherwise).
#[utoipa::path(delete, path = "/api/v1/consultation-types/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The consultation type id.")),
    responses(
        (status = 204, description = "The consultation type was deleted."),
        (status = 409, description = "Appointments or call requests still use the type.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_type(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .consultation_types
        .delete_type(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every product parameter of the catalogue with the tenant's value, by code.
#[utoipa::path(get, path = "/api/v1/product-parameters", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of product parameters.", body = Page<ProductParameter>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_parameters(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state
        .consultation_types
        .list_parameters(&caller, &page)
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Whether automatic planning ("save and plan", availability calculation) is on.
#[utoipa::path(get, path = "/api/v1/product-parameters/CalculateAvailabilitiesForAppointmentRequest", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    responses((status = 200, description = "The product parameter.", body = ProductParameter)))]
async fn get_autoplan(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let p = state
        .consultation_types
        .parameter(&caller, parameters::AUTOPLAN)
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// The consultation type preselected for new call requests.
#[utoipa::path(get, path = "/api/v1/product-parameters/Consultation.DefaultConsultationType", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    responses((status = 200, description = "The product parameter.", body = ProductParameter)))]
async fn get_default_type(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let p = state
        .consultation_types
        .parameter(&caller, parameters::DEFAULT_CONSULTATION_TYPE)
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Switches automatic planning on (`1`) or off (`0`; `null` resets the default, 0).
#[utoipa::path(put, path = "/api/v1/product-parameters/CalculateAvailabilitiesForAppointmentRequest", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    request_body = FlagValue,
    responses(
        (status = 200, description = "The parameter with its new value.", body = ProductParameter),
        (status = 409, description = "Another request set the parameter at the same moment; retry.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_autoplan(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<FlagValue>,
) -> ApiResult<HttpResponse> {
    let value = serde_json::to_value(body.into_inner().value).unwrap_or_default();
    let p = state
        .consultation_types
        .set_parameter(&caller, parameters::AUTOPLAN, value)
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Sets the consultation type preselected for new call requests (it may be a no-show type; a
/// call request using it may then be saved with it, R-NOSHOW-SELECT), or `null` for none.
#[utoipa::path(put, path = "/api/v1/product-parameters/Consultation.DefaultConsultationType", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    request_body = ConsultationTypeValue,
    responses(
        (status = 200, description = "The parameter with its new value.", body = ProductParameter),
        (status = 404, description = "The tenant has no such consultation type.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another request set the parameter at the same moment; retry.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_default_type(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<ConsultationTypeValue>,
) -> ApiResult<HttpResponse> {
    let value = serde_json::to_value(body.into_inner().value).unwrap_or_default();
    let p = state
        .consultation_types
        .set_parameter(&caller, parameters::DEFAULT_CONSULTATION_TYPE, value)
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Registers the routes under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/consultation-types", web::get().to(list_types))
        .route("/consultation-types", web::post().to(create_type))
        .route("/consultation-types/{id}", web::get().to(get_type))
        .route("/consultation-types/{id}", web::patch().to(update_type))
        .route("/consultation-types/{id}", web::delete().to(delete_type))
        .route("/product-parameters", web::get().to(list_parameters))
        .route(
            "/product-parameters/CalculateAvailabilitiesForAppointmentRequest",
            web::get().to(get_autoplan),
        )
        .route(
            "/product-parameters/CalculateAvailabilitiesForAppointmentRequest",
            web::put().to(set_autoplan),
        )
        .route(
            "/product-parameters/Consultation.DefaultConsultationType",
            web::get().to(get_default_type),
        )
        .route(
            "/product-parameters/Consultation.DefaultConsultationType",
            web::put().to(set_default_type),
        );
}
