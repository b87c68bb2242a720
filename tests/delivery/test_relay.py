"""The SMTP relay client against a real SMTP server: replies classified, connections reused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from sesame.delivery.relay import Relay, RelayPool, wire_size

from harness import free_port
from smtp_sink import SmtpSink

MESSAGE = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: s\r\n\r\nbody\r\n"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    running = SmtpSink()
    running.start()
    yield running
    running.stop()


def test_connections_are_reused_between_messages(sink: SmtpSink) -> None:
    async def run() -> list[str]:
        pool = RelayPool(Relay("127.0.0.1", sink.port))
        outcomes = [await pool.send("a@example.com", ["b@example.org"], MESSAGE) for _ in range(3)]
        pool.close()
        return [o.response for o in outcomes]

    responses = asyncio.run(run())
    assert all(r.startswith("2.0.0 Ok") or r.startswith("Ok") for r in responses), responses
    peers = {sink.next().peer for _ in range(3)}
    assert len(peers) == 1


def test_replies_are_classified_per_recipient(sink: SmtpSink) -> None:
    sink.reply("later@example.org", "451 4.2.0 busy")
    sink.reply("never@example.org", "550 5.1.1 unknown user")

    async def run() -> tuple[list[str], list[str], list[str]]:
        pool = RelayPool(Relay("127.0.0.1", sink.port))
        outcome = await pool.send(
            "a@example.com", ["ok@example.org", "later@example.org", "never@example.org"], MESSAGE
        )
        pool.close()
        return (
            outcome.delivered,
            [f.status for f in outcome.transient],
            [f.diagnostic for f in outcome.permanent],
        )

    delivered, transient, permanent = asyncio.run(run())
    assert delivered == ["ok@example.org"]
    assert transient == ["4.2.0"]
    assert permanent == ["smtp; 550 5.1.1 unknown user"]


def test_an_unreachable_relay_is_a_transient_failure() -> None:
    async def run() -> tuple[list[str], list[int]]:
        pool = RelayPool(Relay("127.0.0.1", free_port(), timeout=5))
        outcome = await pool.send("a@example.com", ["b@example.org"], MESSAGE)
        return outcome.delivered, [f.code for f in outcome.transient]

    assert asyncio.run(run()) == ([], [421])


def test_a_dropped_idle_connection_is_replaced() -> None:
    first_sink = SmtpSink()
    first_sink.start()
    second_sink = SmtpSink(first_sink.port)

    async def run() -> list[str]:
        pool = RelayPool(Relay("127.0.0.1", first_sink.port))
        first = await pool.send("a@example.com", ["b@example.org"], MESSAGE)
        # The relay restarts: the connection kept idle in the pool is dead now.
        first_sink.stop()
        second_sink.start()
        second = await pool.send("a@example.com", ["b@example.org"], MESSAGE)
        pool.close()
        return [*first.delivered, *second.delivered]

    try:
        assert asyncio.run(run()) == ["b@example.org", "b@example.org"]
        assert second_sink.next().recipients == ["b@example.org"]
    finally:
        second_sink.stop()


def test_every_recipient_refused_is_an_outcome_and_the_next_message_still_goes(
    sink: SmtpSink,
) -> None:
    sink.reply("gone@example.org", "550 5.1.1 unknown user")
    sink.reply("busy@example.org", "452 4.2.2 mailbox full")

    async def run() -> tuple[list[str], list[int], list[int], list[str]]:
        pool = RelayPool(Relay("127.0.0.1", sink.port))
        refused = await pool.send(
            "a@example.com", ["gone@example.org", "busy@example.org"], MESSAGE
        )
        after = await pool.send("a@example.com", ["b@example.org"], MESSAGE)
        pool.close()
        return (
            refused.delivered,
            [f.code for f in refused.permanent],
            [f.code for f in refused.transient],
            after.delivered,
        )

    assert asyncio.run(run()) == ([], [550], [452], ["b@example.org"])
    assert sink.next().recipients == ["b@example.org"]


@pytest.mark.parametrize(
    ("content", "size"),
    [
        (b"a\r\nb\r\n", 6),  # CRLF throughout: its own length
        (b"a\nb\r\n", 6),  # a bare LF goes out as CRLF
        (b"a\rb\r\n", 6),  # so does a bare CR
        (b"a\r\nb", 6),  # and DATA always ends in CRLF
    ],
)
def test_the_size_announced_is_what_data_carries(content: bytes, size: int) -> None:
    assert wire_size(content) == size


def test_a_reused_connection_that_stops_answering_is_a_transient_failure(sink: SmtpSink) -> None:
    async def run() -> tuple[list[str], list[str]]:
        pool = RelayPool(Relay("127.0.0.1", sink.port, timeout=2.0))
        first = await pool.send("a@example.com", ["b@example.org"], MESSAGE)
        sink.hold()  # the pooled connection's next DATA is never answered
        try:
            second = await pool.send("a@example.com", ["b@example.org"], MESSAGE)
        finally:
            sink.release()
        pool.close()
        return first.delivered, [f.message for f in second.transient] + second.delivered

    first, second = asyncio.run(run())
    assert first == ["b@example.org"]
    assert len(second) == 1 and second[0].startswith("4.4.2 The relay connection failed")
