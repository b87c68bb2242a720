"""Open and Click events, written in batches off the request path.

A pixel or a redirect must never wait on the database (nor fail because of
it): the tracking endpoint hands each hit to `record()`, which only appends to
an in-memory buffer. `run()` writes the buffer every `flush_seconds` (and on
shutdown), looking up each message's `mail` object once per batch.

The buffer is bounded (`max_pending` hits waiting, besides the batch being
written). While the database is slow or away the hits wait there; a batch whose
write fails goes back to the front and is tried again a `flush_seconds` later.
Hits beyond the bound are counted (`overflowed`) and logged: a warning when the
buffer first fills, then, after each flush, how many were lost since the last
report. Nothing is dropped silently.

On `stop()` the buffer is written once more; if that fails, the write is
retried for up to `stop_seconds`, and what still could not be written is logged
as lost, with its number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from sesame.events import records
from sesame.store.base import Event, Store

log = logging.getLogger("sesame.tracking")


@dataclass(slots=True)
class Hit:
    """One open or click, as the tracking endpoint saw it. Not frozen: one is made for
    every request, and a frozen dataclass's `__init__` costs four times as much;
    nothing changes a Hit once made."""

    #: "Open" or "Click".
    kind: str
    message_id: str
    happened: float
    ip_address: str
    user_agent: str
    #: Clicks only: the link's index in the message and its target.
    index: int = -1
    url: str = ""
    #: The HTTP method and any prefetch hint (Purpose, Sec-Purpose, X-Purpose, X-Moz),
    #: for telling machines from people (events/machines.py).
    method: str = "GET"
    purpose: str = ""


class EngagementRecorder:
    def __init__(
        self,
        store: Store,
        executor: Executor,
        *,
        flush_seconds: float = 1.0,
        max_pending: int = 100_000,
        stop_seconds: float = 10.0,
        on_written: Callable[[list[Event]], None] = lambda events: None,
        classify: Callable[[list[tuple[Hit, Event]]], list[Event]] | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self.stop_seconds = stop_seconds
        self.on_written = on_written
        #: Gives each Open and Click its person/machine verdict before it is stored.
        self.classify = classify
        self.pending: deque[Hit] = deque()
        #: Hits not recorded because the buffer was full, since the start.
        self.overflowed = 0
        self._reported = 0
        self._stopping = False
        self._wake = asyncio.Event()

    def record(self, hit: Hit) -> None:
        if len(self.pending) >= self.max_pending:
            self._overflow(1)
            return
        self.pending.append(hit)

    def _overflow(self, count: int) -> None:
        if self.overflowed == self._reported:
            # The first loss since the last report: said at once, not a second later.
            log.warning(
                "tracking buffer full (%d hits waiting for the database): "
                "further hits are counted and not recorded",
                len(self.pending),
            )
        self.overflowed += count

    def _report(self) -> None:
        if self.overflowed > self._reported:
            log.warning(
                "tracking buffer full: %d hits not recorded since the last report, %d in all",
                self.overflowed - self._reported,
                self.overflowed,
            )
            self._reported = self.overflowed

    async def run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_seconds)
            await self.flush()
            self._report()
        await self._final_flush()
        self._report()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def _final_flush(self) -> None:
        # A database that is away for a moment at shutdown should not cost the hits:
        # retry for a while, then say how many are lost.
        deadline = time.monotonic() + self.stop_seconds
        while True:
            await self.flush()
            if not self.pending:
                return
            if time.monotonic() >= deadline:
                log.error(
                    "stopping: %d tracking hits could not be recorded (the database did "
                    "not answer) and are lost",
                    len(self.pending),
                )
                return
            await asyncio.sleep(min(self.flush_seconds, max(deadline - time.monotonic(), 0)))

    async def flush(self) -> int:
        """Write what is buffered now; the number of events written."""
        if not self.pending:
            return 0
        batch = list(self.pending)
        self.pending.clear()
        loop = asyncio.get_running_loop()
        try:
            events = await loop.run_in_executor(self.executor, self._write, batch)
        except Exception as problem:
            # The database is away: put the hits back, oldest first, and try again next
            # time. What arrived meanwhile stays behind them; beyond the bound the
            # oldest of the batch give way, counted.
            log.warning("could not record %d tracking hits (%s); retrying", len(batch), problem)
            room = max(self.max_pending - len(self.pending), 0)
            kept = batch[-room:] if room else []
            self.pending.extendleft(reversed(kept))
            if len(kept) < len(batch):
                self._overflow(len(batch) - len(kept))
            return 0
        self.on_written(events)
        return len(events)

    def _write(self, batch: list[Hit]) -> list[Event]:
        facts: dict[str, tuple[dict[str, Any], str | None, list[Any]] | None] = {}
        events: list[Event] = []
        written: list[Hit] = []
        for hit in batch:
            if hit.message_id not in facts:
                facts[hit.message_id] = self.store.message_facts(hit.message_id)
            found = facts[hit.message_id]
            if found is None:
                continue  # signed by us, but the message is gone (deleted mailbox)
            mail, configuration_set, links = found
            written.append(hit)
            if hit.kind == "Open":
                events.append(
                    records.open_(
                        mail,
                        happened=hit.happened,
                        ip_address=hit.ip_address,
                        user_agent=hit.user_agent,
                        configuration_set=configuration_set,
                    )
                )
            else:
                tags = links[hit.index]["tags"] if 0 <= hit.index < len(links) else {}
                events.append(
                    records.click(
                        mail,
                        happened=hit.happened,
                        ip_address=hit.ip_address,
                        user_agent=hit.user_agent,
                        link=hit.url,
                        link_tags=tags,
                        configuration_set=configuration_set,
                    )
                )
        if events and self.classify is not None:
            events = self.classify(list(zip(written, events, strict=True)))
        if events:
            self.store.add_events(events)
        return events
