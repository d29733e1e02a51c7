//! Accounts: tenants, users, API accounts, and the OAuth2 authorization server they log in to.
//!
//! Rules (DOMAIN.md "Tenancy and accounts"): R-TEN (tenant isolation, other tenants' ids answer
//! 404), R-ONCE (credentials shown once), R-LOGIN (password + single-use TOTP, lockout),
//! R-AUTHZ (permissions checked on every call). Every change is audited and emits an
//! `Accounts.*` event into the outbox in the same transaction.

pub mod api;
pub mod audit;
pub mod auth_cache;
pub mod directory;
pub mod events;
pub mod lookup;
pub mod model;
pub mod oauth;
pub mod secrets;
pub mod signing;

use std::sync::Arc;

use loket_common::SharedClock;
use loket_common::crypto::SecretKey;
use loket_storage::{AnyConnection, Db};
use uuid::Uuid;

/// Token and login policy.
#[derive(Debug, Clone)]
pub struct AccountsConfig {
    /// The token issuer and public base URL (`https://loket.example.org`).
    pub issuer: String,
    /// Access-token lifetime in seconds.
    pub access_token_ttl: i64,
    /// Refresh-token lifetime in seconds.
    pub refresh_token_ttl: i64,
    /// Failed logins before lockout.
    pub max_failures: i32,
    /// Lockout duration in seconds.
    pub lockout_seconds: i64,
    /// How long an authenticated bearer token is remembered (see [`auth_cache`]); zero: never.
    pub auth_cache_ttl: std::time::Duration,
}

/// Tenant settings that other domains own, reached without a crate dependency: the gateway
/// implements this with their public service functions. They run inside the accounts
/// transaction, so `PATCH /tenants/{id}` stays one atomic change.
pub trait TenantSettings: Send + Sync {
    /// The tenant's default sender (the mail domain's), if set.
    fn default_sender(
        &self,
        conn: &mut AnyConnection,
        tenant: Uuid,
    ) -> loket_common::Result<Option<Uuid>>;
    /// Sets or clears the default sender; refuses a sender that cannot be used (R-VERIFY).
    fn set_default_sender(
        &self,
        conn: &mut AnyConnection,
        tenant: Uuid,
        sender: Option<Uuid>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> loket_common::Result<()>;
}

/// The accounts service: every operation on tenants, users, API accounts and tokens.
#[derive(Clone)]
pub struct Accounts {
    db: AccountsDb,
    clock: SharedClock,
    key: SecretKey,
    config: Arc<AccountsConfig>,
    signer: Arc<signing::Signer>,
    tenant_settings: Option<Arc<dyn TenantSettings>>,
}

impl Accounts {
    /// Loads (or on first start creates) the JWT signing key and returns the service.
    pub async fn new(
        db: Db,
        clock: SharedClock,
        key: SecretKey,
        config: AccountsConfig,
    ) -> loket_common::Result<Self> {
        let signer = signing::Signer::load_or_create(&db, &key, clock.now()).await?;
        let cache = Arc::new(auth_cache::AuthCache::new(config.auth_cache_ttl));
        Ok(Accounts {
            db: AccountsDb { db, cache },
            clock,
            key,
            config: Arc::new(config),
            signer: Arc::new(signer),
            tenant_settings: None,
        })
    }

    /// Connects the tenant settings other domains own (see [`TenantSettings`]).
    pub fn with_tenant_settings(mut self, settings: Arc<dyn TenantSettings>) -> Self {
        self.tenant_settings = Some(settings);
        self
    }

    /// The token and login policy.
    pub fn config(&self) -> &AccountsConfig {
        &self.config
    }

    /// Whether any tenant exists yet (an empty installation needs `loket admin bootstrap`).
    pub async fn has_tenants(&self) -> loket_common::Result<bool> {
        use diesel::prelude::*;
        use loket_storage::schema::tenants;
        self.db
            .read(|c| Ok(tenants::table.count().get_result::<i64>(c)? > 0))
            .await
    }
}

/// The database as the accounts service uses it: every write also clears the cache of
/// authenticated tokens, since it may have revoked one (see [`auth_cache`]). Reads go to [`Db`].
#[derive(Clone)]
struct AccountsDb {
    db: Db,
    cache: Arc<auth_cache::AuthCache>,
}

impl AccountsDb {
    /// [`Db::write`], then clears the token cache (after the commit, so no answer computed from
    /// the old state is kept).
    async fn write<T, F>(&self, f: F) -> loket_common::Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> loket_common::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let out = self.db.write(f).await;
        self.cache.invalidate();
        out
    }
}

impl std::ops::Deref for AccountsDb {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}
