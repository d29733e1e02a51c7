//! `/api/v1`: tenants, users, API accounts, audit events, `/me`.
//!
//! Thin handlers: extract the caller, the path and the body, call one `Accounts` method (which
//! checks the permission and the rules), answer JSON. The problem responses every operation
//! shares are added to the document by `openapi::document`.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use loket_accounts::api::{
    ApiAccount, ApiAccountChanges, ApiAccountCreated, ApiAccountKey, AuditActor, AuditEvent,
    AuditFilter, Me, NewApiAccount, NewApiAccountKey, NewTenant, NewUser, Tenant, TenantChanges,
    TenantCreated, User, UserChanges,
};
use loket_common::{Page, PageQuery, Problem};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::auth::Caller;
use crate::middleware::idempotency::shown_once;
use crate::problem::ApiResult;
use crate::state::AppState;

/// The accounts part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        me,
        create_tenant,
        get_tenant,
        update_tenant,
        list_users,
        create_user,
        get_user,
        update_user,
        delete_user,
        list_api_accounts,
        create_api_account,
        get_api_account,
        update_api_account,
        delete_api_account,
        rotate_secret,
        list_keys,
        add_key,
        delete_key,
        list_audit_events,
    ),
    components(schemas(
        Me,
        Tenant,
        NewTenant,
        TenantChanges,
        TenantCreated,
        User,
        NewUser,
        UserChanges,
        Page<User>,
        ApiAccount,
        NewApiAccount,
        ApiAccountChanges,
        ApiAccountCreated,
        Page<ApiAccount>,
        ApiAccountKey,
        NewApiAccountKey,
        AuditActor,
        AuditEvent,
        Page<AuditEvent>,
    )),
    tags((name = "accounts", description = "Tenants, users, API accounts and the audit trail."))
)]
pub struct AccountsApi;

fn created<T: serde::Serialize>(location: String, body: &T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((LOCATION, location))
        .json(body)
}

/// The caller as its token describes it: subject, tenant, and the permissions it carries.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("oauth2" = [])),
    responses((status = 200, description = "The caller.", body = Me)))]
async fn me(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let me = state.accounts.me(&caller).await?;
    Ok(HttpResponse::Ok().json(me))
}

/// Creates a tenant with a first API account (`superadmin`), whose credentials are returned
/// only in this answer. Installation-wide: requires `platform:admin`.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "accounts",
    security(("oauth2" = ["platform:admin"])),
    request_body = NewTenant,
    responses((status = 201, description = "The tenant, and its first account with credentials (shown once). \
        The tenant is readable only with its own accounts' tokens, so no `Location` is given.",
        body = TenantCreated)))]
async fn create_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewTenant>,
) -> ApiResult<HttpResponse> {
    let t = state
        .accounts
        .create_tenant_as(&caller, body.into_inner())
        .await?;
    Ok(shown_once(HttpResponse::Created().json(t)))
}

/// The caller's own tenant. Other tenants' ids answer 404.
#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = "accounts",
    security(("oauth2" = ["accounts:read"])),
    params(("id" = Uuid, Path, description = "The tenant id.")),
    responses((status = 200, description = "The tenant.", body = Tenant)))]
