-- Mail: external SMTP servers (R-TLS: `tls` is implicit or starttls), verified senders
-- (R-VERIFY), sending limits, templates per culture, the outbox and its send attempts.
-- Passwords are sealed with the server key (bound to the row id); verification codes are kept
-- only as a keyed hash.
CREATE TABLE mail_servers (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    tls TEXT NOT NULL,
    username TEXT,
    password TEXT,
    status TEXT NOT NULL,
    archived_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX mail_servers_tenant ON mail_servers (tenant_id, id);

-- `address_key` is the lower-cased address: one sender per address and server.
CREATE TABLE mail_senders (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    server_id TEXT NOT NULL REFERENCES mail_servers (id),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    address_key TEXT NOT NULL,
    verified_at TIMESTAMP,
    code_hash TEXT,
    code_expires_at TIMESTAMP,
    failed_tries INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (server_id, address_key)
);
CREATE INDEX mail_senders_tenant ON mail_senders (tenant_id, server_id, id);

CREATE TABLE mail_limits (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    server_id TEXT NOT NULL REFERENCES mail_servers (id),
    max_messages INTEGER NOT NULL,
    window_seconds INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX mail_limits_server ON mail_limits (server_id, id);

-- `culture` is '' for the template without culture (the last fallback).
CREATE TABLE mail_templates (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    code TEXT NOT NULL,
    culture TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, code, culture)
);

CREATE TABLE mail_settings (
    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id),
    default_sender_id TEXT,
    updated_at TIMESTAMP NOT NULL
);

-- One message, rendered when queued (so every attempt sends the same thing with the same
-- Message-ID). `tenant_id` is NULL for platform mail; `server_id`/`sender_id` are NULL when
-- the platform server sends it. `locked_until`/`lease` is the claim of the worker sending it
-- (it expires after a crash, and the message is sent again: at-least-once).
CREATE TABLE mail_outbox (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT,
    server_id TEXT,
    sender_id TEXT,
    from_name TEXT,
    from_address TEXT NOT NULL,
    to_email TEXT NOT NULL,
    to_name TEXT,
    culture TEXT,
    template_code TEXT,
    template_culture TEXT,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT,
    attachments TEXT NOT NULL,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    smtp_answer TEXT,
    error TEXT,
    created_at TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP,
    last_attempt_at TIMESTAMP,
    sent_at TIMESTAMP,
    locked_until TIMESTAMP,
    lease TEXT
);
CREATE INDEX mail_outbox_tenant ON mail_outbox (tenant_id, id);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'queued';

-- Every send attempt; the limits count them per server and window.
CREATE TABLE mail_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    outbox_id TEXT NOT NULL REFERENCES mail_outbox (id),
    server_id TEXT,
    attempted_at TIMESTAMP NOT NULL,
    outcome TEXT NOT NULL,
    smtp_answer TEXT,
    error TEXT
);
CREATE INDEX mail_attempts_server ON mail_attempts (server_id, attempted_at);
CREATE INDEX mail_attempts_outbox ON mail_attempts (outbox_id, id);
