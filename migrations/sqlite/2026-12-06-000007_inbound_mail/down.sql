DROP TABLE mail_outbox_headers;
