//! The OAuth2 authorization server: the token grants (password + TOTP, refresh with rotation,
//! RFC 8693 token exchange for impersonation, client credentials with RFC 7523
//! `private_key_jwt`), RFC 7662 introspection, RFC 7009 revocation, and bearer verification.
//!
//! Login failures never say which factor was wrong, and cost the same time whichever it was:
//! both the password hash and the TOTP code are always checked, and unknown usernames verify
//! against a dummy hash.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use loket_common::crypto::{random_token, sha256_hex};
use loket_common::time::{from_db, to_db};
use loket_common::{Code, Error, Permission, Permissions, Principal, Result, SubjectKind, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::{
    api_account_keys, api_accounts, refresh_tokens, revoked_tokens, used_assertions, users,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Accounts;
use crate::model::{ApiAccountRow, UserRow, stored_permissions};
use crate::secrets;

/// The audience of every access token.
pub const AUDIENCE: &str = "loket";
/// RFC 8693 grant type.
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693 access-token token type.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// RFC 7523 client assertion type.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The `act` claim of an impersonated token (RFC 8693 §4.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActClaim {
    /// The API account acting on behalf of the subject.
    pub sub: String,
}

/// The claims of a Loket access token (RFC 9068 profile).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// The API account's login name.
    pub client_id: String,
    /// The tenant.
    pub tid: String,
    /// Space-separated permissions.
    pub scope: String,
    /// The account's token version when issued; a newer version revokes the token.
    pub ver: i32,
    /// Present on impersonated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<ActClaim>,
}

/// The form parameters of `POST /oauth/token` (all grants).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// `password`, `refresh_token`, `client_credentials` or `urn:ietf:params:oauth:grant-type:token-exchange`.
    pub grant_type: Option<String>,
    /// Password grant: the API account's login name.
    pub username: Option<String>,
    /// Password grant: the password, followed by the current 6-digit TOTP code unless `totp` is given.
    pub password: Option<String>,
    /// Password grant: the TOTP code, when not appended to the password.
    pub totp: Option<String>,
    /// Space-separated permissions to request; omitted means all of the account's.
    pub scope: Option<String>,
    /// Refresh grant: the refresh token.
    pub refresh_token: Option<String>,
    /// Token exchange: the API account's own access token.
    pub subject_token: Option<String>,
    /// Token exchange: `urn:ietf:params:oauth:token-type:access_token`.
    pub subject_token_type: Option<String>,
    /// Token exchange: the id of the user to act for.
    pub requested_subject: Option<String>,
    /// Token exchange: optional; only access tokens are issued.
    pub requested_token_type: Option<String>,
    /// Client credentials: the API account's login name (also the assertion's `iss` and `sub`).
    pub client_id: Option<String>,
    /// Client credentials: `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: Option<String>,
    /// Client credentials: a JWT signed with a key registered at `/api/v1/api-accounts/{id}/keys`.
    pub client_assertion: Option<String>,
}

/// A successful token response (RFC 6749 §5.1, plus `base_url`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT access token.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// A rotating refresh token (password and refresh grants).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The permissions granted, space-separated.
    pub scope: String,
    /// RFC 8693: the type of the issued token (token exchange only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<String>,
    /// The absolute API base URL to call with this token (ends in `/api/v1`).
    #[schema(example = "https://loket.example.org/api/v1")]
    pub base_url: String,
}

/// An RFC 6749 §5.2 error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The error code (`invalid_grant`, …).
    pub error: &'static str,
    /// A human-readable description.
    pub description: String,
    /// The HTTP status (400, or 401 for `invalid_client`, 5xx for server errors).
    pub status: u16,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = if error == "invalid_client" { 401 } else { 400 };
        OAuthError {
            error,
            description: description.into(),
            status,
        }
    }

    fn invalid_grant() -> Self {
        OAuthError::new("invalid_grant", "The credentials are invalid.")
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        tracing::error!(error = ?e, "token endpoint failed");
        let (error, status) = if e.code == Code::Unavailable {
            ("temporarily_unavailable", 503)
        } else {
            ("server_error", 500)
        };
        OAuthError {
            error,
            description: "The server could not issue a token.".to_owned(),
            status,
        }
    }
}

