//! Tenants, users and API accounts: create, read, change, delete, within the caller's tenant.
//!
//! Every query is confined to `p.tenant_id` (R-TEN: an id of another tenant answers 404), every
//! operation checks its permission first (R-AUTHZ), and every change writes its audit event and,
//! for users and API accounts, its `Accounts.*` outbox event in the same transaction.
//!
//! Nobody can hand out more than they hold: a caller grants only permissions it holds itself,
//! manages only accounts whose permissions it holds itself (rotating a secret or registering a
//! key would otherwise let it log in as a stronger account), and `platform:admin` is never
//! granted here (only by `loket admin bootstrap`).

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use loket_common::time::to_db;
use loket_common::validate::Validator;
use loket_common::{
    Actor, Code, Error, Page, PageQuery, Permission, Permissions, Principal, Result, SubjectKind,
    ids,
};
use loket_storage::AnyConnection;
use loket_storage::schema::{api_account_keys, api_accounts, refresh_tokens, tenants, users};
use rand::Rng;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::api::{
    ApiAccount, ApiAccountChanges, ApiAccountCreated, ApiAccountKey, AuditEvent, AuditFilter, Me,
    NewApiAccount, NewApiAccountKey, NewTenant, NewUser, Tenant, TenantChanges, TenantCreated,
    User, UserChanges,
};
use crate::model::{ApiAccountRow, TenantRow, UserRow, stored_permissions};
use crate::secrets::{self, NewCredentials};
use crate::{Accounts, audit, events};

/// Longest name of a tenant, user or API account (characters).
pub const NAME_MAX: usize = 200;
/// Longest e-mail address (bytes, RFC 5321).
pub const EMAIL_MAX: usize = 254;
/// The culture of a tenant created without one.
pub const DEFAULT_CULTURE: &str = "nl-NL";
/// Longest tenant slug.
pub const SLUG_MAX: usize = 40;
/// Longest `kid` of a registered key.
pub const KID_MAX: usize = 100;
/// Length of the random part of a username.
const USERNAME_SUFFIX: usize = 8;
/// How often a create is retried when a freshly drawn slug or username was taken meanwhile.
const ATTEMPTS: usize = 3;

/// JWK members that only private keys have.
const PRIVATE_JWK_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The tenant's representation with the settings other domains own.
fn tenant_with_settings(
    c: &mut AnyConnection,
    id: Uuid,
    settings: Option<&dyn crate::TenantSettings>,
) -> Result<Tenant> {
    let mut tenant = load_tenant(c, id)?.to_api()?;
    if let Some(s) = settings {
        tenant.default_sender_id = s.default_sender(c, id)?;
    }
    Ok(tenant)
}

// ---------------------------------------------------------------------------------------------
// Pure helpers: validation, slugs, usernames, keys.

/// A name: at most `max` characters, no control characters, not only white space. Exactly the
/// `minLength`/`maxLength`/`pattern` of the OpenAPI document, so what the document admits is
/// accepted and what it refuses is refused.
fn check_text(v: &mut Validator, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        v.fail(field, format!("must be at most {max} characters"));
    } else if value.chars().any(char::is_control) {
        v.fail(field, "must not contain control characters");
    } else if value.trim().is_empty() {
        v.fail(field, "must not be empty");
    }
}

/// An e-mail address: RFC 5322 dot-atom local part and a host name of letters, digits and
/// hyphens, with a dot (quoted local parts and address literals are not taken).
fn check_email(v: &mut Validator, field: &str, value: &str) {
    const ATEXT: &str = "!#$%&'*+-/=?^_`{|}~";
    let strict = value.len() <= EMAIL_MAX
        && loket_common::validate::is_email(value)
        && value.split_once('@').is_some_and(|(local, domain)| {
            local.split('.').all(|atom| {
                !atom.is_empty()
                    && atom
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ATEXT.contains(c))
            }) && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
        });
    if !strict {
        v.fail(field, "must be an e-mail address");
    }
}

/// The stored form of an e-mail address (compared case-insensitively within a tenant).
fn normalize_email(value: &str) -> String {
    value.to_lowercase()
}

/// The uniqueness key of a tenant name.
fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A URL-safe short name: lowercase ASCII letters and digits, `-` between words, at most
/// [`SLUG_MAX`] characters; `tenant` when nothing usable is left.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    let mut dash = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if dash && !slug.is_empty() {
                slug.push('-');
            }
            dash = false;
            slug.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
    }
    truncate_slug(&slug, SLUG_MAX)
}

fn truncate_slug(slug: &str, max: usize) -> String {
    let cut: String = slug.chars().take(max).collect();
    let cut = cut.trim_end_matches('-');
    if cut.is_empty() {
        "tenant".to_owned()
    } else {
        cut.to_owned()
    }
}

/// `base`, or `base-2`, `base-3`, … (still at most [`SLUG_MAX`] characters) for the `n`-th try.
fn slug_candidate(base: &str, n: usize) -> String {
    if n <= 1 {
        return base.to_owned();
    }
    let suffix = format!("-{n}");
    format!(
        "{}{suffix}",
        truncate_slug(base, SLUG_MAX.saturating_sub(suffix.len()))
    )
}

/// `<slug>.<8 random lowercase letters and digits>`.
pub fn new_username(slug: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let suffix: String = (0..USERNAME_SUFFIX)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("{slug}.{suffix}")
}

/// Refuses to grant what the caller does not hold, and `platform:admin` unless the account
/// already has it (`kept`).
fn check_grant(p: &Principal, requested: &Permissions, kept: &Permissions) -> Result<()> {
    if requested.iter().any(|x| x == Permission::PlatformAdmin)
        && !kept.iter().any(|x| x == Permission::PlatformAdmin)
    {
        return Err(Error::forbidden(
            "The `platform:admin` permission cannot be granted through the API; only `loket admin \
             bootstrap` gives it.",
        ));
    }
    if let Some(missing) = requested.iter().find(|x| !p.permissions.grants(*x)) {
        return Err(Error::forbidden(format!(
            "You cannot grant the `{missing}` permission because you do not hold it yourself."
        )));
    }
    Ok(())
}

/// Refuses to manage an account that holds permissions the caller lacks.
fn check_manage(p: &Principal, what: &str, held: &Permissions) -> Result<()> {
    match held.iter().find(|x| !p.permissions.grants(*x)) {
        Some(missing) => Err(Error::forbidden(format!(
            "This {what} holds the `{missing}` permission, which you do not hold; only a caller \
             holding every permission of the {what} may change it."
        ))),
        None => Ok(()),
    }
}

fn details(fields: &[&str], permissions: Option<&Permissions>) -> Value {
    let mut d = json!({ "fields": fields });
    if let (Some(p), Some(obj)) = (permissions, d.as_object_mut()) {
        obj.insert("permissions".into(), json!(p.to_scope_string()));
    }
    d
}

/// Base64url without padding, tolerant of non-zero trailing bits (re-encoded canonically).
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// The shape of one base64url JWK member: its length range in characters.
struct B64Member {
    name: &'static str,
    min: usize,
    max: usize,
}

