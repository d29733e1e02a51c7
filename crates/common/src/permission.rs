//! The fixed catalogue of permissions (OAuth2 scopes).
//!
//! `superadmin` implies every permission within its own tenant (`impersonate` included) but not
//! `platform:admin`, which alone may create tenants.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

macro_rules! permissions {
    ($( $variant:ident => ($name:literal, $desc:literal), )*) => {
        /// One permission (OAuth2 scope).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Permission { $( #[doc = $desc] $variant, )* }

        impl Permission {
            /// Every permission, in catalogue order.
            pub const ALL: &'static [Permission] = &[ $( Permission::$variant, )* ];
            /// The scope name (`accounts:read`).
            pub fn as_str(self) -> &'static str { match self { $( Permission::$variant => $name, )* } }
            /// What the permission allows.
            pub fn description(self) -> &'static str { match self { $( Permission::$variant => $desc, )* } }
        }

        impl FromStr for Permission {
            type Err = UnknownPermission;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $( $name => Ok(Permission::$variant), )* _ => Err(UnknownPermission(s.to_owned())) }
            }
        }
    };
}

permissions! {
    AccountsRead => ("accounts:read", "Read users, API accounts, the tenant and audit events."),
    AccountsWrite => ("accounts:write", "Create, change and delete users and API accounts; change the tenant."),
    AgendaRead => ("agenda:read", "Read the agenda: employees (with contact data), staff, appointments, procedures, call requests."),
    AgendaWrite => ("agenda:write", "Change the agenda."),
    AgendaAutoplan => ("agenda:autoplan", "Use automatic planning of call requests (\"save and plan\")."),
    TicketsRead => ("tickets:read", "Read helpdesk tickets."),
    TicketsWrite => ("tickets:write", "Create and change helpdesk tickets and post messages."),
    WebhooksManage => ("webhooks:manage", "Manage webhook receivers and read their delivery logs."),
    MailManage => ("mail:manage", "Manage mail servers, senders, templates and the mail outbox."),
    Impersonate => ("impersonate", "Exchange the account's token for one acting on behalf of a user (RFC 8693)."),
    Superadmin => ("superadmin", "Every permission within the tenant, impersonate included."),
    PlatformAdmin => ("platform:admin", "Create tenants (installation-wide)."),
}

/// A scope name that is not in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPermission(pub String);

impl fmt::Display for UnknownPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown permission `{}`", self.0)
    }
}

impl std::error::Error for UnknownPermission {}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// In the OpenAPI document a permission is one of the catalogue's scope names.
impl utoipa::PartialSchema for Permission {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A permission (OAuth2 scope) from the catalogue."))
            .enum_values(Some(Permission::ALL.iter().map(|p| p.as_str())))
            .into()
    }
}

impl ToSchema for Permission {}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of permissions, as granted to an account or carried by a token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(value_type = Vec<Permission>)]
pub struct Permissions(BTreeSet<Permission>);

impl Permissions {
    /// A set from the given permissions.
    pub fn new(items: impl IntoIterator<Item = Permission>) -> Self {
        Permissions(items.into_iter().collect())
    }

    /// Whether the set grants `p`, taking `superadmin` into account.
    pub fn grants(&self, p: Permission) -> bool {
        self.0.contains(&p)
            || (p != Permission::PlatformAdmin && self.0.contains(&Permission::Superadmin))
    }

    /// The granted permissions with `superadmin` expanded to what it implies.
    pub fn effective(&self) -> Permissions {
        Permissions(
            Permission::ALL
                .iter()
                .copied()
                .filter(|p| self.grants(*p))
                .collect(),
        )
    }

    /// The permissions granted by both sets (effective on each side).
    pub fn intersect(&self, other: &Permissions) -> Permissions {
        Permissions(
            Permission::ALL
                .iter()
                .copied()
                .filter(|p| self.grants(*p) && other.grants(*p))
                .collect(),
        )
    }

    /// Whether every permission of `other` is granted by this set.
    pub fn covers(&self, other: &Permissions) -> bool {
        other.0.iter().all(|p| self.grants(*p))
    }

    /// Iterates the permissions as stored (not expanded).
    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        self.0.iter().copied()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Space-separated scope string (the OAuth2 `scope` format and the stored form).
    pub fn to_scope_string(&self) -> String {
        self.0
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Parses a space-separated scope string.
    pub fn parse_scope_string(s: &str) -> Result<Self, UnknownPermission> {
        s.split_ascii_whitespace()
            .map(str::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Permissions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superadmin_implies_tenant_permissions_but_not_platform_admin() {
        let s = Permissions::new([Permission::Superadmin]);
        assert!(s.grants(Permission::Impersonate));
        assert!(s.grants(Permission::TicketsWrite));
        assert!(!s.grants(Permission::PlatformAdmin));
    }

    #[test]
    fn intersection_never_exceeds_either_side() {
        let user = Permissions::new([Permission::TicketsRead]);
        let account = Permissions::new([Permission::Superadmin]);
        let both = user.intersect(&account);
        assert!(both.grants(Permission::TicketsRead));
        assert!(!both.grants(Permission::TicketsWrite));
        assert!(!both.grants(Permission::Impersonate));
    }

    #[test]
    fn scope_strings_round_trip_and_reject_unknown_names() {
        let p = Permissions::parse_scope_string("tickets:read  accounts:write").unwrap();
        assert_eq!(p.to_scope_string(), "accounts:write tickets:read");
        assert!(Permissions::parse_scope_string("tickets:delete").is_err());
    }
}