async fn get_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let t = state.accounts.tenant(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Renames the caller's tenant or changes its default culture; only the fields present change.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}", tag = "accounts",
    security(("oauth2" = ["accounts:write"])),
    params(("id" = Uuid, Path, description = "The tenant id.")),
    request_body = TenantChanges,
    responses(
        (status = 200, description = "The changed tenant.", body = Tenant),
        (status = 409, description = "Another tenant already has this name.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: web::Json<TenantChanges>,
) -> ApiResult<HttpResponse> {
    let t = state
        .accounts
        .update_tenant(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(t))
}

/// The tenant's users, oldest first.
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    security(("oauth2" = ["accounts:read"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of users.", body = Page<User>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_users(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.accounts.list_users(&caller, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates a user. The caller cannot grant permissions it does not hold itself.
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts",
    security(("oauth2" = ["accounts:write"])),
    request_body = NewUser,
    responses((status = 201, description = "The new user.", body = User,
        headers(("Location" = String, description = "The URL of the new user.")))))]
async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewUser>,
) -> ApiResult<HttpResponse> {
    let user = state
        .accounts
        .create_user(&caller, body.into_inner())
        .await?;
    Ok(created(format!("/api/v1/users/{}", user.id), &user))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "accounts",
    security(("oauth2" = ["accounts:read"])),
    params(("id" = Uuid, Path, description = "The user id.")),
    responses((status = 200, description = "The user.", body = User)))]
async fn get_user(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let user = state.accounts.user(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Changes a user; only the fields present change.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "accounts",
    security(("oauth2" = ["accounts:write"])),
    params(("id" = Uuid, Path, description = "The user id.")),
    request_body = UserChanges,
    responses(
        (status = 200, description = "The changed user.", body = User),
        (status = 409, description = "Another user of the tenant has this e-mail address, or the change would deactivate the user the caller acts for.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_user(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: web::Json<UserChanges>,
) -> ApiResult<HttpResponse> {
    let user = state
        .accounts
        .update_user(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Deletes a user.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "accounts",
    security(("oauth2" = ["accounts:write"])),
    params(("id" = Uuid, Path, description = "The user id.")),
    responses(
        (status = 204, description = "The user was deleted."),
        (status = 409, description = "The caller acts for this user.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_user(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .accounts
        .delete_user(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The tenant's API accounts, oldest first. Secrets are never included.
#[utoipa::path(get, path = "/api/v1/api-accounts", tag = "accounts",
    security(("oauth2" = ["accounts:read"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of API accounts.", body = Page<ApiAccount>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_api_accounts(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.accounts.list_api_accounts(&caller, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates an API account. Its password and TOTP secret are in this answer only, never again.
/// The caller cannot grant permissions it does not hold itself.
#[utoipa::path(post, path = "/api/v1/api-accounts", tag = "accounts",
    security(("oauth2" = ["accounts:write"])),
    request_body = NewApiAccount,
    responses((status = 201, description = "The new account with its credentials (shown once).",
        body = ApiAccountCreated,
        headers(("Location" = String, description = "The URL of the new API account.")))))]
async fn create_api_account(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewApiAccount>,
) -> ApiResult<HttpResponse> {
    let account = state
        .accounts
        .create_api_account(&caller, body.into_inner())
        .await?;
    Ok(shown_once(created(
        format!("/api/v1/api-accounts/{}", account.account.id),
        &account,
    )))
}

/// One API account (without secrets).
#[utoipa::path(get, path = "/api/v1/api-accounts/{id}", tag = "accounts",
    security(("oauth2" = ["accounts:read"])),
    params(("id" = Uuid, Path, description = "The API account id.")),
    responses((status = 200, description = "The API account.", body = ApiAccount)))]
async fn get_api_account(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let account = state
        .accounts
        .api_account(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(account))
}

/// Changes an API account; only the fields present change. Deactivating it or changing its
/// permissions ends its sessions at once.
#[utoipa::path(patch, path = "/api/v1/api-accounts/{id}", tag = "accounts",
    security(("oauth2" = ["accounts:write"])),
    params(("id" = Uuid, Path, description = "The API account id.")),
    request_body = ApiAccountChanges,
    responses(
        (status = 200, description = "The changed API account.", body = ApiAccount),
        (status = 409, description = "An account cannot deactivate itself nor change its own permissions.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_api_account(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: web::Json<ApiAccountChanges>,
) -> ApiResult<HttpResponse> {
    let account = state
        .accounts
        .update_api_account(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(account))
}

/// Deletes an API account with its keys and tokens.
#[utoipa::path(delete, path = "/api/v1/api-accounts/{id}", tag = "accounts",
    security(("oauth2" = ["accounts:write"])),
    params(("id" = Uuid, Path, description = "The API account id.")),
    responses(
        (status = 204, description = "The API account was deleted."),
        (status = 409, description = "An account cannot delete itself.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_api_account(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .accounts
        .delete_api_account(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replaces the account's password and TOTP secret (returned in this answer only) and ends
/// all its sessions: its access and refresh tokens stop working at once. An account cannot
/// rotate its own secret; another account with `accounts:write` does it.
#[utoipa::path(post, path = "/api/v1/api-accounts/{id}/rotate-secret", tag = "accounts",
    security(("oauth2" = ["accounts:write"])),
    params(("id" = Uuid, Path, description = "The API account id.")),
    responses(
        (status = 200, description = "The account with its new credentials (shown once).",
            body = ApiAccountCreated),
        (status = 409, description = "An account cannot rotate its own secret.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let account = state
        .accounts
        .rotate_secret(&caller, path.into_inner())
        .await?;
    Ok(shown_once(HttpResponse::Ok().json(account)))
}

/// The public keys registered for `private_key_jwt` client authentication (RFC 7523).
#[utoipa::path(get, path = "/api/v1/api-accounts/{id}/keys", tag = "accounts",
    security(("oauth2" = ["accounts:read"])),
    params(("id" = Uuid, Path, description = "The API account id.")),
    responses((status = 200, description = "The account's keys, oldest first.", body = Vec<ApiAccountKey>)))]
async fn list_keys(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let keys = state.accounts.list_keys(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(keys))
}

/// Registers a public key (JWK: Ed25519, P-256 or RSA, with a `kid`) with which the account
/// can authenticate at the token endpoint by a signed client assertion.
#[utoipa::path(post, path = "/api/v1/api-accounts/{id}/keys", tag = "accounts",
    security(("oauth2" = ["accounts:write"])),
    params(("id" = Uuid, Path, description = "The API account id.")),
    request_body = NewApiAccountKey,
    responses((status = 201, description = "The registered key.", body = ApiAccountKey,
        headers(("Location" = String, description = "The URL of the new key.")))))]
async fn add_key(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: web::Json<NewApiAccountKey>,
) -> ApiResult<HttpResponse> {
    let account_id = path.into_inner();
    let key = state
        .accounts
        .add_key(&caller, account_id, body.into_inner())
        .await?;
    Ok(created(
        format!("/api/v1/api-accounts/{account_id}/keys/{}", key.id),
        &key,
    ))
}

/// Removes a registered key.
#[utoipa::path(delete, path = "/api/v1/api-accounts/{id}/keys/{key_id}", tag = "accounts",
    security(("oauth2" = ["accounts:write"])),
    params(
        ("id" = Uuid, Path, description = "The API account id."),
        ("key_id" = Uuid, Path, description = "The key id."),
    ),
    responses((status = 204, description = "The key was removed.")))]
async fn delete_key(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (account_id, key_id) = path.into_inner();
    state
        .accounts
        .delete_key(&caller, account_id, key_id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The tenant's audit trail, newest first: who (API account, and the user it acted for)
/// changed what, and when.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "accounts",
    security(("oauth2" = ["accounts:read"])),
    params(AuditFilter, PageQuery),
    responses(
        (status = 200, description = "One page of audit events.", body = Page<AuditEvent>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_audit_events(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<AuditFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.accounts.audit_events(&caller, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .route("/tenants", web::post().to(create_tenant))
        .route("/tenants/{id}", web::get().to(get_tenant))
        .route("/tenants/{id}", web::patch().to(update_tenant))
        .route("/users", web::get().to(list_users))
        .route("/users", web::post().to(create_user))
        .route("/users/{id}", web::get().to(get_user))
        .route("/users/{id}", web::patch().to(update_user))
        .route("/users/{id}", web::delete().to(delete_user))
        .route("/api-accounts", web::get().to(list_api_accounts))
        .route("/api-accounts", web::post().to(create_api_account))
        .route("/api-accounts/{id}", web::get().to(get_api_account))
        .route("/api-accounts/{id}", web::patch().to(update_api_account))
        .route("/api-accounts/{id}", web::delete().to(delete_api_account))
        .route(
            "/api-accounts/{id}/rotate-secret",
            web::post().to(rotate_secret),
        )
        .route("/api-accounts/{id}/keys", web::get().to(list_keys))
        .route("/api-accounts/{id}/keys", web::post().to(add_key))
        .route(
            "/api-accounts/{id}/keys/{key_id}",
            web::delete().to(delete_key),
        )
        .route("/audit-events", web::get().to(list_audit_events));
}