/// What a key type requires: its algorithm, curve and members.
struct KeyType {
    kty: &'static str,
    alg: &'static str,
    crv: Option<&'static str>,
    members: &'static [B64Member],
}

const KEY_TYPES: &[KeyType] = &[
    KeyType {
        kty: "OKP",
        alg: "EdDSA",
        crv: Some("Ed25519"),
        members: &[B64Member {
            name: "x",
            min: 43,
            max: 43,
        }],
    },
    KeyType {
        kty: "EC",
        alg: "ES256",
        crv: Some("P-256"),
        members: &[
            B64Member {
                name: "x",
                min: 43,
                max: 43,
            },
            B64Member {
                name: "y",
                min: 43,
                max: 43,
            },
        ],
    },
    KeyType {
        kty: "RSA",
        alg: "RS256",
        crv: None,
        // 2048 to 8192 bits; exponent of at most 8 bytes.
        members: &[
            B64Member {
                name: "n",
                min: 342,
                max: 1366,
            },
            B64Member {
                name: "e",
                min: 2,
                max: 11,
            },
        ],
    },
];

/// The regular expression of a base64url member (no padding; no length that cannot decode).
pub const BASE64URL_PATTERN: &str = "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$";

/// The OpenAPI schema of a public JWK, stating exactly what [`check_public_jwk`] accepts.
pub fn public_jwk_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{
        AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
    };
    let string = || ObjectBuilder::new().schema_type(SchemaType::new(Type::String));
    let one = |value: &str| string().enum_values(Some([value.to_owned()]));
    let mut variants = OneOfBuilder::new().description(Some(
        "A public key as a JWK (RFC 7517): Ed25519 (`OKP`), P-256 (`EC`) or RSA of 2048 to 8192 \
         bits, with a `kid`. Private members (`d`, …) are refused.",
    ));
    for t in KEY_TYPES {
        let mut o = ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .property("kty", one(t.kty))
            .required("kty")
            .property(
                "kid",
                string().min_length(Some(1)).max_length(Some(KID_MAX)),
            )
            .required("kid")
            .property("alg", one(t.alg))
            .property("use", one("sig"))
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
        if let Some(crv) = t.crv {
            o = o.property("crv", one(crv)).required("crv");
        }
        for m in t.members {
            o = o
                .property(
                    m.name,
                    string()
                        .pattern(Some(BASE64URL_PATTERN))
                        .min_length(Some(m.min))
                        .max_length(Some(m.max)),
                )
                .required(m.name);
        }
        variants = variants.item(o);
    }
    Schema::OneOf(variants.build())
}

/// A checked public key: its `kid`, algorithm and canonical JWK.
#[derive(Debug)]
pub struct PublicJwk {
    /// The key id.
    pub kid: String,
    /// `EdDSA`, `ES256` or `RS256`.
    pub alg: &'static str,
    /// The JWK as stored: only public members, base64url canonical.
    pub jwk: Value,
}

fn jwk_string<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::invalid(format!("jwk.{name}"), "must be a string")),
    }
}

/// Checks a JWK submitted for `private_key_jwt`: a public OKP (Ed25519), EC (P-256) or RSA
/// key with a `kid`, and nothing else.
pub fn check_public_jwk(value: &Value) -> Result<PublicJwk> {
    let Some(obj) = value.as_object() else {
        return Err(Error::invalid("jwk", "must be a JSON object"));
    };
    if let Some(m) = PRIVATE_JWK_MEMBERS.iter().find(|m| obj.contains_key(**m)) {
        return Err(Error::invalid(
            "jwk",
            format!("must be a public key; the private member `{m}` is not allowed"),
        ));
    }
    let kty = jwk_string(obj, "kty")?.ok_or_else(|| Error::invalid("jwk.kty", "is required"))?;
    let Some(t) = KEY_TYPES.iter().find(|t| t.kty == kty) else {
        return Err(Error::invalid("jwk.kty", "must be `OKP`, `EC` or `RSA`"));
    };
    let mut v = Validator::new();
    for name in obj.keys() {
        let known = ["kty", "kid", "alg", "use"].contains(&name.as_str())
            || (name == "crv" && t.crv.is_some())
            || t.members.iter().any(|m| m.name == name);
        if !known {
            v.fail(
                &format!("jwk.{name}"),
                format!("is not a member of a public {kty} key"),
            );
        }
    }
    let kid = match jwk_string(obj, "kid")? {
        None => {
            v.fail("jwk.kid", "is required");
            String::new()
        }
        Some(k) if k.is_empty() || k.chars().count() > KID_MAX => {
            v.fail("jwk.kid", format!("must be 1 to {KID_MAX} characters"));
            String::new()
        }
        Some(k) => k.to_owned(),
    };
    if let Some(alg) = jwk_string(obj, "alg")?
        && alg != t.alg
    {
        v.fail("jwk.alg", format!("must be `{}` for a {kty} key", t.alg));
    }
    if let Some(u) = jwk_string(obj, "use")?
        && u != "sig"
    {
        v.fail("jwk.use", "must be `sig`");
    }
    let mut canonical = Map::new();
    canonical.insert("kty".into(), json!(t.kty));
    canonical.insert("kid".into(), json!(kid));
    canonical.insert("alg".into(), json!(t.alg));
    canonical.insert("use".into(), json!("sig"));
    if let Some(crv) = t.crv {
        match jwk_string(obj, "crv")? {
            Some(c) if c == crv => {}
            _ => v.fail("jwk.crv", format!("must be `{crv}`")),
        }
        canonical.insert("crv".into(), json!(crv));
    }
    for m in t.members {
        let field = format!("jwk.{}", m.name);
        let Some(s) = jwk_string(obj, m.name)? else {
            v.fail(&field, "is required");
            continue;
        };
        let decoded = if (m.min..=m.max).contains(&s.len()) {
            LENIENT_B64.decode(s).ok()
        } else {
            None
        };
        match decoded {
            Some(bytes) => {
                canonical.insert(m.name.into(), json!(URL_SAFE_NO_PAD.encode(bytes)));
            }
            None => v.fail(
                &field,
                format!(
                    "must be base64url (no padding) of {} characters",
                    if m.min == m.max {
                        m.min.to_string()
                    } else {
                        format!("{} to {}", m.min, m.max)
                    }
                ),
            ),
        }
    }
    v.finish()?;
    let jwk = Value::Object(canonical);
    let parsed: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone())
        .map_err(|e| Error::invalid("jwk", format!("is not a usable JWK: {e}")))?;
    jsonwebtoken::DecodingKey::from_jwk(&parsed)
        .map_err(|e| Error::invalid("jwk", format!("is not a usable public key: {e}")))?;
    Ok(PublicJwk {
        kid,
        alg: t.alg,
        jwk,
    })
}

// ---------------------------------------------------------------------------------------------
// Queries, all confined to one tenant.

fn load_tenant(conn: &mut AnyConnection, id: Uuid) -> Result<TenantRow> {
    tenants::table
        .find(id.to_string())
        .select(TenantRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("tenant"))
}

