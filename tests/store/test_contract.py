"""One contract for every Store backend: each test runs against each backend."""

from __future__ import annotations

import threading

import pytest

from sesame.store import open_store
from sesame.store.base import (
    ConfigurationSet,
    Contact,
    ContactList,
    Cursor,
    Duplicate,
    EmailIdentity,
    EmailTemplate,
    Event,
    EventDestination,
    LimitReached,
    Message,
    MessageFilter,
    Missing,
    SendLimit,
    SendRecord,
    SigningKey,
    Store,
    SuppressedDestination,
)
from sesame.store.schema import latest_version
from store.conftest import Backend, at_once


def cs(name: str, **options: object) -> ConfigurationSet:
    return ConfigurationSet(name, dict(options), [{"Key": "k", "Value": "v"}], 1.5)


def test_configuration_set_round_trip(store: Store) -> None:
    record = cs("alpha", TrackingOptions={"CustomRedirectDomain": "t.example.com"})
    store.create_configuration_set(record, limit=10)
    assert store.get_configuration_set("alpha") == record
    assert store.get_configuration_set("ALPHA") is None


def test_duplicate_and_limit(store: Store) -> None:
    store.create_configuration_set(cs("a"), limit=2)
    with pytest.raises(Duplicate):
        store.create_configuration_set(cs("a"), limit=2)
    store.create_configuration_set(cs("b"), limit=2)
    with pytest.raises(LimitReached):
        store.create_configuration_set(cs("c"), limit=2)
    assert store.get_configuration_set("c") is None


def test_list_is_ordered_paged_and_filtered(store: Store) -> None:
    for name in ["delta", "Alpha-mail", "charlie", "bravo-MAIL"]:
        store.create_configuration_set(cs(name), limit=100)
    assert store.list_configuration_sets(after=None, limit=10) == [
        "Alpha-mail",
        "bravo-MAIL",
        "charlie",
        "delta",
    ]
    assert store.list_configuration_sets(after="bravo-MAIL", limit=1) == ["charlie"]
    assert store.list_configuration_sets(after=None, limit=10, name_contains="mAiL") == [
        "Alpha-mail",
        "bravo-MAIL",
    ]
    # LIKE wildcards in a filter are plain characters.
    assert store.list_configuration_sets(after=None, limit=10, name_contains="%") == []


def test_update_replaces_and_removes_blocks(store: Store) -> None:
    store.create_configuration_set(cs("a", SendingOptions={"SendingEnabled": True}), limit=10)
    assert store.update_configuration_set(
        "a", options={"TrackingOptions": {"CustomRedirectDomain": "x.example.com"}}
    )
    assert store.update_configuration_set("a", options={"SendingOptions": None}, tags=[])
    record = store.get_configuration_set("a")
    assert record is not None
    assert record.options == {"TrackingOptions": {"CustomRedirectDomain": "x.example.com"}}
    assert record.tags == []
    assert not store.update_configuration_set("missing", options={"X": {}})


def test_tracking_domains(store: Store) -> None:
    store.create_configuration_set(cs("a"), limit=10)
    store.create_configuration_set(
        cs("b", TrackingOptions={"CustomRedirectDomain": "Track.Example.com"}), limit=10
    )
    assert store.tracking_domains() == {"track.example.com"}


