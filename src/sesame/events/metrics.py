"""VDM metrics counted from the recorded events, per UTC day, as SES defines them.

The definitions are the model's (`Metric` in the sesv2 model): every metric
leaves out mail to the mailbox simulator and mail addressed to more than one
recipient; OPEN and CLICK count unique opens and clicks (one per message and
day); PERMANENT_BOUNCE and COMPLAINT leave out those caused by the account's
suppression list; DELIVERY_OPEN and DELIVERY_CLICK count deliveries of messages
that carried an open pixel or tracked links; DELIVERY_COMPLAINT counts
deliveries to mailbox providers that run a feedback loop (so a complaint could
come back).

Dimensions: EMAIL_IDENTITY matches the sending address or its domain,
CONFIGURATION_SET the message's set, ISP the recipient's mailbox provider, known
from its domain for the big providers (`Other` otherwise).

The series is sparse, in whole UTC days, the range's end exclusive: a day
without data is absent, as real SES answers (Floci's probe of 2026-09-23).

Machine opens and clicks: SES counts every open and click, and so do these
figures. Sesame's own classification travels in the one extra top-level
attribute `sesameVerdict` of the stored record (events/machines.py); with
`human_only`, opens and clicks it calls a machine's are left out, so person-only
figures sit beside SES's. A record without a verdict counts as a person's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from sesame.delivery.simulator import is_simulator
from sesame.events.machines import ATTRIBUTE as VERDICT_ATTRIBUTE
from sesame.events.machines import MACHINE
from sesame.store.base import Event

DAY = 86_400

#: Event types each metric is counted from.
SOURCES: dict[str, tuple[str, ...]] = {
    "SEND": ("Send",),
    "DELIVERY": ("Delivery",),
    "OPEN": ("Open",),
    "CLICK": ("Click",),
    "PERMANENT_BOUNCE": ("Bounce",),
    "TRANSIENT_BOUNCE": ("Bounce",),
    "COMPLAINT": ("Complaint",),
    "DELIVERY_OPEN": ("Delivery",),
    "DELIVERY_CLICK": ("Delivery",),
    "DELIVERY_COMPLAINT": ("Delivery",),
}

#: Mailbox providers by the domains they host (the ISP dimension).
_ISPS: dict[str, str] = {
    **dict.fromkeys(("gmail.com", "googlemail.com"), "Gmail"),
    **dict.fromkeys(("outlook.com", "hotmail.com", "live.com", "msn.com"), "Hotmail"),
    **dict.fromkeys(("yahoo.com", "ymail.com", "rocketmail.com"), "Yahoo"),
    **dict.fromkeys(("aol.com", "aim.com"), "AOL"),
    **dict.fromkeys(("icloud.com", "me.com", "mac.com"), "iCloud"),
    **dict.fromkeys(("comcast.net",), "Comcast"),
}
#: Providers with a feedback loop (complaints reach the sender); Gmail has none
#: that reports individual recipients.
_FEEDBACK_LOOPS = frozenset({"Hotmail", "Yahoo", "AOL", "Comcast"})


def isp_of(address: str) -> str:
    domain = address.rpartition("@")[2].lower().rstrip(".")
    if domain in _ISPS:
        return _ISPS[domain]
    if domain.startswith("yahoo.") or domain.startswith("hotmail."):
        return "Yahoo" if domain.startswith("yahoo.") else "Hotmail"
    return "Other"


def is_machine(record: Mapping[str, Any]) -> bool:
    """True when Sesame's verdict (`sesameVerdict`, events/machines.py) calls the open
    or click a machine's. A record without one (recorded before classification
    existed) counts as a person's."""
    verdict = record.get(VERDICT_ATTRIBUTE)
    return isinstance(verdict, Mapping) and verdict.get("actor") == MACHINE


@dataclass(frozen=True, slots=True)
class Query:
    metric: str
    #: MetricDimensionName → value.
    dimensions: Mapping[str, str]
    start: float
    end: float
    human_only: bool = False


def _counts(query: Query, event: Event, tracking: Mapping[str, tuple[bool, bool]]) -> bool:
    """Whether one event counts towards the query's metric (before uniqueness)."""
    record, mail = event.record, event.record["mail"]
    destination = mail.get("destination", [])
    if len(destination) != 1 or is_simulator(destination[0]):
        return False
    sender = parseaddr(mail.get("source", ""))[1].lower()
    # The identity is the sending address or its domain, whichever the query names.
    identities: set[str | None] = {sender, sender.rpartition("@")[2]}
    isp = isp_of(destination[0])
    have: dict[str, set[str | None]] = {
        "CONFIGURATION_SET": {event.configuration_set},
        "ISP": {isp},
        "EMAIL_IDENTITY": identities,
    }
    for name, value in query.dimensions.items():
        # A value is `*` (any) or a comma-separated list of values (the model's doc).
        wanted: set[str | None] = {v.strip() for v in value.split(",")}
        if name == "EMAIL_IDENTITY":
            wanted = {v.strip().lower() for v in value.split(",")}
        if value != "*" and not wanted & have.get(name, set()):
            return False
    metric = query.metric
    if metric in ("PERMANENT_BOUNCE", "TRANSIENT_BOUNCE"):
        bounce = record["bounce"]
        kind = "Permanent" if metric == "PERMANENT_BOUNCE" else "Transient"
        return bool(
            bounce["bounceType"] == kind and bounce["bounceSubType"] != "OnAccountSuppressionList"
        )
    if metric == "COMPLAINT":
        return bool(record["complaint"].get("complaintSubType") != "OnAccountSuppressionList")
    if metric in ("OPEN", "CLICK"):
        return not (query.human_only and is_machine(record))
    if metric == "DELIVERY_OPEN":
        return tracking.get(event.message_id, (False, False))[0]
    if metric == "DELIVERY_CLICK":
        return tracking.get(event.message_id, (False, False))[1]
    if metric == "DELIVERY_COMPLAINT":
        return isp in _FEEDBACK_LOOPS
    return True


def by_day(
    query: Query,
    events: Iterable[Event],
    tracking_of: Callable[[list[str]], Mapping[str, tuple[bool, bool]]],
) -> dict[int, int]:
    """UTC day (midnight, epoch seconds) → value, for the days with data, for one query
    over `events` (already limited to its time range and event types)."""
    chosen = [e for e in events if e.event_type in SOURCES[query.metric]]
    tracking: Mapping[str, tuple[bool, bool]] = {}
    if query.metric in ("DELIVERY_OPEN", "DELIVERY_CLICK"):
        tracking = tracking_of(sorted({e.message_id for e in chosen}))
    values: dict[int, int] = {}
    seen: set[tuple[int, str]] = set()
    for event in chosen:
        if not query.start <= event.happened < query.end or not _counts(query, event, tracking):
            continue
        day = int(event.happened // DAY) * DAY
        if query.metric in ("OPEN", "CLICK"):
            if (day, event.message_id) in seen:
                continue
            seen.add((day, event.message_id))
        values[day] = values.get(day, 0) + 1
    return dict(sorted(values.items()))


def count(
    query: Query,
    events: Iterable[Event],
    tracking_of: Callable[[list[str]], Mapping[str, tuple[bool, bool]]],
) -> tuple[list[int], list[int]]:
    """(day timestamps, values), as BatchGetMetricData answers them."""
    days = by_day(query, events, tracking_of)
    return list(days), list(days.values())
