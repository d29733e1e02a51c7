CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    status_code INTEGER,
    content_type TEXT,
    location TEXT,
    body TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE outbox_events (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    object_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor_api_account_id TEXT,
    actor_user_id TEXT,
    dispatched_at TIMESTAMP
);
CREATE INDEX outbox_events_pending ON outbox_events (dispatched_at, id);
CREATE INDEX outbox_events_tenant ON outbox_events (tenant_id, id);
