DROP TABLE mail_attempts;
DROP TABLE mail_outbox;
DROP TABLE mail_settings;
DROP TABLE mail_templates;
DROP TABLE mail_limits;
DROP TABLE mail_senders;
DROP TABLE mail_servers;
