//! Tenants, users and API accounts: create, read, change, delete, within the caller's tenant.
