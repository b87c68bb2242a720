"""The publisher's own decisions, on a real SQLite store: giving up, and destinations
with no target here (the HTTP paths are in test_publishing.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sesame.events.publisher import Publisher
from sesame.events.sns import Signer
from sesame.events.targets import Targets
from sesame.store.base import ConfigurationSet, Event, EventDestination
from sesame.store.sqlite import SQLiteStore

TOPIC = "arn:aws:sns:us-east-1:123456789012:t"


@pytest.fixture
def made() -> Iterator[list[Publisher]]:
    publishers: list[Publisher] = []
    yield publishers
    for p in publishers:
        p.executor.shutdown(wait=True)  # type: ignore[attr-defined]
        p.store.close()


def publisher(
    made: list[Publisher], tmp_path: Path, webhooks: dict[str, list[str]], **options: float
) -> Publisher:
    store = SQLiteStore(tmp_path / "p.db")
    store.create_configuration_set(ConfigurationSet("cs"), limit=10)
    definition = {
        "Enabled": True,
        "MatchingEventTypes": ["SEND", "DELIVERY"],
        "SnsDestination": {"TopicArn": TOPIC},
    }
    store.add_event_destination("cs", EventDestination("d", definition), limit=10)
    targets = Targets(
        signer=Signer(store, "http://127.0.0.1:1"),
        webhooks=webhooks,
        aws_endpoint_url=None,
        region="us-east-1",
        account_id="123456789012",
    )
    made.append(Publisher(store, ThreadPoolExecutor(1), targets, **options))
    return made[-1]


def events(now: float) -> list[Event]:
    return [
        Event("s", "m", "Send", now, "cs", {"eventType": "Send"}),
        Event("d", "m", "Delivery", now + 0.001, "cs", {"eventType": "Delivery"}),
    ]


def run(publisher: Publisher) -> int:
    async def once() -> int:
        return await publisher.run_once()

    try:
        return asyncio.run(once())
    finally:
        publisher._io.shutdown(wait=True)
        publisher.targets.close()


def test_a_publication_past_its_deadline_is_given_up_and_unblocks_its_lane(
    made: list[Publisher], tmp_path: Path
) -> None:
    p = publisher(made, tmp_path, {TOPIC: ["http://127.0.0.1:9/x"]}, give_up_seconds=0)
    p.store.add_events(events(p.clock()))
    assert run(p) == 1
    [failed] = p.store.failed_publications()
    assert failed.event.event_type == "Send" and failed.gave_up is not None
    assert p.failures == 1
    [next_] = p.store.claim_publications(now=p.clock() + 1, lease=60, limit=10)
    assert next_.event.event_type == "Delivery"


def test_a_destination_without_a_target_is_logged_once_and_not_kept(
    made: list[Publisher], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    p = publisher(made, tmp_path, {})
    p.store.add_events(events(p.clock()))
    with caplog.at_level(logging.INFO, logger="sesame.publishing"):
        assert run(p) == 1
        p._io = ThreadPoolExecutor(1)
        assert run(p) == 1
    assert p.store.pending_publications() == 0 and p.store.failed_publications() == []
    notes = [r.message for r in caplog.records if "has no target here" in r.message]
    assert len(notes) == 1 and "cs/d" in notes[0]


def test_retries_back_off_doubling_and_each_failure_is_counted_in_the_log(
    made: list[Publisher], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1_000_000.0]
    p = publisher(
        made, tmp_path, {TOPIC: ["http://127.0.0.1:9/x"]}, retry_seconds=5, clock=lambda: now[0]
    )
    p.store.add_events(events(now[0]))

    async def attempts() -> list[int]:
        handled = []
        # (seconds after the event, rows expected): retries at +5, then +5+10, then +15+20.
        for at in (0, 4.9, 5, 14.9, 15, 34.9, 35):
            now[0] = 1_000_000.0 + at
            handled.append(await p.run_once())
        return handled

    with caplog.at_level(logging.WARNING, logger="sesame.publishing"):
        try:
            assert asyncio.run(attempts()) == [1, 0, 1, 0, 1, 0, 1]
        finally:
            p._io.shutdown(wait=True)
            p.targets.close()
    [failed] = p.store.failed_publications()
    assert failed.event.event_type == "Send" and failed.attempts == 4  # Delivery waits behind
    notes = [r.getMessage() for r in caplog.records]
    assert [n.split(" failed ")[1].split(")")[0] for n in notes] == [
        f"(attempt {i}, {i} failures so far" for i in (1, 2, 3, 4)
    ]
    assert all("cs/d" in n and "http://127.0.0.1:9/x" in n for n in notes)
