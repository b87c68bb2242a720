"""Schema migrations on each backend: from an empty database to the latest version,
from the previous version with data in it, and by several processes at once."""

from __future__ import annotations

from sesame.store.base import (
    ConfigurationSet,
    EmailIdentity,
    Event,
    Message,
    SendLimit,
    SendRecord,
    Store,
)
from sesame.store.relational import RelationalStore
from sesame.store.schema import latest_version, migrations
from store.conftest import Backend, at_once


def test_an_empty_database_is_migrated_to_the_latest_version(backend: Backend) -> None:
    store = backend.open(migrate=False)
    try:
        assert store.migrate() == latest_version()
        assert store.migrate() == latest_version()  # nothing left to do
        store.create_configuration_set(ConfigurationSet("cs"), limit=10)
        assert store.reserve_send(SendRecord("m", 1.0, 1), []) is None
    finally:
        store.close()


def fill(store: Store) -> None:
    """Data of the tables the previous version has (0001-0005)."""
    store.create_configuration_set(ConfigurationSet("cs", {}, [], 1.0), limit=10)
    store.create_identity(EmailIdentity("example.com", "DOMAIN", {}, [], 2.0))
    message = Message("m1", 3.0, "cs", "a@example.com", ["b@example.org"], {}, b"\x00\xff")
    send = Event("m1-send", "m1", "Send", 3.0, "cs", {"eventType": "Send"})
    store.accept_message(message, [send], due=3.0)
    # The sending ledger as 0005 wrote it (today's reserve_send writes 0006's columns).
    assert isinstance(store, RelationalStore)
    with store._write() as conn:
        conn.execute("UPDATE send_totals SET recipients = 2, last_sent = 3.0 WHERE id = 1")
        conn.execute(
            "INSERT INTO sends (message_id, sent, recipients, cumulative, opens_tracked, "
            "clicks_tracked) VALUES ('m0', 3.0, 2, 2, 0, 0)"
        )


def test_the_previous_version_is_migrated_with_its_data(backend: Backend) -> None:
    previous = migrations()[-2].version
    old = backend.open(migrate=False)
    try:
        assert old.migrate(target=previous) == previous
        fill(old)
    finally:
        old.close()
    store = backend.open()
    try:
        assert store.migrate() == latest_version()
        assert store.get_configuration_set("cs") == ConfigurationSet("cs", {}, [], 1.0)
        identity = store.get_identity("example.com")
        assert identity is not None and identity.kind == "DOMAIN"
        message = store.get_message("m1")
        assert message is not None and message.content == b"\x00\xff"
        assert [e.event_type for e in store.list_events(message_id="m1")] == ["Send"]
        [delivery] = store.claim_deliveries(now=4.0, lease=60.0, limit=10)
        store.finish_deliveries([("m1", [Event("m1-d", "m1", "Delivery", 5.0, "cs", {})])])
        assert delivery.recipients == ["b@example.org"]
        # The ledger's sends count for both totals; new sends go on from them.
        assert store.recipients_sent_since(0.0) == 2
        day = SendLimit("Daily message quota exceeded.", 86400.0, 3, counts_simulated=False)
        assert store.reserve_send(SendRecord("m2", 6.0, 2, simulated=1), [day]) is None
        assert store.reserve_send(SendRecord("m3", 7.0, 1), [day]) == day.name
        assert store.reserve_send(SendRecord("m3", 7.0, 1, simulated=1), [day]) is None
        assert store.recipients_sent_since(0.0) == 3
        assert store.recipients_sent_since(3.0) == 1
    finally:
        store.close()


def test_nodes_starting_at_once_migrate_once(backend: Backend) -> None:
    versions: list[int] = []

    def node() -> None:
        store = backend.open()
        versions.append(store.migrate())
        store.close()

    at_once(*[node] * 4)
    assert versions == [latest_version()] * 4
