"""The SQL behind the Store, once for both backends.

`RelationalStore` holds every method's SQL, written against the small
`Connection` interface below (which `Connection` meets as it is, and the
PostgreSQL store meets with a thin adapter that turns `?` into `%s`). A backend
supplies connections and transactions (`_connection()` for reads, each statement
on its own; `_write()` for one transaction) and says where its dialect differs:

- `_substring`: the SQL function that finds a substring (`instr` / `strpos`).
- `_click_link`: the SQL expression of a stored Click record's `click.link`
  (`json_extract` / `->>`).
- `_lock` and `_claim_lock`: the clause that locks rows read in a write
  transaction (none on SQLite, where a writer is alone; `FOR UPDATE` and
  `FOR UPDATE SKIP LOCKED` on PostgreSQL).
- `_serialise(conn, key)`: make writers with the same key take turns until commit
  (a no-op under SQLite's one writer; an advisory lock on PostgreSQL). It guards
  the check-then-write steps that row locks cannot: counting against a limit,
  creating the one SNS certificate, a lane's head of the publishing outbox, and
  migrations started by several nodes at once.
- `_ddl(statement)`: a migration statement as the backend runs it.

A backend's `_write()` turns a unique-key violation into `Duplicate`, so a race
that passes a `SELECT 1` check still answers as a duplicate, never as a 500.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sesame.events import routing
from sesame.store.account import AccountTables, placeholders
from sesame.store.base import (
    ConfigurationSet,
    Cursor,
    Delivery,
    Duplicate,
    EmailIdentity,
    EmailTemplate,
    Event,
    EventDestination,
    LimitReached,
    Message,
    MessageFilter,
    MessageSummary,
    Missing,
    Publication,
    SigningKey,
    SnsCertificate,
)
from sesame.store.ids import new_id
from sesame.store.schema import migrations


class Rows(Protocol):
    """What a statement returns: `sqlite3.Cursor` and psycopg's cursor both are this."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The part of a DB-API connection the SQL below uses, `?` placeholders."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Rows: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Rows: ...


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


# Event records and the `mail` object keep the order SES writes their members in
# (and records are the hot path of click recording): one encoder, no sorting.
_RECORD = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _encode_record(record: Mapping[str, Any], shared: dict[int, tuple[object, str]]) -> str:
    """`_RECORD.encode(record)`, the same text, with a `mail` object already encoded in
    `shared` (by identity) taken from there: the records of one message's events share
    their `mail` (events/records.py), which is most of a Click's record, and a batch
    holds many Clicks of each message. Records shaped as records.py shapes them
    (`eventType`, then `mail`, then the rest) are put together from three pieces;
    any other shape is encoded whole."""
    keys = list(record)
    mail = record.get("mail")
    if keys[:2] != ["eventType", "mail"] or not isinstance(mail, dict):
        return _RECORD.encode(record)
    known = shared.get(id(mail))
    if known is None:
        # The object is kept with its text, so its id is not reused meanwhile.
        known = shared[id(mail)] = (mail, _RECORD.encode(mail))
    head = '{"eventType":' + _RECORD.encode(record["eventType"]) + ',"mail":' + known[1]
    if len(keys) == 2:
        return head + "}"
    # The members after `mail`, as one object without its opening brace.
    return head + "," + _RECORD.encode({key: record[key] for key in keys[2:]})[1:]


def _diagnostic(error: str) -> str:
    """An error text as kept: a remote SMTP or HTTP server wrote it, and PostgreSQL
    text cannot hold a NUL."""
    return error.replace("\x00", "")