fn tenant_name_taken(conn: &mut AnyConnection, key: &str, except: Option<Uuid>) -> Result<bool> {
    let mut q = tenants::table
        .filter(tenants::name_key.eq(key))
        .select(tenants::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(tenants::id.ne(id.to_string()));
    }
    Ok(q.first::<String>(conn).optional()?.is_some())
}

fn tenant_name_conflict() -> Error {
    Error::conflict("A tenant with this name already exists.")
}

fn slug_taken(conn: &mut AnyConnection, slug: &str) -> Result<bool> {
    Ok(tenants::table
        .filter(tenants::slug.eq(slug))
        .select(tenants::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

fn free_slug(conn: &mut AnyConnection, base: &str) -> Result<String> {
    for n in 1..=1000 {
        let candidate = slug_candidate(base, n);
        if !slug_taken(conn, &candidate)? {
            return Ok(candidate);
        }
    }
    // Practically unreachable; a random suffix still yields a valid slug.
    Ok(slug_candidate(
        base,
        rand::rng().random_range(1001..1_000_000),
    ))
}

fn username_taken(conn: &mut AnyConnection, username: &str) -> Result<bool> {
    Ok(api_accounts::table
        .filter(api_accounts::username.eq(username))
        .select(api_accounts::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

fn load_user(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<UserRow> {
    users::table
        .filter(users::tenant_id.eq(tenant.to_string()))
        .filter(users::id.eq(id.to_string()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("user"))
}

fn email_taken(
    conn: &mut AnyConnection,
    tenant: Uuid,
    email: &str,
    except: Option<Uuid>,
) -> Result<bool> {
    let mut q = users::table
        .filter(users::tenant_id.eq(tenant.to_string()))
        .filter(users::email.eq(email))
        .select(users::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(users::id.ne(id.to_string()));
    }
    Ok(q.first::<String>(conn).optional()?.is_some())
}

fn email_conflict() -> Error {
    Error::conflict("A user with this e-mail address already exists in this tenant.")
}

/// Checks a new user's name, e-mail address and language (`422` naming each invalid field) —
/// exactly what `POST /users` checks. [`create_user_in`] checks it again.
pub fn validate_new_user(new: &NewUser) -> Result<()> {
    let mut v = Validator::new();
    check_text(&mut v, "name", &new.name, NAME_MAX);
    check_email(&mut v, "email", &new.email);
    if let Some(language) = &new.language {
        v.culture("language", language);
    }
    v.finish()
}

/// Inserts a user on `conn`, inside the caller's transaction: validates it like
/// [`validate_new_user`], refuses an e-mail address the tenant already uses (`409`), defaults the
/// language to the tenant's culture, and writes the audit event and `Accounts.Create` with it.
///
/// It checks no permission: the calling domain service has decided that its caller may create
/// this user with `new.permissions` (for example the helpdesk's customer contacts, whose
/// permissions are fixed). [`Accounts::create_user`] adds the checks of `POST /users`.
pub fn create_user_in(
    c: &mut AnyConnection,
    tenant: Uuid,
    actor: Actor,
    new: &NewUser,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<User> {
    validate_new_user(new)?;
    let permissions = new.permissions.clone().unwrap_or_default();
    let name = new.name.trim().to_owned();
    let email = normalize_email(&new.email);
    let active = new.active.unwrap_or(true);
    let language = match &new.language {
        Some(l) => l.clone(),
        None => load_tenant(c, tenant)?.default_culture,
    };
    if email_taken(c, tenant, &email, None)? {
        return Err(email_conflict());
    }
    let id = ids::new_id();
    let at = to_db(now);
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id.to_string()),
            users::tenant_id.eq(tenant.to_string()),
            users::name.eq(&name),
            users::email.eq(&email),
            users::language.eq(&language),
            users::permissions.eq(permissions.to_scope_string()),
            users::active.eq(active),
            users::created_at.eq(at),
            users::updated_at.eq(at),
        ))
        .execute(c)?;
    let user = load_user(c, tenant, id)?.to_api()?;
    audit::record(
        c,
        &audit::Change {
            tenant_id: tenant,
            actor,
            action: "users.create",
            object_type: "user",
            object_id: id,
            details: details(
                &["name", "email", "language", "permissions", "active"],
                Some(&permissions),
            ),
            at: now,
        },
    )?;
    events::emit(c, events::ACCOUNTS_CREATE, tenant, id, &user, actor, now)?;
    Ok(user)
}

fn load_account(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<ApiAccountRow> {
    api_accounts::table
        .filter(api_accounts::tenant_id.eq(tenant.to_string()))
        .filter(api_accounts::id.eq(id.to_string()))
        .select(ApiAccountRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("API account"))
}

/// Ends every session of an account: open refresh tokens are revoked (access tokens die by
/// the `token_version` bump the caller makes).
fn revoke_refresh_tokens(conn: &mut AnyConnection, account: &str, at: NaiveDateTime) -> Result<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::api_account_id.eq(account))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(at)))
    .execute(conn)?;
    Ok(())
}

/// An API account about to be inserted.
struct AccountInsert<'a> {
    id: Uuid,
    tenant: Uuid,
    name: &'a str,
    username: &'a str,
    permissions: &'a Permissions,
    active: bool,
    creds: &'a NewCredentials,
    at: NaiveDateTime,
}

/// Inserts an API account with fresh credentials and returns its row.
fn insert_account(conn: &mut AnyConnection, a: &AccountInsert<'_>) -> Result<ApiAccountRow> {
    diesel::insert_into(api_accounts::table)
        .values((
            api_accounts::id.eq(a.id.to_string()),
            api_accounts::tenant_id.eq(a.tenant.to_string()),
            api_accounts::name.eq(a.name),
            api_accounts::username.eq(a.username),
            api_accounts::permissions.eq(a.permissions.to_scope_string()),
            api_accounts::active.eq(a.active),
            api_accounts::password_hash.eq(&a.creds.password_hash),
            api_accounts::totp_secret.eq(&a.creds.totp_sealed),
            api_accounts::failed_attempts.eq(0),
            api_accounts::token_version.eq(0),
            api_accounts::created_at.eq(a.at),
            api_accounts::updated_at.eq(a.at),
        ))
        .execute(conn)?;
    load_account(conn, a.tenant, a.id)
}

fn created(account: ApiAccount, creds: NewCredentials) -> ApiAccountCreated {
    ApiAccountCreated {
        account,
        password: creds.password,
        totp_secret: creds.totp_secret,
        otpauth_uri: creds.otpauth_uri,
    }
}

/// A database row of `api_account_keys`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_account_keys)]
struct KeyRow {
    id: String,
    kid: String,
    alg: String,
    jwk: String,
    created_at: NaiveDateTime,
}

impl KeyRow {
    fn to_api(&self) -> Result<ApiAccountKey> {
        Ok(ApiAccountKey {
            id: ids::parse_stored(&self.id)?,
            kid: self.kid.clone(),
            alg: self.alg.clone(),
            jwk: serde_json::from_str(&self.jwk).map_err(Error::internal)?,
            created_at: loket_common::time::from_db(self.created_at),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The service.

impl Accounts {
    async fn credentials(&self, id: Uuid, username: &str) -> Result<NewCredentials> {
        let key = self.key.clone();
        let (id, username) = (id.to_string(), username.to_owned());
        secrets::blocking(move || secrets::new_credentials(&key, &id, &username)).await?
    }

    // --- Tenants -----------------------------------------------------------------------------

    /// Creates a tenant and its first API account ("Administrator", `superadmin`, plus
    /// `platform:admin` when `platform_admin`), whose credentials are returned once.
    pub async fn create_tenant(
        &self,
        actor: Actor,
        new: NewTenant,
        platform_admin: bool,
    ) -> Result<TenantCreated> {
        let mut v = Validator::new();
        check_text(&mut v, "name", &new.name, NAME_MAX);
        let culture = new
            .default_culture
            .unwrap_or_else(|| DEFAULT_CULTURE.to_owned());
        v.culture("default_culture", &culture);
        v.finish()?;
        let name = new.name.trim().to_owned();
        let key = name_key(&name);
        let base = slugify(&name);
        let mut granted = vec![Permission::Superadmin];
        if platform_admin {
            granted.push(Permission::PlatformAdmin);
        }
        let permissions = Permissions::new(granted);

        for _ in 0..ATTEMPTS {
            let slug = {
                let (key, base) = (key.clone(), base.clone());
                self.db
                    .read(move |c| {
                        if tenant_name_taken(c, &key, None)? {
                            return Err(tenant_name_conflict());
                        }
                        free_slug(c, &base)
                    })
                    .await?
            };
            let account_id = ids::new_id();
            let username = new_username(&slug);
            let creds = self.credentials(account_id, &username).await?;
            let now = self.clock.now();
            let (name, key, culture, permissions) = (
                name.clone(),
                key.clone(),
                culture.clone(),
                permissions.clone(),
            );
            let outcome = self
                .db
                .write(move |c| {
                    if tenant_name_taken(c, &key, None)? {
                        return Err(tenant_name_conflict());
                    }
                    if slug_taken(c, &slug)? || username_taken(c, &username)? {
                        return Ok(None);
                    }
                    let at = to_db(now);
                    let tenant_id = ids::new_id();
                    diesel::insert_into(tenants::table)
                        .values((
                            tenants::id.eq(tenant_id.to_string()),
                            tenants::name.eq(&name),
                            tenants::name_key.eq(&key),
                            tenants::slug.eq(&slug),
                            tenants::default_culture.eq(&culture),
                            tenants::created_at.eq(at),
                            tenants::updated_at.eq(at),
                        ))
                        .execute(c)?;
                    let tenant = load_tenant(c, tenant_id)?.to_api()?;
                    let row = insert_account(
                        c,
                        &AccountInsert {
                            id: account_id,
                            tenant: tenant_id,
                            name: "Administrator",
                            username: &username,
                            permissions: &permissions,
                            active: true,
                            creds: &creds,
                            at,
                        },
                    )?;
                    let account = row.to_api()?;
                    audit::record(
                        c,
                        &audit::Change {
                            tenant_id,
                            actor,
                            action: "tenants.create",
                            object_type: "tenant",
                            object_id: tenant_id,
                            details: details(&["name", "default_culture"], None),
                            at: now,
                        },
                    )?;
                    audit::record(
                        c,
                        &audit::Change {
                            tenant_id,
                            actor,
                            action: "api_accounts.create",
                            object_type: "api_account",
                            object_id: account_id,
                            details: details(
                                &["name", "permissions", "active"],
                                Some(&permissions),
                            ),
                            at: now,
                        },
                    )?;
                    events::emit(
                        c,
                        events::ACCOUNTS_CREATE,
                        tenant_id,
                        account_id,
                        &account,
                        actor,
                        now,
                    )?;
                    Ok(Some(TenantCreated {
                        tenant,
                        api_account: account,
                        username,
                        password: creds.password,
                        totp_secret: creds.totp_secret,
                        otpauth_uri: creds.otpauth_uri,
                    }))
                })
                .await?;
            if let Some(created) = outcome {
                return Ok(created);
            }
        }
        Err(Error::unavailable(std::io::Error::other(
            "could not allocate a unique tenant slug and username",
        )))
    }

    /// `POST /tenants`: a platform admin creates another tenant (its first account gets
    /// `superadmin`, never `platform:admin`).
    pub async fn create_tenant_as(&self, p: &Principal, new: NewTenant) -> Result<TenantCreated> {
        p.require(Permission::PlatformAdmin)?;
        self.create_tenant(p.actor(), new, false).await
    }

    /// The caller's own tenant; any other id answers 404 (R-TEN).
    pub async fn tenant(&self, p: &Principal, id: Uuid) -> Result<Tenant> {
        p.require(Permission::AccountsRead)?;
        if id != p.tenant_id {
            return Err(Error::not_found("tenant"));
        }
        let settings = self.tenant_settings.clone();
        self.db
            .read(move |c| tenant_with_settings(c, id, settings.as_deref()))
            .await
    }

    /// Renames the caller's tenant or changes its default culture. The slug stays as it was,
    /// since usernames are derived from it.
    pub async fn update_tenant(
        &self,
        p: &Principal,
        id: Uuid,
        changes: TenantChanges,
    ) -> Result<Tenant> {
        p.require(Permission::AccountsWrite)?;
        if id != p.tenant_id {
            return Err(Error::not_found("tenant"));
        }
        let mut v = Validator::new();
        if let Some(name) = &changes.name {
            check_text(&mut v, "name", name, NAME_MAX);
        }
        if let Some(culture) = &changes.default_culture {
            v.culture("default_culture", culture);
        }
        v.finish()?;
        let actor = p.actor();
        let now = self.clock.now();
        let settings = self.tenant_settings.clone();
        if changes.default_sender_id.is_some() && settings.is_none() {
            return Err(Error::invalid(
                "default_sender_id",
                "mail is not available on this server",
            ));
        }
        self.db
            .write(move |c| {
                let row = load_tenant(c, id)?;
                let name = changes
                    .name
                    .map(|n| n.trim().to_owned())
                    .filter(|n| *n != row.name);
                let culture = changes
                    .default_culture
                    .filter(|d| *d != row.default_culture);
                let mut fields = Vec::new();
                if let Some(n) = &name {
                    if tenant_name_taken(c, &name_key(n), Some(id))? {
                        return Err(tenant_name_conflict());
                    }
                    fields.push("name");
                }
                if culture.is_some() {
                    fields.push("default_culture");
                }
                if let (Some(sender), Some(s)) = (changes.default_sender_id, settings.as_deref())
                    && s.default_sender(c, id)? != sender
                {
                    s.set_default_sender(c, id, sender, now)?;
                    fields.push("default_sender_id");
                }
                if fields.is_empty() {
                    return tenant_with_settings(c, id, settings.as_deref());
                }
                diesel::update(tenants::table.find(id.to_string()))
                    .set((
                        name.as_ref().map(|n| tenants::name.eq(n)),
                        name.as_ref().map(|n| tenants::name_key.eq(name_key(n))),
                        culture.as_ref().map(|d| tenants::default_culture.eq(d)),
                        tenants::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                audit::record(
                    c,
                    &audit::Change {
                        tenant_id: id,
                        actor,
                        action: "tenants.update",
                        object_type: "tenant",
                        object_id: id,
                        details: details(&fields, None),
                        at: now,
                    },
                )?;
                tenant_with_settings(c, id, settings.as_deref())
            })
            .await
    }

    // --- Users -------------------------------------------------------------------------------

    /// The tenant's users, oldest first.
    pub async fn list_users(&self, p: &Principal, page: &PageQuery) -> Result<Page<User>> {
        p.require(Permission::AccountsRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id.to_string();
        let rows = self
            .db
            .read(move |c| {
                let mut q = users::table
                    .filter(users::tenant_id.eq(tenant))
                    .order(users::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(UserRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(users::id.gt(after));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), UserRow::to_api)
    }

    /// One user of the caller's tenant.
    pub async fn user(&self, p: &Principal, id: Uuid) -> Result<User> {
        p.require(Permission::AccountsRead)?;
        let tenant = p.tenant_id;
        self.db
            .read(move |c| load_user(c, tenant, id)?.to_api())
            .await
    }

    /// Creates a user. Its permissions may not exceed the caller's.
    pub async fn create_user(&self, p: &Principal, new: NewUser) -> Result<User> {
        p.require(Permission::AccountsWrite)?;
        validate_new_user(&new)?;
        let permissions = new.permissions.clone().unwrap_or_default();
        check_grant(p, &permissions, &Permissions::default())?;
        let (tenant, actor, now) = (p.tenant_id, p.actor(), self.clock.now());
        self.db
            .write(move |c| create_user_in(c, tenant, actor, &new, now))
            .await
    }

    /// Changes a user; only the fields present change.
    pub async fn update_user(&self, p: &Principal, id: Uuid, changes: UserChanges) -> Result<User> {
        p.require(Permission::AccountsWrite)?;
        let mut v = Validator::new();
        if let Some(name) = &changes.name {
            check_text(&mut v, "name", name, NAME_MAX);
        }
        if let Some(email) = &changes.email {
            check_email(&mut v, "email", email);
        }
        if let Some(language) = &changes.language {
            v.culture("language", language);
        }
        v.finish()?;
        if changes.active == Some(false) && p.on_behalf_of() == Some(id) {
            return Err(Error::conflict(
                "You cannot deactivate the user you are acting for.",
            ));
        }
        let p = p.clone();
        let now = self.clock.now();
        self.db
            .write(move |c| {
                let tenant = p.tenant_id;
                let row = load_user(c, tenant, id)?;
                let current = stored_permissions(&row.permissions);
                check_manage(&p, "user", &current)?;
                let name = changes
                    .name
                    .map(|n| n.trim().to_owned())
                    .filter(|n| *n != row.name);
                let email = changes
                    .email
                    .map(|e| normalize_email(&e))
                    .filter(|e| *e != row.email);
                let language = changes.language.filter(|l| *l != row.language);
                let permissions = changes.permissions.filter(|x| *x != current);
                let active = changes.active.filter(|a| *a != row.active);
                if let Some(x) = &permissions {
                    check_grant(&p, x, &current)?;
                }
                if let Some(e) = &email
                    && email_taken(c, tenant, e, Some(id))?
                {
                    return Err(email_conflict());
                }
                let mut fields = Vec::new();
                for (present, field) in [
                    (name.is_some(), "name"),
                    (email.is_some(), "email"),
                    (language.is_some(), "language"),
                    (permissions.is_some(), "permissions"),
                    (active.is_some(), "active"),
                ] {
                    if present {
                        fields.push(field);
                    }
                }
                if fields.is_empty() {
                    return row.to_api();
                }
                diesel::update(users::table.find(id.to_string()))
                    .set((
                        name.as_ref().map(|n| users::name.eq(n)),
                        email.as_ref().map(|e| users::email.eq(e)),
                        language.as_ref().map(|l| users::language.eq(l)),
                        permissions
                            .as_ref()
                            .map(|x| users::permissions.eq(x.to_scope_string())),
                        active.map(|a| users::active.eq(a)),
                        users::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                let user = load_user(c, tenant, id)?.to_api()?;
                audit::record(
                    c,
                    &audit::Change {
                        tenant_id: tenant,
                        actor: p.actor(),
                        action: "users.update",
                        object_type: "user",
                        object_id: id,
                        details: details(&fields, permissions.as_ref()),
                        at: now,
                    },
                )?;
                events::emit(
                    c,
                    events::ACCOUNTS_UPDATE,
                    tenant,
                    id,
                    &user,
                    p.actor(),
                    now,
                )?;
                Ok(user)
            })
            .await
    }

    /// Deletes a user.
    pub async fn delete_user(&self, p: &Principal, id: Uuid) -> Result<()> {
        p.require(Permission::AccountsWrite)?;
        if p.on_behalf_of() == Some(id) {
            return Err(Error::conflict(
                "You cannot delete the user you are acting for.",
            ));
        }
        let p = p.clone();
        let now = self.clock.now();
        self.db
            .write(move |c| {
                let tenant = p.tenant_id;
                let row = load_user(c, tenant, id)?;
                check_manage(&p, "user", &stored_permissions(&row.permissions))?;
                let user = row.to_api()?;
                diesel::delete(users::table.find(id.to_string())).execute(c)?;
                audit::record(
                    c,
                    &audit::Change {
                        tenant_id: tenant,
                        actor: p.actor(),
                        action: "users.delete",
                        object_type: "user",
                        object_id: id,
                        details: json!({}),
                        at: now,
                    },
                )?;
                events::emit(
                    c,
                    events::ACCOUNTS_DELETE,
                    tenant,
                    id,
                    &user,
                    p.actor(),
                    now,
                )?;
                Ok(())
            })
            .await
    }

    // --- API accounts ------------------------------------------------------------------------

    /// The tenant's API accounts, oldest first (never with secrets).
    pub async fn list_api_accounts(
        &self,
        p: &Principal,
        page: &PageQuery,
    ) -> Result<Page<ApiAccount>> {
        p.require(Permission::AccountsRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id.to_string();
        let rows = self
            .db
            .read(move |c| {
                let mut q = api_accounts::table
                    .filter(api_accounts::tenant_id.eq(tenant))
                    .order(api_accounts::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(ApiAccountRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(api_accounts::id.gt(after));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), ApiAccountRow::to_api)
    }

    /// One API account of the caller's tenant (never with secrets).
    pub async fn api_account(&self, p: &Principal, id: Uuid) -> Result<ApiAccount> {
        p.require(Permission::AccountsRead)?;
        let tenant = p.tenant_id;
        self.db
            .read(move |c| load_account(c, tenant, id)?.to_api())
            .await
    }

    /// Creates an API account; its password and TOTP secret are returned this once (R-ONCE).
    pub async fn create_api_account(
        &self,
        p: &Principal,
        new: NewApiAccount,
    ) -> Result<ApiAccountCreated> {
        p.require(Permission::AccountsWrite)?;
        let mut v = Validator::new();
        check_text(&mut v, "name", &new.name, NAME_MAX);
        v.finish()?;
        let permissions = new.permissions.unwrap_or_default();
        check_grant(p, &permissions, &Permissions::default())?;
        let name = new.name.trim().to_owned();
        let active = new.active.unwrap_or(true);
        let (tenant, actor) = (p.tenant_id, p.actor());
        let slug = self
            .db
            .read(move |c| Ok(load_tenant(c, tenant)?.slug))
            .await?;
        for _ in 0..ATTEMPTS {
            let id = ids::new_id();
            let username = new_username(&slug);
            let creds = self.credentials(id, &username).await?;
            let now = self.clock.now();
            let (name, permissions) = (name.clone(), permissions.clone());
            let outcome = self
                .db
                .write(move |c| {
                    if username_taken(c, &username)? {
                        return Ok(None);
                    }
                    let row = insert_account(
                        c,
                        &AccountInsert {
                            id,
                            tenant,
                            name: &name,
                            username: &username,
                            permissions: &permissions,
                            active,
                            creds: &creds,
                            at: to_db(now),
                        },
                    )?;
                    let account = row.to_api()?;
                    audit::record(
                        c,
                        &audit::Change {
                            tenant_id: tenant,
                            actor,
                            action: "api_accounts.create",
                            object_type: "api_account",
                            object_id: id,
                            details: details(
                                &["name", "permissions", "active"],
                                Some(&permissions),
                            ),
                            at: now,
                        },
                    )?;
                    events::emit(c, events::ACCOUNTS_CREATE, tenant, id, &account, actor, now)?;
                    Ok(Some(created(account, creds)))
                })
                .await?;
            if let Some(created) = outcome {
                return Ok(created);
            }
        }
        Err(Error::unavailable(std::io::Error::other(
            "could not allocate a unique username",
        )))
    }

    /// Changes an API account. Deactivating it or changing its permissions ends its sessions
    /// at once; an account can do neither to itself (its own token would die mid-session).
    pub async fn update_api_account(
        &self,
        p: &Principal,
        id: Uuid,
        changes: ApiAccountChanges,
    ) -> Result<ApiAccount> {
        p.require(Permission::AccountsWrite)?;
        let mut v = Validator::new();
        if let Some(name) = &changes.name {
            check_text(&mut v, "name", name, NAME_MAX);
        }
        v.finish()?;
        if changes.active == Some(false) && p.api_account_id() == id {
            return Err(Error::conflict(
                "An API account cannot deactivate itself; use another account to deactivate it.",
            ));
        }
        let p = p.clone();
        let now = self.clock.now();
        self.db
            .write(move |c| {
                let tenant = p.tenant_id;
                let row = load_account(c, tenant, id)?;
                let current = stored_permissions(&row.permissions);
                check_manage(&p, "API account", &current)?;
                let name = changes
                    .name
                    .map(|n| n.trim().to_owned())
                    .filter(|n| *n != row.name);
                let permissions = changes.permissions.filter(|x| *x != current);
                let active = changes.active.filter(|a| *a != row.active);
                if let Some(x) = &permissions {
                    check_grant(&p, x, &current)?;
                    if p.api_account_id() == id {
                        return Err(Error::conflict(
                            "An API account cannot change its own permissions; use another \
                             account to change them.",
                        ));
                    }
                }
                let mut fields = Vec::new();
                for (present, field) in [
                    (name.is_some(), "name"),
                    (permissions.is_some(), "permissions"),
                    (active.is_some(), "active"),
                ] {
                    if present {
                        fields.push(field);
                    }
                }
                if fields.is_empty() {
                    return row.to_api();
                }
                let end_sessions = permissions.is_some() || active == Some(false);
                let at = to_db(now);
                diesel::update(api_accounts::table.find(id.to_string()))
                    .set((
                        name.as_ref().map(|n| api_accounts::name.eq(n)),
                        permissions
                            .as_ref()
                            .map(|x| api_accounts::permissions.eq(x.to_scope_string())),
                        active.map(|a| api_accounts::active.eq(a)),
                        end_sessions.then_some(
                            api_accounts::token_version.eq(api_accounts::token_version + 1),
                        ),
                        api_accounts::updated_at.eq(at),
                    ))
                    .execute(c)?;
                if end_sessions {
                    revoke_refresh_tokens(c, &row.id, at)?;
                }
                let account = load_account(c, tenant, id)?.to_api()?;
                audit::record(
                    c,
                    &audit::Change {
                        tenant_id: tenant,
                        actor: p.actor(),
                        action: "api_accounts.update",
                        object_type: "api_account",
                        object_id: id,
                        details: details(&fields, permissions.as_ref()),
                        at: now,
                    },
                )?;
                events::emit(
                    c,
                    events::ACCOUNTS_UPDATE,
                    tenant,
                    id,
                    &account,
                    p.actor(),
                    now,
                )?;
                Ok(account)
            })
            .await
    }

    /// Deletes an API account with its keys and refresh tokens; an account cannot delete itself.
    pub async fn delete_api_account(&self, p: &Principal, id: Uuid) -> Result<()> {
        p.require(Permission::AccountsWrite)?;
        if p.api_account_id() == id {
            return Err(Error::conflict(
                "An API account cannot delete itself; use another account to delete it.",
            ));
        }
        let p = p.clone();
        let now = self.clock.now();
        self.db
            .write(move |c| {
                let tenant = p.tenant_id;
                let row = load_account(c, tenant, id)?;
                check_manage(&p, "API account", &stored_permissions(&row.permissions))?;
                let account = row.to_api()?;
                diesel::delete(
                    api_account_keys::table.filter(api_account_keys::api_account_id.eq(&row.id)),
                )
                .execute(c)?;
                diesel::delete(
                    refresh_tokens::table.filter(refresh_tokens::api_account_id.eq(&row.id)),
                )
                .execute(c)?;
                diesel::delete(api_accounts::table.find(&row.id)).execute(c)?;
                audit::record(
                    c,
                    &audit::Change {
                        tenant_id: tenant,
                        actor: p.actor(),
                        action: "api_accounts.delete",
                        object_type: "api_account",
                        object_id: id,
                        details: json!({}),
                        at: now,
                    },
                )?;
                events::emit(
                    c,
                    events::ACCOUNTS_DELETE,
                    tenant,
                    id,
                    &account,
                    p.actor(),
                    now,
                )?;
                Ok(())
            })
            .await
    }

    /// Replaces the password and TOTP secret of an API account (returned once) and ends all
    /// its sessions: access tokens by the `token_version` bump, refresh tokens by revocation.
    /// Another account does it: a leaked access token cannot be turned into fresh credentials
    /// that lock the owner out.
    pub async fn rotate_secret(&self, p: &Principal, id: Uuid) -> Result<ApiAccountCreated> {
        p.require(Permission::AccountsWrite)?;
        if p.api_account_id() == id {
            return Err(Error::conflict(
                "An API account cannot rotate its own secret; use another account to rotate it.",
            ));
        }
        let tenant = p.tenant_id;
        let row = self.db.read(move |c| load_account(c, tenant, id)).await?;
        check_manage(p, "API account", &stored_permissions(&row.permissions))?;
        let creds = self.credentials(id, &row.username).await?;
        let p = p.clone();
        let now = self.clock.now();
        self.db
            .write(move |c| {
                let row = load_account(c, tenant, id)?;
                check_manage(&p, "API account", &stored_permissions(&row.permissions))?;
                let at = to_db(now);
                diesel::update(api_accounts::table.find(&row.id))
                    .set((
                        api_accounts::password_hash.eq(&creds.password_hash),
                        api_accounts::totp_secret.eq(&creds.totp_sealed),
                        api_accounts::last_totp_step.eq(None::<i64>),
                        api_accounts::failed_attempts.eq(0),
                        api_accounts::locked_until.eq(None::<NaiveDateTime>),
                        api_accounts::token_version.eq(api_accounts::token_version + 1),
                        api_accounts::updated_at.eq(at),
                    ))
                    .execute(c)?;
                revoke_refresh_tokens(c, &row.id, at)?;
                let account = load_account(c, tenant, id)?.to_api()?;
                audit::record(
                    c,
                    &audit::Change {
                        tenant_id: tenant,
                        actor: p.actor(),
                        action: "api_accounts.rotate_secret",
                        object_type: "api_account",
                        object_id: id,
                        details: details(&["password", "totp_secret"], None),
                        at: now,
                    },
                )?;
                events::emit(
                    c,
                    events::ACCOUNTS_UPDATE,
                    tenant,
                    id,
                    &account,
                    p.actor(),
                    now,
                )?;
                Ok(created(account, creds))
            })
            .await
    }

    // --- Keys for private_key_jwt ------------------------------------------------------------

    /// The public keys registered for an API account.
    pub async fn list_keys(&self, p: &Principal, account_id: Uuid) -> Result<Vec<ApiAccountKey>> {
        p.require(Permission::AccountsRead)?;
        let tenant = p.tenant_id;
        self.db
            .read(move |c| {
                let account = load_account(c, tenant, account_id)?;
                let rows: Vec<KeyRow> = api_account_keys::table
                    .filter(api_account_keys::api_account_id.eq(&account.id))
                    .order(api_account_keys::id.asc())
                    .select(KeyRow::as_select())
                    .load(c)?;
                rows.iter().map(KeyRow::to_api).collect()
            })
            .await
    }

    /// Registers a public key (JWK) for `private_key_jwt` client authentication.
    pub async fn add_key(
        &self,
        p: &Principal,
        account_id: Uuid,
        new: NewApiAccountKey,
    ) -> Result<ApiAccountKey> {
        p.require(Permission::AccountsWrite)?;
        let key = check_public_jwk(&new.jwk)?;
        let p = p.clone();
        let now = self.clock.now();
        self.db
            .write(move |c| {
                let tenant = p.tenant_id;
                let account = load_account(c, tenant, account_id)?;
                check_manage(&p, "API account", &stored_permissions(&account.permissions))?;
                let duplicate = api_account_keys::table
                    .filter(api_account_keys::api_account_id.eq(&account.id))
                    .filter(api_account_keys::kid.eq(&key.kid))
                    .select(api_account_keys::id)
                    .first::<String>(c)
                    .optional()?;
                if duplicate.is_some() {
                    return Err(Error::conflict(
                        "This API account already has a key with this `kid`.",
                    ));
                }
                let id = ids::new_id();
                diesel::insert_into(api_account_keys::table)
                    .values((
                        api_account_keys::id.eq(id.to_string()),
                        api_account_keys::api_account_id.eq(&account.id),
                        api_account_keys::kid.eq(&key.kid),
                        api_account_keys::alg.eq(key.alg),
                        api_account_keys::jwk.eq(key.jwk.to_string()),
                        api_account_keys::created_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                audit::record(
                    c,
                    &audit::Change {
                        tenant_id: tenant,
                        actor: p.actor(),
                        action: "api_accounts.add_key",
                        object_type: "api_account",
                        object_id: account_id,
                        details: json!({ "key_id": id, "kid": key.kid, "alg": key.alg }),
                        at: now,
                    },
                )?;
                api_account_keys::table
                    .find(id.to_string())
                    .select(KeyRow::as_select())
                    .first(c)?
                    .to_api()
            })
            .await
    }

    /// Removes a registered key.
    pub async fn delete_key(&self, p: &Principal, account_id: Uuid, key_id: Uuid) -> Result<()> {
        p.require(Permission::AccountsWrite)?;
        let p = p.clone();
        let now = self.clock.now();
        self.db
            .write(move |c| {
                let tenant = p.tenant_id;
                let account = load_account(c, tenant, account_id)?;
                check_manage(&p, "API account", &stored_permissions(&account.permissions))?;
                let kid = api_account_keys::table
                    .filter(api_account_keys::api_account_id.eq(&account.id))
                    .filter(api_account_keys::id.eq(key_id.to_string()))
                    .select(api_account_keys::kid)
                    .first::<String>(c)
                    .optional()?
                    .ok_or_else(|| Error::not_found("key"))?;
                diesel::delete(api_account_keys::table.find(key_id.to_string())).execute(c)?;
                audit::record(
                    c,
                    &audit::Change {
                        tenant_id: tenant,
                        actor: p.actor(),
                        action: "api_accounts.delete_key",
                        object_type: "api_account",
                        object_id: account_id,
                        details: json!({ "key_id": key_id, "kid": kid }),
                        at: now,
                    },
                )?;
                Ok(())
            })
            .await
    }

    // --- The caller and the audit trail ------------------------------------------------------

    /// The caller as its token describes it.
    pub async fn me(&self, p: &Principal) -> Result<Me> {
        let (tenant, subject, kind) = (p.tenant_id, p.subject, p.kind);
        let name = self
            .db
            .lookup(move |c| match kind {
                SubjectKind::ApiAccount => Ok(load_account(c, tenant, subject)?.name),
                SubjectKind::User => Ok(load_user(c, tenant, subject)?.name),
            })
            .await
            .map_err(|e| {
                if e.code == Code::NotFound {
                    Error::new(
                        Code::Unauthorized,
                        "The subject of this token no longer exists.",
                    )
                } else {
                    e
                }
            })?;
        Ok(Me {
            kind: match kind {
                SubjectKind::ApiAccount => "api_account",
                SubjectKind::User => "user",
            }
            .to_owned(),
            id: subject,
            tenant_id: tenant,
            name,
            acting_api_account_id: p.actor,
            permissions: p.permissions.clone(),
        })
    }

    /// The tenant's audit trail, newest first.
    pub async fn audit_events(
        &self,
        p: &Principal,
        filter: &AuditFilter,
        page: &PageQuery,
    ) -> Result<Page<AuditEvent>> {
        p.require(Permission::AccountsRead)?;
        page.limit()?;
        page.after()?;
        let (tenant, filter, page) = (p.tenant_id, filter.clone(), page.clone());
        self.db
            .read(move |c| audit::list(c, tenant, &filter, &page))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_ascii_words_joined_by_dashes() {
        assert_eq!(slugify("Arbodienst Noord B.V."), "arbodienst-noord-b-v");
        assert_eq!(slugify("  --Zorg & Werk--  "), "zorg-werk");
        assert_eq!(slugify("Ééé"), "tenant");
        let long = slugify(&"abcdefghij ".repeat(10));
        assert!(long.len() <= SLUG_MAX && !long.ends_with('-'));
        assert_eq!(slug_candidate("acme", 1), "acme");
        assert_eq!(slug_candidate("acme", 3), "acme-3");
        let c = slug_candidate(&"a".repeat(40), 12);
        assert_eq!(c.len(), SLUG_MAX);
        assert!(c.ends_with("-12"));
    }

    #[test]
    fn names_and_emails_are_checked_as_the_document_states() {
        let check = |name: &str| {
            let mut v = Validator::new();
            check_text(&mut v, "name", name, 5);
            v.finish().is_ok()
        };
        assert!(check("Anna"));
        assert!(check(" a  "));
        assert!(!check(""));
        assert!(!check(" \u{3000} "));
        assert!(!check("a\tb"));
        assert!(!check("abcdef"));
        assert!(!check("  abcd"));
        let email = |e: &str| {
            let mut v = Validator::new();
            check_email(&mut v, "email", e);
            v.finish().is_ok()
        };
        assert!(email("anna.de-vries+x@example.org"));
        assert!(email("o'neil@sub.example.co"));
        assert!(!email("anna@example"));
        assert!(!email("a..b@example.org"));
        assert!(!email("a@@example.org"));
        assert!(!email("a@-x.org"));
        assert!(!email("a@x_y.org"));
        assert!(!email("\"q r\"@example.org"));
        assert!(!email("ü@example.org"));
    }

    #[test]
    fn usernames_are_the_slug_and_eight_lowercase_alphanumerics() {
        let u = new_username("acme");
        let (slug, suffix) = u.split_once('.').unwrap();
        assert_eq!(slug, "acme");
        assert_eq!(suffix.len(), 8);
        assert!(
            suffix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }

    fn principal(perms: &[Permission]) -> Principal {
        Principal {
            tenant_id: Uuid::nil(),
            subject: Uuid::nil(),
            kind: SubjectKind::ApiAccount,
            actor: None,
            permissions: Permissions::new(perms.iter().copied()),
            token_id: Uuid::nil(),
        }
    }

    #[test]
    fn nobody_grants_more_than_they_hold_nor_platform_admin() {
        let writer = principal(&[Permission::AccountsWrite, Permission::AccountsRead]);
        let none = Permissions::default();
        let ok = Permissions::new([Permission::AccountsRead]);
        assert!(check_grant(&writer, &ok, &none).is_ok());
        let e =
            check_grant(&writer, &Permissions::new([Permission::Superadmin]), &none).unwrap_err();
        assert_eq!(e.code, Code::Forbidden);
        assert!(e.detail.contains("superadmin"));

        let platform = principal(&[Permission::Superadmin, Permission::PlatformAdmin]);
        let pa = Permissions::new([Permission::PlatformAdmin]);
        assert_eq!(
            check_grant(&platform, &pa, &none).unwrap_err().code,
            Code::Forbidden
        );
        // Keeping it on an account that already has it is not granting it.
        assert!(check_grant(&platform, &pa, &pa).is_ok());
        assert_eq!(
            check_manage(
                &writer,
                "API account",
                &Permissions::new([Permission::Superadmin])
            )
            .unwrap_err()
            .code,
            Code::Forbidden
        );
    }

    const ED25519_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn public_jwks_are_accepted_and_canonicalised() {
        let k =
            check_public_jwk(&json!({"kty": "OKP", "crv": "Ed25519", "x": ED25519_X, "kid": "k1"}))
                .unwrap();
        assert_eq!(k.alg, "EdDSA");
        assert_eq!(k.kid, "k1");
        assert_eq!(k.jwk["x"], ED25519_X);
        assert_eq!(k.jwk["use"], "sig");

        let ec = check_public_jwk(&json!({
            "kty": "EC", "crv": "P-256", "kid": "e1", "alg": "ES256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        }))
        .unwrap();
        assert_eq!(ec.alg, "ES256");

        let n = URL_SAFE_NO_PAD.encode([0xc5u8; 256]);
        let rsa =
            check_public_jwk(&json!({"kty": "RSA", "kid": "r1", "n": n, "e": "AQAB"})).unwrap();
        assert_eq!(rsa.alg, "RS256");
        // A non-canonical last character (trailing bits set) is accepted and normalised.
        let lenient = format!("{}B", &ED25519_X[..42]);
        let k =
            check_public_jwk(&json!({"kty": "OKP", "crv": "Ed25519", "x": lenient, "kid": "k"}))
                .unwrap();
        assert_ne!(k.jwk["x"], lenient);
    }

    #[test]
    fn private_or_malformed_jwks_are_refused() {
        let field = |v: Value| {
            check_public_jwk(&v).unwrap_err().invalid_params[0]
                .name
                .clone()
        };
        let e = check_public_jwk(
            &json!({"kty": "OKP", "crv": "Ed25519", "x": ED25519_X, "d": ED25519_X, "kid": "k"}),
        )
        .unwrap_err();
        assert_eq!(e.code, Code::ValidationFailed);
        assert!(e.invalid_params[0].reason.contains("public key"));
        assert_eq!(field(json!("not an object")), "jwk");
        assert_eq!(field(json!({"kty": "oct", "k": "abc", "kid": "k"})), "jwk");
        assert_eq!(field(json!({"kty": "XYZ", "kid": "k"})), "jwk.kty");
        assert_eq!(
            field(json!({"kty": "OKP", "crv": "Ed25519", "x": ED25519_X})),
            "jwk.kid"
        );
        assert_eq!(
            field(json!({"kty": "OKP", "crv": "Ed25519", "x": ED25519_X, "kid": ""})),
            "jwk.kid"
        );
        assert_eq!(
            field(json!({"kty": "OKP", "crv": "X25519", "x": ED25519_X, "kid": "k"})),
            "jwk.crv"
        );
        assert_eq!(
            field(json!({"kty": "OKP", "crv": "Ed25519", "x": "c2hvcnQ", "kid": "k"})),
            "jwk.x"
        );
        assert_eq!(
            field(
                json!({"kty": "OKP", "crv": "Ed25519", "x": ED25519_X, "kid": "k", "alg": "RS256"})
            ),
            "jwk.alg"
        );
        assert_eq!(
            field(json!({"kty": "OKP", "crv": "Ed25519", "x": ED25519_X, "kid": "k", "extra": 1})),
            "jwk.extra"
        );
        assert_eq!(
            field(json!({"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"})),
            "jwk.n"
        );
    }
}
