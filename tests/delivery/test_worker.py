"""The delivery worker against a real store and a real SMTP server, with time under the
test's control (the only thing not real: nobody waits 300 s for a give-up)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sesame.delivery.relay import Relay
from sesame.delivery.worker import DeliveryWorker
from sesame.events import records
from sesame.store import open_store
from sesame.store.base import ConfigurationSet, Message

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
