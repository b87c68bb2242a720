"""The signing keys on the verifying side: held in memory, looked up for an unknown key
id at most once per `retry_seconds` (shared by every request meanwhile), a failing
store never an exception, a failed refresh keeping the keys held.

On a real SQLite store; its `signing_keys` is made to fail where a test needs the
database away (tests/test_edge.py does that to PostgreSQL for real)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sesame.keys import Keys, new_key
from sesame.mail.tokens import click_path
from sesame.store.base import SigningKey
from sesame.store.sqlite import SQLiteStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "keys.db")
    yield opened
    opened.close()


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown(wait=True)


def unreadable(store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> list[SigningKey]:
        raise OSError("the database is away")

    monkeypatch.setattr(store, "signing_keys", fail)


def test_a_held_key_needs_no_read_and_an_unknown_one_one_read_per_interval(
    store: SQLiteStore, executor: ThreadPoolExecutor
) -> None:
    clock = Clock()
    keys = Keys(store, executor, clock=clock)
    held = keys.keyring()
    path = click_path(held, "m1", 0, "https://example.org/")
    other = new_key(store)  # another node's rotation, not read here yet
    fresh = path.replace(f"/{held.current}.", f"/{other.id}.")
    unknown = path.replace(f"/{held.current}.", "/zzzzzz.")

    async def run() -> None:
        loads = keys.loads
        assert await keys.verifying(path) is held
        assert await keys.verifying("/L0/x/0/m1/no-key-id") is None
        assert keys.loads == loads
        # Fifty requests for a key id not held share one read, which finds it.
        found = await asyncio.gather(*(keys.verifying(fresh) for _ in range(50)))
        assert keys.loads == loads + 1
        assert all(ring is not None and other.id in ring.keys for ring in found)
        # A key id nobody has: one more read when the interval has passed, none before.
        clock.now += keys.retry_seconds
        assert await keys.verifying(unknown) is None
        assert [await keys.verifying(unknown) for _ in range(20)] == [None] * 20
        assert keys.loads == loads + 2

    asyncio.run(run())


def test_a_store_that_fails_means_unknown_key_and_keeps_the_keys_held(
    store: SQLiteStore, executor: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    keys = Keys(store, executor, clock=clock, refresh_seconds=0.01)
    held = keys.keyring()
    path = click_path(held, "m1", 0, "https://example.org/")
    unreadable(store, monkeypatch)

    async def run() -> None:
        loads = keys.loads
        assert await keys.verifying(path.replace(f"/{held.current}.", "/zzzzzz.")) is None
        assert keys.loads == loads + 1
        # The background refresh fails too, a few times; the keys stay.
        refreshing = asyncio.create_task(keys.run())

        async def failed_thrice() -> None:
            while keys.loads < loads + 4:
                await asyncio.sleep(0)

        await asyncio.wait_for(failed_thrice(), 30)
        keys.stop()
        await refreshing
        assert await keys.verifying(path) is held

    asyncio.run(run())
    assert keys.keyring() is held


def test_a_new_key_signs_only_once_every_node_can_hold_it(
    store: SQLiteStore, executor: ThreadPoolExecutor
) -> None:
    wall = Clock()
    wall.now = 10_000.0
    store.add_signing_key(SigningKey("old001", b"o" * 32, 1_000.0))
    store.add_signing_key(SigningKey("new001", b"n" * 32, 10_000.0))
    keys = Keys(store, executor, wall_clock=wall, refresh_seconds=60)
    assert keys.activation_seconds == 120
    held = keys.keyring()
    assert set(held.keys) == {"old001", "new001"}  # verifies with both at once
    assert held.current == "old001"
    wall.now += 119
    assert keys.load().current == "old001"
    wall.now += 1
    assert keys.load().current == "new001"


def test_the_first_key_of_a_store_signs_at_once(
    store: SQLiteStore, executor: ThreadPoolExecutor
) -> None:
    keys = Keys(store, executor)
    [only] = store.signing_keys() or [None]
    held = keys.keyring()
    [created] = store.signing_keys()
    assert only is None and held.current == created.id
    # Two keys, both too new (two nodes that started together on an empty store):
    # every node signs with the same one, the oldest.
    store.add_signing_key(SigningKey("zz9999", b"z" * 32, created.created + 1))
    assert keys.load().current == created.id
