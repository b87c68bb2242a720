"""Opens and clicks made by machines, told apart from a person's.

Every Open and Click gets a verdict, `person` or `machine` with a reason, in
ONE extra top-level attribute of its SES record, `sesameVerdict`:

    {"eventType": "Click", "mail": {...}, "click": {...},
     "sesameVerdict": {"actor": "machine", "reason": "click-burst"}}

The rest of the record stays exactly as SES shapes it; consumers that do not
know the attribute ignore it. Reasons, checked in this order (first one wins):

- `head-request`: a HEAD request. Link scanners probe with HEAD; browsers never
  follow a link that way.
- `prefetch`: the request says it is a prefetch (`Purpose`/`Sec-Purpose:
  prefetch`, `X-Purpose: preview`, `X-Moz: prefetch`).
- a rule of `data/machines.toml` (user agents and networks of Apple Mail Privacy
  Protection, Gmail's and Yahoo's image proxies, security gateways, HTTP
  libraries): its `reason`, e.g. `apple-mail-privacy-protection`.
- `click-soon-after-delivery`: a click within `click_seconds` of the message's
  delivery, faster than a person opens and reads mail; gateways scan on arrival.
- `click-burst`: two different links of one message clicked within
  `burst_seconds` of each other; every click of the burst is a machine's, the
  earlier ones relabelled (opens and clicks are held before publishing so the
  relabel reaches the destinations; see routing.ENGAGEMENT_HOLD_SECONDS).
- otherwise `{"actor": "person", "reason": "no-machine-signal"}`.

Classification runs on the recorder's batch, off the request path: the
tracking endpoint only passes the HTTP method and the prefetch header along.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sesame.events.recorder import Hit
from sesame.store.base import Event, Store

ATTRIBUTE = "sesameVerdict"
PERSON = "person"
MACHINE = "machine"
_PREFETCH_WORDS = ("prefetch", "preview", "prerender")


@dataclass(frozen=True)
class Rule:
    reason: str
    events: frozenset[str]
    user_agent_equals: frozenset[str]
    user_agent_contains: tuple[str, ...]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    def matches(self, kind: str, ip_address: str, user_agent: str) -> bool:
        if kind not in self.events:
            return False
        if user_agent in self.user_agent_equals:
            return True
        lowered = user_agent.lower()
        if any(part in lowered for part in self.user_agent_contains):
            return True
        try:
            ip = ipaddress.ip_address(ip_address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)


def load_rules(text: str | None = None) -> list[Rule]:
    """The rules of `data/machines.toml` (or of `text`, in the same format)."""
    if text is None:
        text = (resources.files("sesame.events") / "data" / "machines.toml").read_text()
    rules: list[Rule] = []
    for entry in tomllib.loads(text)["rule"]:
        rules.append(
            Rule(
                entry["reason"],
                frozenset(entry.get("events", ("Open", "Click"))),
                frozenset(entry.get("user_agent_equals", ())),
                tuple(part.lower() for part in entry.get("user_agent_contains", ())),
                tuple(ipaddress.ip_network(n, strict=False) for n in entry.get("networks", ())),
            )
        )
    return rules


def verdict_of(event: Event) -> dict[str, str] | None:
    found = event.record.get(ATTRIBUTE)
    return found if isinstance(found, dict) else None


def with_verdict(event: Event, actor: str, reason: str) -> Event:
    record = dict(event.record)
    record[ATTRIBUTE] = {"actor": actor, "reason": reason}
    return dataclasses.replace(event, record=record, actor=actor)


class Classifier:
    def __init__(
        self,
        store: Store,
        *,
        click_seconds: float = 5.0,
        burst_seconds: float = 1.0,
        rules: Sequence[Rule] | None = None,
    ) -> None:
        self.store = store
        self.click_seconds = click_seconds
        self.burst_seconds = burst_seconds
        self.rules = list(load_rules() if rules is None else rules)

    def request_reason(self, hit: Hit) -> str | None:
        """What the request alone says (method, prefetch header, agent, network)."""
        if hit.method == "HEAD":
            return "head-request"
        if any(word in hit.purpose.lower() for word in _PREFETCH_WORDS):
            return "prefetch"
        for rule in self.rules:
            if rule.matches(hit.kind, hit.ip_address, hit.user_agent):
                return rule.reason
        return None

    def classify(self, batch: list[tuple[Hit, Event]]) -> list[Event]:
        """The batch's events with their verdicts; earlier clicks found to be part of
        a burst are relabelled in the store."""
        # Per message in the batch: its delivery, and its clicks from just before the
        # batch's first (a busy message has many; only the recent ones can burst).
        history: dict[str, list[Event]] = {}
        delivered: dict[str, float] = {}
        first: dict[str, float] = {}
        for hit, _ in batch:
            if hit.kind == "Click":
                first[hit.message_id] = min(hit.happened, first.get(hit.message_id, hit.happened))
        for message_id, since in first.items():
            delivery = self.store.list_events(message_id=message_id, event_type="Delivery", limit=1)
            if delivery:
                delivered[message_id] = delivery[0].happened
            history[message_id] = self.store.list_events(
                message_id=message_id, event_type="Click", since=since - self.burst_seconds
            )
        out: list[Event] = []
        for hit, event in batch:
            reason = self.request_reason(hit)
            since_delivery = hit.happened - delivered.get(hit.message_id, -1e18)
            if reason is None and hit.kind == "Click" and 0 <= since_delivery < self.click_seconds:
                reason = "click-soon-after-delivery"
            if reason is None:
                out.append(with_verdict(event, PERSON, "no-machine-signal"))
            else:
                out.append(with_verdict(event, MACHINE, reason))
        out, relabelled = self._bursts(out, history)
        if relabelled:
            self.store.update_events(relabelled)
        return out

    def _bursts(
        self, batch: list[Event], history: dict[str, list[Event]]
    ) -> tuple[list[Event], list[Event]]:
        """Mark every click that has a click on another link of its message within
        `burst_seconds`; returns (batch, earlier stored clicks to relabel)."""
        in_batch = {event.id for event in batch}
        clicks: dict[str, list[Event]] = {}
        for message_id, earlier in history.items():
            clicks[message_id] = list(earlier)
        for event in batch:
            if event.event_type == "Click":
                clicks.setdefault(event.message_id, []).append(event)
        burst: set[str] = set()
        for group in clicks.values():
            group.sort(key=lambda e: e.happened)
            for i, first in enumerate(group):
                for second in group[i + 1 :]:
                    if second.happened - first.happened > self.burst_seconds:
                        break
                    if _link(second) != _link(first):
                        burst.update((first.id, second.id))
        marked = [
            with_verdict(e, MACHINE, "click-burst") if e.id in burst and e.actor != MACHINE else e
            for e in batch
        ]
        relabel = [
            with_verdict(e, MACHINE, "click-burst")
            for group in clicks.values()
            for e in group
            if e.id in burst and e.id not in in_batch and e.actor != MACHINE
        ]
        return marked, relabel


def _link(event: Event) -> Any:
    return event.record.get("click", {}).get("link")
