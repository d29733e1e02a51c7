//! Bearer authentication: the middleware verifies `Authorization: Bearer <jwt>` once per
//! request and stores the [`Principal`]; handlers take a [`Caller`] and check its permission
//! with `caller.require(Permission::…)` (R-AUTHZ). No token, or a bad one, answers 401.
//!
//! [`require_permission`] checks, before routing, the permission the OpenAPI document names for
//! the operation ([`OperationPermissions`]): a caller without it gets 403 before its path ids
//! are looked up or its body is read, so it learns neither whether an object exists nor what
//! the body's rules are (OWASP API5). The services check again (R-AUTHZ on every path).

use std::future::{Ready, ready};
use std::str::FromStr;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use loket_common::{Code, Permission, Principal};

use crate::problem::ApiError;
use crate::state::AppState;

/// Why a presented token was refused (kept for the 401 detail).
#[derive(Debug, Clone)]
struct AuthFailure(String);

/// The middleware function. A token that cannot be checked (database unreachable) answers
/// the problem at once, as a response, so the outer middleware still add the request id.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let token = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned());
    if let (Some(token), Some(state)) = (token, req.app_data::<web::Data<AppState>>().cloned()) {
        match state.accounts.authenticate(&token).await {
            Ok(principal) => {
                tracing::Span::current()
                    .record("subject", tracing::field::display(principal.subject));
                req.extensions_mut().insert(principal);
            }
            Err(e) if e.code == Code::Unauthorized => {
                req.extensions_mut().insert(AuthFailure(e.detail));
            }
            Err(e) => return Ok(req.error_response(ApiError(e)).map_into_right_body()),
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// The authenticated caller of a handler.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl std::ops::Deref for Caller {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl FromRequest for Caller {
    type Error = Error;
    type Future = Ready<Result<Caller, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ext = req.extensions();
        ready(match ext.get::<Principal>() {
            Some(p) => Ok(Caller(p.clone())),
            None => {
                let detail = ext
                    .get::<AuthFailure>()
                    .map(|f| f.0.clone())
                    .unwrap_or_else(|| "This operation requires a bearer token.".to_owned());
                Err(ApiError(loket_common::Error::new(Code::Unauthorized, detail)).into())
            }
        })
    }
}

/// The permission each operation of the OpenAPI document names, by method and path template.
#[derive(Debug, Default)]
pub struct OperationPermissions(Vec<(Method, Vec<String>, Permission)>);

impl OperationPermissions {
    /// Collects the `oauth2` scope of every operation that names one.
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Self {
        let mut out = Vec::new();
        for (path, item) in doc.paths.paths.iter() {
            let ops = [
                (Method::GET, item.get.as_ref()),
                (Method::POST, item.post.as_ref()),
                (Method::PUT, item.put.as_ref()),
                (Method::PATCH, item.patch.as_ref()),
                (Method::DELETE, item.delete.as_ref()),
            ];
            for (method, op) in ops {
                let scope = op.and_then(|o| o.security.as_ref()).and_then(|reqs| {
                    reqs.iter().find_map(|r| {
                        serde_json::to_value(r).ok()?["oauth2"]
                            .as_array()?
                            .first()?
                            .as_str()
                            .and_then(|s| Permission::from_str(s).ok())
                    })
                });
                if let Some(p) = scope {
                    out.push((method, segments(path), p));
                }
            }
        }
        OperationPermissions(out)
    }

    /// The permission of the operation at a concrete path; a literal segment beats a template
    /// parameter where two templates match.
    pub fn required(&self, method: &Method, path: &str) -> Option<Permission> {
        // Borrowed segments: this runs on every request.
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        self.0
            .iter()
            .filter(|(m, template, _)| {
                m == method
                    && template.len() == segs.len()
                    && template
                        .iter()
                        .zip(&segs)
                        .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
            })
            .max_by_key(|(_, template, _)| template.iter().filter(|t| !t.starts_with('{')).count())
            .map(|(_, _, p)| *p)
    }
}

fn segments(path: &str) -> Vec<String> {
    path.trim_end_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect()
}

/// The middleware function (inside [`authenticate`]): 403 for an authenticated caller without
/// the operation's permission. Without a token the handler answers 401 as before.
pub async fn require_permission(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let missing = req
        .app_data::<web::Data<OperationPermissions>>()
        .and_then(|t| t.required(req.method(), req.path()))
        .and_then(|p| {
            let ext = req.extensions();
            let principal = ext.get::<Principal>()?;
            principal.require(p).err()
        });
    if let Some(e) = missing {
        let res = ApiError(e).error_response();
        return Ok(req.into_response(res).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_literal_template_names_the_permission() {
        let t = OperationPermissions(vec![
            (
                Method::GET,
                segments("/api/v1/x/{id}"),
                Permission::TicketsRead,
            ),
            (
                Method::GET,
                segments("/api/v1/x/special"),
                Permission::MailManage,
            ),
        ]);
        assert_eq!(
            t.required(&Method::GET, "/api/v1/x/42"),
            Some(Permission::TicketsRead)
        );
        assert_eq!(
            t.required(&Method::GET, "/api/v1/x/special"),
            Some(Permission::MailManage)
        );
        assert_eq!(t.required(&Method::POST, "/api/v1/x/42"), None);
        assert_eq!(t.required(&Method::GET, "/api/v1/x/42/y"), None);
        assert_eq!(t.required(&Method::GET, "/api/v1/x/"), None);
    }
}
