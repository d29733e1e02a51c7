//! Errors as RFC 9457 `application/problem+json` responses.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use loket_common::{Code, Error, Problem};

/// The content type of every error response.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// `Retry-After` (seconds) of every `503 unavailable`: the database pool reconnects in the
/// background, so a client may retry soon.
pub const UNAVAILABLE_RETRY_AFTER: &str = "2";

/// The handler-side error: a domain [`Error`] rendered as a problem document.
#[derive(Debug)]
pub struct ApiError(pub Error);

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if self.0.code.status() >= 500 {
            // The whole cause chain goes to the log (inside the request span, so with its id);
            // the client sees an opaque detail.
            tracing::error!(error = ?self.0, "request failed");
        }
        problem_response(&self.0.to_problem())
    }
}

/// Renders a problem document.
pub fn problem_response(p: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
    if status == StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.insert_header((
            header::RETRY_AFTER,
            HeaderValue::from_static(UNAVAILABLE_RETRY_AFTER),
        ));
    }
    res.body(serde_json::to_vec(p).unwrap_or_default())
}

/// The problem code that describes a bare HTTP status (for errors raised by the framework).
pub fn code_for_status(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::MalformedRequest,
        401 => Code::Unauthorized,
        403 => Code::Forbidden,
        404 => Code::NotFound,
        405 => Code::MethodNotAllowed,
        406 => Code::NotAcceptable,
        408 => Code::RequestTimeout,
        409 => Code::Conflict,
        410 => Code::Gone,
        413 => Code::PayloadTooLarge,
        415 => Code::UnsupportedMediaType,
        422 => Code::ValidationFailed,
        429 => Code::TooManyRequests,
        431 => Code::HeadersTooLarge,
        503 => Code::Unavailable,
        _ => Code::Internal,
    }
}
