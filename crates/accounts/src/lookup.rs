//! Read-only look-ups other domains may use inside their own transactions (they never query
//! the accounts tables themselves).

use diesel::prelude::*;
use loket_common::{Permissions, Result};
use loket_storage::AnyConnection;
use loket_storage::schema::api_accounts;
use uuid::Uuid;

use crate::model::stored_permissions;

/// Whether API account `id` of `tenant_id` is active, and its permissions; `None` when the
/// tenant has no such account.
pub fn api_account_grant(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<(bool, Permissions)>> {
    let row: Option<(bool, String)> = api_accounts::table
        .filter(api_accounts::id.eq(id.to_string()))
        .filter(api_accounts::tenant_id.eq(tenant_id.to_string()))
        .select((api_accounts::active, api_accounts::permissions))
        .first(conn)
        .optional()?;
    Ok(row.map(|(active, p)| (active, stored_permissions(&p))))
}

/// Whether `tenant_id` has a user with this id (e.g. the assignee of an agenda task).
pub fn user_exists(conn: &mut AnyConnection, tenant_id: Uuid, id: Uuid) -> Result<bool> {
    use loket_storage::schema::users;
    let found: Option<String> = users::table
        .filter(users::id.eq(id.to_string()))
        .filter(users::tenant_id.eq(tenant_id.to_string()))
        .select(users::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// A person to notify: name, e-mail address, culture.
#[derive(Debug, Clone)]
pub struct Contact {
    /// The user's name.
    pub name: String,
    /// The user's e-mail address.
    pub email: String,
    /// The user's culture code.
    pub language: String,
}

/// The tenant's active users holding `superadmin`: who hears about trouble with the tenant's
/// integrations (a disabled webhook receiver).
pub fn superadmin_contacts(conn: &mut AnyConnection, tenant_id: Uuid) -> Result<Vec<Contact>> {
    use loket_common::Permission;
    use loket_storage::schema::users;
    let rows: Vec<(String, String, String, String)> = users::table
        .filter(users::tenant_id.eq(tenant_id.to_string()))
        .filter(users::active.eq(true))
        .select((
            users::name,
            users::email,
            users::language,
            users::permissions,
        ))
        .order(users::id.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, _, p)| {
            stored_permissions(p)
                .iter()
                .any(|x| x == Permission::Superadmin)
        })
        .map(|(name, email, language, _)| Contact {
            name,
            email,
            language,
        })
        .collect())
}

/// The tenant named by `id_or_name`: its id, or its name (case and surrounding white space
/// ignored, as tenant names are unique that way), or its slug. For operator commands
/// (`loket mail ingest --tenant`).
pub fn tenant_by_id_or_name(conn: &mut AnyConnection, id_or_name: &str) -> Result<Option<Uuid>> {
    use loket_storage::schema::tenants;
    let key = id_or_name.trim();
    let found: Option<String> = match Uuid::try_parse(key) {
        Ok(id) => tenants::table
            .find(id.to_string())
            .select(tenants::id)
            .first(conn)
            .optional()?,
        Err(_) => match tenants::table
            .filter(tenants::name_key.eq(key.to_lowercase()))
            .select(tenants::id)
            .first(conn)
            .optional()?
        {
            Some(id) => Some(id),
            None => tenants::table
                .filter(tenants::slug.eq(key))
                .select(tenants::id)
                .first(conn)
                .optional()?,
        },
    };
    found
        .map(|id| loket_common::ids::parse_stored(&id))
        .transpose()
}

/// Name, e-mail address and culture of the tenant's users with these ids (ids of other tenants,
/// or unknown ones, are left out).
pub fn user_contacts(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Contact>> {
    use loket_storage::schema::users;
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let rows: Vec<(String, String, String, String)> = users::table
        .filter(users::tenant_id.eq(tenant_id.to_string()))
        .filter(users::id.eq_any(ids))
        .select((users::id, users::name, users::email, users::language))
        .load(conn)?;
    let mut out = std::collections::HashMap::new();
    for (id, name, email, language) in rows {
        out.insert(
            loket_common::ids::parse_stored(&id)?,
            Contact {
                name,
                email,
                language,
            },
        );
    }
    Ok(out)
}
