"""Which event destinations an event goes to, and when (pure; the store calls it
inside the transaction that writes the event).

SES publishes an event to every *enabled* destination of the message's
configuration set whose `MatchingEventTypes` names the event's type; the
`MatchingEventTypes` values are the model's EventType enum, the records'
`eventType` values are SES's display names (ses-spec.md §3.9, §5.6).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Record `eventType` → the model's EventType value.
EVENT_TYPES: dict[str, str] = {
    "Send": "SEND",
    "Reject": "REJECT",
    "Bounce": "BOUNCE",
    "Complaint": "COMPLAINT",
    "Delivery": "DELIVERY",
    "Open": "OPEN",
    "Click": "CLICK",
    "Rendering Failure": "RENDERING_FAILURE",
    "DeliveryDelay": "DELIVERY_DELAY",
    "Subscription": "SUBSCRIPTION",
}

#: Opens and clicks wait this long before they are published, so that a burst of
#: clicks recorded in two batches is classified as a whole before the first of
#: them leaves (see machines.py: the burst rule relabels earlier clicks).
ENGAGEMENT_HOLD_SECONDS = 2.0


def matches(definition: Mapping[str, Any], event_type: str) -> bool:
    """True if a destination with this definition receives events of `event_type`."""
    if not definition.get("Enabled", False):
        return False
    return EVENT_TYPES.get(event_type) in definition.get("MatchingEventTypes", ())


def due(event_type: str, happened: float) -> float:
    """When a publication of this event may first be attempted."""
    if event_type in ("Open", "Click"):
        return happened + ENGAGEMENT_HOLD_SECONDS
    return happened
