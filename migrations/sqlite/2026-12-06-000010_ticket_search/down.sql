DROP TRIGGER tickets_search_delete;
DROP TRIGGER ticket_messages_search_insert;
DROP TRIGGER tickets_search_insert;
DROP TABLE ticket_search;
