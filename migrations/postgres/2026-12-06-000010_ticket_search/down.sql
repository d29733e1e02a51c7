DROP TRIGGER ticket_messages_search_insert ON ticket_messages;
DROP FUNCTION ticket_messages_search_insert();
DROP TRIGGER tickets_search_insert ON tickets;
DROP FUNCTION tickets_search_insert();
DROP TABLE ticket_search;
