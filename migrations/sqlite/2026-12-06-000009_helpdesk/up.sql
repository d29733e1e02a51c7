-- The helpdesk around the tickets (issue 9, seed 003 §2, §4, §5): releases with their notes,
-- consultation meetings, the status page (components, incidents and maintenance windows with
-- timeline updates) and the user forum. Ids are UUID text, times UTC, JSON text where noted.
-- Keep migrations/sqlite and migrations/postgres identical.

CREATE TABLE releases (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    version TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    planned_date DATE,
    delivered_at TIMESTAMP,
    -- JSON object: culture code -> Markdown.
    notes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT releases_tenant_version UNIQUE (tenant_id, version)
);

CREATE TABLE helpdesk_meetings (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    kind TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    title TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX helpdesk_meetings_next ON helpdesk_meetings (tenant_id, kind, starts_at);

CREATE TABLE status_components (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    description TEXT,
    state TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT status_components_tenant_name UNIQUE (tenant_id, name)
);

CREATE TABLE status_incidents (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    -- JSON array of status_components ids of the same tenant.
    component_ids TEXT NOT NULL,
    scheduled_start TIMESTAMP,
    scheduled_end TIMESTAMP,
    resolved_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX status_incidents_tenant ON status_incidents (tenant_id, resolved_at);

CREATE TABLE status_incident_updates (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    incident_id TEXT NOT NULL REFERENCES status_incidents (id),
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX status_incident_updates_incident ON status_incident_updates (incident_id, created_at);

-- The forum spans tenants: a category is hosted (and moderated) by one tenant, every tenant's
-- users read it and post where `posting` allows. tenant_id on topics and posts is the author's.
CREATE TABLE forum_categories (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    description TEXT,
    posting TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE forum_topics (
    id TEXT PRIMARY KEY NOT NULL,
    category_id TEXT NOT NULL REFERENCES forum_categories (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    author_kind TEXT NOT NULL,
    author_id TEXT,
    author_name TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    locked BOOLEAN NOT NULL,
    pinned BOOLEAN NOT NULL,
    answer_post_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX forum_topics_category ON forum_topics (category_id, pinned, id);

CREATE TABLE forum_posts (
    id TEXT PRIMARY KEY NOT NULL,
    topic_id TEXT NOT NULL REFERENCES forum_topics (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    author_kind TEXT NOT NULL,
    author_id TEXT,
    author_name TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    privacy_kinds TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX forum_posts_topic ON forum_posts (topic_id, id);
