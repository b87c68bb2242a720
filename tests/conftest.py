"""Fixtures every test can use: a running Sesame and boto3 clients for it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from harness import RunningSesame, start_sesame
from smtp_sink import SmtpSink


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
