DROP TABLE ticket_history;
DROP TABLE ticket_attachments;
DROP TABLE ticket_messages;
DROP TABLE tickets;
DROP TABLE customer_contacts;
DROP TABLE organisations;
