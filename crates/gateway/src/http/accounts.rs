//! `/api/v1`: tenants, users, API accounts, audit events, `/me`.

use actix_web::web;
use utoipa::OpenApi;

/// The accounts part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(), components(schemas()), tags((name = "accounts", description = "Tenants, users, API accounts and the audit trail.")))]
pub struct AccountsApi;

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(_cfg: &mut web::ServiceConfig) {}
