"""The delivery worker: claim queued messages, hand them to the relay, record the outcome.

It runs inside `sesame serve` (and, later, as `sesame worker`). Store calls go
to the store's thread pool; SMTP is async. A claim is a lease: a worker that
dies leaves its rows to be taken over once the lease runs out, so delivery is
at least once.

Retries follow SES: a transient failure is retried with exponential backoff
(first after `retry_seconds`, doubling, at most an hour apart) and reported as a
DeliveryDelay event; once the configuration set's `MaxDeliverySeconds`
(default 50,400 s) has passed since the message was accepted, SES gives up and
reports a Transient bounce. A 5xx reply is a Permanent bounce at once.
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
        while not self._stopping:
            try:
                worked = await self.run_once()
            except Exception:
                log.exception("delivery round failed")
                worked = 0
            if worked == 0 and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def run_once(self) -> int:
        """Claim one batch and deliver it; the number of messages handled."""
        claimed = await self._db(
            self.store.claim_deliveries,
            now=self.clock(),
            lease=self.lease_seconds,
            limit=self.batch,
        )
        await asyncio.gather(*(self._deliver(item) for item in claimed))
        return len(claimed)

    async def _deliver(self, item: Delivery) -> None:
        message = item.message
        if self.relay is None:
            outcome = Outcome(list(item.recipients), LOCAL_CAPTURE_RESPONSE, [], [])
        else:
            outcome = await self.relay.send(message.sender, item.recipients, message.content)
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
        if outcome.delivered:
            events.append(
                records.delivery(
                    mail,
                    happened=now,
                    accepted=message.created,
                    recipients=outcome.delivered,
                    smtp_response=outcome.response,
                    configuration_set=config_set,
                )
            )
        if outcome.permanent:
            events.append(self._bounce(item, outcome.permanent, "Permanent", now))
        # One transaction records the outcome: the row is finished, or deferred.
        record: Callable[[], None] = functools.partial(
            self.store.finish_deliveries, [(message.id, events)]
        )
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
                record = functools.partial(
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
        await self._db(record)
        self.on_events(len(events))

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
