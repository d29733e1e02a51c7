-- Full-text search over ticket subjects and messages (issue 7 "Search"). One row per subject
-- and per message; `public` is false for internal notes so customers' searches skip them
-- (R-OWN). Triggers keep it in step with the tables; the SQLite twin is an FTS5 table.
CREATE TABLE ticket_search (
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    public BOOLEAN NOT NULL,
    body tsvector NOT NULL
);
CREATE INDEX ticket_search_body ON ticket_search USING GIN (body);
CREATE INDEX ticket_search_ticket ON ticket_search (ticket_id);

INSERT INTO ticket_search (ticket_id, public, body)
    SELECT id, TRUE, to_tsvector('simple', subject) FROM tickets;
INSERT INTO ticket_search (ticket_id, public, body)
    SELECT ticket_id, visibility = 'public', to_tsvector('simple', body_text) FROM ticket_messages;

CREATE FUNCTION tickets_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_search (ticket_id, public, body)
        VALUES (NEW.id, TRUE, to_tsvector('simple', NEW.subject));
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_search_insert();

CREATE FUNCTION ticket_messages_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_search (ticket_id, public, body)
        VALUES (NEW.ticket_id, NEW.visibility = 'public', to_tsvector('simple', NEW.body_text));
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_messages_search_insert AFTER INSERT ON ticket_messages
    FOR EACH ROW EXECUTE FUNCTION ticket_messages_search_insert();
