"""The delivery worker against a real store and a real SMTP server, with time under the
test's control (the only thing not real: nobody waits 300 s for a give-up)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from sesame.delivery.relay import Relay
from sesame.delivery.worker import DeliveryWorker
from sesame.events import records
from sesame.store import open_store
from sesame.store.base import ConfigurationSet, Message, Store

from smtp_sink import SmtpSink

CONTENT = b"From: a@example.com\r\nTo: slow@example.org\r\nSubject: s\r\n\r\nbody\r\n"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_message_that_keeps_failing_bounces_after_max_delivery_seconds(
    tmp_path: Path, sink: SmtpSink
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    executor = ThreadPoolExecutor(max_workers=1)
    clock = Clock(1_000.0)
    store.create_configuration_set(
        ConfigurationSet("short", {"DeliveryOptions": {"MaxDeliverySeconds": 300}}), limit=10
    )
    mail = records.mail_object(
        message_id="m1",
        timestamp=clock.now,
        source="a@example.com",
        source_arn="arn:aws:ses:us-east-1:000000000000:identity/example.com",
        account_id="000000000000",
        destination=["slow@example.org"],
        headers=[],
        headers_truncated=False,
        common_headers={},
        tags={},
    )
    message = Message(
        "m1", clock.now, "short", "a@example.com", ["slow@example.org"], mail, CONTENT
    )
    store.accept_message(message, [], due=clock.now)
    sink.reply("slow@example.org", *["451 4.4.7 still busy"] * 10)
    worker = DeliveryWorker(
        store, executor, Relay("127.0.0.1", sink.port), retry_seconds=60, clock=clock
    )

    async def attempts() -> list[int]:
        handled = []
        for now in (1_000.0, 1_060.0, 1_180.0, 1_420.0):
            clock.now = now
            handled.append(await worker.run_once())
        return handled

    try:
        # Tried at 1000 (retry due 1060), 1060 (due 1180), 1180 (next would be 1420, past
        # the 300 s allowed since 1000): given up on the third try; nothing left at 1420.
        assert asyncio.run(attempts()) == [1, 1, 1, 0]
        kinds = [e.event_type for e in store.list_events(message_id="m1")]
        assert kinds == ["DeliveryDelay", "DeliveryDelay", "Bounce"]
        bounce = store.list_events(message_id="m1", event_type="Bounce")[0].record["bounce"]
        assert (bounce["bounceType"], bounce["bounceSubType"]) == ("Transient", "General")
        assert bounce["bouncedRecipients"][0]["status"] == "4.4.7"
        assert store.pending_deliveries() == 0
    finally:
        executor.shutdown()
        store.close()


def queue_messages(store: Store, count: int, now: float) -> list[str]:
    ids = [f"q{index:03d}" for index in range(count)]
    for message_id in ids:
        recipient = f"{message_id}@example.org"
        mail = records.mail_object(
            message_id=message_id,
            timestamp=now,
            source="a@example.com",
            source_arn="arn:aws:ses:us-east-1:000000000000:identity/example.com",
            account_id="000000000000",
            destination=[recipient],
            headers=[],
            headers_truncated=False,
            common_headers={},
            tags={},
        )
        content = f"Message-ID: <{message_id}@example.com>\r\n".encode() + CONTENT
        message = Message(message_id, now, None, "a@example.com", [recipient], mail, content)
        store.accept_message(message, [], due=now)
    return ids


def received_ids(sink: SmtpSink) -> list[str]:
    return [str(r.message()["Message-ID"]).strip("<>").split("@")[0] for r in sink.drain()]


@dataclass
class Backlog:
    store: Store
    executor: ThreadPoolExecutor
    ids: list[str]


@pytest.fixture
def backlog(tmp_path: Path, sink: SmtpSink) -> Iterator[Backlog]:
    """64 messages queued on a fresh store; the module's sink emptied first."""
    list(sink.drain())
    store = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    executor = ThreadPoolExecutor(max_workers=1)
    yield Backlog(store, executor, queue_messages(store, 64, 1_000.0))
    executor.shutdown()
    store.close()


def test_a_backlog_is_delivered_once_each_with_outcomes_committed_in_groups(
    backlog: Backlog, sink: SmtpSink
) -> None:
    store, executor, ids = backlog.store, backlog.executor, backlog.ids
    commits: list[int] = []

    async def run() -> None:
        done = asyncio.Event()

        def committed(count: int) -> None:
            commits.append(count)
            if sum(commits) == len(ids):
                done.set()

        worker = DeliveryWorker(
            store, executor, Relay("127.0.0.1", sink.port), batch=16, on_events=committed
        )
        running = asyncio.create_task(worker.run())
        await asyncio.wait_for(done.wait(), 60)
        worker.stop()
        await running

    asyncio.run(run())
    assert sorted(received_ids(sink)) == ids
    delivered = store.list_events(event_type="Delivery")
    assert sorted(e.message_id for e in delivered) == ids
    assert store.pending_deliveries() == 0
    # One Delivery per message, and fewer commits than messages: outcomes that
    # finish together share a transaction.
    assert sum(commits) == len(ids)
    assert len(commits) < len(ids)


def test_stopping_records_every_message_in_hand_and_leaves_the_rest_queued(
    backlog: Backlog, sink: SmtpSink
) -> None:
    store, executor, ids = backlog.store, backlog.executor, backlog.ids

    async def run() -> None:
        worker = DeliveryWorker(store, executor, Relay("127.0.0.1", sink.port), batch=8)
        worker.on_events = lambda count: worker.stop()  # at the first commit
        await worker.run()

    asyncio.run(run())
    arrived = received_ids(sink)
    recorded = sorted(e.message_id for e in store.list_events(event_type="Delivery"))
    # Whatever reached the relay is recorded; what was never claimed is still queued.
    assert arrived and len(arrived) < len(ids)
    assert sorted(arrived) == recorded
    assert store.pending_deliveries() == len(ids) - len(recorded)
