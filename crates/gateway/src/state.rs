//! What every handler can reach: configuration, the database, the clock and the services.

use std::sync::Arc;

use loket_accounts::Accounts;
use loket_common::SharedClock;
use loket_common::crypto::SecretKey;
use loket_storage::Db;

use crate::config::Settings;

/// Shared application state (`web::Data<AppState>`).
pub struct AppState {
    /// Configuration.
    pub settings: Arc<Settings>,
    /// The database.
    pub db: Db,
    /// The clock.
    pub clock: SharedClock,
    /// The server secret key.
    pub secret_key: SecretKey,
    /// The absolute public base URL, without trailing slash (`http://127.0.0.1:8080`).
    pub public_url: String,
    /// Tenants, users, API accounts and tokens.
    pub accounts: Accounts,
}
