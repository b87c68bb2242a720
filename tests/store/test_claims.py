"""Claims by several processes on one database: two store instances (two pools of
connections on PostgreSQL, two sets of SQLite connections), claiming at once, never
take the same row, and a row whose lease ran out is taken over."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sesame.store.base import ConfigurationSet, Event, EventDestination, Message, Store
from store.conftest import Backend, at_once

ROWS = 60
SNS = {"SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}}


@pytest.fixture
def pair(backend: Backend) -> Iterator[tuple[Store, Store]]:
    first, second = backend.open(), backend.open()
    yield first, second
    first.close()
    second.close()


def message(message_id: str) -> Message:
    return Message(message_id, 1.0, "cs", "from@example.com", ["to@example.com"], {}, b"x")


def claim_at_once(stores: list[Store], claim: Callable[[Store], list[str]]) -> list[str]:
    """Three threads per store claim in batches until nothing is left; all they took."""
    taken: list[str] = []

    def worker(store: Store) -> Callable[[], None]:
        def run() -> None:
            while batch := claim(store):
                taken.extend(batch)

        return run

    at_once(*[worker(store) for store in stores for _ in range(3)])
    return taken


def test_two_processes_never_claim_the_same_delivery(pair: tuple[Store, Store]) -> None:
    first, second = pair
    ids = [f"m{index:03}" for index in range(ROWS)]
    for message_id in ids:
        first.accept_message(message(message_id), [], due=0.0)

    def claim(store: Store) -> list[str]:
        return [d.message.id for d in store.claim_deliveries(now=1.0, lease=60.0, limit=4)]

    taken = claim_at_once([first, second], claim)
    assert sorted(taken) == ids  # every row once: none twice, none left
    assert first.claim_deliveries(now=30.0, lease=60.0, limit=ROWS) == []


def test_a_dead_processes_deliveries_are_taken_over_when_its_lease_ends(
    pair: tuple[Store, Store],
) -> None:
    dead, alive = pair
    for index in range(3):
        dead.accept_message(message(f"m{index}"), [], due=0.0)
    assert len(dead.claim_deliveries(now=10.0, lease=30.0, limit=10)) == 3
    # `dead` never finishes them: within its lease they stay its own.
    assert alive.claim_deliveries(now=39.0, lease=30.0, limit=10) == []
    taken = alive.claim_deliveries(now=41.0, lease=30.0, limit=10)
    assert sorted(d.message.id for d in taken) == ["m0", "m1", "m2"]
    assert dead.claim_deliveries(now=42.0, lease=30.0, limit=10) == []


def publishing(store: Store) -> list[str]:
    """A set whose destination takes Sends, and one Send event per message: ROWS lanes."""
    store.create_configuration_set(ConfigurationSet("cs"), limit=10)
    definition = {"Enabled": True, "MatchingEventTypes": ["SEND"], **SNS}
    store.add_event_destination("cs", EventDestination("d", definition), limit=10)
    ids = [f"m{index:03}" for index in range(ROWS)]
    for message_id in ids:
        send = Event(f"{message_id}-send", message_id, "Send", 1.0, "cs", {})
        store.accept_message(message(message_id), [send], due=None)
    return ids


def test_two_processes_never_claim_the_same_publication(pair: tuple[Store, Store]) -> None:
    first, second = pair
    ids = publishing(first)

    def claim(store: Store) -> list[str]:
        return [p.event.message_id for p in store.claim_publications(now=5.0, lease=60, limit=4)]

    assert sorted(claim_at_once([first, second], claim)) == ids


def test_a_dead_processes_publications_are_taken_over_when_its_lease_ends(
    pair: tuple[Store, Store],
) -> None:
    dead, alive = pair
    ids = publishing(dead)
    assert len(dead.claim_publications(now=5.0, lease=30.0, limit=ROWS)) == ROWS
    assert alive.claim_publications(now=34.0, lease=30.0, limit=ROWS) == []
    taken = alive.claim_publications(now=36.0, lease=30.0, limit=ROWS)
    assert sorted(p.event.message_id for p in taken) == ids
    alive.finish_publications([p.id for p in taken])
    assert alive.pending_publications() == 0


def test_lanes_stay_whole_when_writers_and_finishers_race(pair: tuple[Store, Store]) -> None:
    # One process finishes a lane's head while the other writes the lane's next event:
    # whichever commits first, the new row ends up claimable (never a lane without a
    # head, which would never be published).
    writer, finisher = pair
    ids = publishing(writer)
    heads = writer.claim_publications(now=5.0, lease=60.0, limit=ROWS)

    def write() -> None:
        for message_id in ids:
            writer.add_events([Event(f"{message_id}-2", message_id, "Send", 2.0, "cs", {})])

    def finish() -> None:
        for head in heads:
            finisher.finish_publications([head.id])

    at_once(write, finish)
    second = writer.claim_publications(now=100.0, lease=60.0, limit=ROWS * 2)
    assert sorted(p.event.id for p in second) == sorted(f"{m}-2" for m in ids)
