"""Fixtures every test can use: a running Sesame and boto3 clients for it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sesame.config import shown_url

import database
from harness import RunningSesame, start_sesame
from smtp_sink import SmtpSink


def postgres_status() -> str:
    url = database.server_url()
    if url is None:
        outcome = "fail (CI is set)" if os.environ.get("CI") else "are skipped"
        return f"postgresql: {database.why_missing()}; the tests marked postgres {outcome}"
    return f"postgresql: {shown_url(url)}; the tests marked postgres run there"


def pytest_report_header(config: pytest.Config) -> str:
    return postgres_status()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Also under -q (which hides the header): `make test` says whether PostgreSQL ran.
    terminalreporter.write_line(postgres_status())


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[database.Server]:
    """The session's PostgreSQL (see tests/database.py); skipped without one, except
    on CI, where a missing PostgreSQL fails every test that needs it."""
    url = database.server_url()
    if url is None:
        if os.environ.get("CI"):
            pytest.fail(f"{database.why_missing()}, and CI must run the PostgreSQL tests")
        pytest.skip(database.why_missing())
    server = database.Server(url)
    yield server
    server.close(url)


@pytest.fixture
def postgres_url(postgres_server: database.Server) -> Iterator[str]:
    """A database URL for this test alone: an empty schema, dropped afterwards."""
    with postgres_server.schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_database(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings that put a test's servers on one database, once per backend: SQLite in
    the data dir they share, or a PostgreSQL schema of the test's own."""
    if request.param == "sqlite":
        return {}
    return {"database_url": request.getfixturevalue("postgres_url")}


@pytest.fixture(scope="session")
def sesame(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSesame]:
    running = start_sesame(tmp_path_factory.mktemp("sesame"))
    yield running
    running.stop()


@pytest.fixture
def ses(sesame: RunningSesame) -> Any:
    return sesame.client()


@pytest.fixture
def unique() -> str:
    """A fresh name for a test's resources, so tests share one server safely."""
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    """A real SMTP server for one test module's mail."""
    running = SmtpSink()
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def relayed(
    request: pytest.FixtureRequest, sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSesame]:
    """A Sesame delivering to `sink`; a module's RELAY_SETTINGS dict adds settings."""
    settings = getattr(request.module, "RELAY_SETTINGS", {})
    running = start_sesame(tmp_path_factory.mktemp("relayed"), smtp_relay=sink.address, **settings)
    yield running
    running.stop()


@pytest.fixture
def client(relayed: RunningSesame) -> Any:
    return relayed.client()


@pytest.fixture
def sender(client: Any, unique: str) -> str:
    """A From address on a freshly verified domain."""
    domain = f"{unique}.example.com"
    client.create_email_identity(EmailIdentity=domain)
    return f"news@{domain}"
