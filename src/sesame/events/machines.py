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
    # Built directly: dataclasses.replace costs several times as much, once per event.
    return Event(
        event.id,
        event.message_id,
        event.event_type,
        event.happened,
        event.configuration_set,
        record,
        actor,
    )


#: How many (kind, address, agent) answers of the rules are kept (cleared when full).
_RULE_ANSWERS = 4096


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
        # The rules are a pure function of (kind, address, agent), and a busy link is
        # followed again and again by the same few clients: parsing the address for
        # every network rule of every hit was most of request_reason's time.
        self._rule_answers: dict[tuple[str, str, str], str | None] = {}

    def request_reason(self, hit: Hit) -> str | None:
        """What the request alone says (method, prefetch header, agent, network)."""
        if hit.method == "HEAD":
            return "head-request"
        if hit.purpose and any(word in hit.purpose.lower() for word in _PREFETCH_WORDS):
            return "prefetch"
        key = (hit.kind, hit.ip_address, hit.user_agent)
        try:
            return self._rule_answers[key]
        except KeyError:
            pass
        answer = None
        for rule in self.rules:
            if rule.matches(hit.kind, hit.ip_address, hit.user_agent):
                answer = rule.reason
                break
        if len(self._rule_answers) >= _RULE_ANSWERS:
            self._rule_answers.clear()
        self._rule_answers[key] = answer
        return answer

    def classify(self, batch: list[tuple[Hit, Event]]) -> list[Event]:
        """The batch's events with their verdicts; earlier clicks found to be part of
        a burst are relabelled in the store."""
        # Per message in the batch: its delivery, and its clicks from just before the
        # batch's first (a busy message has many; only the recent ones can burst).
        delivered: dict[str, float] = {}
        first: dict[str, float] = {}
        for hit, _ in batch:
            if hit.kind == "Click":
                first[hit.message_id] = min(hit.happened, first.get(hit.message_id, hit.happened))
        # (happened, id, link, actor) of each message's stored clicks.
        history: dict[str, list[tuple[float, str, Any, str | None]]] = {}
        for message_id, since in first.items():
            delivery = self.store.list_events(message_id=message_id, event_type="Delivery", limit=1)
            if delivery:
                delivered[message_id] = delivery[0].happened
            history[message_id] = [
                (happened, id_, link, actor)
                for id_, happened, actor, link in self.store.recent_clicks(
                    message_id, since - self.burst_seconds
                )
            ]
        reasons: list[str | None] = []
        for hit, _ in batch:
            reason = self.request_reason(hit)
            since_delivery = hit.happened - delivered.get(hit.message_id, -1e18)
            if reason is None and hit.kind == "Click" and 0 <= since_delivery < self.click_seconds:
                reason = "click-soon-after-delivery"
            reasons.append(reason)
        # ... and with the batch's.
        clicks = {message_id: list(group) for message_id, group in history.items()}
        for (_, event), reason in zip(batch, reasons, strict=True):
            if event.event_type == "Click":
                actor = PERSON if reason is None else MACHINE
                clicks.setdefault(event.message_id, []).append(
                    (event.happened, event.id, _link(event), actor)
                )
        burst = self._bursts(clicks)
        out = [
            with_verdict(event, MACHINE, reason)
            if reason is not None
            else with_verdict(event, MACHINE, "click-burst")
            if event.id in burst
            else with_verdict(event, PERSON, "no-machine-signal")
            for (_, event), reason in zip(batch, reasons, strict=True)
        ]
        self._relabel(history, burst)
        return out

    def _bursts(self, clicks: dict[str, list[tuple[float, str, Any, str | None]]]) -> set[str]:
        """The ids of every click that has a click on another link of its message within
        `burst_seconds` (before or after it).

        One pass per message over its clicks in time order, with a window of the clicks
        within `burst_seconds` on either side and a count of each link in it: a click is
        in a burst when the window holds more clicks than those of its own link. The
        same pairs as comparing every two clicks (a - b <= burst_seconds, computed
        the same way), in time linear in the clicks instead of quadratic in a busy
        message's clicks per second."""
        burst: set[str] = set()
        limit = self.burst_seconds
        if limit < 0:
            return burst
        for group in clicks.values():
            group.sort(key=lambda click: click[0])
            counts: dict[Any, int] = {}
            size = len(group)
            low = high = 0
            for happened, id_, link, _ in group:
                while high < size and group[high][0] - happened <= limit:
                    counts[group[high][2]] = counts.get(group[high][2], 0) + 1
                    high += 1
                while happened - group[low][0] > limit:
                    counts[group[low][2]] -= 1
                    low += 1
                if high - low > counts[link]:
                    burst.add(id_)
        return burst

    def _relabel(
        self, history: dict[str, list[tuple[float, str, Any, str | None]]], burst: set[str]
    ) -> None:
        """Stored clicks found to be part of a burst, not yet a machine's: relabelled
        (read whole only now, when there is one: rare, and the batch's own are not)."""
        relabelled: list[Event] = []
        for message_id, group in history.items():
            ids = {id_ for _, id_, _, actor in group if id_ in burst and actor != MACHINE}
            if not ids:
                continue
            since = min(happened for happened, id_, _, _ in group if id_ in ids)
            for event in self.store.list_events(
                message_id=message_id,
                event_type="Click",
                since=since,
                limit=max(1000, 2 * len(group)),
            ):
                if event.id in ids and event.actor != MACHINE:
                    relabelled.append(with_verdict(event, MACHINE, "click-burst"))
        if relabelled:
            self.store.update_events(relabelled)


def _link(event: Event) -> Any:
    return event.record.get("click", {}).get("link")
