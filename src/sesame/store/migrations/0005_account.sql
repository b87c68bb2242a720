-- The account (issue 5): its settings, the sending ledger behind the quotas, the API
-- call counters behind --api-rate, the suppression list, contact lists and contacts.
-- Portable SQL: the same file runs on SQLite and PostgreSQL.

-- One row per account-level setting block (SendingEnabled, SuppressionAttributes,
-- Details, VdmAttributes): the block as JSON, AWS member names.
CREATE TABLE account_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per accepted message: when, to how many recipients (SES's quotas count
-- recipients), and whether it carries an open pixel / tracked links (VDM's
-- DELIVERY_OPEN and DELIVERY_CLICK count only such messages).
CREATE TABLE sends (
    message_id TEXT PRIMARY KEY,
    sent DOUBLE PRECISION NOT NULL,
    recipients INTEGER NOT NULL,
    opens_tracked INTEGER NOT NULL,
    clicks_tracked INTEGER NOT NULL
);

CREATE INDEX sends_sent ON sends (sent);

-- A single row whose update serialises quota reservations: on PostgreSQL the UPDATE
-- takes a row lock held to the end of the transaction; SQLite has one writer anyway.
CREATE TABLE quota_lock (
    id INTEGER PRIMARY KEY,
    reservations BIGINT NOT NULL
);

INSERT INTO quota_lock (id, reservations) VALUES (1, 0);

-- Calls per operation per whole second, for --api-rate.
CREATE TABLE api_calls (
    operation TEXT NOT NULL,
    second BIGINT NOT NULL,
    calls INTEGER NOT NULL,
    PRIMARY KEY (operation, second)
);

-- The account-level suppression list; email_key is the address in lower case.
CREATE TABLE suppressed_destinations (
    email_key TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    reason TEXT NOT NULL,
    updated DOUBLE PRECISION NOT NULL,
    message_id TEXT,
    feedback_id TEXT
);

CREATE INDEX suppressed_updated ON suppressed_destinations (updated);

CREATE TABLE contact_lists (
    name TEXT PRIMARY KEY,
    description TEXT,
    topics TEXT NOT NULL,
    tags TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);

-- email_key is the address in lower case: one contact per mailbox and list.
CREATE TABLE contacts (
    list_name TEXT NOT NULL REFERENCES contact_lists (name) ON DELETE CASCADE,
    email_key TEXT NOT NULL,
    email TEXT NOT NULL,
    preferences TEXT NOT NULL,
    unsubscribe_all INTEGER NOT NULL,
    attributes TEXT,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (list_name, email_key)
);
