-- Configuration sets, their event destinations, and email identities.
-- Portable SQL: the same file runs on SQLite and PostgreSQL.
CREATE TABLE configuration_sets (
    name TEXT PRIMARY KEY,
    options TEXT NOT NULL,
    tags TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL
);

CREATE TABLE event_destinations (
    set_name TEXT NOT NULL REFERENCES configuration_sets (name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (set_name, name)
);

CREATE TABLE email_identities (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    attributes TEXT NOT NULL,
    tags TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL
);
