//! The `Accounts.*` domain events, written to the outbox with the change.

/// A user or API account was created.
pub const ACCOUNTS_CREATE: &str = "Accounts.Create";
/// A user or API account was changed (including deactivation and secret rotation).
pub const ACCOUNTS_UPDATE: &str = "Accounts.Update";
/// A user or API account was deleted.
pub const ACCOUNTS_DELETE: &str = "Accounts.Delete";

/// The topics this domain emits, with a description (for the webhook topic catalogue).
pub const TOPICS: &[(&str, &str)] = &[
    (
        ACCOUNTS_CREATE,
        "A user or API account was created; data is its representation (`kind` tells which).",
    ),
    (
        ACCOUNTS_UPDATE,
        "A user or API account was changed; data is its new representation.",
    ),
    (
        ACCOUNTS_DELETE,
        "A user or API account was deleted; data is its last representation.",
    ),
];

/// Publishes an event (the one outbox writer every domain uses).
pub use loket_storage::outbox::emit;
