"""A load generator cheap enough not to be what it measures.

`C` HTTP/1.1 connections, each with one request in flight, write pre-built request
bytes (already SigV4-signed, so no signing happens while measuring) and read
responses with httptools' C parser, calling back into Python only once per
response. A server that answers `Connection: close` (moto's Werkzeug server does,
on every response) gets a new connection for its next request; the connect is
counted in that request's latency, as a client would pay it.

One round runs for a fixed duration: connections stop sending at the deadline, the
requests in flight finish, and the rate is the responses counted over the time until
the last one. The generator's own CPU time is measured per round too, so a report
can say how much of a core the generator needed for the rate it saw.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

import httptools

#: A round not drained this long after its deadline ends, its open requests counted as
#: connection errors (a hung server must not hang the benchmark).
STALL_SECONDS = 10.0
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass
class Round:
    """What one fixed-duration round saw."""

    seconds: float
    responses: int
    statuses: Counter[int]
    transport_errors: int
    p50_ns: float
    p99_ns: float
    generator_cpu: float  # seconds of this process's CPU over the round
    #: Indexes (into the request list) of acknowledged (2xx) requests, in order.
    acknowledged: list[int] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.responses / self.seconds if self.seconds else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)


@dataclass
class Target:
    """One server of a round and the requests for it (signed for its Host)."""

    host: str
    port: int
    requests: Sequence[bytes]
    next_index: Callable[[], int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.next_index = itertools.cycle(range(len(self.requests))).__next__


class _Run:
    """State shared by the connections of one round."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        targets: Sequence[Target],
        deadline: float,
        record_acks: bool,
    ) -> None:
        self.loop = loop
        self.targets = targets
        self.deadline = deadline
        self.record_acks = record_acks
        self.statuses: Counter[int] = Counter()
        self.latencies: list[int] = []
        self.acknowledged: list[int] = []
        self.live: set[_Connection] = set()
        self.transport_errors = 0
        self.open = 0
        self.last_response = 0.0
        self.done: asyncio.Future[None] = loop.create_future()

    def connect(self, target: Target, sent_at: int | None = None) -> None:
        self.open += 1
        self.loop.create_task(self._connect(target, sent_at))

    async def _connect(self, target: Target, sent_at: int | None) -> None:
        try:
            await self.loop.create_connection(
                lambda: _Connection(self, target, sent_at), target.host, target.port
            )
        except OSError:
            self.transport_errors += 1
            self.finished()

    def finished(self) -> None:
        self.open -= 1
        if self.open == 0 and not self.done.done():
            self.done.set_result(None)


class _Connection(asyncio.Protocol):
    def __init__(self, run: _Run, target: Target, sent_at: int | None) -> None:
        self.run = run
        self.target = target
        self.sent_at = sent_at
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.index = 0
        self.closing = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)
        self.run.live.add(self)
        self.send(self.sent_at)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.fail()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            # The server closed a connection while our request was in flight.
            self.run.transport_errors += 1
            self.closing = True
            self.run.live.discard(self)
            self.run.finished()

    # the request cycle
    def send(self, sent_at: int | None = None) -> None:
        assert self.transport is not None
        self.index = self.target.next_index()
        self.sent_at = time.perf_counter_ns() if sent_at is None else sent_at
        self.transport.write(self.target.requests[self.index])

    def fail(self) -> None:
        self.run.transport_errors += 1
        self.close()

    def close(self) -> None:
        self.closing = True
        self.run.live.discard(self)
        if self.transport is not None:
            self.transport.close()
        self.run.finished()

    # httptools callback: the only Python code run per response
    def on_message_complete(self) -> None:
        now = time.perf_counter_ns()
        run = self.run
        status = self.parser.get_status_code()
        run.statuses[status] += 1
        run.latencies.append(now - (self.sent_at or now))
        if run.record_acks and 200 <= status < 300:
            run.acknowledged.append(self.index)
        run.last_response = now / 1e9
        more = run.last_response < run.deadline
        if self.parser.should_keep_alive():
            if more:
                self.send()
            else:
                self.close()
        else:
            # Connection: close. Open the next connection before this one counts
            # as finished, so the round does not look drained in between.
            if more:
                run.connect(self.target, time.perf_counter_ns())
            self.close()


async def _round(
    targets: Sequence[Target], connections: int, seconds: float, record_acks: bool
) -> Round:
    loop = asyncio.get_running_loop()
    cpu0 = time.process_time()
    start = time.perf_counter()
    run = _Run(loop, targets, start + seconds, record_acks)
    for number in range(connections):
        # Spread evenly, as a round-robin load balancer would.
        run.connect(targets[number % len(targets)])
    try:
        await asyncio.wait_for(asyncio.shield(run.done), seconds + STALL_SECONDS)
    except TimeoutError:
        run.transport_errors += run.open
        for connection in list(run.live):
            connection.close()
    end = max(run.last_response, start + 1e-9)
    latencies = sorted(run.latencies)
    return Round(
        seconds=end - start,
        responses=sum(run.statuses.values()),
        statuses=run.statuses,
        transport_errors=run.transport_errors,
        p50_ns=percentile(latencies, 0.50),
        p99_ns=percentile(latencies, 0.99),
        generator_cpu=time.process_time() - cpu0,
        acknowledged=run.acknowledged,
    )


def run_round(
    loop: asyncio.AbstractEventLoop,
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    connections: int,
    seconds: float,
    record_acks: bool = False,
) -> Round:
    """One fixed-duration round of `requests` (cycled) over `connections` connections."""
    return run_spread(
        loop,
        [Target(host, port, requests)],
        connections=connections,
        seconds=seconds,
        record_acks=record_acks,
    )


def run_spread(
    loop: asyncio.AbstractEventLoop,
    targets: Sequence[Target],
    *,
    connections: int,
    seconds: float,
    record_acks: bool = False,
) -> Round:
    """One round over `connections` connections spread across `targets` in turn (with
    `record_acks`, indexes are into each target's own request list).

    SIGINT, SIGTERM and SIGHUP end the round and are raised again as KeyboardInterrupt
    or SystemExit once the loop has stopped: uvloop swallows an exception that a
    plain Python signal handler raises inside a protocol callback, and the caller
    must get the chance to stop its servers.
    """
    task = loop.create_task(_round(targets, connections, seconds, record_acks))
    caught: list[int] = []

    def interrupt(signum: int) -> None:
        caught.append(signum)
        task.cancel()

    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    for signum in SIGNALS:
        loop.add_signal_handler(signum, interrupt, signum)
    try:
        return loop.run_until_complete(task)
    except asyncio.CancelledError:
        if not caught:
            raise
        if caught[0] == signal.SIGINT:
            raise KeyboardInterrupt from None
        raise SystemExit(128 + caught[0]) from None
    finally:
        for signum, handler in previous.items():
            loop.remove_signal_handler(signum)
            signal.signal(signum, handler)


def percentile(sorted_values: Sequence[int], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return float(sorted_values[rank])


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def add_round_options(parser: argparse.ArgumentParser, *, rounds: int = 5) -> None:
    """--rounds, --seconds, --warmup and --connections, as every loadgen benchmark has them."""
    parser.add_argument(
        "--rounds", type=int, default=rounds, help=f"measured rounds (default {rounds})"
    )
    parser.add_argument("--seconds", type=float, default=2.5, help="seconds per round")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per scenario")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
