//! `Idempotency-Key` on POST, as Stripe does it: the same key with the same request replays
//! the stored response (header `Idempotent-Replayed: true`); with a different request it is
//! refused with `422 idempotency-key-reused`; while the first is still running, `409`.
//! Keys are scoped to the caller (tenant and subject of the bearer token) and kept 24 hours.
//! Server errors are not stored, so a retry after a 5xx runs again.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue, LOCATION};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError};
use futures_util::StreamExt;
use loket_common::{Code, Principal, crypto};
use loket_storage::idempotency::{self, Claim};

use crate::problem::ApiError;
use crate::state::AppState;

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Marks a response that holds credentials shown only once (R-ONCE): an idempotent retry of
/// its request answers `409 credentials-shown-once` instead of replaying it.
#[derive(Debug, Clone, Copy)]
pub struct ShownOnce;

/// Marks `res` as holding once-only credentials.
pub fn shown_once(mut res: HttpResponse) -> HttpResponse {
    res.extensions_mut().insert(ShownOnce);
    res
}

/// The middleware function.
pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let key = match req.headers().get(&IDEMPOTENCY_KEY) {
        Some(v) if req.method() == Method::POST => v.to_str().ok().map(str::to_owned),
        _ => return Ok(next.call(req).await?.map_into_boxed_body()),
    };
    let Some(key) = key.filter(|k| !k.is_empty() && k.len() <= 255) else {
        let e =
            loket_common::Error::invalid("Idempotency-Key", "must be 1 to 255 visible characters");
        return Ok(req.error_response(ApiError(e)));
    };
    let Some(state) = req.app_data::<actix_web::web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };

    // Buffer the body (within the configured limit) to hash it, then hand it on. Inbound mail
    // has its own limit; a multipart body may also carry attachments (each limited by
    // `LOKET_ATTACHMENT_MAX_BYTES`).
    let multipart = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        });
    let limit = if req.path() == "/api/v1/mail/inbound" {
        state.settings.mail_inbound_max_bytes
    } else if multipart {
        state.settings.max_body_bytes.saturating_add(
            state
                .settings
                .attachment_max_bytes
                .saturating_mul(loket_tickets::attachments::MAX_ATTACHMENTS),
        )
    } else {
        state.settings.max_body_bytes
    };
    let mut body = BytesMut::new();
    let mut payload = req.take_payload();
    while let Some(chunk) = payload.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => return Ok(req.error_response(e)),
        };
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            let e = loket_common::Error::new(
                Code::PayloadTooLarge,
                format!("The request body exceeds {limit} bytes."),
            );
            return Ok(req.error_response(ApiError(e)));
        }
    }
    let body = body.freeze();
    let request_hash = {
        let mut material = Vec::with_capacity(body.len() + 128);
        material.extend_from_slice(req.path().as_bytes());
        material.push(b'?');
        material.extend_from_slice(req.query_string().as_bytes());
        material.push(b'\n');
        material.extend_from_slice(&body);
        crypto::sha256_hex(&material)
    };
    req.set_payload(Payload::from(body));

    let scope = match req.extensions().get::<Principal>() {
        Some(p) => format!("{}:{}", p.tenant_id, p.subject),
        None => {
            let auth = req
                .headers()
                .get(actix_web::http::header::AUTHORIZATION)
                .map(|v| v.as_bytes().to_vec());
            format!(
                "anonymous:{}",
                crypto::sha256_hex(&auth.unwrap_or_default())
            )
        }
    };

    let now = state.clock.now();
    let claim = {
        let (scope, key, hash) = (scope.clone(), key.clone(), request_hash.clone());
        state
            .db
            .write(move |c| idempotency::claim(c, &scope, &key, &hash, now))
            .await
    };
    let claim = match claim {
        Ok(c) => c,
        Err(e) => return Ok(req.error_response(ApiError(e))),
    };
    if let Claim::Existing(stored) = claim {
        if !crypto::constant_time_eq(stored.request_hash.as_bytes(), request_hash.as_bytes()) {
            let e = loket_common::Error::new(
                Code::IdempotencyKeyReused,
                "This Idempotency-Key was used with a different request.",
            );
            return Ok(req.error_response(ApiError(e)));
        }
        if stored.state == idempotency::WITHHELD {
            let e = loket_common::Error::new(
                Code::CredentialsShownOnce,
                "The request with this Idempotency-Key already succeeded; its credentials were shown once.",
            );
            return Ok(req.error_response(ApiError(e)));
        }
        let sealed_context = format!("idempotency:{scope}:{key}");
        let body = match stored
            .body
            .as_deref()
            .map(|b| state.secret_key.open(b, &sealed_context))
        {
            Some(Ok(plain)) => Some(plain),
            Some(Err(e)) => return Ok(req.error_response(ApiError(e))),
            None => None,
        };
        let (Some(status), Some(body)) = (stored.status_code, body) else {
            let e = loket_common::Error::new(
                Code::IdempotencyKeyInProgress,
                "A request with this Idempotency-Key is still in progress.",
            );
            return Ok(req.error_response(ApiError(e)));
        };
        let mut res =
            HttpResponse::build(StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK));
        if let Some(ct) = stored.content_type {
            res.insert_header((CONTENT_TYPE, ct));
        }
        if let Some(loc) = stored.location {
            res.insert_header((LOCATION, loc));
        }
        res.insert_header((REPLAYED, HeaderValue::from_static("true")));
        return Ok(req.into_response(res.body(body)));
    }

    let res = next.call(req).await;
    let res = match res {
        Ok(r) => r.map_into_boxed_body(),
        Err(e) => {
            let (s, k) = (scope, key);
            let _ = state
                .db
                .write(move |c| idempotency::release(c, &s, &k))
                .await;
            return Err(e);
        }
    };
    let status = res.status();
    if status.is_server_error() {
        let (s, k) = (scope, key);
        let _ = state
            .db
            .write(move |c| idempotency::release(c, &s, &k))
            .await;
        return Ok(res);
    }
    let withhold = res.response().extensions().get::<ShownOnce>().is_some();
    let (http_req, http_res) = res.into_parts();
    let headers = http_res.headers().clone();
    let bytes: Bytes = actix_web::body::to_bytes(http_res.into_body())
        .await
        .unwrap_or_default();
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let location = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Stored responses are sealed at rest; responses with once-only credentials are not kept.
    let sealed = if withhold {
        None
    } else {
        match state
            .secret_key
            .seal(&bytes, &format!("idempotency:{scope}:{key}"))
        {
            Ok(s) => Some(s),
            Err(e) => return Ok(ServiceResponse::new(http_req, ApiError(e).error_response())),
        }
    };
    let stored = state
        .db
        .write(move |c| {
            idempotency::complete(
                c,
                &scope,
                &key,
                status.as_u16(),
                content_type.as_deref(),
                location.as_deref(),
                sealed.as_deref(),
            )
        })
        .await;
    if let Err(e) = stored {
        tracing::warn!(error = ?e, "could not store idempotent response");
    }
    let mut out = HttpResponse::build(status).body(bytes);
    *out.headers_mut() = headers;
    Ok(ServiceResponse::new(http_req, out))
}
