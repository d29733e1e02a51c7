-- Webhook receivers. Secrets are sealed with the server key (bound to the row id). No foreign
-- key to api_accounts: accounts can be deleted, the receiver then simply gets nothing.
CREATE TABLE webhook_receivers (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    api_account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    topics TEXT NOT NULL,
    protocol TEXT NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_expires_at TIMESTAMP,
    oauth_token_url TEXT,
    oauth_client_id TEXT,
    oauth_client_secret TEXT,
    oauth_scope TEXT,
    last_success_at TIMESTAMP,
    failing_since TIMESTAMP,
    disabled_at TIMESTAMP,
    disabled_reason TEXT,
    deleted_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_receivers_tenant ON webhook_receivers (tenant_id, id);

-- One event for one receiver. The id is the `webhook-id`, the same on every attempt; `body` is
-- byte-for-byte what is sent. `next_attempt_at` is set while more attempts are due;
-- `locked_until`/`lease` is the claim of the worker sending it (expires after a crash).
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    receiver_id TEXT NOT NULL REFERENCES webhook_receivers (id),
    event_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt_count INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL,
    last_status_code INTEGER,
    created_at TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    next_attempt_at TIMESTAMP,
    locked_until TIMESTAMP,
    lease TEXT
);
CREATE INDEX webhook_deliveries_receiver ON webhook_deliveries (receiver_id, id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_deliveries_lease ON webhook_deliveries (lease) WHERE lease IS NOT NULL;

-- Every HTTP attempt of a delivery.
CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempted_at TIMESTAMP NOT NULL,
    status_code INTEGER,
    duration_ms BIGINT NOT NULL,
    error TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
