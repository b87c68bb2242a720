"""The embedded SQLite store: the zero-configuration default.

WAL mode lets readers run while one writer commits. Each thread gets its own
connection; writes in this process are serialised by one lock (SQLite allows
one writer at a time anyway, and queueing here is cheaper than spinning on
SQLITE_BUSY), while `busy_timeout` covers a second process on the same file.
`synchronous=NORMAL` under WAL means a commit survives a killed process, which
is what "committed before we answer" promises; it may not survive a power cut.

The SQL itself is in relational.py; `BEGIN IMMEDIATE` makes each write
transaction the only writer on the file, so SQLite needs no row locks.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sesame.store.base import Duplicate
from sesame.store.relational import RelationalStore

#: How long a connection waits for another process's write lock.
_BUSY_SECONDS = 10

# The extended result codes of a taken primary key or unique value.
_UNIQUE = {"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"}


def _use_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode (it stays so). Switching takes an exclusive lock, and
    SQLite does not wait on busy_timeout for it: several processes opening a new file
    at once see "database is locked", so the switch is retried for as long as the
    busy timeout would have waited. A file already in WAL needs no lock at all."""
    deadline = time.monotonic() + _BUSY_SECONDS
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as problem:
            if "locked" not in str(problem) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class SQLiteStore(RelationalStore):
    """Store on one SQLite file (see module docstring for the concurrency rules)."""

    fast_reads = True
    # One writer at a time is all SQLite allows; queueing calls for one thread
    # costs less than threads taking turns at the write lock and the GIL.
    concurrency = 1

    def __init__(self, path: str | Path, *, migrate: bool = True) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        if migrate:
            self.migrate()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_SECONDS * 1000}")
            _use_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except sqlite3.IntegrityError as problem:
                conn.execute("ROLLBACK")
                if problem.sqlite_errorname in _UNIQUE:
                    raise Duplicate(str(problem)) from None
                raise
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
