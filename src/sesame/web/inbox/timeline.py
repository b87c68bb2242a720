"""A message's events as lines a person reads: what happened, when, the facts.

A record may carry attributes beyond SES's (`eventType`, `mail` and its detail
object): the person-or-machine verdict of an Open or Click travels that way
(events/machines.py, `sesameVerdict`). They are shown as they are, whatever their
name. The line's badge is the event's stored verdict (`Event.actor`) when it has
one; otherwise a value of such an attribute that says "machine" or
"person"/"human" (records from elsewhere, or written before verdicts were kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sesame.events.machines import MACHINE, PERSON
from sesame.events.records import iso
from sesame.store.base import Event

#: eventType -> the key of its detail object (SES developer guide, event examples).
DETAIL_KEYS = {
    "Send": "send",
    "Reject": "reject",
    "Bounce": "bounce",
    "Complaint": "complaint",
    "Delivery": "delivery",
    "DeliveryDelay": "deliveryDelay",
    "Open": "open",
    "Click": "click",
    "Rendering Failure": "failure",
    "Subscription": "subscription",
}


@dataclass
class Entry:
    kind: str
    when: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    #: "machine", "person" or "" (not classified).
    verdict: str = ""
    #: A CSS-friendly name of the kind: "send", "rendering-failure", …
    slug: str = ""


def _recipients(items: Sequence[dict[str, Any]]) -> str:
    return "; ".join(
        " ".join(str(item.get(k, "")) for k in ("emailAddress", "status", "diagnosticCode")).strip()
        for item in items
    )


def _facts(kind: str, detail: dict[str, Any]) -> list[tuple[str, str]]:
    if kind == "Delivery":
        return [
            ("recipients", ", ".join(detail.get("recipients", []))),
            ("SMTP response", str(detail.get("smtpResponse", ""))),
            ("processing", f"{detail.get('processingTimeMillis', 0)} ms"),
        ]
    if kind == "Bounce":
        return [
            ("type", f"{detail.get('bounceType', '')} / {detail.get('bounceSubType', '')}"),
            ("recipients", _recipients(detail.get("bouncedRecipients", []))),
        ]
    if kind == "DeliveryDelay":
        return [
            ("delay", str(detail.get("delayType", ""))),
            ("recipients", _recipients(detail.get("delayedRecipients", []))),
            ("gives up at", str(detail.get("expirationTime", ""))),
        ]
    if kind in ("Open", "Click"):
        facts = [("link", str(detail["link"]))] if kind == "Click" else []
        tags = detail.get("linkTags") or {}
        if tags:
            facts.append(("tags", "; ".join(f"{k}: {', '.join(v)}" for k, v in tags.items())))
        facts += [
            ("IP address", str(detail.get("ipAddress", ""))),
            ("user agent", str(detail.get("userAgent", ""))),
        ]
        return facts
    if kind == "Rendering Failure":
        return [
            ("template", str(detail.get("templateName", ""))),
            ("error", str(detail.get("errorMessage", ""))),
        ]
    return [(key, str(value)) for key, value in detail.items() if key != "timestamp"]


def _verdict(value: Any) -> str:
    text = str(value).lower()
    if "machine" in text or "bot" in text:
        return "machine"
    if "person" in text or "human" in text:
        return "person"
    return ""


def timeline(events: Sequence[Event]) -> list[Entry]:
    entries: list[Entry] = []
    for event in events:
        record = event.record
        detail_key = DETAIL_KEYS.get(event.event_type, "")
        detail = record.get(detail_key) or {}
        entry = Entry(
            event.event_type,
            iso(event.happened),
            _facts(event.event_type, detail) if isinstance(detail, dict) else [],
            verdict=event.actor if event.actor in (MACHINE, PERSON) else "",
            slug=event.event_type.lower().replace(" ", "-"),
        )
        for key, value in record.items():
            if key in ("eventType", "mail", detail_key):
                continue
            values = value.items() if isinstance(value, dict) else [(key, value)]
            for name, item in values:
                entry.facts.append((str(name), str(item)))
                entry.verdict = entry.verdict or _verdict(item)
        entries.append(entry)
    return entries
