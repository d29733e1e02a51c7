//! The OAuth2 endpoints: `/oauth/token`, `/oauth/introspect`, `/oauth/revoke`, and the
//! well-known metadata (RFC 8414) and JWKS documents. Errors here are RFC 6749 §5.2 JSON
//! (`{"error": …}`), not problem documents, so standard OAuth2 clients understand them.

use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use loket_accounts::oauth::{
    ACCESS_TOKEN_TYPE, Introspection, JWT_BEARER_ASSERTION, OAuthError, TOKEN_EXCHANGE,
    TokenRequest, TokenResponse,
};
use loket_common::{Code, Error, Permission, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::auth::Caller;
use crate::problem::ApiResult;
use crate::state::AppState;

/// The OAuth2 part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(token, introspect, revoke, jwks, metadata),
    components(schemas(TokenRequest, TokenResponse, OAuthErrorBody, TokenForm, Introspection)),
    tags((name = "oauth2", description = "Logging in: tokens, introspection, revocation, keys. \
        API accounts cannot log in interactively: there is no login page, only this token endpoint."))
)]
pub struct OAuthApi;

/// An RFC 6749 §5.2 error body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`, `server_error`.
    #[schema(example = "invalid_grant")]
    pub error: String,
    /// A human-readable explanation.
    pub error_description: String,
}

/// The form of `/oauth/introspect` and `/oauth/revoke`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenForm {
    /// The token.
    pub token: String,
    /// `access_token` or `refresh_token` (a hint only).
    pub token_type_hint: Option<String>,
}

fn no_store(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res.headers_mut()
        .insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
    res
}

fn oauth_error(e: &OAuthError) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(e.status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    let mut res = HttpResponse::build(status);
    if e.status == 401 {
        res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"loket\""));
    }
    no_store(res.json(OAuthErrorBody {
        error: e.error.to_owned(),
        error_description: e.description.clone(),
    }))
}

/// The client id of an `Authorization: Basic` header (Swagger UI sends `Og==`, i.e. empty).
fn basic_client_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let id = decoded
        .split_once(':')
        .map(|(id, _)| id)
        .unwrap_or(&decoded);
    Some(id.to_owned())
}

fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// Issues tokens (RFC 6749, RFC 8693, RFC 7523).
///
/// * `grant_type=password`: `username`, and `password` followed by the current 6-digit TOTP code
///   (or the code in `totp`). Wrong credentials answer `invalid_grant` without saying which part
///   was wrong; repeated failures lock the account for a while. A code is accepted once.
/// * `grant_type=refresh_token`: `refresh_token`; the old one is rotated, and reusing a rotated
///   token revokes the whole family.
/// * `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`: `subject_token` (the
///   account's own access token), `subject_token_type=urn:ietf:params:oauth:token-type:access_token`,
///   `requested_subject` (a user id). Requires `impersonate`; the token acts for the user with
///   at most the user's permissions, and carries `act: {sub: <account>}`.
/// * `grant_type=client_credentials`: `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
///   and a `client_assertion` JWT (`iss` = `sub` = the username, `aud` = this endpoint's URL,
///   `exp`, single-use `jti`) signed with a key registered for the account.
///
/// `scope` narrows the permissions; omitted, the token gets all of the account's. The answer
/// carries `base_url`, the API base to call with the token.
#[utoipa::path(post, path = "/oauth/token", tag = "oauth2", security(()),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A token.", body = TokenResponse),
        (status = 400, description = "RFC 6749 error.", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed (`invalid_client`).", body = OAuthErrorBody),
        (status = 429, description = "Too many token requests from this address or for this account (`LOKET_TOKEN_RATE_*`); `Retry-After` says when to try again.",
            body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ))]
#[post("/oauth/token")]
pub async fn token(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let form: TokenRequest = match parse_form(&req, &body) {
        Ok(f) => f,
        Err(e) => return oauth_error(&e),
    };
    let account = form
        .username
        .as_deref()
        .or(form.client_id.as_deref())
        .map(str::to_owned)
        .or_else(|| basic_client_id(req.headers()));
    if let Err(wait) = state
        .token_limits
        .check(req.peer_addr().map(|a| a.ip()), account.as_deref())
    {
        return too_many_requests(wait);
    }
    match state
        .accounts
        .token(form, basic_client_id(req.headers()))
        .await
    {
        Ok(t) => no_store(HttpResponse::Ok().json(t)),
        Err(e) => oauth_error(&e),
    }
}

