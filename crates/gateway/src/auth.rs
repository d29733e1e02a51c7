//! Bearer authentication: the middleware verifies `Authorization: Bearer <jwt>` once per
//! request and stores the [`Principal`]; handlers take a [`Caller`] and check its permission
//! with `caller.require(Permission::…)` (R-AUTHZ). No token, or a bad one, answers 401.

use std::future::{Ready, ready};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, web};
use loket_common::{Code, Principal};

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
