"""The classifier's timing rules on a real store, with the times chosen exactly
(the HTTP replays in test_machines.py cannot wait seconds without sleeping)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sesame.events import records
from sesame.events.machines import Classifier, load_rules
from sesame.events.recorder import Hit
from sesame.store.base import Event
from sesame.store.sqlite import SQLiteStore

MAIL = {"messageId": "m1", "tags": {}}
SAFARI = "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15"


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "c.db")
    delivered = records.delivery(
        MAIL,
        happened=100.0,
        accepted=99.0,
        recipients=["r@example.org"],
        smtp_response="250 ok",
        configuration_set=None,
    )
    store.add_events([delivered])
    return store


def click(at: float, link: str, agent: str = SAFARI) -> tuple[Hit, Event]:
    hit = Hit("Click", "m1", at, "203.0.113.7", agent, 0, link)
    event = records.click(
        MAIL,
        happened=at,
        ip_address=hit.ip_address,
        user_agent=agent,
        link=link,
        link_tags={},
        configuration_set=None,
    )
    return hit, event


def reasons(events: list[Event]) -> list[str]:
    return [e.record["sesameVerdict"]["reason"] for e in events]


def test_a_person_reading_and_clicking_two_links(store: SQLiteStore) -> None:
    classifier = Classifier(store, click_seconds=5)
    first = classifier.classify([click(160.0, "https://a.example/")])
    store.add_events(first)
    second = classifier.classify([click(163.0, "https://b.example/")])
    assert reasons(first + second) == ["no-machine-signal", "no-machine-signal"]
    assert [e.actor for e in first + second] == ["person", "person"]


def test_a_click_within_seconds_of_delivery(store: SQLiteStore) -> None:
    classifier = Classifier(store, click_seconds=5)
    assert reasons(classifier.classify([click(104.9, "https://a.example/")])) == [
        "click-soon-after-delivery"
    ]
    assert reasons(classifier.classify([click(105.0, "https://a.example/")])) == [
        "no-machine-signal"
    ]
    assert reasons(Classifier(store, click_seconds=0).classify([click(100.1, "x")])) == [
        "no-machine-signal"
    ]


def test_a_burst_split_across_batches_relabels_the_earlier_click(store: SQLiteStore) -> None:
    classifier = Classifier(store, click_seconds=0)
    first = classifier.classify([click(200.0, "https://a.example/")])
    assert reasons(first) == ["no-machine-signal"]
    store.add_events(first)
    second = classifier.classify([click(200.6, "https://b.example/")])
    assert reasons(second) == ["click-burst"]
    [stored] = store.list_events(message_id="m1", event_type="Click")
    assert stored.actor == "machine"
    assert stored.record["sesameVerdict"] == {"actor": "machine", "reason": "click-burst"}


def test_the_same_link_twice_is_no_burst(store: SQLiteStore) -> None:
    classifier = Classifier(store, click_seconds=0)
    batch = classifier.classify(
        [click(300.0, "https://a.example/"), click(300.2, "https://a.example/")]
    )
    assert reasons(batch) == ["no-machine-signal", "no-machine-signal"]


def test_the_shipped_list_parses_and_names_each_reason_once() -> None:
    rules = load_rules()
    names = [rule.reason for rule in rules]
    assert len(names) == len(set(names))
    assert {"apple-mail-privacy-protection", "gmail-image-proxy", "link-scanner"} <= set(names)
    assert all(
        rule.user_agent_equals or rule.user_agent_contains or rule.networks for rule in rules
    )


def test_a_list_in_the_same_format_is_read() -> None:
    [rule] = load_rules(
        '[[rule]]\nreason = "corp-gateway"\nevents = ["Click"]\nnetworks = ["192.0.2.0/24"]\n'
    )
    assert rule.matches("Click", "192.0.2.77", SAFARI)
    assert not rule.matches("Open", "192.0.2.77", SAFARI)
    assert not rule.matches("Click", "198.51.100.1", SAFARI)


def test_vdm_metrics_read_the_verdict(store: SQLiteStore) -> None:
    from sesame.events.metrics import is_machine

    classifier = Classifier(store, click_seconds=0)
    [person] = classifier.classify([click(400.0, "https://a.example/")])
    [scanner] = classifier.classify([click(500.0, "https://a.example/", agent="curl/8.5")])
    assert not is_machine(person.record) and is_machine(scanner.record)