def lock_key(name: str) -> int:
    """A signed 64-bit number for `name` (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


class RelationalStore(AccountTables):
    """Every Store method, in SQL; a subclass supplies connections and the dialect."""

    fast_reads: bool
    concurrency: int
    _substring = "instr"
    _click_link = "json_extract(record, '$.click.link')"
    _lock = ""
    _claim_lock = ""

    # What a backend supplies --------------------------------------------------
    def _connection(self) -> Connection:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _serialise(self, conn: Connection, key: str) -> None:
        """Writers with the same `key` take turns until commit (no-op: one writer)."""

    def _ddl(self, statement: str) -> str:
        return statement

    def close(self) -> None:
        raise NotImplementedError

    def migrate(self, target: int | None = None) -> int:
        """Apply pending migrations (up to `target`); return the schema version in force."""
        with self._write() as conn:
            self._serialise(conn, "sesame:migrations")
            conn.execute(
                self._ddl(
                    "CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied DOUBLE PRECISION)"
                )
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for migration in migrations():
                if migration.version in done or (target is not None and migration.version > target):
                    continue
                for statement in migration.statements():
                    conn.execute(self._ddl(statement))
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (migration.version, migration.name, time.time()),
                )
            row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    # Configuration sets -----------------------------------------------------
    def create_configuration_set(self, record: ConfigurationSet, *, limit: int) -> None:
        with self._write() as conn:
            self._serialise(conn, "sesame:configuration_sets")
            (count,) = conn.execute("SELECT COUNT(*) FROM configuration_sets").fetchone()
            exists = conn.execute(
                "SELECT 1 FROM configuration_sets WHERE name = ?", (record.name,)
            ).fetchone()
            if exists:
                raise Duplicate(record.name)
            if count >= limit:
                raise LimitReached(record.name)
            conn.execute(
                "INSERT INTO configuration_sets (name, options, tags, created) VALUES (?, ?, ?, ?)",
                (record.name, _dump(record.options), _dump(record.tags), record.created),
            )

    def get_configuration_set(self, name: str) -> ConfigurationSet | None:
        row = (
            self._connection()
            .execute(
                "SELECT name, options, tags, created FROM configuration_sets WHERE name = ?",
                (name,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return ConfigurationSet(row[0], json.loads(row[1]), json.loads(row[2]), row[3])

    def list_configuration_sets(
        self, *, after: str | None, limit: int, name_contains: str | None = None
    ) -> list[str]:
        sql = "SELECT name FROM configuration_sets WHERE name > ?"
        args: list[Any] = [after or ""]
        if name_contains:
            # A substring test on lower-cased text: a case-insensitive match with no
            # LIKE wildcards to escape.
            sql += f" AND {self._substring}(lower(name), ?) > 0"
            args.append(name_contains.lower())
        sql += " ORDER BY name LIMIT ?"
        args.append(limit)
        return [row[0] for row in self._connection().execute(sql, args)]

    def update_configuration_set(
        self,
        name: str,
        *,
        options: Mapping[str, dict[str, Any] | None] | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> bool:
        with self._write() as conn:
            row = conn.execute(
                f"SELECT options FROM configuration_sets WHERE name = ?{self._lock}", (name,)
            ).fetchone()
            if row is None:
                return False
            current = json.loads(row[0])
            for block, value in (options or {}).items():
                if value is None:
                    current.pop(block, None)
                else:
                    current[block] = value
            if tags is None:
                conn.execute(
                    "UPDATE configuration_sets SET options = ? WHERE name = ?",
                    (_dump(current), name),
                )
            else:
                conn.execute(
                    "UPDATE configuration_sets SET options = ?, tags = ? WHERE name = ?",
                    (_dump(current), _dump(tags), name),
                )
        return True

    def tracking_domains(self) -> set[str]:
        domains: set[str] = set()
        for (options,) in self._connection().execute("SELECT options FROM configuration_sets"):
            tracking = json.loads(options).get("TrackingOptions")
            if tracking:
                domains.add(tracking["CustomRedirectDomain"].lower().rstrip("."))
        return domains

    def delete_configuration_set(self, name: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM configuration_sets WHERE name = ?", (name,))
        return cursor.rowcount > 0

    # Event destinations -----------------------------------------------------
    def add_event_destination(
        self, set_name: str, destination: EventDestination, *, limit: int
    ) -> None:
        with self._write() as conn:
            # The set's row lock makes adds to one set take turns (limit, position).
            if not conn.execute(
                f"SELECT 1 FROM configuration_sets WHERE name = ?{self._lock}", (set_name,)
            ).fetchone():
                raise Missing(set_name)
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM event_destinations WHERE set_name = ?", (set_name,)
                )
            ]
            if destination.name in names:
                raise Duplicate(destination.name)
            if len(names) >= limit:
                raise LimitReached(destination.name)
            (position,) = conn.execute(
                "SELECT COALESCE(MAX(position), 0) + 1 FROM event_destinations WHERE set_name = ?",
                (set_name,),
            ).fetchone()
            conn.execute(
                "INSERT INTO event_destinations (set_name, name, position, definition) "
                "VALUES (?, ?, ?, ?)",
                (set_name, destination.name, position, _dump(destination.definition)),
            )

    def list_event_destinations(self, set_name: str) -> list[EventDestination] | None:
        conn = self._connection()
        if not conn.execute(
            "SELECT 1 FROM configuration_sets WHERE name = ?", (set_name,)
        ).fetchone():
            return None
        rows = conn.execute(
            "SELECT name, definition FROM event_destinations WHERE set_name = ? ORDER BY position",
            (set_name,),
        )
        return [EventDestination(row[0], json.loads(row[1])) for row in rows]

    def replace_event_destination(self, set_name: str, destination: EventDestination) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE event_destinations SET definition = ? WHERE set_name = ? AND name = ?",
                (_dump(destination.definition), set_name, destination.name),
            )
        return cursor.rowcount > 0

    def delete_event_destination(self, set_name: str, name: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM event_destinations WHERE set_name = ? AND name = ?", (set_name, name)
            )
        return cursor.rowcount > 0

    # Email identities -------------------------------------------------------
    def create_identity(self, record: EmailIdentity) -> None:
        # A taken name fails the primary key: `_write()` raises Duplicate.
        with self._write() as conn:
            conn.execute(
                "INSERT INTO email_identities (name, kind, attributes, tags, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    record.name,
                    record.kind,
                    _dump(record.attributes),
                    _dump(record.tags),
                    record.created,
                ),
            )

    def get_identity(self, name: str) -> EmailIdentity | None:
        row = (
            self._connection()
            .execute(
                "SELECT name, kind, attributes, tags, created FROM email_identities WHERE name = ?",
                (name,),
            )
            .fetchone()
        )
        return None if row is None else _identity(row)

    def list_identities(self, *, after: str | None, limit: int) -> list[EmailIdentity]:
        rows = self._connection().execute(
            "SELECT name, kind, attributes, tags, created FROM email_identities "
            "WHERE name > ? ORDER BY name LIMIT ?",
            (after or "", limit),
        )
        return [_identity(row) for row in rows]

    def update_identity(
        self,
        name: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> bool:
        with self._write() as conn:
            row = conn.execute(
                f"SELECT attributes, tags FROM email_identities WHERE name = ?{self._lock}", (name,)
            ).fetchone()
            if row is None:
                return False
            current = json.loads(row[0])
            for key, value in (attributes or {}).items():
                if value is None:
                    current.pop(key, None)
                else:
                    current[key] = value
            conn.execute(
                "UPDATE email_identities SET attributes = ?, tags = ? WHERE name = ?",
                (_dump(current), row[1] if tags is None else _dump(tags), name),
            )
        return True

    def delete_identity(self, name: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM email_identities WHERE name = ?", (name,))
        return cursor.rowcount > 0

    # Messages, the outbound queue and events ---------------------------------
    def accept_message(
        self,
        message: Message,
        events: list[Event],
        *,
        due: float | None,
        relay_to: list[str] | None = None,
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO messages (id, created, configuration_set, sender, recipients, mail, "
                "content, links) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message.id,
                    message.created,
                    message.configuration_set,
                    message.sender,
                    _dump(message.recipients),
                    _RECORD.encode(message.mail),
                    message.content,
                    _dump(message.links),
                ),
            )
            if due is not None:
                # `remaining` names the recipients still to deliver to (all when NULL).
                remaining = None
                if relay_to is not None and relay_to != message.recipients:
                    remaining = _dump(relay_to)
                conn.execute(
                    "INSERT INTO outbox (message_id, due, attempts, remaining) VALUES (?, ?, 0, ?)",
                    (message.id, due, remaining),
                )
            self._insert_events(conn, events)

    def get_message(self, message_id: str) -> Message | None:
        row = (
            self._connection()
            .execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,))
            .fetchone()
        )
        return None if row is None else _message(row)

    def message_facts(self, message_id: str) -> tuple[dict[str, Any], str | None, list[Any]] | None:
        row = (
            self._connection()
            .execute(
                "SELECT mail, configuration_set, links FROM messages WHERE id = ?", (message_id,)
            )
            .fetchone()
        )
        return None if row is None else (json.loads(row[0]), row[1], json.loads(row[2]))

    def list_messages(
        self, *, message_id: str | None = None, recipient: str | None = None, limit: int = 1000
    ) -> list[Message]:
        sql = f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE 1 = 1"
        args: list[Any] = []
        if message_id is not None:
            sql += " AND id = ?"
            args.append(message_id)
        if recipient is not None:
            # The recipients column is a JSON list of addresses: match a whole entry.
            sql += f" AND (sender = ? OR {self._substring}(recipients, ?) > 0)"
            args += [recipient, json.dumps(recipient)]
        sql += " ORDER BY created DESC, id DESC LIMIT ?"
        args.append(limit)
        return [_message(row) for row in self._connection().execute(sql, args)]

    def claim_deliveries(self, *, now: float, lease: float, limit: int) -> list[Delivery]:
        with self._write() as conn:
            # Rows another worker is claiming right now are skipped, not waited for.
            rows = conn.execute(
                "SELECT message_id, attempts, remaining FROM outbox WHERE due <= ? "
                "AND (lease_until IS NULL OR lease_until < ?) "
                f"ORDER BY due LIMIT ?{self._claim_lock}",
                (now, now, limit),
            ).fetchall()
            claimed: list[Delivery] = []
            for message_id, attempts, remaining in rows:
                conn.execute(
                    "UPDATE outbox SET lease_until = ? WHERE message_id = ?",
                    (now + lease, message_id),
                )
                row = conn.execute(
                    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)
                ).fetchone()
                message = _message(row)
                recipients = message.recipients if remaining is None else json.loads(remaining)
                claimed.append(Delivery(message, attempts, recipients))
        return claimed

    def finish_deliveries(self, finished: Sequence[tuple[str, list[Event]]]) -> None:
        with self._write() as conn:
            conn.executemany(
                "DELETE FROM outbox WHERE message_id = ?", [(id_,) for id_, _ in finished]
            )
            self._insert_events(conn, [e for _, events in finished for e in events])

    def defer_delivery(
        self,
        message_id: str,
        *,
        due: float,
        error: str,
        remaining: list[str],
        events: list[Event],
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, due = ?, lease_until = NULL, "
                "last_error = ?, remaining = ? WHERE message_id = ?",
                (due, _diagnostic(error), _dump(remaining), message_id),
            )
            self._insert_events(conn, events)

    def pending_deliveries(self) -> int:
        (count,) = self._connection().execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count)

    def add_events(self, events: list[Event]) -> None:
        with self._write() as conn:
            self._insert_events(conn, events)

    def list_events(
        self,
        *,
        message_id: str | None = None,
        event_type: str | None = None,
        configuration_set: str | None = None,
        since: float | None = None,
        limit: int = 1000,
        actor: str | None = None,
    ) -> list[Event]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE 1 = 1"
        args: list[Any] = []
        for column, value in (
            ("message_id", message_id),
            ("event_type", event_type),
            ("configuration_set", configuration_set),
            ("actor", actor),
        ):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        if since is not None:
            sql += " AND happened >= ?"
            args.append(since)
        sql += " ORDER BY happened, id LIMIT ?"
        args.append(limit)
        return [_event(row) for row in self._connection().execute(sql, args)]

    def recent_clicks(
        self, message_id: str, since: float, *, limit: int = 1000
    ) -> list[tuple[str, float, str | None, Any]]:
        rows = self._connection().execute(
            f"SELECT id, happened, actor, {self._click_link} FROM events "
            "WHERE message_id = ? AND event_type = 'Click' AND happened >= ? "
            "ORDER BY happened, id LIMIT ?",
            (message_id, since, limit),
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]

    # Email templates ------------------------------------------------------------
    def create_email_template(self, record: EmailTemplate, *, limit: int) -> None:
        with self._write() as conn:
            self._serialise(conn, "sesame:email_templates")
            exists = conn.execute(
                "SELECT 1 FROM email_templates WHERE name = ?", (record.name,)
            ).fetchone()
            if exists:
                raise Duplicate(record.name)
            (count,) = conn.execute("SELECT COUNT(*) FROM email_templates").fetchone()
            if count >= limit:
                raise LimitReached(record.name)
            conn.execute(
                "INSERT INTO email_templates (name, content, tags, created) VALUES (?, ?, ?, ?)",
                (record.name, _dump(record.content), _dump(record.tags), record.created),
            )

    def get_email_template(self, name: str) -> EmailTemplate | None:
        row = (
            self._connection()
            .execute(
                "SELECT name, content, tags, created FROM email_templates WHERE name = ?", (name,)
            )
            .fetchone()
        )
        return None if row is None else _template(row)

    def list_email_templates(self, *, after: str | None, limit: int) -> list[EmailTemplate]:
        rows = self._connection().execute(
            "SELECT name, content, tags, created FROM email_templates "
            "WHERE name > ? ORDER BY name LIMIT ?",
            (after or "", limit),
        )
        return [_template(row) for row in rows]

    def update_email_template(
        self,
        name: str,
        content: dict[str, str] | None = None,
        *,
        tags: list[dict[str, str]] | None = None,
    ) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE email_templates SET content = COALESCE(?, content), "
                "tags = COALESCE(?, tags) WHERE name = ?",
                (
                    None if content is None else _dump(content),
                    None if tags is None else _dump(tags),
                    name,
                ),
            )
        return cursor.rowcount > 0

    def delete_email_template(self, name: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM email_templates WHERE name = ?", (name,))
        return cursor.rowcount > 0

    # Tracking-link signing keys ------------------------------------------------
    def add_signing_key(self, key: SigningKey) -> None:
        # A taken id fails the primary key: `_write()` raises Duplicate.
        with self._write() as conn:
            conn.execute(
                "INSERT INTO signing_keys (id, secret, created) VALUES (?, ?, ?)",
                (key.id, key.secret, key.created),
            )

    def signing_keys(self) -> list[SigningKey]:
        rows = self._connection().execute(
            "SELECT id, secret, created FROM signing_keys ORDER BY created, id"
        )
        return [SigningKey(row[0], bytes(row[1]), row[2]) for row in rows]

    # --- publishing: the outbox of event publications (issue 4) ---------------
    def claim_publications(self, *, now: float, lease: float, limit: int) -> list[Publication]:
        with self._write() as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM publications WHERE head = 1 AND due <= ? "
                    "AND (lease_until IS NULL OR lease_until < ?) "
                    f"ORDER BY due LIMIT ?{self._claim_lock}",
                    (now, now, limit),
                )
            ]
            if not ids:
                return []
            conn.executemany(
                "UPDATE publications SET lease_until = ? WHERE id = ?",
                [(now + lease, id_) for id_ in ids],
            )
            # One statement for the claimed rows and their events, handed out in claim order.
            rows = {
                row[0]: row
                for row in conn.execute(
                    f"SELECT {_PUBLICATION_COLUMNS} FROM publications p "
                    f"JOIN events e ON e.id = p.event_id WHERE p.id IN ({placeholders(ids)})",
                    ids,
                )
            }
        return [_publication(rows[id_]) for id_ in ids if id_ in rows]

    def finish_publications(self, ids: list[str]) -> None:
        if not ids:
            return
        with self._write() as conn:
            found = conn.execute(
                "SELECT id, message_id, set_name, destination FROM publications "
                f"WHERE id IN ({placeholders(ids)})",
                ids,
            ).fetchall()
            lanes = sorted({(row[1], row[2], row[3]) for row in found})
            self._serialise_lanes(conn, lanes)
            conn.executemany("DELETE FROM publications WHERE id = ?", [(row[0],) for row in found])
            # Then each lane's next row heads it (the same as promoting after each delete:
            # a lane's finished rows are all gone before its oldest pending row is sought).
            for lane in lanes:
                _promote(conn, lane)

    def defer_publication(
        self, id: str, *, due: float, error: str, done: list[str], give_up: bool
    ) -> None:
        with self._write() as conn:
            # The lane's turn before the row's lock, in the order every lane writer
            # takes them, so two writers never wait for each other in a circle.
            lane = _lane_of(conn, id) if give_up else None
            if lane is not None:
                self._serialise_lanes(conn, [lane])
            conn.execute(
                "UPDATE publications SET attempts = attempts + 1, due = ?, lease_until = NULL, "
                "last_error = ?, done = ?, gave_up = ?, head = ? WHERE id = ?",
                (
                    due,
                    _diagnostic(error),
                    _dump(done),
                    due if give_up else None,
                    0 if give_up else 1,
                    id,
                ),
            )
            if lane is not None:
                _promote(conn, lane)

    def failed_publications(self, *, limit: int = 1000) -> list[Publication]:
        rows = self._connection().execute(
            f"SELECT {_PUBLICATION_COLUMNS} FROM publications p "
            "JOIN events e ON e.id = p.event_id WHERE p.last_error IS NOT NULL "
            "ORDER BY p.happened, p.position, p.id LIMIT ?",
            (limit,),
        )
        return [_publication(row) for row in rows]

    def pending_publications(self) -> int:
        (count,) = (
            self._connection()
            .execute("SELECT COUNT(*) FROM publications WHERE gave_up IS NULL")
            .fetchone()
        )
        return int(count)

    def update_events(self, events: list[Event]) -> None:
        with self._write() as conn:
            conn.executemany(
                "UPDATE events SET record = ?, actor = ? WHERE id = ?",
                [(_RECORD.encode(e.record), e.actor, e.id) for e in events],
            )

    def sns_certificate(self, make: Callable[[], SnsCertificate]) -> SnsCertificate:
        with self._write() as conn:
            self._serialise(conn, "sesame:sns_certificates")
            row = conn.execute(
                "SELECT id, private_key, certificate, created FROM sns_certificates "
                "ORDER BY created, id LIMIT 1"
            ).fetchone()
            if row is not None:
                return SnsCertificate(row[0], row[1], row[2], row[3])
            candidate = make()
            conn.execute(
                "INSERT INTO sns_certificates (id, private_key, certificate, created) "
                "VALUES (?, ?, ?, ?)",
                (candidate.id, candidate.private_key, candidate.certificate, candidate.created),
            )
        return candidate

    # --- inbox ------------------------------------------------------------------
    def inbox_messages(
        self,
        search: MessageFilter,
        *,
        before: Cursor | None = None,
        after: Cursor | None = None,
        limit: int = 50,
    ) -> list[MessageSummary]:
        # The SQL narrows the rows with substring tests that every match passes (the
        # subject sits inside the `mail` JSON, so its term is sought JSON-escaped);
        # MessageFilter.matches decides. Rows are read in batches along the
        # (created, id) order until the page is full.
        where, args = _inbox_where(search, self._substring)
        newer = after is not None and before is None
        cursor = after if newer else before
        found: list[MessageSummary] = []
        # Without a filter every row matches: read just the page.
        batch = max(limit, 200) if search.terms() else limit
        while len(found) < limit:
            sql = f"SELECT {_SUMMARY_COLUMNS} FROM messages WHERE {where}"
            page_args = list(args)
            if cursor is not None:
                op = ">" if newer else "<"
                sql += f" AND (created {op} ? OR (created = ? AND id {op} ?))"
                page_args += [cursor[0], cursor[0], cursor[1]]
            order = "ASC" if newer else "DESC"
            sql += f" ORDER BY created {order}, id {order} LIMIT ?"
            rows = self._connection().execute(sql, [*page_args, batch]).fetchall()
            for row in rows:
                summary = _summary(row)
                if search.matches(summary):
                    found.append(summary)
                    if len(found) == limit:
                        break
            if len(rows) < batch:
                break
            cursor = (rows[-1][1], rows[-1][0])
        return found[::-1] if newer else found

    def event_counts(self, message_ids: list[str]) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        if not message_ids:
            return counts
        rows = self._connection().execute(
            "SELECT message_id, event_type, COUNT(*) FROM events "
            f"WHERE message_id IN ({placeholders(message_ids)}) GROUP BY message_id, event_type",
            message_ids,
        )
        for message_id, event_type, count in rows:
            counts.setdefault(message_id, {})[event_type] = int(count)
        return counts

    def delete_message(self, message_id: str) -> bool:
        with self._write() as conn:
            # The queue row goes with it (ON DELETE CASCADE).
            cursor = conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))
        return cursor.rowcount > 0

    def clear_messages(self) -> int:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM messages")
        return int(cursor.rowcount)

    def _insert_events(self, conn: Connection, events: list[Event]) -> None:
        shared: dict[int, tuple[object, str]] = {}
        conn.executemany(
            "INSERT INTO events (id, message_id, event_type, happened, configuration_set, record, "
            "actor) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e.id,
                    e.message_id,
                    e.event_type,
                    e.happened,
                    e.configuration_set,
                    _encode_record(e.record, shared),
                    e.actor,
                )
                for e in events
            ],
        )
        self._enqueue_publications(conn, events)

    def _enqueue_publications(self, conn: Connection, events: list[Event]) -> None:
        """The publishing outbox: one row per (event, matching destination), read from the
        set's destinations as they are now, in the caller's transaction."""
        destinations: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
        rows: list[tuple[Any, ...]] = []
        for position, e in enumerate(events):
            if e.configuration_set is None:
                continue
            if e.configuration_set not in destinations:
                destinations[e.configuration_set] = [
                    (name, text, json.loads(text))
                    for name, text in conn.execute(
                        "SELECT name, definition FROM event_destinations WHERE set_name = ? "
                        "ORDER BY position",
                        (e.configuration_set,),
                    )
                ]
            for name, text, definition in destinations[e.configuration_set]:
                if routing.matches(definition, e.event_type):
                    rows.append(
                        (
                            new_id(),
                            e.id,
                            e.message_id,
                            e.configuration_set,
                            name,
                            text,
                            e.happened,
                            position,
                            routing.due(e.event_type, e.happened),
                        )
                    )
        if not rows:
            return
        lanes = list(dict.fromkeys((row[2], row[3], row[4]) for row in rows))
        self._serialise_lanes(conn, lanes)
        # A row heads its lane when the lane has nothing else pending: so only the first
        # row of an idle lane does (the rows after it find it pending). One look per lane.
        idle = {lane for lane in lanes if conn.execute(_LANE_PENDING, lane).fetchone() is None}
        values: list[tuple[Any, ...]] = []
        for row in rows:
            lane = (row[2], row[3], row[4])
            values.append((*row, 1 if lane in idle else 0))
            idle.discard(lane)
        conn.executemany(
            "INSERT INTO publications (id, event_id, message_id, set_name, destination, "
            "definition, happened, position, due, attempts, done, head) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '[]', ?)",
            values,
        )

    def _serialise_lanes(self, conn: Connection, lanes: list[tuple[str, str, str]]) -> None:
        """Writers of one outbox lane take turns, so a row written as its lane's head
        finishes cannot miss being promoted; in one order, so two never deadlock."""
        for lane in sorted(set(lanes)):
            self._serialise(conn, "sesame:lane:" + "\x00".join(lane))


def _json_fragment(term: str, *, ascii_only: bool) -> str:
    """How `term` appears inside a JSON string written by json.dumps."""
    return json.dumps(term, ensure_ascii=ascii_only)[1:-1]


def _inbox_where(search: MessageFilter, substring: str) -> tuple[str, list[Any]]:
    """A condition every message matching `search` meets (terms come folded, and
    lower() folds ASCII letters, as MessageFilter does: SQLite's lower() does no
    more, nor does PostgreSQL's on our columns, which are all COLLATE "C")."""
    tests = {
        "recipient": (f"{substring}(lower(recipients), ?) > 0", True),
        "sender": (f"{substring}(lower(sender), ?) > 0", None),
        "subject": (f"{substring}(lower(mail), ?) > 0", False),
        "configuration_set": (
            f"{substring}(lower(COALESCE(configuration_set, '')), ?) > 0",
            None,
        ),
        "message_id": (f"{substring}(lower(id), ?) > 0", None),
    }
    clauses: list[str] = ["1 = 1"]
    args: list[Any] = []

    def test(name: str, term: str) -> tuple[str, Any]:
        sql, ascii_only = tests[name]
        return sql, term if ascii_only is None else _json_fragment(term, ascii_only=ascii_only)

    for name, term in search.terms().items():
        if name == "text":
            pairs = [test(field, term) for field in tests]
            clauses.append("(" + " OR ".join(sql for sql, _ in pairs) + ")")
            args += [arg for _, arg in pairs]
        else:
            sql, arg = test(name, term)
            clauses.append(sql)
            args.append(arg)
    return " AND ".join(clauses), args


_SUMMARY_COLUMNS = "id, created, configuration_set, sender, recipients, mail"


def _summary(row: tuple[Any, ...]) -> MessageSummary:
    common = json.loads(row[5]).get("commonHeaders") or {}
    subject = common.get("subject")
    return MessageSummary(
        row[0],
        row[1],
        row[2],
        row[3],
        json.loads(row[4]),
        subject if isinstance(subject, str) else "",
    )


_MESSAGE_COLUMNS = "id, created, configuration_set, sender, recipients, mail, content, links"


def _message(row: tuple[Any, ...]) -> Message:
    return Message(
        row[0],
        row[1],
        row[2],
        row[3],
        json.loads(row[4]),
        json.loads(row[5]),
        bytes(row[6]),
        json.loads(row[7]),
    )


_LANE = "message_id = ? AND set_name = ? AND destination = ? AND gave_up IS NULL"
_LANE_PENDING = f"SELECT 1 FROM publications WHERE {_LANE} LIMIT 1"


def _promote(conn: Connection, lane: tuple[str, str, str]) -> None:
    """Make the oldest pending row of `lane` its head (after its head left)."""
    conn.execute(
        "UPDATE publications SET head = 1 WHERE id = ("
        f"SELECT id FROM publications WHERE {_LANE} ORDER BY happened, position LIMIT 1)",
        lane,
    )


def _lane_of(conn: Connection, id_: str) -> tuple[str, str, str] | None:
    row = conn.execute(
        "SELECT message_id, set_name, destination FROM publications WHERE id = ?", (id_,)
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


_EVENT_COLUMNS = "id, message_id, event_type, happened, configuration_set, record, actor"


def _event(row: tuple[Any, ...]) -> Event:
    return Event(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6])


_PUBLICATION_COLUMNS = (
    "p.id, p.set_name, p.destination, p.definition, p.attempts, p.done, p.last_error, "
    "p.gave_up, " + ", ".join(f"e.{column.strip()}" for column in _EVENT_COLUMNS.split(","))
)


def _publication(row: tuple[Any, ...]) -> Publication:
    return Publication(
        row[0],
        _event(row[8:]),
        row[1],
        row[2],
        json.loads(row[3]),
        row[4],
        json.loads(row[5]),
        row[6],
        row[7],
    )


def _identity(row: tuple[Any, ...]) -> EmailIdentity:
    return EmailIdentity(row[0], row[1], json.loads(row[2]), json.loads(row[3]), row[4])


def _template(row: tuple[Any, ...]) -> EmailTemplate:
    return EmailTemplate(row[0], json.loads(row[1]), json.loads(row[2]), row[3])
