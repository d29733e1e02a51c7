//! The diesel schema, shared by both backends. Ids are UUID text, times are UTC `timestamp`,
//! JSON documents are text. Keep `migrations/sqlite` and `migrations/postgres` in step with it.

diesel::table! {
    /// Stored responses of POST requests made with an `Idempotency-Key`.
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        request_hash -> Text,
        state -> Text,
        status_code -> Nullable<Integer>,
        content_type -> Nullable<Text>,
        location -> Nullable<Text>,
        body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The transactional outbox: domain events written in the same transaction as the change.
    outbox_events (id) {
        id -> Text,
        tenant_id -> Text,
        topic -> Text,
        object_id -> Text,
        payload -> Text,
        occurred_at -> Timestamp,
        actor_api_account_id -> Nullable<Text>,
        actor_user_id -> Nullable<Text>,
        dispatched_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Organisations; every record belongs to one (R-TEN).
    tenants (id) {
        id -> Text,
        name -> Text,
        name_key -> Text,
        slug -> Text,
        default_culture -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// People; subjects of impersonation and owners of data.
    users (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        email -> Text,
        language -> Text,
        permissions -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Service users that log in over OAuth2 (password + TOTP, or a registered key).
    api_accounts (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        username -> Text,
        permissions -> Text,
        active -> Bool,
        password_hash -> Text,
        totp_secret -> Text,
        last_totp_step -> Nullable<BigInt>,
        failed_attempts -> Integer,
        locked_until -> Nullable<Timestamp>,
        last_login_at -> Nullable<Timestamp>,
        token_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Public keys for `private_key_jwt` client authentication (RFC 7523).
    api_account_keys (id) {
        id -> Text,
        api_account_id -> Text,
        kid -> Text,
        alg -> Text,
        jwk -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Rotating refresh tokens, by family (reuse of a rotated token revokes the family).
    refresh_tokens (id) {
        id -> Text,
        family_id -> Text,
        api_account_id -> Text,
        token_hash -> Text,
        scope -> Text,
        token_version -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Revoked access tokens (by `jti`) until they expire.
    revoked_tokens (jti) {
        jti -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// Client assertions already used (single-use `jti`).
    used_assertions (key) {
        key -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// JWT signing keys (private halves sealed with the server secret key).
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        private_key -> Text,
        public_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Who changed what: the API account, and the user it acted for.
    audit_events (id) {
        id -> Text,
        tenant_id -> Text,
        actor_api_account_id -> Nullable<Text>,
        actor_user_id -> Nullable<Text>,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        occurred_at -> Timestamp,
        details -> Text,
    }
}

diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(api_accounts -> tenants (tenant_id));
diesel::joinable!(api_account_keys -> api_accounts (api_account_id));
diesel::joinable!(refresh_tokens -> api_accounts (api_account_id));

diesel::allow_tables_to_appear_in_same_query!(
    idempotency_keys,
    outbox_events,
    tenants,
    users,
    api_accounts,
    api_account_keys,
    refresh_tokens,
    revoked_tokens,
    used_assertions,
    signing_keys,
    audit_events,
);
