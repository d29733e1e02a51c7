-- Full-text search over ticket subjects and messages (issue 7 "Search"). One row per subject
-- and per message; `public` is 0 for internal notes so customers' searches skip them (R-OWN).
-- Triggers keep it in step with the tables; the PostgreSQL twin uses a tsvector + GIN index.
CREATE VIRTUAL TABLE ticket_search USING fts5(
    ticket_id UNINDEXED,
    public UNINDEXED,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO ticket_search (ticket_id, public, body) SELECT id, 1, subject FROM tickets;
INSERT INTO ticket_search (ticket_id, public, body)
    SELECT ticket_id, visibility = 'public', body_text FROM ticket_messages;

CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_search (ticket_id, public, body) VALUES (new.id, 1, new.subject);
END;
CREATE TRIGGER ticket_messages_search_insert AFTER INSERT ON ticket_messages BEGIN
    INSERT INTO ticket_search (ticket_id, public, body)
        VALUES (new.ticket_id, new.visibility = 'public', new.body_text);
END;
CREATE TRIGGER tickets_search_delete AFTER DELETE ON tickets BEGIN
    DELETE FROM ticket_search WHERE ticket_id = old.id;
END;