def test_concurrent_block_updates_lose_nothing(store: Store) -> None:
    store.create_configuration_set(cs("a"), limit=10)
    blocks = [f"Block{i}" for i in range(16)]
    start = threading.Barrier(len(blocks))

    def put(block: str) -> None:
        start.wait()
        store.update_configuration_set("a", options={block: {"n": block}})

    threads = [threading.Thread(target=put, args=(b,)) for b in blocks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    record = store.get_configuration_set("a")
    assert record is not None
    assert set(record.options) == set(blocks)


def test_event_destinations(store: Store) -> None:
    with pytest.raises(Missing):
        store.add_event_destination("a", EventDestination("d", {}), limit=2)
    assert store.list_event_destinations("a") is None
    store.create_configuration_set(cs("a"), limit=10)
    store.add_event_destination("a", EventDestination("one", {"Enabled": True}), limit=2)
    store.add_event_destination("a", EventDestination("two", {"Enabled": False}), limit=2)
    with pytest.raises(Duplicate):
        store.add_event_destination("a", EventDestination("one", {}), limit=5)
    with pytest.raises(LimitReached):
        store.add_event_destination("a", EventDestination("three", {}), limit=2)
    assert store.replace_event_destination("a", EventDestination("one", {"Enabled": False}))
    assert not store.replace_event_destination("a", EventDestination("nope", {}))
    assert store.list_event_destinations("a") == [
        EventDestination("one", {"Enabled": False}),
        EventDestination("two", {"Enabled": False}),
    ]
    assert store.delete_event_destination("a", "one")
    assert not store.delete_event_destination("a", "one")
    store.add_event_destination("a", EventDestination("one", {}), limit=2)
    assert [d.name for d in store.list_event_destinations("a") or []] == ["two", "one"]


def test_deleting_a_set_deletes_its_destinations(store: Store) -> None:
    store.create_configuration_set(cs("a"), limit=10)
    store.add_event_destination("a", EventDestination("d", {}), limit=10)
    assert store.delete_configuration_set("a")
    assert not store.delete_configuration_set("a")
    store.create_configuration_set(cs("a"), limit=10)
    assert store.list_event_destinations("a") == []


def test_identities(store: Store) -> None:
    record = EmailIdentity("example.com", "DOMAIN", {"VerificationStatus": "SUCCESS"}, [], 2.0)
    store.create_identity(record)
    with pytest.raises(Duplicate):
        store.create_identity(record)
    store.create_identity(EmailIdentity("a@example.com", "EMAIL_ADDRESS", {}, [], 3.0))
    assert store.get_identity("example.com") == record
    assert [i.name for i in store.list_identities(after=None, limit=10)] == [
        "a@example.com",
        "example.com",
    ]
    assert [i.name for i in store.list_identities(after="a@example.com", limit=10)] == [
        "example.com"
    ]
    assert store.update_identity("example.com", attributes={"ConfigurationSetName": "cs"})
    assert store.update_identity("example.com", attributes={"VerificationStatus": None})
    updated = store.get_identity("example.com")
    assert updated is not None and updated.attributes == {"ConfigurationSetName": "cs"}
    assert not store.update_identity("nope.com", attributes={})
    assert store.delete_identity("example.com")
    assert not store.delete_identity("example.com")


def test_everything_survives_reopening(backend: Backend) -> None:
    first = backend.open()
    first.create_configuration_set(cs("kept"), limit=10)
    first.close()
    second = backend.open()
    assert second.get_configuration_set("kept") == cs("kept")
    assert second.migrate() == latest_version()
    second.close()


def test_unsupported_database_url_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        open_store("mysql://localhost/db")


def message(message_id: str, created: float = 10.0, recipients: list[str] | None = None) -> Message:
    return Message(
        message_id,
        created,
        "cs",
        "from@example.com",
        recipients or ["to@example.com"],
        {"messageId": message_id},
        b"Subject: hi\r\n\r\nbody \xff\r\n",
    )


def event(message_id: str, kind: str, happened: float) -> Event:
    return Event(f"{message_id}-{kind}", message_id, kind, happened, "cs", {"eventType": kind})


def test_accepted_message_is_queued_with_its_events(store: Store) -> None:
    store.accept_message(message("m1"), [event("m1", "Send", 10.0)], due=10.0)
    assert store.get_message("m1") == message("m1")
    assert store.pending_deliveries() == 1
    assert store.list_events(message_id="m1") == [event("m1", "Send", 10.0)]


def test_a_message_may_relay_to_fewer_recipients_than_it_names(store: Store) -> None:
    """The mailbox simulator's recipients stay on the message but are not relayed."""
    named = message("m1", recipients=["a@example.org", "success@simulator.amazonses.com"])
    store.accept_message(named, [], due=10.0, relay_to=["a@example.org"])
    store.accept_message(message("m2"), [], due=10.0, relay_to=["to@example.com"])
    assert store.get_message("m1") == named
    claimed = store.claim_deliveries(now=10.0, lease=60.0, limit=10)
    assert sorted((d.message.id, d.recipients) for d in claimed) == [
        ("m1", ["a@example.org"]),
        ("m2", ["to@example.com"]),
    ]


def test_a_failed_accept_leaves_nothing(store: Store) -> None:
    store.accept_message(message("m1"), [], due=10.0)
    with pytest.raises(Exception):  # noqa: B017 - the backend's own integrity error
        store.accept_message(message("m2"), [event("m1", "Send", 1.0)] * 2, due=10.0)
    assert store.get_message("m2") is None
    assert store.pending_deliveries() == 1


def test_claims_lease_and_never_hand_out_a_row_twice(store: Store) -> None:
    for index in range(5):
        store.accept_message(message(f"m{index}", created=index), [], due=float(index))
    first = store.claim_deliveries(now=2.0, lease=30.0, limit=10)
    assert [d.message.id for d in first] == ["m0", "m1", "m2"]
    assert store.claim_deliveries(now=2.0, lease=30.0, limit=10) == []
    # The lease runs out (the worker died): the row is taken over.
    again = store.claim_deliveries(now=40.0, lease=30.0, limit=2)
    assert [d.message.id for d in again] == ["m0", "m1"]


def test_concurrent_claims_split_the_rows(store: Store) -> None:
    for index in range(40):
        store.accept_message(message(f"m{index:02}"), [], due=0.0)
    got: list[str] = []

    def claim() -> None:
        while batch := store.claim_deliveries(now=1.0, lease=60.0, limit=3):
            got.extend(d.message.id for d in batch)

    at_once(*[claim] * 4)
    assert sorted(got) == [f"m{index:02}" for index in range(40)]


def test_finish_and_defer(store: Store) -> None:
    store.accept_message(message("a"), [], due=0.0)
    store.accept_message(message("b"), [], due=0.0)
    store.claim_deliveries(now=1.0, lease=60.0, limit=10)
    store.finish_deliveries([("a", [event("a", "Delivery", 2.0)])])
    store.defer_delivery(
        "b", due=100.0, error="451 later", remaining=["later@example.com"], events=[]
    )
    assert store.pending_deliveries() == 1
    assert store.claim_deliveries(now=50.0, lease=60.0, limit=10) == []
    [retry] = store.claim_deliveries(now=100.0, lease=60.0, limit=10)
    assert (retry.message.id, retry.attempts) == ("b", 1)
    assert retry.recipients == ["later@example.com"]
    assert [e.event_type for e in store.list_events(message_id="a")] == ["Delivery"]


def test_a_batch_of_outcomes_is_finished_whole_or_not_at_all(store: Store) -> None:
    for name in ("a", "b", "c"):
        store.accept_message(message(name), [], due=0.0)
    store.claim_deliveries(now=1.0, lease=60.0, limit=10)
    store.finish_deliveries(
        [("a", [event("a", "Delivery", 2.0)]), ("b", [event("b", "Delivery", 2.0)])]
    )
    assert store.pending_deliveries() == 1
    assert [e.message_id for e in store.list_events(event_type="Delivery")] == ["a", "b"]
    # A batch that cannot be recorded whole (an event id used already) records nothing.
    with pytest.raises(Exception):  # noqa: B017 - the backend's own integrity error
        store.finish_deliveries(
            [("c", [event("c", "Delivery", 3.0)]), ("a", [event("a", "Delivery", 2.0)])]
        )
    assert store.pending_deliveries() == 1
    assert store.list_events(message_id="c") == []
    store.finish_deliveries([])
    assert store.pending_deliveries() == 1


def test_an_error_text_with_a_nul_is_kept_without_it(store: Store) -> None:
    # A relay's reply is not ours to trust; PostgreSQL text cannot hold a NUL.
    store.accept_message(message("a"), [], due=0.0)
    store.claim_deliveries(now=1.0, lease=60.0, limit=10)
    store.defer_delivery("a", due=5.0, error="451 \x00later", remaining=[], events=[])
    [retry] = store.claim_deliveries(now=5.0, lease=60.0, limit=10)
    assert retry.attempts == 1


def test_messages_newest_first_and_filtered(store: Store) -> None:
    store.accept_message(message("old", 1.0, ["x@example.com"]), [], due=0.0)
    store.accept_message(message("new", 2.0, ["y@example.com", "x@example.com"]), [], due=0.0)
    assert [m.id for m in store.list_messages()] == ["new", "old"]
    assert [m.id for m in store.list_messages(recipient="y@example.com")] == ["new"]
    assert [m.id for m in store.list_messages(recipient="x@example.co")] == []
    assert [m.id for m in store.list_messages(message_id="old")] == ["old"]


def test_events_are_filtered_and_ordered(store: Store) -> None:
    store.add_events([event("m", "Open", 3.0), event("m", "Send", 1.0), event("n", "Send", 2.0)])
    assert [(e.message_id, e.event_type) for e in store.list_events()] == [
        ("m", "Send"),
        ("n", "Send"),
        ("m", "Open"),
    ]
    assert [e.event_type for e in store.list_events(event_type="Send", since=1.5)] == ["Send"]


def test_signing_keys(store: Store) -> None:
    store.add_signing_key(SigningKey("k2", b"\x00" * 32, 2.0))
    store.add_signing_key(SigningKey("k1", b"\x01" * 32, 1.0))
    with pytest.raises(Duplicate):
        store.add_signing_key(SigningKey("k1", b"\x02" * 32, 3.0))
    assert [k.id for k in store.signing_keys()] == ["k1", "k2"]


def template(name: str, subject: str = "Hi {{name}}", created: float = 1.5) -> EmailTemplate:
    content = {"Subject": subject, "Text": "Dear {{name}}", "Html": "<p>Ünïcödé {{name}}</p>"}
    return EmailTemplate(name, content, [{"Key": "team", "Value": "mail"}], created)


def test_email_template_round_trip_duplicate_and_limit(store: Store) -> None:
    store.create_email_template(template("welcome"), limit=2)
    assert store.get_email_template("welcome") == template("welcome")
    # Names are case-sensitive, as SES's are.
    assert store.get_email_template("Welcome") is None
    with pytest.raises(Duplicate):
        store.create_email_template(template("welcome", "other"), limit=2)
    store.create_email_template(template("Welcome"), limit=2)
    with pytest.raises(LimitReached):
        store.create_email_template(template("third"), limit=2)
    assert store.get_email_template("third") is None
    assert store.get_email_template("welcome") == template("welcome")


def test_email_templates_are_listed_in_name_order_and_paged(store: Store) -> None:
    for name in ["delta", "alpha", "Charlie", "bravo"]:
        store.create_email_template(template(name), limit=10)
    names = [t.name for t in store.list_email_templates(after=None, limit=10)]
    assert names == ["Charlie", "alpha", "bravo", "delta"]
    page = store.list_email_templates(after="alpha", limit=2)
    assert page == [template("bravo"), template("delta")]
    assert store.list_email_templates(after="delta", limit=2) == []


def test_email_template_update_replaces_content_only(store: Store) -> None:
    store.create_email_template(template("t", created=7.0), limit=10)
    assert store.update_email_template("t", {"Subject": "New {{x}}"})
    assert store.get_email_template("t") == EmailTemplate(
        "t", {"Subject": "New {{x}}"}, [{"Key": "team", "Value": "mail"}], 7.0
    )
    assert not store.update_email_template("missing", {"Subject": "x"})


def test_email_template_delete(store: Store) -> None:
    store.create_email_template(template("t"), limit=10)
    assert store.delete_email_template("t")
    assert not store.delete_email_template("t")
    assert store.get_email_template("t") is None
    # The name is free again.
    store.create_email_template(template("t"), limit=10)


def test_records_keep_their_member_order(store: Store) -> None:
    ordered = Message("o", 1.0, None, "a@example.com", ["b@example.org"], {"z": 1, "a": 2}, b"x")
    store.accept_message(ordered, [Event("e", "o", "Send", 1.0, None, {"z": 1, "a": 2})], due=1.0)
    stored = store.get_message("o")
    assert stored is not None and list(stored.mail) == ["z", "a"]
    assert list(store.list_events(message_id="o")[0].record) == ["z", "a"]


# --- account, suppression list, contact lists (issue 5) ---


def test_account_settings_are_replaced_by_block(store: Store) -> None:
    assert store.account_settings() == {}
    store.put_account_setting("SendingEnabled", False)
    store.put_account_setting("Details", {"MailType": "MARKETING"})
    store.put_account_setting("SendingEnabled", True)
    assert store.account_settings() == {
        "SendingEnabled": True,
        "Details": {"MailType": "MARKETING"},
    }


def test_reserve_send_counts_recipients_in_sliding_windows(store: Store) -> None:
    day = SendLimit("daily", 86_400.0, 5)
    rate = SendLimit("rate", 1.0, 2, allow_oversized=True)
    assert store.reserve_send(SendRecord("m1", 1000.0, 2, True, False), [rate, day]) is None
    assert store.reserve_send(SendRecord("m2", 1000.5, 1), [rate, day]) == "rate"
    assert store.reserve_send(SendRecord("m2", 1001.0, 1), [rate, day]) is None
    # An oversized message goes when its window is empty, but never past the daily quota.
    assert store.reserve_send(SendRecord("m3", 1003.0, 3), [rate, day]) == "daily"
    assert store.reserve_send(SendRecord("m3", 1003.0, 2), [rate, day]) is None
    assert store.recipients_sent_since(1000.0 - 86_400) == 5
    assert store.recipients_sent_since(1000.5) == 3
    # 24 hours after the first send, its two recipients no longer count.
    assert store.reserve_send(SendRecord("m4", 87_399.9, 2), [day]) == "daily"
    assert store.reserve_send(SendRecord("m4", 87_400.0, 2), [day]) is None
    assert store.tracking_of(["m1", "m2", "nope"]) == {"m1": (True, False), "m2": (False, False)}


def test_simulator_recipients_count_against_the_rate_only(store: Store) -> None:
    day = SendLimit("daily", 86_400.0, 2, counts_simulated=False)
    rate = SendLimit("rate", 1.0, 3)
    # Three recipients, two of them the mailbox simulator's: one for the daily quota.
    assert store.reserve_send(SendRecord("m1", 1000.0, 3, simulated=2), [rate, day]) is None
    assert store.reserve_send(SendRecord("m2", 1000.5, 1, simulated=1), [rate, day]) == "rate"
    assert store.reserve_send(SendRecord("m2", 1001.0, 3, simulated=3), [rate, day]) is None
    assert store.recipients_sent_since(0.0) == 1
    assert store.reserve_send(SendRecord("m3", 1002.0, 2), [rate, day]) == "daily"
    assert store.reserve_send(SendRecord("m3", 1002.0, 1), [rate, day]) is None
    assert store.reserve_send(SendRecord("m4", 1003.0, 2, simulated=2), [rate, day]) is None
    assert store.recipients_sent_since(0.0) == 2
    assert store.recipients_sent_since(1001.5) == 1


def test_reserve_send_is_exact_under_concurrency(store: Store) -> None:
    limit = SendLimit("daily", 86_400.0, 7)
    outcomes: list[str | None] = []
    lock = threading.Lock()

    def send(index: int) -> None:
        outcome = store.reserve_send(SendRecord(f"c{index}", 5000.0 + index / 1000, 1), [limit])
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(None) == 7
    assert store.recipients_sent_since(0) == 7


def test_api_calls_are_counted_per_operation_and_second(store: Store) -> None:
    assert [store.count_api_call("GetAccount", 100, 2) for _ in range(3)] == [True, True, False]
    assert store.count_api_call("GetAccount", 101, 2)
    assert store.count_api_call("ListContacts", 100, 2)


def test_suppression_list(store: Store) -> None:
    store.put_suppressed_destination(
        SuppressedDestination("ann@example.org", "BOUNCE", 10.0, "m", "f")
    )
    store.put_suppressed_destination(SuppressedDestination("bob@example.org", "COMPLAINT", 20.0))
    store.put_suppressed_destination(SuppressedDestination("cid@example.org", "BOUNCE", 30.0))
    store.put_suppressed_destination(SuppressedDestination("Cid@example.org", "BOUNCE", 30.0))
    assert store.get_suppressed_destination("ann@example.org") == SuppressedDestination(
        "ann@example.org", "BOUNCE", 10.0, "m", "f"
    )
    # The store compares addresses exactly; normalising them is the caller's job.
    assert store.get_suppressed_destination("ANN@example.org") is None
    every = store.list_suppressed_destinations(
        reasons=None, start=None, end=None, after=None, limit=10
    )
    assert [d.email for d in every] == [
        "Cid@example.org",
        "ann@example.org",
        "bob@example.org",
        "cid@example.org",
    ]
    bounces = store.list_suppressed_destinations(
        reasons=["BOUNCE"], start=15.0, end=None, after="Cid@example.org", limit=10
    )
    assert [d.email for d in bounces] == ["cid@example.org"]
    page = store.list_suppressed_destinations(
        reasons=None, start=None, end=20.0, after="ann@example.org", limit=10
    )
    assert [d.email for d in page] == ["bob@example.org"]
    assert set(store.suppressed_among(["ann@example.org", "zed@example.org"])) == {
        "ann@example.org"
    }
    store.put_suppressed_destination(SuppressedDestination("ann@example.org", "COMPLAINT", 40.0))
    assert store.get_suppressed_destination("ann@example.org") == SuppressedDestination(
        "ann@example.org", "COMPLAINT", 40.0
    )
    assert store.delete_suppressed_destination("ann@example.org")
    assert not store.delete_suppressed_destination("ann@example.org")


def contact_list(name: str = "news") -> ContactList:
    topics = [{"TopicName": "t", "DisplayName": "T", "DefaultSubscriptionStatus": "OPT_IN"}]
    return ContactList(name, "about", topics, [], 1.0, 1.0)


def test_contact_lists_and_contacts(store: Store) -> None:
    store.create_contact_list(contact_list(), limit=1)
    with pytest.raises(Duplicate):
        store.create_contact_list(contact_list(), limit=2)
    with pytest.raises(LimitReached):
        store.create_contact_list(contact_list(), limit=1)
    with pytest.raises(LimitReached):
        store.create_contact_list(contact_list("other"), limit=1)
    assert store.get_contact_list("news") == contact_list()
    assert [c.name for c in store.list_contact_lists(after=None, limit=5)] == ["news"]
    assert store.update_contact_list("news", topics=[], description=None, updated=2.0)
    assert store.get_contact_list("news") == ContactList("news", None, [], [], 1.0, 2.0)
    assert not store.update_contact_list("gone", topics=[], description=None, updated=2.0)
    assert store.set_contact_list_tags("news", [{"Key": "team", "Value": "growth"}])
    assert store.get_contact_list("news") == ContactList(
        "news", None, [], [{"Key": "team", "Value": "growth"}], 1.0, 2.0
    )
    assert store.set_contact_list_tags("news", [])
    assert not store.set_contact_list_tags("gone", [])

    ann = Contact("news", "Ann@example.org", [], False, '{"a":1}', 3.0, 3.0)
    store.create_contact(ann)
    with pytest.raises(Duplicate):
        store.create_contact(ann)
    with pytest.raises(Missing):
        store.create_contact(Contact("gone", "x@example.org", [], False, None, 1.0, 1.0))
    assert store.get_contact("news", "ann@EXAMPLE.org") == ann
    bob = Contact("news", "bob@example.org", [], True, None, 4.0, 4.0)
    store.create_contact(bob)
    assert store.list_contacts("news", after=None, limit=5) == [ann, bob]
    assert store.list_contacts("news", after="ann@example.org", limit=5) == [bob]
    changed = Contact(
        "news",
        "Ann@example.org",
        [{"TopicName": "t", "SubscriptionStatus": "OPT_OUT"}],
        False,
        None,
        3.0,
        5.0,
    )
    assert store.save_contact(changed, [event("m", "Subscription", 5.0)])
    assert store.get_contact("news", "ann@example.org") == changed
    assert [e.event_type for e in store.list_events(message_id="m")] == ["Subscription"]
    assert not store.save_contact(Contact("gone", "x@example.org", [], False, None, 1.0, 1.0), [])
    assert store.delete_contact("news", "BOB@example.org")
    assert not store.delete_contact("news", "bob@example.org")
    assert store.delete_contact_list("news")
    assert store.get_contact("news", "ann@example.org") is None


def test_events_between_has_no_limit_and_filters_types(store: Store) -> None:
    store.add_events([event(f"m{i}", "Send", 10.0 + i) for i in range(1200)])
    store.add_events([event("m", "Open", 15.0), event("m", "Click", 2000.0)])
    found = store.events_between(10.0, 1500.0, ["Send", "Open"])
    assert len(found) == 1201
    assert [e.event_type for e in store.events_between(14.5, 16.0, ["Open", "Click"])] == ["Open"]


def test_a_message_accepted_without_a_due_time_is_not_queued(store: Store) -> None:
    store.accept_message(message("unqueued"), [], due=None)
    assert store.get_message("unqueued") is not None
    assert store.pending_deliveries() == 0


def test_reserve_send_handles_equal_and_late_timestamps(store: Store) -> None:
    # Two processes' clocks differ a little: a send stamped earlier than the last one
    # recorded counts as sent at that last time, so windows stay exact.
    day = SendLimit("daily", 86_400.0, 10)
    for index, sent in enumerate([100.0, 100.0, 100.0, 99.0]):
        assert store.reserve_send(SendRecord(f"t{index}", sent, 2), [day]) is None
    assert store.recipients_sent_since(99.5) == 8
    assert store.recipients_sent_since(100.0) == 0
    assert store.reserve_send(SendRecord("t4", 101.0, 3), [day]) == "daily"
    assert store.reserve_send(SendRecord("t4", 86_500.5, 3), [day]) is None


def test_api_call_counting_is_exact_under_concurrency(store: Store) -> None:
    outcomes: list[bool] = []
    lock = threading.Lock()

    def call() -> None:
        allowed = store.count_api_call("GetAccount", 500, 4)
        with lock:
            outcomes.append(allowed)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 4


# --- inbox ----------------------------------------------------------------------------


def mailed(
    message_id: str,
    created: float,
    subject: str,
    *,
    recipients: tuple[str, ...] = ("to@example.com",),
    sender: str = "from@example.com",
    configuration_set: str = "cs",
) -> Message:
    """A message whose mail object has a subject, as SendEmail stores it."""
    mail = {"messageId": message_id, "commonHeaders": {"subject": subject}}
    return Message(
        message_id, created, configuration_set, sender, list(recipients), mail, b"Subject: x\r\n"
    )


def ids(
    store: Store, search: MessageFilter, *, before: Cursor | None = None, limit: int = 50
) -> list[str]:
    return [m.id for m in store.inbox_messages(search, before=before, limit=limit)]


def test_inbox_lists_newest_first_without_content_and_pages(store: Store) -> None:
    for index in range(7):
        store.accept_message(mailed(f"m{index}", float(index // 2), f"S{index}"), [], due=0.0)
    everything = store.inbox_messages(MessageFilter(), limit=100)
    assert [m.id for m in everything] == ["m6", "m5", "m4", "m3", "m2", "m1", "m0"]
    assert (everything[0].subject, everything[0].recipients) == ("S6", ["to@example.com"])
    first = store.inbox_messages(MessageFilter(), limit=3)
    edge = (first[-1].created, first[-1].id)
    assert ids(store, MessageFilter(), before=edge, limit=3) == ["m3", "m2", "m1"]
    # Messages sent in the same second are told apart by id, never skipped.
    assert ids(store, MessageFilter(), before=(2.0, "m4"), limit=10) == ["m3", "m2", "m1", "m0"]
    newer = store.inbox_messages(MessageFilter(), after=(1.0, "m2"), limit=2)
    assert [m.id for m in newer] == ["m4", "m3"]
    assert store.inbox_messages(MessageFilter(), after=(3.0, "m6"), limit=2) == []


def test_inbox_search_by_each_field(store: Store) -> None:
    store.accept_message(
        mailed("alpha-1", 1.0, 'Say "Hello" to Zoë', recipients=("Ann@Example.org",)), [], due=0.0
    )
    store.accept_message(
        mailed("beta-2", 2.0, "Invoice", sender="billing@shop.example", configuration_set="Bills"),
        [],
        due=0.0,
    )
    assert ids(store, MessageFilter(recipient="ann@example")) == ["alpha-1"]
    assert ids(store, MessageFilter(sender="BILLING")) == ["beta-2"]
    assert ids(store, MessageFilter(subject='"hello"')) == ["alpha-1"]
    assert ids(store, MessageFilter(subject="zoë")) == ["alpha-1"]
    assert ids(store, MessageFilter(configuration_set="bill")) == ["beta-2"]
    assert ids(store, MessageFilter(message_id="ALPHA")) == ["alpha-1"]
    assert ids(store, MessageFilter(text="invoice")) == ["beta-2"]
    assert ids(store, MessageFilter(text="example")) == ["beta-2", "alpha-1"]
    # Every given field must match; text in the mail object outside them does not.
    assert ids(store, MessageFilter(subject="invoice", recipient="ann")) == []
    assert ids(store, MessageFilter(text="commonHeaders")) == []
    assert ids(store, MessageFilter(text="%")) == []


def test_inbox_search_pages_past_rows_that_do_not_match(store: Store) -> None:
    for index in range(450):
        subject = "needle" if index % 100 == 0 else "hay"
        store.accept_message(mailed(f"m{index:03}", float(index), subject), [], due=0.0)
    assert ids(store, MessageFilter(subject="needle"), limit=3) == ["m400", "m300", "m200"]
    assert ids(store, MessageFilter(subject="needle"), before=(200.0, "m200")) == ["m100", "m000"]


def test_event_counts(store: Store) -> None:
    store.add_events(
        [event("a", "Send", 1.0), event("a", "Open", 2.0), event("b", "Send", 1.0)]
        + [Event(f"a-click-{n}", "a", "Click", 3.0, "cs", {}) for n in range(2)]
    )
    assert store.event_counts(["a", "b", "c"]) == {
        "a": {"Send": 1, "Open": 1, "Click": 2},
        "b": {"Send": 1},
    }
    assert store.event_counts([]) == {}


def test_deleting_messages_drops_their_queue_rows_and_keeps_events(store: Store) -> None:
    for name in ("a", "b", "c"):
        store.accept_message(message(name), [event(name, "Send", 1.0)], due=0.0)
    assert store.delete_message("a") is True
    assert store.delete_message("a") is False
    assert store.get_message("a") is None
    assert store.pending_deliveries() == 2
    assert [d.message.id for d in store.claim_deliveries(now=1.0, lease=1.0, limit=9)] == [
        "b",
        "c",
    ]
    assert store.clear_messages() == 2
    assert store.list_messages() == [] and store.pending_deliveries() == 0
    assert len(store.list_events()) == 3
