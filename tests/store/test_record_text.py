"""The record text the store writes is exactly the compact JSON of the record, whichever
way the store puts it together (a `mail` shared by a batch's events is encoded once)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sesame.store.base import Event
from sesame.store.sqlite import SQLiteStore

MAIL = {"messageId": "m", "destination": ["ü@example.org"], "tags": {"t": ["\u2028", '"']}}


def test_stored_record_text_is_the_compact_json_of_the_record(tmp_path: Path) -> None:
    other = dict(MAIL, messageId="n")
    records = [
        {"eventType": "Click", "mail": MAIL, "click": {"link": "https://é/"}, "v": {"a": 1}},
        {"eventType": "Open", "mail": MAIL, "open": {"userAgent": "x\0y"}},
        {"eventType": "Send", "mail": other},
        {"eventType": "Click", "mail": other, "click": {}},
        {"mail": MAIL, "eventType": "Bounce", "bounce": {}},  # another member order
        {"eventType": "Subscription", "subscription": {"mail": 1}},  # no mail object
        {"eventType": "Odd", "mail": "text, not an object"},
    ]
    events = [Event(f"e{n}", "m", "Click", float(n), None, r) for n, r in enumerate(records)]
    store = SQLiteStore(tmp_path / "r.db")
    store.add_events(events)
    store.close()
    with sqlite3.connect(tmp_path / "r.db") as conn:
        stored = dict(conn.execute("SELECT id, record FROM events"))
    for event in events:
        expected = json.dumps(event.record, separators=(",", ":"), ensure_ascii=False)
        assert stored[event.id] == expected
