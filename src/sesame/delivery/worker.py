"""The delivery worker: claim queued messages, hand them to the relay, record the outcome.

It runs inside `sesame serve` (and, later, as `sesame worker`). Store calls go
to the store's thread pool; SMTP is async. A claim is a lease: a worker that
dies leaves its rows to be taken over once the lease runs out, so delivery is
at least once.

Retries follow SES: a transient failure is retried with exponential backoff
(first after `retry_seconds`, doubling, at most an hour apart) and reported as a
DeliveryDelay event; once the configuration set's `MaxDeliverySeconds`
(default 50,400 s) has passed since the message was accepted, SES gives up and
reports a Transient bounce. A 5xx reply is a Permanent bounce at once. Each
recipient delivered gets a Delivery event of its own; a Bounce or DeliveryDelay
lists every recipient it concerns, as SES's do.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from sesame.delivery.relay import Failure, Outcome, Relay, RelayPool
from sesame.events import records
from sesame.store.base import Delivery, Event, Store
from sesame.suppression import suppress_from

log = logging.getLogger("sesame.delivery")

T = TypeVar("T")
#: SES's default for how long delivery is retried (DeliveryOptions.MaxDeliverySeconds).
DEFAULT_MAX_DELIVERY_SECONDS = 50_400
#: The longest a finished delivery waits for others to share its commit.
COMMIT_LINGER_SECONDS = 0.05
LOCAL_CAPTURE_RESPONSE = "250 2.0.0 Ok: kept in Sesame's mailbox (no --smtp-relay configured)"


class DeliveryWorker:
    def __init__(
        self,
        store: Store,
        executor: Executor,
        relay: Relay | None,
        *,
        retry_seconds: float = 60.0,
        lease_seconds: float = 300.0,
        batch: int = 32,
        poll_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
        on_events: Callable[[int], None] = lambda count: None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.relay = None if relay is None else RelayPool(relay)
        self.retry_seconds = retry_seconds
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.on_events = on_events
        self._wake = asyncio.Event()
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        #: Outcomes waiting for the next commit, each with the future its delivery awaits.
        self._finished: list[tuple[str, list[Event], asyncio.Future[None]]] = []
        self._committing: asyncio.Task[None] | None = None
        #: Deliveries talking to the relay now, whose outcomes may join the next commit.
        self._sending = 0
        self._commit_now = asyncio.Event()

    def wake(self) -> None:
        """A message was queued in this process: look now rather than at the next poll.
        Safe to call from any thread (SendEmail commits on a store thread)."""
        if self._event_loop is not None:
            self._event_loop.call_soon_threadsafe(self._wake.set)

    def stop(self) -> None:
        """Finish the messages in hand, then return from run(); called on the loop."""
        self._stopping = True
        self._wake.set()

    async def _db(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: call(*args, **kwargs))

    async def run(self) -> None:
        """Deliver until stop() is called; a failing round is logged, never fatal."""
        self._event_loop = asyncio.get_running_loop()
        try:
            await self._loop()
        finally:
            if self.relay is not None:
                self.relay.close()

    async def _loop(self) -> None:
        """Keep up to `batch` messages in flight, claiming more as they finish.

        Claiming whenever half the slots are free, rather than batch by batch, keeps
        the relay's connections busy while outcomes are being recorded: a batch that
        waits for its slowest message leaves the relay idle in the meantime."""
        in_flight: set[asyncio.Task[None]] = set()
        while not self._stopping:
            claimed = 0
            if len(in_flight) <= self.batch // 2:
                # Cleared before the claim: a message queued while it runs wakes us.
                self._wake.clear()
                try:
                    items = await self._claim(self.batch - len(in_flight))
                except Exception:
                    log.exception("claiming deliveries failed")
                    items = []
                for item in items:
                    task = asyncio.create_task(self._deliver(item))
                    in_flight.add(task)
                    task.add_done_callback(functools.partial(_finished, in_flight))
                claimed = len(items)
            if claimed and len(in_flight) <= self.batch // 2:
                continue  # claim again at once: there may be more due
            woken = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait(
                    [*in_flight, woken], timeout=self.poll_seconds, return_when="FIRST_COMPLETED"
                )
            finally:
                woken.cancel()
        if in_flight:
            await asyncio.wait(in_flight)

    async def run_once(self) -> int:
        """Claim one batch, deliver it and record the outcomes; the number handled."""
        claimed = await self._claim(self.batch)
        await asyncio.gather(*(self._deliver(item) for item in claimed))
        return len(claimed)

    async def _claim(self, limit: int) -> list[Delivery]:
        return await self._db(
            self.store.claim_deliveries, now=self.clock(), lease=self.lease_seconds, limit=limit
        )

    async def _deliver(self, item: Delivery) -> None:
        message = item.message
        if self.relay is None:
            outcome = Outcome(list(item.recipients), LOCAL_CAPTURE_RESPONSE, [], [])
        else:
            self._sending += 1
            try:
                outcome = await self.relay.send(message.sender, item.recipients, message.content)
            finally:
                self._sending -= 1
                self._group_ready()
            if outcome.response:
                outcome = Outcome(
                    outcome.delivered,
                    f"250 {outcome.response}",
                    outcome.permanent,
                    outcome.transient,
                )
        now = self.clock()
        mail, config_set = message.mail, message.configuration_set
        events: list[Event] = []
        # One Delivery event per recipient, as SES publishes them: its example has two
        # addresses in `mail.destination` and one in `delivery.recipients` ("a
        # notification each time SES successfully delivers one of your emails to a
        # recipient's mail server", SES blog, announcing delivery notifications).
        events.extend(
            records.delivery(
                mail,
                happened=now,
                accepted=message.created,
                recipients=[recipient],
                smtp_response=outcome.response,
                configuration_set=config_set,
            )
            for recipient in outcome.delivered
        )
        if outcome.permanent:
            events.append(self._bounce(item, outcome.permanent, "Permanent", now))
        deferral: Callable[[], None] | None = None
        if outcome.transient:
            give_up_at = message.created + await self._max_delivery_seconds(config_set)
            due = now + min(self.retry_seconds * 2**item.attempts, 3600.0)
            if due > give_up_at:
                events.append(self._bounce(item, outcome.transient, "Transient", now))
            else:
                events.append(
                    records.delivery_delay(
                        mail,
                        happened=now,
                        expires=give_up_at,
                        recipients=[(f.address, f.status, f.diagnostic) for f in outcome.transient],
                        configuration_set=config_set,
                    )
                )
                deferral = functools.partial(
                    self.store.defer_delivery,
                    message.id,
                    due=due,
                    error=outcome.transient[0].diagnostic,
                    remaining=[f.address for f in outcome.transient],
                    events=events,
                )
        if outcome.permanent:
            # Before the outcome is recorded: whoever sees the Bounce sees the entry.
            await self._db(suppress_from, self.store, events)
        if deferral is None:
            await self._finish(message.id, events)
        else:
            # One transaction defers the row and records its events (rare: no batching).
            await self._db(deferral)
            self.on_events(len(events))

    async def _finish(self, message_id: str, events: list[Event]) -> None:
        """Record a finished message's outcome; return once it is committed.

        Outcomes that arrive while a commit is running wait for the next one, which
        takes them all: one transaction (and one hop to the store thread) per group
        of outcomes instead of per message. Until its commit the row keeps its lease,
        so no other worker delivers the message again meanwhile."""
        committed = asyncio.get_running_loop().create_future()
        self._finished.append((message_id, events, committed))
        self._group_ready()
        if self._committing is None:
            self._committing = asyncio.create_task(self._commit_finished())
        await committed

    def _group_ready(self) -> None:
        """Let the commit go when no delivery is still talking to the relay (nothing
        more will join the group soon) or the group is half a batch already."""
        if not self._sending or len(self._finished) >= self.batch // 2:
            self._commit_now.set()

    async def _commit_finished(self) -> None:
        try:
            while self._finished:
                if self._sending and len(self._finished) < self.batch // 2:
                    # Deliveries still running will finish within moments: wait for
                    # them (at most COMMIT_LINGER_SECONDS) so they share this commit.
                    self._commit_now.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._commit_now.wait(), COMMIT_LINGER_SECONDS)
                group, self._finished = self._finished, []
                try:
                    await self._db(self.store.finish_deliveries, [(m, e) for m, e, _ in group])
                except Exception as error:
                    for *_, committed in group:
                        committed.set_exception(error)
                else:
                    for *_, committed in group:
                        committed.set_result(None)
                    self.on_events(sum(len(events) for _, events, _ in group))
        finally:
            self._committing = None

    def _bounce(self, item: Delivery, failures: list[Failure], kind: str, now: float) -> Event:
        return records.bounce(
            item.message.mail,
            happened=now,
            bounce_type=kind,
            bounce_sub_type="General",
            recipients=[(f.address, f.status, f.diagnostic) for f in failures],
            configuration_set=item.message.configuration_set,
        )

    async def _max_delivery_seconds(self, set_name: str | None) -> float:
        if set_name is None:
            return DEFAULT_MAX_DELIVERY_SECONDS
        record = await self._db(self.store.get_configuration_set, set_name)
        if record is None:
            return DEFAULT_MAX_DELIVERY_SECONDS
        options = record.options.get("DeliveryOptions", {})
        return float(options.get("MaxDeliverySeconds", DEFAULT_MAX_DELIVERY_SECONDS))


def _finished(in_flight: set[asyncio.Task[None]], task: asyncio.Task[None]) -> None:
    """A delivery task ended: free its slot; a failure is logged (its row keeps its
    lease and is delivered again once the lease runs out)."""
    in_flight.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("delivery failed", exc_info=task.exception())
