"""The PostgreSQL store: several processes and machines on one database.

The SQL is relational.py's; this module supplies connections from a
`psycopg_pool.ConnectionPool` and the dialect:

- Placeholders: the shared SQL says `?`; each statement is translated to psycopg's
  `%s` once and remembered.
- Reads run each statement on its own (autocommit connections), as SQLite's do;
  a write is one transaction (`BEGIN` ... `COMMIT`, READ COMMITTED).
- Rows read to be changed are locked (`FOR UPDATE`), so two PUTs of different
  option blocks cannot lose one; claims of the outbound queue and of the
  publishing outbox take `FOR UPDATE SKIP LOCKED`, so two workers never take the
  same row and neither waits for the other. Leases (`lease_until`) hand a dead
  worker's rows to the next claim.
- Check-then-write steps take a transaction-scoped advisory lock
  (`pg_advisory_xact_lock`), and so do migrations: nodes started together apply
  them one at a time, and the later ones find nothing left to do.
- Text columns are created `COLLATE "C"`: names sort and compare byte by byte as
  on SQLite (the `name > ?` paging needs the same order as `ORDER BY`), and
  lower() folds ASCII letters only, as the inbox filter expects.

Reads wait on the network, so `fast_reads` is false: the web layer runs every call
on its thread pool, sized to the connection pool (`concurrency`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from sesame.store import DEFAULT_POOL_SIZE
from sesame.store.base import Duplicate, Unreachable, Unstorable
from sesame.store.relational import Connection, RelationalStore, lock_key


@lru_cache(maxsize=1024)
def _placeholders(sql: str) -> str:
    """`?` → `%s` (the shared SQL has no `?` or `%` inside literals)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Result:
    """The rows of a statement already run, for a read whose connection went back."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class _Transaction:
    """A pooled connection inside one transaction, speaking `?` placeholders."""

    __slots__ = ("_conn",)

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        return self._conn.execute(_placeholders(sql), parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> psycopg.Cursor[Any]:
        cursor = self._conn.cursor()
        cursor.executemany(_placeholders(sql), parameters)
        return cursor


class _Reads:
    """Each statement on a connection borrowed from the pool for just that statement."""

    __slots__ = ("_pool",)

    def __init__(self, pool: ConnectionPool[psycopg.Connection[Any]]) -> None:
        self._pool = pool

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> _Result:
        with _storable(), self._pool.connection() as conn:
            cursor = conn.execute(_placeholders(sql), parameters)
            rows = cursor.fetchall() if cursor.description is not None else []
            return _Result(rows, cursor.rowcount)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> _Result:
        raise TypeError("a read runs no executemany")


class PostgresStore(RelationalStore):
    """Store on a PostgreSQL database (see the module docstring)."""

    fast_reads = False
    _substring = "strpos"
    _click_link = "(record::json) -> 'click' ->> 'link'"
    _lock = " FOR UPDATE"
    _claim_lock = " FOR UPDATE SKIP LOCKED"

    def __init__(
        self, url: str, *, pool_size: int = DEFAULT_POOL_SIZE, migrate: bool = True
    ) -> None:
        if pool_size < 1:
            raise ValueError("the database pool size must be at least 1")
        self.concurrency = pool_size
        try:
            # One connection first: its error says why (refused, no such database, a
            # failed login), where the pool would only time out.
            psycopg.connect(url, connect_timeout=10).close()
        except psycopg.Error as problem:
            raise Unreachable(f"cannot connect to PostgreSQL: {problem}".strip()) from None
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True},
            open=False,
            name="sesame",
        )
        # Wait for the pool's first connection, so the store is usable on return.
        self._pool.open(wait=True, timeout=30)
        self._reads = _Reads(self._pool)
        try:
            if migrate:
                self.migrate()
        except BaseException:
            self._pool.close()
            raise

    def _connection(self) -> _Reads:
        return self._reads

    @contextmanager
    def _write(self) -> Iterator[_Transaction]:
        try:
            with _storable(), self._pool.connection() as conn, conn.transaction():
                yield _Transaction(conn)
        except psycopg.errors.UniqueViolation as problem:
            raise Duplicate(problem.diag.constraint_name or "") from None

    def _serialise(self, conn: Connection, key: str) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(?)", (lock_key(key),))

    def _ddl(self, statement: str) -> str:
        return _TEXT.sub('TEXT COLLATE "C"', statement)

    def close(self) -> None:
        self._pool.close()


_TEXT = re.compile(r"\bTEXT\b")


@contextmanager
def _storable() -> Iterator[None]:
    """A NUL in a text parameter (psycopg refuses it before sending) → Unstorable."""
    try:
        yield
    except psycopg.DataError as problem:
        if "NUL" not in str(problem):
            raise
        raise Unstorable("Text values must not contain the NUL character (U+0000).") from None
