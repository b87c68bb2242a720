"""The publisher: take rows from the publishing outbox, publish them, record the outcome.

It runs inside `sesame serve` and `sesame worker`, beside the delivery worker,
with the same claim-and-lease pattern: a claim is a lease, so a publisher that
dies leaves its rows to be taken again once the lease runs out, and every event
is published at least once. The store hands out only the oldest pending row of
each (message, destination) lane, so a destination receives one message's
events in order; lanes are independent, so a failing destination holds up
nobody else.

A failed attempt is retried with exponential backoff (first after
`retry_seconds`, doubling, at most an hour apart). After `give_up_seconds`
since the event, the row is given up: kept with its last error for
`sesame events --failed`, and no longer blocking its lane. Each failure is
logged with a running count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

from sesame.events.machines import MACHINE
from sesame.events.targets import PublishError, Targets
from sesame.store.base import Publication, Store

log = logging.getLogger("sesame.publishing")

T = TypeVar("T")
#: How long a failing publication is retried before it is given up (one day).
GIVE_UP_SECONDS = 86_400.0
MAX_BACKOFF_SECONDS = 3_600.0


class Publisher:
    def __init__(
        self,
        store: Store,
        executor: Executor,
        targets: Targets,
        *,
        publish_machine_events: bool = True,
        retry_seconds: float = 5.0,
        give_up_seconds: float = GIVE_UP_SECONDS,
        lease_seconds: float = 60.0,
        batch: int = 32,
        poll_seconds: float = 1.0,
        concurrency: int = 16,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.executor = executor
        self.targets = targets
        self.publish_machine_events = publish_machine_events
        self.retry_seconds = retry_seconds
        self.give_up_seconds = give_up_seconds
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.clock = clock
        # Targets do blocking I/O (HTTP, botocore): their own threads, never the store's.
        self._io = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sesame-pub")
        #: Rows finished (published, or kept back) and attempts failed since start;
        #: `progress` is notified on each change, so tests and benchmarks wait on it.
        self.published = 0
        self.failures = 0
        self.progress = threading.Condition()
        self._unrouted: set[tuple[str, str]] = set()
        self._finished: list[str] = []
        self._wake = asyncio.Event()
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    def wake(self) -> None:
        """Events were written in this process: look now. Safe from any thread."""
        if self._event_loop is not None:
            self._event_loop.call_soon_threadsafe(self._wake.set)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Publish until stop(); a failing claim is logged, never fatal.

        Rows are published as they are claimed, up to `batch` at once, and each is
        finished on its own: a slow or hanging target keeps its own rows (and its
        threads) busy, while the other lanes go on being claimed and published."""
        self._event_loop = asyncio.get_running_loop()
        inflight: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping:
                self._wake.clear()
                claimed = await self._claim(self.batch - len(inflight))
                for item in claimed:
                    task = asyncio.create_task(self._handle(item))
                    inflight.add(task)
                    task.add_done_callback(inflight.discard)
                await self._finish()
                if not claimed and not self._stopping:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            await asyncio.gather(*inflight, return_exceptions=True)
            await self._finish()
        finally:
            self._io.shutdown(wait=True)
            self.targets.close()

    async def _db(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: call(*args, **kwargs))

    async def _claim(self, room: int) -> list[Publication]:
        if room <= 0:
            return []
        try:
            return await self._db(
                self.store.claim_publications,
                now=self.clock(),
                lease=self.lease_seconds,
                limit=room,
            )
        except Exception:
            log.exception("claiming publications failed")
            return []

    async def _handle(self, item: Publication) -> None:
        try:
            if await self._publish(item):
                self._finished.append(item.id)
        except Exception:
            # Left leased: taken again once the lease runs out.
            log.exception("publishing %s failed unexpectedly", item.id)
        self._wake.set()

    async def _finish(self) -> None:
        """Drop the rows finished since the last call, in one transaction."""
        if not self._finished:
            return
        finished, self._finished = self._finished, []
        try:
            await self._db(self.store.finish_publications, finished)
        except Exception:
            # Published but not dropped: they go again after the lease (at least once).
            log.exception("could not drop %d published rows", len(finished))
            return
        with self.progress:
            self.published += len(finished)
            self.progress.notify_all()

    async def run_once(self) -> int:
        """Claim one batch, publish it whole and finish it; the number of rows handled."""
        claimed = await self._claim(self.batch)
        await asyncio.gather(*(self._handle(item) for item in claimed))
        await self._finish()
        return len(claimed)

    def wait_for(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Block until `ready()` holds (checked on every change of the counts), or time out."""
        with self.progress:
            return self.progress.wait_for(ready, timeout)

    async def _publish(self, item: Publication) -> bool:
        """True when the row is done (published, or nothing to publish it to)."""
        if item.event.actor == MACHINE and not self.publish_machine_events:
            return True
        targets = self.targets.of(item.set_name, item.definition)
        if not targets:
            lane = (item.set_name, item.destination)
            if lane not in self._unrouted:
                self._unrouted.add(lane)
                log.info(
                    "event destination %s/%s has no target here (no --sns-webhook for its "
                    "topic, no --aws-endpoint-url): its events are not published",
                    *lane,
                )
            return True
        loop = asyncio.get_running_loop()
        done = list(item.done)
        errors: list[str] = []
        pending = [t for t in targets if t.key not in done]
        results = await asyncio.gather(
            *(loop.run_in_executor(self._io, t.publish, item.event) for t in pending),
            return_exceptions=True,
        )
        for target, result in zip(pending, results, strict=True):
            if isinstance(result, BaseException):
                reason = str(result) if isinstance(result, PublishError) else repr(result)
                errors.append(reason)
            else:
                done.append(target.key)
        if not errors:
            return True
        now = self.clock()
        give_up = now - item.event.happened >= self.give_up_seconds
        due = now + min(self.retry_seconds * 2**item.attempts, MAX_BACKOFF_SECONDS)
        log.warning(
            "publishing %s event %s to %s/%s failed (attempt %d, %d failures so far)%s: %s",
            item.event.event_type,
            item.event.id,
            item.set_name,
            item.destination,
            item.attempts + 1,
            self.failures + 1,
            "; giving up" if give_up else "",
            "; ".join(errors),
        )
        await self._db(
            self.store.defer_publication,
            item.id,
            due=due,
            error="; ".join(errors),
            done=done,
            give_up=give_up,
        )
        # Counted once recorded, so whoever waits on the count finds the row failed.
        with self.progress:
            self.failures += 1
            self.progress.notify_all()
        return False


def describe_failure(item: Publication) -> dict[str, Any]:
    """A failed publication as `sesame events --failed` and the admin endpoint show it."""
    return {
        "configurationSet": item.set_name,
        "destination": item.destination,
        "eventType": item.event.event_type,
        "messageId": item.event.message_id,
        "attempts": item.attempts,
        "lastError": item.last_error,
        "state": "retrying" if item.gave_up is None else "gave-up",
        "record": item.event.record,
    }
