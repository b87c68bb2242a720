"""The account tables (migration 0005): settings, the sending ledger, API call
counters, the suppression list, contact lists and contacts. (Migration 0006 gives
the ledger its second running total, of the recipients the daily quota counts: the
mailbox simulator's count against the rate only.)

A mixin of RelationalStore (relational.py), kept apart so the store's core stays
readable; the same SQL runs on both backends (upserts with `ON CONFLICT ... DO
UPDATE`, which SQLite since 3.24 and PostgreSQL both speak). Limits that must hold
across processes are checked and recorded in one write transaction: on SQLite
`BEGIN IMMEDIATE` makes that transaction the only writer; on PostgreSQL the
`send_totals` row update that opens `reserve_send` does the same job (a row lock
held to commit), as the upsert's row lock does for `count_api_call`.
Sliding-window counts read running totals through the `sent` index, so a
reservation does not slow down as the window fills (bench/quota.py: 55-135 µs
with 1,000 to 50,000 sends in the window, where a SUM over the window takes
0.3-8 ms).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from sesame.store.base import (
    Contact,
    ContactList,
    Duplicate,
    Event,
    LimitReached,
    Missing,
    SendLimit,
    SendRecord,
    SuppressedDestination,
)

if TYPE_CHECKING:
    from sesame.store.relational import Connection

#: How long API call counters are kept (they only matter for the current second).
_API_CALLS_KEPT_SECONDS = 60


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class AccountTables:
    """Needs `_connection()`, `_write()`, `_serialise()`, `_lock` and `_insert_events()`
    from RelationalStore."""

    _lock: str

    def _connection(self) -> Connection:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _serialise(self, conn: Connection, key: str) -> None:
        raise NotImplementedError

    def _insert_events(self, conn: Connection, events: list[Event]) -> None:
        raise NotImplementedError

    # Settings ----------------------------------------------------------------
    def account_settings(self) -> dict[str, Any]:
        rows = self._connection().execute("SELECT name, value FROM account_settings")
        return {name: json.loads(value) for name, value in rows}

    def put_account_setting(self, name: str, value: Any) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO account_settings (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, _json(value)),
            )

    # The sending ledger and API call counters ---------------------------------
    def reserve_send(self, record: SendRecord, limits: list[SendLimit]) -> str | None:
        with self._write() as conn:
            # The no-op update takes the row lock first (see the module docstring).
            conn.execute("UPDATE send_totals SET recipients = recipients WHERE id = 1")
            total, daily, last_sent = conn.execute(
                "SELECT recipients, daily_recipients, last_sent FROM send_totals WHERE id = 1"
            ).fetchone()
            # Send times never go backwards in the ledger (a few milliseconds of clock
            # difference between processes at most), so running totals rise with time.
            sent = max(record.sent, last_sent)
            # The daily quota leaves out the mailbox simulator's recipients (migration 0006).
            counted = record.recipients - record.simulated
            for limit in limits:
                before = _totals_at(conn, sent - limit.window)
                if limit.counts_simulated:
                    used, adding = total - before[0], record.recipients
                else:
                    used, adding = daily - before[1], counted
                if used + adding > limit.recipients and not (limit.allow_oversized and used == 0):
                    return limit.name
            total += record.recipients
            daily += counted
            conn.execute(
                "UPDATE send_totals SET recipients = ?, daily_recipients = ?, last_sent = ? "
                "WHERE id = 1",
                (total, daily, sent),
            )
            conn.execute(
                "INSERT INTO sends (message_id, sent, recipients, cumulative, daily_cumulative, "
                "opens_tracked, clicks_tracked) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.message_id,
                    sent,
                    record.recipients,
                    total,
                    daily,
                    int(record.opens_tracked),
                    int(record.clicks_tracked),
                ),
            )
        return None

    def recipients_sent_since(self, since: float) -> int:
        conn = self._connection()
        (daily,) = conn.execute("SELECT daily_recipients FROM send_totals WHERE id = 1").fetchone()
        return int(daily - _totals_at(conn, since)[1])

    def tracking_of(self, message_ids: list[str]) -> dict[str, tuple[bool, bool]]:
        found: dict[str, tuple[bool, bool]] = {}
        conn = self._connection()
        for start in range(0, len(message_ids), 500):
            chunk = message_ids[start : start + 500]
            rows = conn.execute(
                "SELECT message_id, opens_tracked, clicks_tracked FROM sends "
                f"WHERE message_id IN ({placeholders(chunk)})",
                chunk,
            )
            for message_id, opens, clicks in rows:
                found[message_id] = (bool(opens), bool(clicks))
        return found

    def count_api_call(self, operation: str, second: int, limit: int) -> bool:
        # Increment first and read the count back (RETURNING: SQLite 3.35+ and
        # PostgreSQL): the upsert's row lock orders concurrent callers, so none can
        # see a stale count. Over the limit, the transaction is rolled back.
        try:
            with self._write() as conn:
                conn.execute(
                    "DELETE FROM api_calls WHERE operation = ? AND second < ?",
                    (operation, second - _API_CALLS_KEPT_SECONDS),
                )
                (calls,) = conn.execute(
                    "INSERT INTO api_calls (operation, second, calls) VALUES (?, ?, 1) "
                    "ON CONFLICT (operation, second) DO UPDATE SET calls = api_calls.calls + 1 "
                    "RETURNING calls",
                    (operation, second),
                ).fetchone()
                if calls > limit:
                    raise _OverLimit
        except _OverLimit:
            return False
        return True

    # The suppression list -----------------------------------------------------
    def put_suppressed_destination(self, record: SuppressedDestination) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO suppressed_destinations "
                "(email, reason, updated, message_id, feedback_id) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (email) DO UPDATE SET reason = excluded.reason, "
                "updated = excluded.updated, message_id = excluded.message_id, "
                "feedback_id = excluded.feedback_id",
                (
                    record.email,
                    record.reason,
                    record.updated,
                    record.message_id,
                    record.feedback_id,
                ),
            )

    def get_suppressed_destination(self, email: str) -> SuppressedDestination | None:
        row = (
            self._connection().execute(f"SELECT {_SUPPRESSED} WHERE email = ?", (email,)).fetchone()
        )
        return None if row is None else SuppressedDestination(*row)

    def list_suppressed_destinations(
        self,
        *,
        reasons: list[str] | None,
        start: float | None,
        end: float | None,
        after: str | None,
        limit: int,
    ) -> list[SuppressedDestination]:
        sql = f"SELECT {_SUPPRESSED} WHERE email > ?"
        args: list[Any] = [after or ""]
        if reasons:
            sql += f" AND reason IN ({', '.join('?' * len(reasons))})"
            args += reasons
        if start is not None:
            sql += " AND updated >= ?"
            args.append(start)
        if end is not None:
            sql += " AND updated <= ?"
            args.append(end)
        sql += " ORDER BY email LIMIT ?"
        args.append(limit)
        return [SuppressedDestination(*row) for row in self._connection().execute(sql, args)]

    def delete_suppressed_destination(self, email: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM suppressed_destinations WHERE email = ?", (email,))
        return cursor.rowcount > 0

    def suppressed_among(self, emails: list[str]) -> dict[str, SuppressedDestination]:
        keys = sorted(set(emails))
        if not keys:
            return {}
        rows = self._connection().execute(
            f"SELECT {_SUPPRESSED} WHERE email IN ({', '.join('?' * len(keys))})", keys
        )
        return {row[0]: SuppressedDestination(*row) for row in rows}

    # Contact lists and contacts -----------------------------------------------
    def create_contact_list(self, record: ContactList, *, limit: int) -> None:
        with self._write() as conn:
            self._serialise(conn, "sesame:contact_lists")
            # The limit first: SES answers a duplicate name with the limit's error too.
            (count,) = conn.execute("SELECT COUNT(*) FROM contact_lists").fetchone()
            if count >= limit:
                raise LimitReached(record.name)
            if conn.execute(
                "SELECT 1 FROM contact_lists WHERE name = ?", (record.name,)
            ).fetchone():
                raise Duplicate(record.name)
            conn.execute(
                "INSERT INTO contact_lists (name, description, topics, tags, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.name,
                    record.description,
                    _json(record.topics),
                    _json(record.tags),
                    record.created,
                    record.updated,
                ),
            )

    def get_contact_list(self, name: str) -> ContactList | None:
        row = (
            self._connection()
            .execute(f"SELECT {_LIST} FROM contact_lists WHERE name = ?", (name,))
            .fetchone()
        )
        return None if row is None else _contact_list(row)

    def list_contact_lists(self, *, after: str | None, limit: int) -> list[ContactList]:
        rows = self._connection().execute(
            f"SELECT {_LIST} FROM contact_lists WHERE name > ? ORDER BY name LIMIT ?",
            (after or "", limit),
        )
        return [_contact_list(row) for row in rows]

    def update_contact_list(
        self, name: str, *, topics: list[dict[str, Any]], description: str | None, updated: float
    ) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE contact_lists SET topics = ?, description = ?, updated = ? WHERE name = ?",
                (_json(topics), description, updated, name),
            )
        return cursor.rowcount > 0

    def set_contact_list_tags(self, name: str, tags: list[dict[str, str]]) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE contact_lists SET tags = ? WHERE name = ?", (_json(tags), name)
            )
        return cursor.rowcount > 0

    def delete_contact_list(self, name: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM contact_lists WHERE name = ?", (name,))
        return cursor.rowcount > 0

    def create_contact(self, record: Contact) -> None:
        with self._write() as conn:
            # The list's row lock makes two creates of one contact take turns.
            if not conn.execute(
                f"SELECT 1 FROM contact_lists WHERE name = ?{self._lock}", (record.list_name,)
            ).fetchone():
                raise Missing(record.list_name)
            if conn.execute(
                "SELECT 1 FROM contacts WHERE list_name = ? AND email_key = ?",
                (record.list_name, record.email.lower()),
            ).fetchone():
                raise Duplicate(record.email)
            _insert_contact(conn, record)

    def get_contact(self, list_name: str, email: str) -> Contact | None:
        row = (
            self._connection()
            .execute(
                f"SELECT {_CONTACT} FROM contacts WHERE list_name = ? AND email_key = ?",
                (list_name, email.lower()),
            )
            .fetchone()
        )
        return None if row is None else _contact(row)

    def list_contacts(self, list_name: str, *, after: str | None, limit: int) -> list[Contact]:
        rows = self._connection().execute(
            f"SELECT {_CONTACT} FROM contacts WHERE list_name = ? AND email_key > ? "
            "ORDER BY email_key LIMIT ?",
            (list_name, after or "", limit),
        )
        return [_contact(row) for row in rows]

    def save_contact(self, record: Contact, events: list[Event]) -> bool:
        with self._write() as conn:
            if not conn.execute(
                f"SELECT 1 FROM contact_lists WHERE name = ?{self._lock}", (record.list_name,)
            ).fetchone():
                return False
            conn.execute(
                "DELETE FROM contacts WHERE list_name = ? AND email_key = ?",
                (record.list_name, record.email.lower()),
            )
            _insert_contact(conn, record)
            self._insert_events(conn, events)
        return True

    def delete_contact(self, list_name: str, email: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM contacts WHERE list_name = ? AND email_key = ?",
                (list_name, email.lower()),
            )
        return cursor.rowcount > 0

    # Events for the metrics -----------------------------------------------------
    def events_between(self, start: float, end: float, event_types: list[str]) -> list[Event]:
        if not event_types:
            return []
        rows = self._connection().execute(
            "SELECT id, message_id, event_type, happened, configuration_set, record FROM events "
            f"WHERE happened >= ? AND happened < ? AND event_type IN "
            f"({', '.join('?' * len(event_types))}) ORDER BY happened, id",
            [start, end, *event_types],
        )
        return [Event(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]


class _OverLimit(Exception):
    """Rolls back a call that would pass its limit."""


def placeholders(values: Sequence[object]) -> str:
    """`?, ?, ?`: one placeholder per value, for an `IN (...)` list."""
    return ", ".join("?" * len(values))


def _totals_at(conn: Connection, moment: float) -> tuple[int, int]:
    """The running totals of recipients sent at or before `moment`: all of them, and
    those the daily quota counts. (Both rise with every send, so the row of the
    highest `cumulative` holds the highest of each.)"""
    row = conn.execute(
        "SELECT cumulative, daily_cumulative FROM sends WHERE sent <= ? "
        "ORDER BY sent DESC, cumulative DESC LIMIT 1",
        (moment,),
    ).fetchone()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


_SUPPRESSED = "email, reason, updated, message_id, feedback_id FROM suppressed_destinations"
_LIST = "name, description, topics, tags, created, updated"
_CONTACT = "list_name, email, preferences, unsubscribe_all, attributes, created, updated"


def _contact_list(row: tuple[Any, ...]) -> ContactList:
    return ContactList(row[0], row[1], json.loads(row[2]), json.loads(row[3]), row[4], row[5])


def _contact(row: tuple[Any, ...]) -> Contact:
    return Contact(row[0], row[1], json.loads(row[2]), bool(row[3]), row[4], row[5], row[6])


def _insert_contact(conn: Connection, record: Contact) -> None:
    conn.execute(
        "INSERT INTO contacts (list_name, email_key, email, preferences, unsubscribe_all, "
        "attributes, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.list_name,
            record.email.lower(),
            record.email,
            _json(record.preferences),
            int(record.unsubscribe_all),
            record.attributes,
            record.created,
            record.updated,
        ),
    )
