//! `GET /problems/{code}`: every problem `type` is dereferenceable.

use actix_web::{HttpResponse, get, web};
use loket_common::{Code, Error};
use serde::Serialize;
use utoipa::ToSchema;

use crate::problem::ApiResult;

/// A problem type's description.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemType {
    /// The type URI (`/problems/not-found`).
    #[serde(rename = "type")]
    pub type_: String,
    /// The title every problem of this type carries.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What it means and what to do.
    pub description: &'static str,
}

fn describe(c: Code) -> ProblemType {
    ProblemType {
        type_: format!("/problems/{}", c.slug()),
        title: c.title(),
        status: c.status(),
        description: c.description(),
    }
}

/// All problem types.
#[utoipa::path(get, path = "/problems", tag = "platform", security(()),
    responses((status = 200, description = "Every problem type this API answers with.", body = Vec<ProblemType>)))]
#[get("/problems")]
pub async fn list_problems() -> HttpResponse {
    HttpResponse::Ok().json(Code::ALL.iter().map(|c| describe(*c)).collect::<Vec<_>>())
}

/// One problem type.
#[utoipa::path(get, path = "/problems/{code}", tag = "platform", security(()),
    params(("code" = String, Path, description = "The slug after `/problems/`.", example = "not-found")),
    responses((status = 200, description = "The problem type.", body = ProblemType)))]
#[get("/problems/{code}")]
pub async fn get_problem(code: web::Path<String>) -> ApiResult<HttpResponse> {
    let c = Code::ALL
        .iter()
        .find(|c| c.slug() == code.as_str())
        .ok_or_else(|| Error::not_found("problem type"))?;
    Ok(HttpResponse::Ok().json(describe(*c)))
}

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_problems).service(get_problem);
}
