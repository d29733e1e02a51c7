//! The OAuth2 endpoints: `/oauth/token`, `/oauth/introspect`, `/oauth/revoke`, and the
//! well-known metadata and JWKS documents.

use actix_web::web;
use utoipa::OpenApi;

/// The OAuth2 part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(), components(schemas()), tags((name = "oauth2", description = "Logging in: tokens, introspection, revocation, keys.")))]
pub struct OAuthApi;

/// Registers the routes (at the root, outside `/api/v1`).
pub fn configure(_cfg: &mut web::ServiceConfig) {}
