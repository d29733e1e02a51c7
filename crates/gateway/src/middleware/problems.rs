//! Makes every error response a problem document: framework errors (plain text or empty
//! bodies) are replaced by the problem for their status, and every problem gets the request id.
//! JSON error bodies that are not problems (OAuth2's RFC 6749 `{"error": …}`) pass unchanged.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use loket_common::Problem;

use crate::middleware::request_id::RequestId;
use crate::problem::{PROBLEM_JSON, code_for_status, problem_response};

/// The middleware function.
pub async fn finish_problems(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    if status.as_u16() < 400 {
        return Ok(res);
    }
    let content_type = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        return Ok(res);
    }
    let request_id = res
        .request()
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone());
    let (req, res) = res.into_parts();
    let headers = res.headers().clone();
    let status = res.status();
    let body = actix_web::body::to_bytes(res.into_body())
        .await
        .unwrap_or_default();
    let mut problem = if content_type.starts_with(PROBLEM_JSON) {
        serde_json::from_slice::<Problem>(&body).unwrap_or_else(|_| generic(status))
    } else {
        generic(status)
    };
    problem.request_id = request_id;
    let mut out = problem_response(&problem);
    for (name, value) in headers.iter() {
        if name != CONTENT_TYPE && name != actix_web::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, out))
}

fn generic(status: actix_web::http::StatusCode) -> Problem {
    let code = code_for_status(status);
    let detail = match status.as_u16() {
        404 => "No resource exists at this path.".to_owned(),
        405 => "This resource does not support that method; see the Allow header.".to_owned(),
        _ => code.title().to_owned(),
    };
    let mut p = Problem::new(code, detail);
    p.status = status.as_u16();
    p
}
