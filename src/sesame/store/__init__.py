"""Persistence. Only this package runs SQL (see README.md)."""

from __future__ import annotations

from pathlib import Path

from sesame.store.base import Store

#: Connections a PostgreSQL store keeps at most, unless told (--database-pool-size).
DEFAULT_POOL_SIZE = 10


def open_store(
    database_url: str, *, pool_size: int = DEFAULT_POOL_SIZE, migrate: bool = True
) -> Store:
    """Open the store a `--database-url` names: `sqlite:///path`, or
    `postgresql://…` (also `postgres://…`, any libpq URI) with a pool of up to
    `pool_size` connections. Pending migrations are applied unless `migrate` is false."""
    if database_url.startswith("sqlite:///"):
        from sesame.store.sqlite import SQLiteStore

        return SQLiteStore(Path(database_url.removeprefix("sqlite:///")), migrate=migrate)
    if database_url.startswith(("postgresql://", "postgres://")):
        from sesame.store.postgres import PostgresStore

        return PostgresStore(database_url, pool_size=pool_size, migrate=migrate)
    scheme = database_url.split(":", 1)[0]
    raise ValueError(
        f"unsupported database URL scheme {scheme!r}: use sqlite:///path or postgresql://…"
    )
