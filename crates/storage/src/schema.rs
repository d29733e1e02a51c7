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

diesel::allow_tables_to_appear_in_same_query!(idempotency_keys, outbox_events);
