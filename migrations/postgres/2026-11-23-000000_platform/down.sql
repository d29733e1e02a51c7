DROP TABLE outbox_events;
DROP TABLE idempotency_keys;
