-- The mailbox simulator (SES developer guide, "Using the mailbox simulator"): mail to
-- it counts against the maximum sending rate but not against the daily quota. The
-- ledger keeps a second running total beside `cumulative`: the recipients the daily
-- quota counts, up to and including each send. Sends recorded before this version
-- had no simulator, so both totals start equal.
-- Portable SQL: the same file runs on SQLite and PostgreSQL.

ALTER TABLE sends ADD COLUMN daily_cumulative BIGINT NOT NULL DEFAULT 0;

UPDATE sends SET daily_cumulative = cumulative;

ALTER TABLE send_totals ADD COLUMN daily_recipients BIGINT NOT NULL DEFAULT 0;

UPDATE send_totals SET daily_recipients = recipients;
