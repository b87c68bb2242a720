"""The publishing outbox, for every Store backend (the `store` fixture of conftest.py)."""

from __future__ import annotations

import threading

from sesame.events.routing import ENGAGEMENT_HOLD_SECONDS
from sesame.store.base import (
    ConfigurationSet,
    Event,
    EventDestination,
    Message,
    SnsCertificate,
    Store,
)

SNS = {"SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}}


def destination(name: str, *types: str, enabled: bool = True) -> EventDestination:
    return EventDestination(name, {"Enabled": enabled, "MatchingEventTypes": list(types), **SNS})


def with_set(store: Store, *destinations: EventDestination) -> None:
    store.create_configuration_set(ConfigurationSet("cs"), limit=10)
    for d in destinations:
        store.add_event_destination("cs", d, limit=10)


def message(message_id: str) -> Message:
    return Message(message_id, 10.0, "cs", "a@example.com", ["b@example.org"], {}, b"x")


def event(message_id: str, kind: str, happened: float, set_name: str | None = "cs") -> Event:
    return Event(f"{message_id}-{kind}", message_id, kind, happened, set_name, {"eventType": kind})


def lanes(claimed: list[object]) -> list[tuple[str, str]]:
    return sorted((p.destination, p.event.event_type) for p in claimed)  # type: ignore[attr-defined]


def test_events_enqueue_one_row_per_matching_enabled_destination(store: Store) -> None:
    with_set(
        store,
        destination("all", "SEND", "DELIVERY", "OPEN"),
        destination("sends", "SEND"),
        destination("off", "SEND", enabled=False),
    )
    store.accept_message(message("m"), [event("m", "Send", 10.0)], due=10.0)
    # Delivery and a Bounce of the same outcome, in one transaction.
    store.finish_deliveries([("m", [event("m", "Delivery", 11.0), event("m", "Bounce", 11.0)])])
    assert store.pending_publications() == 3  # Send ×2, Delivery ×1; Bounce matches none
    claimed = store.claim_publications(now=20.0, lease=60.0, limit=10)
    # Only the head of each (message, destination) lane: Send, not yet Delivery.
    assert lanes(claimed) == [("all", "Send"), ("sends", "Send")]
    first = claimed[0]
    assert first.event.record == {"eventType": "Send"}
    assert first.definition["MatchingEventTypes"]
    assert first.attempts == 0 and first.done == [] and first.set_name == "cs"
    # Leased: nobody else gets them; the lane behind stays closed meanwhile.
    assert store.claim_publications(now=20.0, lease=60.0, limit=10) == []
    store.finish_publications([p.id for p in claimed])
    again = store.claim_publications(now=20.0, lease=60.0, limit=10)
    assert lanes(again) == [("all", "Delivery")]
    store.finish_publications([again[0].id])
    assert store.pending_publications() == 0


def test_no_set_no_publication_and_destinations_read_when_the_event_happens(
    store: Store,
) -> None:
    with_set(store, destination("d", "SEND", "DELIVERY"))
    store.add_events([event("x", "Send", 1.0, set_name=None)])
    assert store.pending_publications() == 0
    store.add_events([event("m", "Send", 1.0)])
    # Disabled afterwards: the event already enqueued keeps its destination as it was.
    store.replace_event_destination("cs", destination("d", "SEND", "DELIVERY", enabled=False))
    store.add_events([event("m", "Delivery", 2.0)])
    claimed = store.claim_publications(now=5.0, lease=60.0, limit=10)
    assert lanes(claimed) == [("d", "Send")]
    assert claimed[0].definition["Enabled"] is True
    store.finish_publications([claimed[0].id])
    assert store.claim_publications(now=5.0, lease=60.0, limit=10) == []


def test_opens_and_clicks_are_held_before_publishing(store: Store) -> None:
    with_set(store, destination("d", "CLICK"))
    store.add_events([event("m", "Click", 100.0)])
    assert store.claim_publications(now=100.0, lease=60.0, limit=10) == []
    later = 100.0 + ENGAGEMENT_HOLD_SECONDS
    assert lanes(store.claim_publications(now=later, lease=60.0, limit=10)) == [("d", "Click")]


def test_a_failing_lane_waits_and_others_go_on(store: Store) -> None:
    with_set(store, destination("a", "SEND", "DELIVERY"), destination("b", "SEND", "DELIVERY"))
    store.add_events([event("m", "Send", 1.0)])
    store.add_events([event("m", "Delivery", 2.0)])
    claimed = {p.destination: p for p in store.claim_publications(now=3, lease=60, limit=10)}
    store.defer_publication(
        claimed["a"].id, due=100.0, error="connection refused", done=["u1"], give_up=False
    )
    store.finish_publications([claimed["b"].id])
    # b moves on to Delivery; a's Delivery waits behind its Send, which is not due.
    [b_delivery] = store.claim_publications(now=4, lease=600, limit=10)
    assert (b_delivery.destination, b_delivery.event.event_type) == ("b", "Delivery")
    [failed] = store.failed_publications()
    assert (failed.destination, failed.attempts, failed.last_error) == (
        "a",
        1,
        "connection refused",
    )
    assert failed.done == ["u1"] and failed.gave_up is None
    [retry] = store.claim_publications(now=100, lease=60, limit=10)
    assert (retry.destination, retry.event.event_type, retry.attempts) == ("a", "Send", 1)
    # Given up: kept for inspection, no longer blocking its lane.
    store.defer_publication(retry.id, due=200.0, error="still refused", done=[], give_up=True)
    assert lanes(store.claim_publications(now=200, lease=600, limit=10)) == [("a", "Delivery")]
    [gone] = store.failed_publications()
    assert gone.gave_up is not None and gone.attempts == 2
    assert store.pending_publications() == 2  # a's and b's Delivery, leased


def test_an_expired_lease_is_claimed_again(store: Store) -> None:
    with_set(store, destination("d", "SEND"))
    store.add_events([event("m", "Send", 1.0)])
    [first] = store.claim_publications(now=2, lease=10, limit=10)
    assert store.claim_publications(now=11, lease=10, limit=10) == []
    [second] = store.claim_publications(now=13, lease=10, limit=10)
    assert second.id == first.id


def test_concurrent_publication_claims_split_the_rows(store: Store) -> None:
    with_set(store, destination("d", "SEND"))
    store.add_events([event(f"m{i}", "Send", 1.0) for i in range(40)])
    got: list[str] = []
    lock = threading.Lock()

    def claim() -> None:
        for _ in range(10):
            mine = store.claim_publications(now=2, lease=60, limit=3)
            with lock:
                got.extend(p.id for p in mine)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == len(set(got)) == 40


def test_events_relabelled_and_filtered_by_actor(store: Store) -> None:
    opened = Event("o", "m", "Open", 1.0, None, {"eventType": "Open"}, "person")
    clicked = Event("c", "m", "Click", 2.0, None, {"eventType": "Click"}, "person")
    store.add_events([opened, clicked])
    assert [e.id for e in store.list_events(actor="person")] == ["o", "c"]
    relabelled = Event("c", "m", "Click", 2.0, None, {"eventType": "Click", "v": 1}, "machine")
    store.update_events([relabelled])
    assert store.list_events(actor="machine") == [relabelled]
    assert [e.id for e in store.list_events(actor="person")] == ["o"]


def test_one_sns_certificate_wins(store: Store) -> None:
    first = SnsCertificate("k1", "KEY1", "CERT1", 1.0)
    assert store.sns_certificate(lambda: first) == first

    def never() -> SnsCertificate:
        raise AssertionError("a certificate is stored already")

    assert store.sns_certificate(never) == first


def test_a_lane_goes_in_the_order_events_happened_even_when_recorded_late(
    store: Store,
) -> None:
    with_set(store, destination("d", "SEND", "DELIVERY", "OPEN"))
    store.add_events([event("m", "Send", 5.0)])
    store.add_events([event("m", "Delivery", 7.0)])
    store.add_events([event("m", "Open", 6.0)])  # recorded after the Delivery
    order = []
    for _ in range(3):
        [head] = store.claim_publications(now=100.0, lease=60.0, limit=10)
        order.append(head.event.event_type)
        store.finish_publications([head.id])
    assert order == ["Send", "Open", "Delivery"]
    assert store.claim_publications(now=100.0, lease=60.0, limit=10) == []


def click(message_id: str, n: int, happened: float, link: str) -> Event:
    mail = {"messageId": message_id, "tags": {"t": ["ü"]}}
    record = {"eventType": "Click", "mail": mail, "click": {"link": link, "n": n}}
    return Event(f"{message_id}-c{n}", message_id, "Click", happened, "cs", record, "person")


def test_a_batch_of_clicks_heads_each_lane_once_and_keeps_every_record(store: Store) -> None:
    """Many clicks of a few messages in one add_events, sharing their `mail` object as
    the recorder's do: one head per idle lane, the rest queued behind it in order, and
    every record stored as it was given."""
    with_set(store, destination("all", "CLICK"))
    store.add_events([click("busy", 99, 1.0, "https://a/")])  # a lane already pending
    batch = [click(m, n, 2.0 + n, f"https://{n % 3}/") for n in range(6) for m in ("busy", "m")]
    store.add_events(batch)
    assert store.pending_publications() == 13
    stored = store.list_events(event_type="Click", limit=100)
    assert {e.id: e.record for e in stored} == {
        e.id: e.record for e in [click("busy", 99, 1.0, "https://a/"), *batch]
    }
    published: list[str] = []
    now = 100.0
    while claimed := store.claim_publications(now=now, lease=60.0, limit=10):
        # Each lane hands out one row at a time, oldest first.
        assert len({p.event.message_id for p in claimed}) == len(claimed)
        published += [p.event.id for p in claimed]
        store.finish_publications([p.id for p in claimed])
    assert [i for i in published if i.startswith("busy")] == ["busy-c99"] + [
        f"busy-c{n}" for n in range(6)
    ]
    assert [i for i in published if i.startswith("m-")] == [f"m-c{n}" for n in range(6)]


def test_recent_clicks_are_list_events_without_the_records(store: Store) -> None:
    events = [click("m", n, 10.0 + n / 2, f"https://{n % 2}/") for n in range(8)]
    store.add_events([*events, event("m", "Open", 12.0), click("other", 9, 12.0, "x")])
    full = store.list_events(message_id="m", event_type="Click", since=11.0, limit=3)
    assert store.recent_clicks("m", 11.0, limit=3) == [
        (e.id, e.happened, e.actor, e.record["click"]["link"]) for e in full
    ]
    assert [row[0] for row in store.recent_clicks("m", 0.0)] == [e.id for e in events]
