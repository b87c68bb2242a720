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
