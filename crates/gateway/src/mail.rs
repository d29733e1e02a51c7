//! Wires the mail domain to the accounts domain: the tenant's default culture and the language
//! of a recipient who is one of the tenant's users choose the template. The mail crate depends
//! on no other domain; this module does.
//!
//! The two look-ups read the accounts tables directly because `loket_accounts::lookup` has no
//! such functions yet; they belong there (`tenant_culture`, `user_language`).

use diesel::prelude::*;
use loket_common::Result;
use loket_storage::AnyConnection;
use loket_storage::schema::{tenants, users};
use uuid::Uuid;

/// Tenants and users, as the mail domain needs them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Accounts;

impl loket_mail::Directory for Accounts {
    fn tenant_culture(&self, conn: &mut AnyConnection, tenant_id: Uuid) -> Result<Option<String>> {
        Ok(tenants::table
            .find(tenant_id.to_string())
            .select(tenants::default_culture)
            .first(conn)
            .optional()?)
    }

    fn user_language(
        &self,
        conn: &mut AnyConnection,
        tenant_id: Uuid,
        email: &str,
    ) -> Result<Option<String>> {
        Ok(users::table
            .filter(users::tenant_id.eq(tenant_id.to_string()))
            .filter(users::email.eq(email.to_lowercase()))
            .select(users::language)
            .first(conn)
            .optional()?)
    }
}

/// The tenant's default sender, owned by the mail domain, as `PATCH /tenants/{id}` sets it.
pub struct TenantMail(pub loket_mail::Mail);

impl loket_accounts::TenantSettings for TenantMail {
    fn default_sender(&self, conn: &mut AnyConnection, tenant: Uuid) -> Result<Option<Uuid>> {
        self.0.default_sender_in(conn, tenant)
    }

    fn set_default_sender(
        &self,
        conn: &mut AnyConnection,
        tenant: Uuid,
        sender: Option<Uuid>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        loket_mail::set_default_sender_in(conn, tenant, sender, loket_common::time::to_db(at))
    }
}
