-- The helpdesk (DOMAIN.md "Tickets", seed 003, issue 7): customer organisations and their
-- contacts, tickets with their messages, attachments and status/department history. Ids are
-- UUID text, times UTC, JSON arrays text. Keep migrations/sqlite and migrations/postgres identical.

CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    shared_email TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX organisations_tenant ON organisations (tenant_id, name);

-- A customer contact is a user with the `customer` role; user_id is its id (R-OWN).
CREATE TABLE customer_contacts (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    email TEXT NOT NULL,
    code_hash TEXT,
    code_expires_at TIMESTAMP,
    code_attempts INTEGER NOT NULL DEFAULT 0,
    verified_at TIMESTAMP,
    shared_verified_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX customer_contacts_org ON customer_contacts (tenant_id, organisation_id);
CREATE INDEX customer_contacts_email ON customer_contacts (tenant_id, email);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    number TEXT NOT NULL,
    channel TEXT NOT NULL,
    mailbox TEXT,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    department TEXT NOT NULL,
    priority TEXT NOT NULL,
    disruption BOOLEAN NOT NULL,
    labels TEXT NOT NULL,
    reporter_email TEXT NOT NULL,
    reporter_name TEXT,
    reporter_language TEXT NOT NULL,
    cc_emails TEXT NOT NULL,
    organisation_id TEXT REFERENCES organisations (id),
    software_version TEXT,
    environment TEXT,
    area TEXT,
    release_version TEXT,
    postponed_until TIMESTAMP,
    tracking_code_hash TEXT,
    confirm_due TIMESTAMP NOT NULL,
    first_response_due TIMESTAMP NOT NULL,
    response_due TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    first_response_at TIMESTAMP,
    last_customer_message_at TIMESTAMP,
    resolved_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tickets_number ON tickets (number);
CREATE INDEX tickets_tenant_created ON tickets (tenant_id, created_at, id);
CREATE INDEX tickets_reporter ON tickets (tenant_id, reporter_email);
CREATE INDEX tickets_status ON tickets (tenant_id, status);
CREATE INDEX tickets_postponed ON tickets (status, postponed_until);

CREATE TABLE ticket_messages (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author_kind TEXT NOT NULL,
    author_id TEXT,
    author_email TEXT,
    author_name TEXT,
    visibility TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT,
    message_id TEXT,
    in_reply_to TEXT,
    privacy_kinds TEXT NOT NULL,
    privacy_persons INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id, created_at, id);
-- The same inbound mail (same Message-ID) is stored once; NULLs (portal, phone) are distinct.
CREATE UNIQUE INDEX ticket_messages_message_id ON ticket_messages (tenant_id, message_id);

CREATE TABLE ticket_attachments (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    message_id TEXT REFERENCES ticket_messages (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT,
    removed_reason TEXT,
    removed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ticket_attachments_ticket ON ticket_attachments (ticket_id, created_at);

-- Status, department and label changes (issue 7: "kept as history entries").
CREATE TABLE ticket_history (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    at TIMESTAMP NOT NULL
);
CREATE INDEX ticket_history_ticket ON ticket_history (ticket_id, at, id);