/// `429` problem with `Retry-After` in whole seconds (at least 1).
fn too_many_requests(wait: std::time::Duration) -> HttpResponse {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let problem = Error::new(
        Code::TooManyRequests,
        format!("Too many token requests; try again in {secs} s."),
    )
    .to_problem();
    let mut res = crate::problem::problem_response(&problem);
    if let Ok(v) = header::HeaderValue::from_str(&secs.max(1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    no_store(res)
}

/// Parses an `application/x-www-form-urlencoded` body; anything else is `invalid_request`.
fn parse_form<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, OAuthError> {
    let invalid = |description: String| OAuthError {
        error: "invalid_request",
        description,
        status: 400,
    };
    if !is_form(req) {
        return Err(invalid(
            "The body must be application/x-www-form-urlencoded.".into(),
        ));
    }
    serde_urlencoded::from_bytes(body).map_err(|e| invalid(format!("Invalid form: {e}.")))
}

/// RFC 7662 token introspection. Authenticate with a bearer token; an account may inspect its
/// own tokens, a `superadmin` any token of its tenant. Other tokens answer `{"active": false}`.
#[utoipa::path(post, path = "/oauth/introspect", tag = "oauth2", security(("bearer" = []), ("oauth2" = [])),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "What the token is.", body = Introspection),
        (status = 400, description = "RFC 6749 error.", body = OAuthErrorBody),
    ))]
#[post("/oauth/introspect")]
pub async fn introspect(
    req: HttpRequest,
    body: web::Bytes,
    caller: Caller,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let form: TokenForm = match parse_form(&req, &body) {
        Ok(f) => f,
        Err(e) => return Ok(oauth_error(&e)),
    };
    let answer = state.accounts.introspect(&caller, &form.token).await?;
    Ok(no_store(HttpResponse::Ok().json(answer)))
}

/// RFC 7009 token revocation. Possession of the token is the authority to revoke it (API
/// accounts are their own clients, no `client_id` needed). A refresh token revokes its whole
/// family; an access token stops working at once. Unknown tokens also answer 200.
#[utoipa::path(post, path = "/oauth/revoke", tag = "oauth2", security(()),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked (or unknown)."),
        (status = 400, description = "RFC 6749 error.", body = OAuthErrorBody),
    ))]
#[post("/oauth/revoke")]
pub async fn revoke(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let form: TokenForm = match parse_form(&req, &body) {
        Ok(f) => f,
        Err(e) => return Ok(oauth_error(&e)),
    };
    state.accounts.revoke(&form.token).await?;
    Ok(no_store(HttpResponse::Ok().finish()))
}

/// The JWK Set that verifies access tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "oauth2", security(()),
    responses((status = 200, description = "RFC 7517 JWK Set.", body = Object)))]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.accounts.jwks().await?))
}

/// RFC 8414 authorization-server metadata.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth2", security(()),
    responses((status = 200, description = "RFC 8414 metadata.", body = Object)))]
#[get("/.well-known/oauth-authorization-server")]
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let issuer = &state.public_url;
    HttpResponse::Ok().json(serde_json::json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/oauth/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "grant_types_supported": ["password", "refresh_token", TOKEN_EXCHANGE, "client_credentials"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA", "ES256", "RS256"],
        "introspection_endpoint_auth_methods_supported": ["bearer"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "client_assertion_types_supported": [JWT_BEARER_ASSERTION],
        "token_types_supported": [ACCESS_TOKEN_TYPE],
        "scopes_supported": Permission::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "service_documentation": format!("{issuer}/swagger-ui/"),
    }))
}

/// Registers the routes (at the root, outside `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(token)
        .service(introspect)
        .service(revoke)
        .service(jwks)
        .service(metadata);
}
