"""The classifier's timing rules on a real store, with the times chosen exactly
(the HTTP replays in test_machines.py cannot wait seconds without sleeping)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from sesame.events import records
from sesame.events.machines import Classifier, load_rules, with_verdict
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


def _reference_bursts(
    batch: list[Event], history: dict[str, list[Event]], burst_seconds: float
) -> tuple[set[str], set[str]]:
    """The burst rule as first written: every two clicks of a message compared (the
    oracle for the one-pass window). (ids in a burst, stored ids to relabel)."""
    clicks: dict[str, list[Event]] = {m: list(earlier) for m, earlier in history.items()}
    for event in batch:
        clicks.setdefault(event.message_id, []).append(event)
    burst: set[str] = set()
    for group in clicks.values():
        group.sort(key=lambda e: e.happened)
        for i, first in enumerate(group):
            for second in group[i + 1 :]:
                if second.happened - first.happened > burst_seconds:
                    break
                if second.record["click"]["link"] != first.record["click"]["link"]:
                    burst.update((first.id, second.id))
    stored = {e.id for earlier in history.values() for e in earlier if e.actor != "machine"}
    return burst, burst & stored


@pytest.mark.parametrize("seed", range(12))
def test_bursts_match_comparing_every_two_clicks(tmp_path: Path, seed: int) -> None:
    """Random clicks on a few links of a few messages, some stored by an earlier batch
    (persons and machines), some in the batch: the verdicts and the relabelled clicks
    are those of comparing every pair."""
    rng = random.Random(seed)
    store = SQLiteStore(tmp_path / "b.db")
    classifier = Classifier(store, click_seconds=0, burst_seconds=rng.choice([0.0, 0.5, 1.0]))
    messages = [f"m{n}" for n in range(rng.randint(1, 3))]

    def random_click(at: float) -> tuple[Hit, Event]:
        message = rng.choice(messages)
        link = f"https://example.org/{rng.randint(0, 3)}"
        agent = rng.choice([SAFARI, SAFARI, "curl/8.5"])
        hit = Hit("Click", message, at, "203.0.113.7", agent, 0, link)
        event = records.click(
            {"messageId": message, "tags": {}},
            happened=at,
            ip_address=hit.ip_address,
            user_agent=agent,
            link=link,
            link_tags={},
            configuration_set=None,
        )
        return hit, event

    # Times on a coarse grid, so that equal times and gaps of exactly the limit occur.
    earlier = [random_click(1000 + rng.randint(0, 40) / 10) for _ in range(rng.randint(0, 30))]
    stored = [
        with_verdict(e, "machine" if rng.random() < 0.3 else "person", "x") for _, e in earlier
    ]
    store.add_events(stored)
    batch = [random_click(1003 + rng.randint(0, 40) / 10) for _ in range(rng.randint(1, 40))]
    history = {
        m: store.list_events(
            message_id=m,
            event_type="Click",
            since=min(h.happened for h, _ in batch if h.message_id == m) - classifier.burst_seconds,
        )
        for m in {h.message_id for h, _ in batch}
    }
    burst, relabel = _reference_bursts([e for _, e in batch], history, classifier.burst_seconds)

    out = classifier.classify(batch)

    expected = [
        "link-scanner"
        if hit.user_agent == "curl/8.5"
        else "click-burst"
        if event.id in burst
        else "no-machine-signal"
        for hit, event in batch
    ]
    assert reasons(out) == expected
    assert [e.id for e in out] == [e.id for _, e in batch]
    after = {e.id: e for e in store.list_events(event_type="Click", limit=10_000)}
    for event in stored:
        verdict = after[event.id].record["sesameVerdict"]
        if event.id in relabel:
            assert verdict == {"actor": "machine", "reason": "click-burst"}
            assert after[event.id].actor == "machine"
        else:
            assert verdict == event.record["sesameVerdict"]
