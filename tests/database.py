"""PostgreSQL for the tests: which server, and a fresh schema for each test.

The server is the one SESAME_TEST_DATABASE_URL names, or else the one answering on
127.0.0.1:5432 (user postgres, trust auth, as on CI). Without SESAME_TEST_DATABASE_URL
the session creates a database of its own there and drops it at the end; with it,
the schemas are made in the database it names. Each test gets a schema of its own
(`search_path` in the URL's `options`), dropped after the test: creating one and
migrating it costs a few tens of milliseconds, and nothing a test wrote can leak
into the next.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg

VARIABLE = "SESAME_TEST_DATABASE_URL"
LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str | None:
    """The URL of the server the tests use, or None when there is none."""
    given = os.environ.get(VARIABLE)
    if given:
        return given
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return LOCAL
    except OSError:
        return None


def why_missing() -> str:
    return f"no PostgreSQL: {VARIABLE} is not set and nothing answers on 127.0.0.1:5432"


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(database)))


def with_schema(url: str, schema: str) -> str:
    """`url` with every connection's search_path set to `schema`."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


class Server:
    """One test session's PostgreSQL: a database to make schemas in."""

    def __init__(self, url: str) -> None:
        self.own_database: str | None = None
        if os.environ.get(VARIABLE):
            self.url = url
        else:
            self.own_database = "sesame_test_" + uuid.uuid4().hex[:12]
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.own_database}"')
            self.url = with_database(url, self.own_database)

    @contextmanager
    def schema(self) -> Iterator[str]:
        """A URL whose connections see a new, empty schema (dropped afterwards)."""
        name = "sesame_test_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        try:
            yield with_schema(self.url, name)
        finally:
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')

    def close(self, admin_url: str) -> None:
        if self.own_database is not None:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{self.own_database}" WITH (FORCE)')
