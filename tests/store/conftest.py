"""The store fixture of the contract suite: each test runs once per backend."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sesame.store import open_store
from sesame.store.base import Store


@dataclass(frozen=True)
class Backend:
    """Where a test's database is; `open()` as often as a test needs processes."""

    name: str
    url: str

    def open(self, **options: Any) -> Store:
        # A small pool: enough for the concurrency tests, cheap to open per test.
        return open_store(self.url, pool_size=4, **options)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", f"sqlite:///{tmp_path / 'contract.db'}")
    return Backend("postgres", request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    opened = backend.open()
    yield opened
    opened.close()


def at_once(*targets: Callable[[], None]) -> None:
    """Run each target on a thread of its own, all released together; wait for all.
    (An exception in one fails the test: pytest turns it into an error.)"""
    start = threading.Barrier(len(targets))

    def run(target: Callable[[], None]) -> None:
        start.wait()
        target()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
