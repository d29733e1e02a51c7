//! Security headers on every answer (OWASP API8), errors included: `X-Content-Type-Options:
//! nosniff`; `Cache-Control: no-store` on answers to requests that carry credentials, unless
//! the handler chose a policy itself; framing forbidden (`X-Frame-Options: DENY`,
//! CSP `frame-ancestors 'none'`). HTML (Swagger UI) gets a policy that admits only its own
//! scripts; every other answer `default-src 'none'`, as it is never a page.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use actix_web::middleware::Next;

/// The policy of the Swagger UI pages: its bundled scripts and styles (it sets inline styles),
/// data-URI images, calls to this server only.
const HTML_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The policy of every other answer (JSON, problems, files).
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// The middleware function (outermost but the request id, so it sees every answer).
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let credentials = req.headers().contains_key(AUTHORIZATION)
        || req.path() == "/oauth/token"
        || req.path() == "/oauth/introspect";
    let mut res = next.call(req).await?;
    let html = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = res.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(CONTENT_SECURITY_POLICY) {
        let policy = if html { HTML_POLICY } else { API_POLICY };
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    }
    if credentials && !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}
