"""Persistence. Only this package runs SQL (see README.md)."""

from __future__ import annotations

from pathlib import Path

from sesame.store.base import Store


def open_store(database_url: str) -> Store:
    """Open the store a `--database-url` names (`sqlite:///path` for now)."""
    if database_url.startswith("sqlite:///"):
        from sesame.store.sqlite import SQLiteStore

        return SQLiteStore(Path(database_url.removeprefix("sqlite:///")))
    scheme = database_url.split(":", 1)[0]
    raise ValueError(
        f"unsupported database URL scheme {scheme!r}: use sqlite:///path "
        "(postgresql:// comes with the multi-node store)"
    )
