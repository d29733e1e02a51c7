//! `/api/v1`: consultation types and product parameters.

use actix_web::{HttpResponse, web};
use loket_common::{Page, PageQuery, Problem};
use loket_consultation_types::api::{
    ConsultationType, ConsultationTypeChanges, ConsultationTypeFilter, DefaultReminder,
    NewConsultationType, ParameterType, ParameterValue, ProductParameter, ReminderChannel,
    ReminderRecipient,
};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::auth::Caller;
use crate::http::agenda::created;
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
        get_parameter,
        set_parameter,
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
        ParameterValue,
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
    body: web::Json<NewConsultationType>,
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
    body: web::Json<ConsultationTypeChanges>,
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

/// One product parameter.
#[utoipa::path(get, path = "/api/v1/product-parameters/{code}", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(("code" = String, Path, description = "The parameter code, e.g. `CalculateAvailabilitiesForAppointmentRequest`.")),
    responses((status = 200, description = "The product parameter.", body = ProductParameter)))]
async fn get_parameter(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let p = state
        .consultation_types
        .parameter(&caller, &path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Sets a product parameter: `0`/`1` for `CalculateAvailabilitiesForAppointmentRequest`, a
/// consultation type id (or `null`) for `Consultation.DefaultConsultationType`.
#[utoipa::path(put, path = "/api/v1/product-parameters/{code}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("code" = String, Path, description = "The parameter code.")),
    request_body = ParameterValue,
    responses(
        (status = 200, description = "The parameter with its new value.", body = ProductParameter),
        (status = 409, description = "Another request set the parameter at the same moment; retry.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_parameter(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<ParameterValue>,
) -> ApiResult<HttpResponse> {
    let p = state
        .consultation_types
        .set_parameter(&caller, &path.into_inner(), body.into_inner())
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
        .route("/product-parameters/{code}", web::get().to(get_parameter))
        .route("/product-parameters/{code}", web::put().to(set_parameter));
}
