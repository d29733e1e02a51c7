//! Database rows and their API representations.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loket_common::time::from_db;
use loket_common::{Permissions, Result, ids};
use loket_storage::schema::{api_accounts, audit_events, tenants, users};

use crate::api::{ApiAccount, AuditActor, AuditEvent, Tenant, User};

/// Parses a stored permission string; unknown names (from a newer version) are dropped.
pub fn stored_permissions(s: &str) -> Permissions {
    Permissions::new(s.split_ascii_whitespace().filter_map(|p| p.parse().ok()))
}

/// A tenant row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    pub id: String,
    pub name: String,
    pub name_key: String,
    pub slug: String,
    pub default_culture: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl TenantRow {
    /// The API representation.
    pub fn to_api(&self) -> Result<Tenant> {
        Ok(Tenant {
            id: ids::parse_stored(&self.id)?,
            name: self.name.clone(),
            slug: self.slug.clone(),
            default_culture: self.default_culture.clone(),
            default_sender_id: None,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// A user row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub email: String,
    pub language: String,
    pub permissions: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl UserRow {
    /// The API representation.
    pub fn to_api(&self) -> Result<User> {
        Ok(User {
            id: ids::parse_stored(&self.id)?,
            tenant_id: ids::parse_stored(&self.tenant_id)?,
            kind: "user".into(),
            name: self.name.clone(),
            email: self.email.clone(),
            language: self.language.clone(),
            permissions: stored_permissions(&self.permissions),
            active: self.active,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// An API account row (with its secrets; never serialised).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_accounts)]
pub struct ApiAccountRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub username: String,
    pub permissions: String,
    pub active: bool,
    pub password_hash: String,
    pub totp_secret: String,
    pub last_totp_step: Option<i64>,
    pub failed_attempts: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub last_login_at: Option<NaiveDateTime>,
    pub token_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ApiAccountRow {
    /// The API representation (no secrets).
    pub fn to_api(&self) -> Result<ApiAccount> {
        Ok(ApiAccount {
            id: ids::parse_stored(&self.id)?,
            tenant_id: ids::parse_stored(&self.tenant_id)?,
            kind: "api_account".into(),
            name: self.name.clone(),
            username: self.username.clone(),
            permissions: stored_permissions(&self.permissions),
            active: self.active,
            last_login_at: self.last_login_at.map(from_db),
            locked_until: self.locked_until.map(from_db),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }

    /// The context the TOTP secret is sealed under (binds the ciphertext to this row).
    pub fn totp_context(id: &str) -> String {
        format!("api_accounts.totp_secret:{id}")
    }
}

/// An audit event row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEventRow {
    pub id: String,
    pub tenant_id: String,
    pub actor_api_account_id: Option<String>,
    pub actor_user_id: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub occurred_at: NaiveDateTime,
    pub details: String,
}

impl AuditEventRow {
    /// The API representation.
    pub fn to_api(&self) -> Result<AuditEvent> {
        Ok(AuditEvent {
            id: ids::parse_stored(&self.id)?,
            tenant_id: ids::parse_stored(&self.tenant_id)?,
            actor: AuditActor {
                api_account_id: self
                    .actor_api_account_id
                    .as_deref()
                    .map(ids::parse_stored)
                    .transpose()?,
                user_id: self
                    .actor_user_id
                    .as_deref()
                    .map(ids::parse_stored)
                    .transpose()?,
            },
            action: self.action.clone(),
            object_type: self.object_type.clone(),
            object_id: ids::parse_stored(&self.object_id)?,
            occurred_at: from_db(self.occurred_at),
            details: serde_json::from_str(&self.details).unwrap_or(serde_json::Value::Null),
        })
    }
}
