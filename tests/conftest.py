"""Fixtures every test can use: a running Sesame and boto3 clients for it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from harness import RunningSesame, start_sesame


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
