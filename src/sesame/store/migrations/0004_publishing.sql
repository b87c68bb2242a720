-- Event publishing: the outbox of publications, the machine/person verdict of
-- opens and clicks, and the key that signs SNS-style webhook notifications.
-- Portable SQL: the same file runs on SQLite and PostgreSQL.

-- "person" or "machine" for Open and Click events once classified; NULL otherwise.
ALTER TABLE events ADD COLUMN actor TEXT;

CREATE INDEX events_happened ON events (happened);

-- One row per (event, matching enabled destination), written in the transaction
-- that writes the event. A row is deleted once published; a row that has been
-- retried past its deadline keeps its last error and `gave_up` for inspection.
CREATE TABLE publications (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    set_name TEXT NOT NULL,
    destination TEXT NOT NULL,
    -- The EventDestinationDefinition as it was when the event happened.
    definition TEXT NOT NULL,
    happened DOUBLE PRECISION NOT NULL,
    -- Order among events written together (Delivery before Bounce in one outcome).
    position INTEGER NOT NULL,
    due DOUBLE PRECISION NOT NULL,
    attempts INTEGER NOT NULL,
    lease_until DOUBLE PRECISION,
    last_error TEXT,
    -- Targets (webhook URLs, AWS services) already published to (JSON list), so a
    -- retry does not repeat them.
    done TEXT NOT NULL,
    gave_up DOUBLE PRECISION,
    -- 1 for the oldest pending row of its (message, set, destination) lane, the
    -- only one that may be claimed: kept up to date on insert, finish and give-up,
    -- so a claim reads heads only instead of checking every row's lane.
    head INTEGER NOT NULL
);

CREATE INDEX publications_head ON publications (head, due);

CREATE INDEX publications_lane ON publications (message_id, set_name, destination, happened);

CREATE TABLE sns_certificates (
    id TEXT PRIMARY KEY,
    private_key TEXT NOT NULL,
    certificate TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL
);
