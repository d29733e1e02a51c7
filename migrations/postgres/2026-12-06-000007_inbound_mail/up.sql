-- Inbound mail and threading (issue 7, R-THREAD): the extra headers of an outbox message that
-- answers in a conversation (the helpdesk's reply mail to the reporter). The message's own
-- `Message-ID` stays in mail_outbox.message_id. Keep migrations/sqlite and migrations/postgres
-- identical.

CREATE TABLE mail_outbox_headers (
    outbox_id TEXT PRIMARY KEY NOT NULL REFERENCES mail_outbox (id) ON DELETE CASCADE,
    -- JSON array of `Cc` addresses.
    cc TEXT NOT NULL,
    -- `In-Reply-To`: one `<id@host>`.
    in_reply_to TEXT,
    -- `References`: `<id@host>` items separated by a space, oldest first.
    reference_ids TEXT
);
