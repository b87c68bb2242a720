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
-- recipients), whether it carries an open pixel / tracked links (VDM's DELIVERY_OPEN
-- and DELIVERY_CLICK count only such messages), and the running total of recipients
-- up to and including it, so a sliding window's count is two index lookups:
-- the total now minus the total at the window's start.
CREATE TABLE sends (
    message_id TEXT PRIMARY KEY,
    sent DOUBLE PRECISION NOT NULL,
    recipients INTEGER NOT NULL,
    cumulative BIGINT NOT NULL,
    opens_tracked INTEGER NOT NULL,
    clicks_tracked INTEGER NOT NULL
);

CREATE INDEX sends_sent ON sends (sent, cumulative);

-- One row: the running total of recipients and the latest send time. Updating it
-- first serialises reservations (on PostgreSQL a row lock held to commit; SQLite
-- has one writer anyway).
CREATE TABLE send_totals (
    id INTEGER PRIMARY KEY,
    recipients BIGINT NOT NULL,
    last_sent DOUBLE PRECISION NOT NULL
);

INSERT INTO send_totals (id, recipients, last_sent) VALUES (1, 0, 0);

-- Calls per operation per whole second, for --api-rate.
CREATE TABLE api_calls (
    operation TEXT NOT NULL,
    second BIGINT NOT NULL,
    calls INTEGER NOT NULL,
    PRIMARY KEY (operation, second)
);

-- The account-level suppression list, keyed by the address as the provider
-- normalised it (SES: trimmed, the domain in lower case).
CREATE TABLE suppressed_destinations (
    email TEXT PRIMARY KEY,
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
