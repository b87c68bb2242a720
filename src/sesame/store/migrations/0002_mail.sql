-- Sent messages, the outbound queue, recorded events, and tracking-link signing keys.
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL,
    configuration_set TEXT,
    sender TEXT NOT NULL,
    recipients TEXT NOT NULL,
    mail TEXT NOT NULL,
    content BYTEA NOT NULL,
    -- The tracked links, by index: [{"url", "tags"}] (for Click events' linkTags).
    links TEXT NOT NULL
);

CREATE INDEX messages_created ON messages (created);

CREATE TABLE outbox (
    message_id TEXT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    due DOUBLE PRECISION NOT NULL,
    attempts INTEGER NOT NULL,
    -- Recipients still to deliver to (JSON list), once some have succeeded or failed.
    remaining TEXT,
    lease_until DOUBLE PRECISION,
    last_error TEXT
);

CREATE INDEX outbox_due ON outbox (due);

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    happened DOUBLE PRECISION NOT NULL,
    configuration_set TEXT,
    record TEXT NOT NULL
);

CREATE INDEX events_message ON events (message_id, happened);

CREATE TABLE signing_keys (
    id TEXT PRIMARY KEY,
    secret BYTEA NOT NULL,
    created DOUBLE PRECISION NOT NULL
);
