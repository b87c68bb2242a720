"""Automatic suppression from bounce and complaint events, against a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sesame.store import open_store
from sesame.store.base import ConfigurationSet, Event, Store
from sesame.suppression import reasons_for, suppress_from


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'suppression.db'}")
    yield opened
    opened.close()


def complaint(address: str, configuration_set: str | None, sub_type: Any = None) -> Event:
    record = {
        "eventType": "Complaint",
        "mail": {"messageId": "m1"},
        "complaint": {
            "complainedRecipients": [{"emailAddress": address}],
            "timestamp": "2026-01-01T00:00:00.000Z",
            "feedbackId": "f1",
            "complaintSubType": sub_type,
        },
    }
    return Event("e-" + address, "m1", "Complaint", 5.0, configuration_set, record)


def bounce(address: str, kind: str = "Permanent", sub_type: str = "General") -> Event:
    record = {
        "eventType": "Bounce",
        "mail": {"messageId": "m2"},
        "bounce": {
            "bounceType": kind,
            "bounceSubType": sub_type,
            "bouncedRecipients": [{"emailAddress": address}],
            "feedbackId": "f2",
        },
    }
    return Event("b-" + address, "m2", "Bounce", 6.0, None, record)


def test_a_complaint_suppresses_with_its_message_and_feedback_ids(store: Store) -> None:
    assert suppress_from(store, [complaint("ann@example.org", None)]) == 1
    entry = store.get_suppressed_destination("ann@example.org")
    assert entry is not None
    assert (entry.reason, entry.message_id, entry.feedback_id) == ("COMPLAINT", "m1", "f1")


def test_only_permanent_bounces_not_caused_by_the_list_suppress(store: Store) -> None:
    events = [
        bounce("soft@example.org", "Transient"),
        bounce("listed@example.org", sub_type="OnAccountSuppressionList"),
        bounce("hard@example.org"),
        complaint("again@example.org", None, "OnAccountSuppressionList"),
    ]
    assert suppress_from(store, events) == 1
    assert store.get_suppressed_destination("hard@example.org") is not None


def test_the_reasons_of_the_account_and_of_the_set(store: Store) -> None:
    store.put_account_setting("SuppressionAttributes", {"SuppressedReasons": ["BOUNCE"]})
    assert suppress_from(store, [complaint("a@example.org", None)]) == 0
    store.create_configuration_set(
        ConfigurationSet(
            "complaints", {"SuppressionOptions": {"SuppressedReasons": ["COMPLAINT"]}}
        ),
        limit=10,
    )
    assert suppress_from(store, [complaint("b@example.org", "complaints")]) == 1
    assert reasons_for({}, None) == {"BOUNCE", "COMPLAINT"}
    assert reasons_for({"SuppressionAttributes": {}}, None) == frozenset()
    assert reasons_for({}, {"SuppressionOptions": {"SuppressedReasons": []}}) == frozenset()


def test_mailbox_simulator_addresses_are_never_suppressed(store: Store) -> None:
    events = [
        complaint("complaint@simulator.amazonses.com", None),
        complaint("Complaint+x@Simulator.AmazonSES.com", None),
        bounce("bounce+label@simulator.amazonses.com"),
        complaint("real@example.org", None),
    ]
    assert suppress_from(store, events) == 1
    assert store.get_suppressed_destination("complaint@simulator.amazonses.com") is None
    assert store.get_suppressed_destination("real@example.org") is not None