/// The body of an RFC 7662 introspection answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Introspection {
    /// Whether the token is currently valid. Tokens the caller may not inspect are reported inactive.
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `access_token` or `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// For impersonated tokens: the acting API account.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub act: Option<serde_json::Value>,
}

fn parse_scope(
    requested: Option<&str>,
    allowed: &Permissions,
) -> std::result::Result<Permissions, OAuthError> {
    match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(allowed.clone()),
        Some(s) => {
            let wanted = Permissions::parse_scope_string(s)
                .map_err(|e| OAuthError::new("invalid_scope", format!("{e}.")))?;
            if allowed.covers(&wanted) {
                Ok(wanted)
            } else {
                Err(OAuthError::new(
                    "invalid_scope",
                    "The requested scope exceeds the account's permissions.",
                ))
            }
        }
    }
}

/// A stored refresh token.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
struct RefreshRow {
    id: String,
    family_id: String,
    api_account_id: String,
    scope: String,
    token_version: i32,
    created_at: chrono::NaiveDateTime,
    expires_at: chrono::NaiveDateTime,
    used_at: Option<chrono::NaiveDateTime>,
    revoked_at: Option<chrono::NaiveDateTime>,
}

fn find_refresh(conn: &mut AnyConnection, token: &str) -> Result<Option<RefreshRow>> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(sha256_hex(token.as_bytes())))
        .select(RefreshRow::as_select())
        .first(conn)
        .optional()?)
}

fn find_account_by_username(
    conn: &mut AnyConnection,
    username: &str,
) -> Result<Option<ApiAccountRow>> {
    Ok(api_accounts::table
        .filter(api_accounts::username.eq(username))
        .select(ApiAccountRow::as_select())
        .first(conn)
        .optional()?)
}

fn find_account(conn: &mut AnyConnection, id: &str) -> Result<Option<ApiAccountRow>> {
    Ok(api_accounts::table
        .find(id)
        .select(ApiAccountRow::as_select())
        .first(conn)
        .optional()?)
}

/// Counts a failed login; locks the account when the limit is reached.
fn record_failure(
    conn: &mut AnyConnection,
    id: &str,
    max: i32,
    lock_until: DateTime<Utc>,
) -> Result<()> {
    let failures: Option<i32> = api_accounts::table
        .find(id)
        .select(api_accounts::failed_attempts)
        .first(conn)
        .optional()?;
    let Some(failures) = failures else {
        return Ok(());
    };
    let failures = failures + 1;
    if failures >= max {
        diesel::update(api_accounts::table.find(id))
            .set((
                api_accounts::failed_attempts.eq(0),
                api_accounts::locked_until.eq(Some(to_db(lock_until))),
            ))
            .execute(conn)?;
        tracing::warn!(api_account_id = %id, "API account locked after repeated failed logins");
    } else {
        diesel::update(api_accounts::table.find(id))
            .set(api_accounts::failed_attempts.eq(failures))
            .execute(conn)?;
    }
    Ok(())
}

/// Splits `password` + 6-digit code, unless the code came separately.
fn split_password(password: String, totp: Option<String>) -> (String, String) {
    match totp {
        Some(code) => (password, code.trim().to_owned()),
        None => {
            let n = password.chars().count();
            if n > 6 {
                let idx = password
                    .char_indices()
                    .nth(n - 6)
                    .map(|(i, _)| i)
                    .unwrap_or(0);
                let (p, c) = password.split_at(idx);
                (p.to_owned(), c.to_owned())
            } else {
                (password, String::new())
            }
        }
    }
}

impl Accounts {
    fn base_url(&self) -> String {
        format!("{}/api/v1", self.config.issuer)
    }

    /// The token endpoint URL (the audience of client assertions).
    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth/token", self.config.issuer)
    }

    /// Handles `POST /oauth/token`. `basic_client_id` is the client id of an
    /// `Authorization: Basic` header, if any (Swagger UI sends an empty one).
    pub async fn token(
        &self,
        req: TokenRequest,
        basic_client_id: Option<String>,
    ) -> std::result::Result<TokenResponse, OAuthError> {
        let grant = req.grant_type.clone().unwrap_or_default();
        match grant.as_str() {
            "password" => self.password_grant(req, basic_client_id).await,
            "refresh_token" => self.refresh_grant(req).await,
            TOKEN_EXCHANGE => self.exchange_grant(req).await,
            "client_credentials" => self.client_credentials_grant(req).await,
            "" => Err(OAuthError::new(
                "invalid_request",
                "grant_type is required.",
            )),
            _ => Err(OAuthError::new(
                "unsupported_grant_type",
                format!("grant_type `{grant}` is not supported."),
            )),
        }
    }

    fn access_claims(
        &self,
        account: &ApiAccountRow,
        sub: String,
        scope: &Permissions,
        act: Option<ActClaim>,
        now: DateTime<Utc>,
    ) -> AccessClaims {
        AccessClaims {
            iss: self.config.issuer.clone(),
            sub,
            aud: AUDIENCE.to_owned(),
            exp: now.timestamp() + self.config.access_token_ttl,
            iat: now.timestamp(),
            jti: ids::new_id().to_string(),
            client_id: account.username.clone(),
            tid: account.tenant_id.clone(),
            scope: scope.to_scope_string(),
            ver: account.token_version,
            act,
        }
    }

    fn new_refresh_token(
        &self,
        conn: &mut AnyConnection,
        account: &ApiAccountRow,
        family: &str,
        scope: &Permissions,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let token = random_token(32);
        diesel::insert_into(refresh_tokens::table)
            .values((
                refresh_tokens::id.eq(ids::new_id().to_string()),
                refresh_tokens::family_id.eq(family),
                refresh_tokens::api_account_id.eq(&account.id),
                refresh_tokens::token_hash.eq(sha256_hex(token.as_bytes())),
                refresh_tokens::scope.eq(scope.to_scope_string()),
                refresh_tokens::token_version.eq(account.token_version),
                refresh_tokens::created_at.eq(to_db(now)),
                refresh_tokens::expires_at.eq(to_db(
                    now + Duration::seconds(self.config.refresh_token_ttl),
                )),
            ))
            .execute(conn)?;
        Ok(token)
    }

    fn respond(
        &self,
        claims: &AccessClaims,
        refresh_token: Option<String>,
    ) -> std::result::Result<TokenResponse, OAuthError> {
        Ok(TokenResponse {
            access_token: self.signer.sign(claims)?,
            token_type: "Bearer".to_owned(),
            expires_in: self.config.access_token_ttl,
            refresh_token,
            scope: claims.scope.clone(),
            issued_token_type: claims.act.as_ref().map(|_| ACCESS_TOKEN_TYPE.to_owned()),
            base_url: self.base_url(),
        })
    }

    async fn password_grant(
        &self,
        req: TokenRequest,
        basic_client_id: Option<String>,
    ) -> std::result::Result<TokenResponse, OAuthError> {
        let (Some(username), Some(password)) = (req.username.clone(), req.password.clone()) else {
            return Err(OAuthError::new(
                "invalid_request",
                "username and password are required.",
            ));
        };
        if let Some(client) = basic_client_id.filter(|c| !c.is_empty())
            && client != username
        {
            return Err(OAuthError::new(
                "invalid_client",
                "The client id does not match the username.",
            ));
        }
        let (password, code) = split_password(password, req.totp.clone());
        let now = self.clock.now();
        let lookup = username.clone();
        let account = self
            .db
            .read(move |c| find_account_by_username(c, &lookup))
            .await?;
        let Some(account) = account else {
            secrets::blocking(move || secrets::verify_dummy(&password)).await?;
            return Err(OAuthError::invalid_grant());
        };

        // Check both factors, always, off the async executor.
        let key = self.key.clone();
        let (hash, sealed, id) = (
            account.password_hash.clone(),
            account.totp_secret.clone(),
            account.id.clone(),
        );
        let unix = now.timestamp().max(0) as u64;
        let (password_ok, step) = secrets::blocking(move || {
            let ok = secrets::verify_password(&password, &hash);
            let secret = key.open(&sealed, &ApiAccountRow::totp_context(&id)).ok();
            (ok, secret.and_then(|s| secrets::check_totp(s, &code, unix)))
        })
        .await?;
        let locked = account.locked_until.is_some_and(|t| from_db(t) > now);
        let fresh_step =
            step.filter(|s| account.last_totp_step.is_none_or(|last| (*s as i64) > last));

        let (max, lock_until) = (
            self.config.max_failures,
            now + Duration::seconds(self.config.lockout_seconds),
        );
        let this = self.clone();
        let scope_param = req.scope.clone();
        self.db
            .write(
                move |conn| -> Result<std::result::Result<TokenResponse, OAuthError>> {
                    let Some(step) =
                        fresh_step.filter(|_| password_ok && account.active && !locked)
                    else {
                        if !locked {
                            record_failure(conn, &account.id, max, lock_until)?;
                        }
                        return Ok(Err(OAuthError::invalid_grant()));
                    };
                    // Accept the code only if no concurrent login used this or a later step (R-LOGIN).
                    let claimed = diesel::update(
                        api_accounts::table
                            .find(&account.id)
                            .filter(api_accounts::token_version.eq(account.token_version))
                            .filter(
                                api_accounts::last_totp_step
                                    .is_null()
                                    .or(api_accounts::last_totp_step.lt(step as i64)),
                            ),
                    )
                    .set((
                        api_accounts::last_totp_step.eq(Some(step as i64)),
                        api_accounts::failed_attempts.eq(0),
                        api_accounts::locked_until.eq(None::<chrono::NaiveDateTime>),
                        api_accounts::last_login_at.eq(Some(to_db(now))),
                    ))
                    .execute(conn)?;
                    if claimed == 0 {
                        record_failure(conn, &account.id, max, lock_until)?;
                        return Ok(Err(OAuthError::invalid_grant()));
                    }
                    let scope = match parse_scope(
                        scope_param.as_deref(),
                        &stored_permissions(&account.permissions),
                    ) {
                        Ok(s) => s,
                        Err(e) => return Ok(Err(e)),
                    };
                    let refresh = this.new_refresh_token(
                        conn,
                        &account,
                        &ids::new_id().to_string(),
                        &scope,
                        now,
                    )?;
                    let claims =
                        this.access_claims(&account, account.id.clone(), &scope, None, now);
                    Ok(this.respond(&claims, Some(refresh)))
                },
            )
            .await?
    }

    async fn refresh_grant(
        &self,
        req: TokenRequest,
    ) -> std::result::Result<TokenResponse, OAuthError> {
        let Some(token) = req.refresh_token.clone() else {
            return Err(OAuthError::new(
                "invalid_request",
                "refresh_token is required.",
            ));
        };
        let now = self.clock.now();
        let this = self.clone();
        self.db
            .write(
                move |conn| -> Result<std::result::Result<TokenResponse, OAuthError>> {
                    let Some(RefreshRow {
                        id,
                        family_id: family,
                        api_account_id: account_id,
                        scope,
                        token_version: version,
                        expires_at,
                        used_at,
                        revoked_at,
                        ..
                    }) = find_refresh(conn, &token)?
                    else {
                        return Ok(Err(OAuthError::invalid_grant()));
                    };
                    if used_at.is_some() {
                        // A rotated token came back: someone holds a stolen copy. Revoke the family.
                        diesel::update(
                            refresh_tokens::table.filter(refresh_tokens::family_id.eq(&family)),
                        )
                        .set(refresh_tokens::revoked_at.eq(Some(to_db(now))))
                        .execute(conn)?;
                        tracing::warn!(family = %family, "refresh token reused; family revoked");
                        return Ok(Err(OAuthError::invalid_grant()));
                    }
                    if revoked_at.is_some() || from_db(expires_at) <= now {
                        return Ok(Err(OAuthError::invalid_grant()));
                    }
                    let Some(account) = find_account(conn, &account_id)? else {
                        return Ok(Err(OAuthError::invalid_grant()));
                    };
                    if !account.active || account.token_version != version {
                        return Ok(Err(OAuthError::invalid_grant()));
                    }
                    let granted = stored_permissions(&scope)
                        .intersect(&stored_permissions(&account.permissions));
                    let scope = match parse_scope(req.scope.as_deref(), &granted) {
                        Ok(s) => s,
                        Err(e) => return Ok(Err(e)),
                    };
                    let rotated = diesel::update(
                        refresh_tokens::table
                            .find(&id)
                            .filter(refresh_tokens::used_at.is_null()),
                    )
                    .set(refresh_tokens::used_at.eq(Some(to_db(now))))
                    .execute(conn)?;
                    if rotated == 0 {
                        return Ok(Err(OAuthError::invalid_grant()));
                    }
                    let refresh = this.new_refresh_token(conn, &account, &family, &scope, now)?;
                    let claims =
                        this.access_claims(&account, account.id.clone(), &scope, None, now);
                    Ok(this.respond(&claims, Some(refresh)))
                },
            )
            .await?
    }

    async fn exchange_grant(
        &self,
        req: TokenRequest,
    ) -> std::result::Result<TokenResponse, OAuthError> {
        let (Some(subject_token), Some(requested)) =
            (req.subject_token.clone(), req.requested_subject.clone())
        else {
            return Err(OAuthError::new(
                "invalid_request",
                "subject_token and requested_subject are required.",
            ));
        };
        if req.subject_token_type.as_deref() != Some(ACCESS_TOKEN_TYPE) {
            return Err(OAuthError::new(
                "invalid_request",
                format!("subject_token_type must be {ACCESS_TOKEN_TYPE}."),
            ));
        }
        if req
            .requested_token_type
            .as_deref()
            .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
        {
            return Err(OAuthError::new(
                "invalid_request",
                "Only access tokens can be requested.",
            ));
        }
        let principal = self.authenticate(&subject_token).await.map_err(|_| {
            OAuthError::new("invalid_grant", "The subject_token is invalid or expired.")
        })?;
        if principal.kind != SubjectKind::ApiAccount {
            return Err(OAuthError::new(
                "invalid_grant",
                "An impersonated token cannot be exchanged again.",
            ));
        }
        if !principal.permissions.grants(Permission::Impersonate) {
            return Err(OAuthError::new(
                "unauthorized_client",
                "The account lacks the `impersonate` permission.",
            ));
        }
        let Ok(user_id) = Uuid::parse_str(requested.trim()) else {
            return Err(OAuthError::new(
                "invalid_request",
                "requested_subject must be a user id.",
            ));
        };
        let now = self.clock.now();
        let (tenant, account_id) = (
            principal.tenant_id.to_string(),
            principal.subject.to_string(),
        );
        let found = self
            .db
            .read(move |conn| {
                let user: Option<UserRow> = users::table
                    .find(user_id.to_string())
                    .filter(users::tenant_id.eq(&tenant))
                    .select(UserRow::as_select())
                    .first(conn)
                    .optional()?;
                Ok((user, find_account(conn, &account_id)?))
            })
            .await?;
        let (Some(user), Some(account)) = found else {
            return Err(OAuthError::new(
                "invalid_request",
                "requested_subject is not a user of this tenant.",
            ));
        };
        if !user.active {
            return Err(OAuthError::new(
                "invalid_request",
                "requested_subject is not an active user.",
            ));
        }
        // The impersonated token never carries more than the user has (nor than the account's token).
        let allowed = principal
            .permissions
            .intersect(&stored_permissions(&user.permissions));
        let scope = parse_scope(req.scope.as_deref(), &allowed)?;
        let claims = self.access_claims(
            &account,
            user.id.clone(),
            &scope,
            Some(ActClaim {
                sub: account.id.clone(),
            }),
            now,
        );
        self.respond(&claims, None)
    }

    async fn client_credentials_grant(
        &self,
        req: TokenRequest,
    ) -> std::result::Result<TokenResponse, OAuthError> {
        if req.client_assertion_type.as_deref() != Some(JWT_BEARER_ASSERTION) {
            return Err(OAuthError::new(
                "invalid_client",
                format!("client_assertion_type must be {JWT_BEARER_ASSERTION}."),
            ));
        }
        let Some(assertion) = req.client_assertion.clone() else {
            return Err(OAuthError::new(
                "invalid_client",
                "client_assertion is required.",
            ));
        };
        let bad = || OAuthError::new("invalid_client", "The client assertion is invalid.");
        let header = jsonwebtoken::decode_header(&assertion).map_err(|_| bad())?;
        let kid = header.kid.clone().ok_or_else(bad)?;
        let unverified: serde_json::Value =
            jsonwebtoken::dangerous::insecure_decode_claims(&assertion).map_err(|_| bad())?;
        let client_id = unverified
            .get("iss")
            .and_then(|v| v.as_str())
            .ok_or_else(bad)?
            .to_owned();
        if req.client_id.as_deref().is_some_and(|c| c != client_id) {
            return Err(bad());
        }
        let lookup = client_id.clone();
        let found = self
            .db
            .read(move |conn| {
                let Some(account) = find_account_by_username(conn, &lookup)? else {
                    return Ok(None);
                };
                let key: Option<(String, String)> = api_account_keys::table
                    .filter(api_account_keys::api_account_id.eq(&account.id))
                    .filter(api_account_keys::kid.eq(&kid))
                    .select((api_account_keys::alg, api_account_keys::jwk))
                    .first(conn)
                    .optional()?;
                Ok(key.map(|k| (account, k)))
            })
            .await?;
        let Some((account, (alg, jwk))) = found else {
            return Err(bad());
        };
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_str(&jwk).map_err(|_| bad())?;
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).map_err(|_| bad())?;
        let algorithm: jsonwebtoken::Algorithm = alg.parse().map_err(|_| bad())?;
        if header.alg != algorithm {
            return Err(bad());
        }
        let mut validation = jsonwebtoken::Validation::new(algorithm);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        validation.set_issuer(&[&client_id]);
        validation.sub = Some(client_id.clone());
        validation.set_audience(&[self.token_endpoint(), self.config.issuer.clone()]);
        #[derive(Deserialize)]
        struct Assertion {
            exp: i64,
            jti: Option<String>,
        }
        let claims = jsonwebtoken::decode::<Assertion>(&assertion, &key, &validation)
            .map_err(|_| bad())?
            .claims;
        let now = self.clock.now();
        if claims.exp <= now.timestamp() || claims.exp > now.timestamp() + 3600 {
            return Err(OAuthError::new(
                "invalid_client",
                "The client assertion is expired or lives longer than an hour.",
            ));
        }
        let jti = claims
            .jti
            .filter(|j| !j.is_empty() && j.len() <= 200)
            .ok_or_else(bad)?;
        if !account.active {
            return Err(bad());
        }
        let scope = parse_scope(
            req.scope.as_deref(),
            &stored_permissions(&account.permissions),
        )?;
        let replay_key = format!("{}:{jti}", account.id);
        let expires = DateTime::<Utc>::from_timestamp(claims.exp, 0).unwrap_or(now);
        let fresh = self
            .db
            .write(move |conn| {
                diesel::delete(
                    used_assertions::table.filter(used_assertions::expires_at.lt(to_db(now))),
                )
                .execute(conn)?;
                let exists = used_assertions::table
                    .find(&replay_key)
                    .count()
                    .get_result::<i64>(conn)?
                    > 0;
                if !exists {
                    diesel::insert_into(used_assertions::table)
                        .values((
                            used_assertions::key.eq(&replay_key),
                            used_assertions::expires_at.eq(to_db(expires)),
                        ))
                        .execute(conn)?;
                }
                Ok(!exists)
            })
            .await?;
        if !fresh {
            return Err(OAuthError::new(
                "invalid_client",
                "The client assertion was already used.",
            ));
        }
        let claims = self.access_claims(&account, account.id.clone(), &scope, None, now);
        self.respond(&claims, None)
    }

    /// Verifies a bearer access token and returns its principal; `401 unauthorized` when the
    /// token is malformed, badly signed, expired, revoked, or its account (or impersonated
    /// user) is no longer active.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let cache = &self.db.cache;
        if let Some(p) = cache.get(token, self.clock.now().timestamp()) {
            return Ok(p);
        }
        let generation = cache.generation();
        let (principal, exp) = self.verify_access_token(token).await?;
        cache.put(token, principal.clone(), exp, generation);
        Ok(principal)
    }

    /// [`Accounts::authenticate`] without the cache: the signature, then the database; answers
    /// the principal and the token's `exp`.
    async fn verify_access_token(&self, token: &str) -> Result<(Principal, i64)> {
        let invalid = || {
            Error::new(
                Code::Unauthorized,
                "The bearer token is invalid, expired or revoked.",
            )
        };
        let claims: AccessClaims = self
            .signer
            .verify(token, &self.config.issuer, AUDIENCE)
            .await
            .ok_or_else(invalid)?;
        if claims.exp <= self.clock.now().timestamp() {
            return Err(invalid());
        }
        let account_id = claims
            .act
            .as_ref()
            .map(|a| a.sub.clone())
            .unwrap_or_else(|| claims.sub.clone());
        let impersonated = claims.act.as_ref().map(|_| claims.sub.clone());
        let jti = claims.jti.clone();
        let found = self
            .db
            .lookup(move |conn| {
                let revoked = revoked_tokens::table
                    .find(&jti)
                    .count()
                    .get_result::<i64>(conn)?
                    > 0;
                let account = find_account(conn, &account_id)?;
                let user: Option<UserRow> = match impersonated {
                    Some(u) => users::table
                        .find(u)
                        .select(UserRow::as_select())
                        .first(conn)
                        .optional()?,
                    None => None,
                };
                Ok((revoked, account, user))
            })
            .await?;
        let (revoked, Some(account), user) = found else {
            return Err(invalid());
        };
        if revoked
            || !account.active
            || account.token_version != claims.ver
            || account.tenant_id != claims.tid
        {
            return Err(invalid());
        }
        let mut permissions = Permissions::parse_scope_string(&claims.scope)
            .map_err(|_| invalid())?
            .intersect(&stored_permissions(&account.permissions));
        let kind = match (&claims.act, &user) {
            (None, _) => SubjectKind::ApiAccount,
            (Some(_), Some(u)) if u.active && u.tenant_id == account.tenant_id => {
                permissions = permissions.intersect(&stored_permissions(&u.permissions));
                SubjectKind::User
            }
            (Some(_), _) => return Err(invalid()),
        };
        let principal = Principal {
            tenant_id: ids::parse_stored(&account.tenant_id)?,
            subject: Uuid::parse_str(&claims.sub).map_err(|_| invalid())?,
            kind,
            actor: claims
                .act
                .as_ref()
                .and_then(|a| Uuid::parse_str(&a.sub).ok()),
            permissions,
            token_id: Uuid::parse_str(&claims.jti).map_err(|_| invalid())?,
        };
        Ok((principal, claims.exp))
    }

    /// RFC 7662: describes a token to a caller allowed to see it (its own tokens, or any token
    /// of its tenant for a `superadmin`); everything else is reported inactive.
    pub async fn introspect(&self, caller: &Principal, token: &str) -> Result<Introspection> {
        let may_see = |tenant: &str, account: &str| {
            tenant == caller.tenant_id.to_string()
                && (account == caller.api_account_id().to_string()
                    || caller.permissions.grants(Permission::Superadmin))
        };
        if let Ok(p) = self.authenticate(token).await
            && let Some(claims) = self
                .signer
                .verify::<AccessClaims>(token, &self.config.issuer, AUDIENCE)
                .await
        {
            if !may_see(&p.tenant_id.to_string(), &p.api_account_id().to_string()) {
                return Ok(Introspection::default());
            }
            return Ok(Introspection {
                active: true,
                scope: Some(p.permissions.to_scope_string()),
                client_id: Some(claims.client_id.clone()),
                username: Some(claims.client_id),
                token_type: Some("access_token".into()),
                exp: Some(claims.exp),
                iat: Some(claims.iat),
                sub: Some(claims.sub),
                aud: Some(claims.aud),
                iss: Some(claims.iss),
                jti: Some(claims.jti),
                tid: Some(claims.tid),
                act: claims.act.map(|a| serde_json::json!({ "sub": a.sub })),
            });
        }
        let now = self.clock.now();
        let token = token.to_owned();
        let row = self
            .db
            .read(move |conn| {
                let Some(r) = find_refresh(conn, &token)? else {
                    return Ok(None);
                };
                Ok(find_account(conn, &r.api_account_id)?.map(|a| (r, a)))
            })
            .await?;
        let Some((r, account)) = row else {
            return Ok(Introspection::default());
        };
        let (scope, created, expires, used, revoked, version) = (
            r.scope,
            r.created_at,
            r.expires_at,
            r.used_at,
            r.revoked_at,
            r.token_version,
        );
        let active = used.is_none()
            && revoked.is_none()
            && from_db(expires) > now
            && account.active
            && account.token_version == version
            && may_see(&account.tenant_id, &account.id);
        if !active {
            return Ok(Introspection::default());
        }
        Ok(Introspection {
            active: true,
            scope: Some(scope),
            client_id: Some(account.username.clone()),
            username: Some(account.username),
            token_type: Some("refresh_token".into()),
            exp: Some(from_db(expires).timestamp()),
            iat: Some(from_db(created).timestamp()),
            sub: Some(account.id),
            iss: Some(self.config.issuer.clone()),
            tid: Some(account.tenant_id),
            ..Introspection::default()
        })
    }

    /// RFC 7009: revokes an access token (by `jti`, until it expires) or a refresh token (its
    /// whole family). Unknown tokens are ignored, as the RFC says.
    pub async fn revoke(&self, token: &str) -> Result<()> {
        let now = self.clock.now();
        if let Some(claims) = self
            .signer
            .verify::<AccessClaims>(token, &self.config.issuer, AUDIENCE)
            .await
        {
            let expires = DateTime::<Utc>::from_timestamp(claims.exp, 0).unwrap_or(now);
            return self
                .db
                .write(move |conn| {
                    diesel::delete(
                        revoked_tokens::table.filter(revoked_tokens::expires_at.lt(to_db(now))),
                    )
                    .execute(conn)?;
                    let exists = revoked_tokens::table
                        .find(&claims.jti)
                        .count()
                        .get_result::<i64>(conn)?
                        > 0;
                    if !exists {
                        diesel::insert_into(revoked_tokens::table)
                            .values((
                                revoked_tokens::jti.eq(&claims.jti),
                                revoked_tokens::expires_at.eq(to_db(expires)),
                            ))
                            .execute(conn)?;
                    }
                    Ok(())
                })
                .await;
        }
        let token = token.to_owned();
        self.db
            .write(move |conn| {
                if let Some(RefreshRow {
                    family_id: family, ..
                }) = find_refresh(conn, &token)?
                {
                    diesel::update(
                        refresh_tokens::table.filter(refresh_tokens::family_id.eq(family)),
                    )
                    .set(refresh_tokens::revoked_at.eq(Some(to_db(now))))
                    .execute(conn)?;
                }
                Ok(())
            })
            .await
    }

    /// The JWK Set of the token signing keys.
    pub async fn jwks(&self) -> Result<serde_json::Value> {
        self.signer.jwks().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_split_off_the_end_of_the_password() {
        assert_eq!(
            split_password("secret123456".into(), None),
            ("secret".into(), "123456".into())
        );
        assert_eq!(
            split_password("secret".into(), Some(" 654321 ".into())),
            ("secret".into(), "654321".into())
        );
        assert_eq!(
            split_password("12345".into(), None),
            ("12345".into(), String::new())
        );
    }

    #[test]
    fn scope_requests_cannot_exceed_what_is_allowed() {
        let allowed = Permissions::new([Permission::TicketsRead, Permission::TicketsWrite]);
        assert_eq!(parse_scope(None, &allowed).unwrap(), allowed);
        assert_eq!(
            parse_scope(Some("tickets:read"), &allowed).unwrap(),
            Permissions::new([Permission::TicketsRead])
        );
        assert_eq!(
            parse_scope(Some("accounts:read"), &allowed)
                .unwrap_err()
                .error,
            "invalid_scope"
        );
        assert_eq!(
            parse_scope(Some("nonsense"), &allowed).unwrap_err().error,
            "invalid_scope"
        );
    }
}
