//! Accounts: tenants, users, API accounts, and the OAuth2 authorization server they log in to.
//!
//! Rules (DOMAIN.md "Tenancy and accounts"): R-TEN (tenant isolation, other tenants' ids answer
//! 404), R-ONCE (credentials shown once), R-LOGIN (password + single-use TOTP, lockout),
//! R-AUTHZ (permissions checked on every call). Every change is audited and emits an
//! `Accounts.*` event into the outbox in the same transaction.

pub mod api;
pub mod audit;
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
use loket_storage::Db;

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
}

/// The accounts service: every operation on tenants, users, API accounts and tokens.
#[derive(Clone)]
pub struct Accounts {
    db: Db,
    clock: SharedClock,
    key: SecretKey,
    config: Arc<AccountsConfig>,
    signer: Arc<signing::Signer>,
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
        Ok(Accounts {
            db,
            clock,
            key,
            config: Arc::new(config),
            signer: Arc::new(signer),
        })
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
