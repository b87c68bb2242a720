"""The inbox's pure parts, table-driven: search syntax, session tokens, the Host
check, the timeline (with and without a person/machine verdict), link reports."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sesame.mail.tokens import Keyring, click_path, open_path
from sesame.store.base import Event, MessageFilter
from sesame.web.inbox import search
from sesame.web.inbox.access import MAX_AGE, Access, is_loopback_host
from sesame.web.inbox.links import link_report
from sesame.web.inbox.timeline import timeline


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("", MessageFilter()),
        ("spring sale", MessageFilter(text="spring sale")),
        ("to:ann@example.org", MessageFilter(recipient="ann@example.org")),
        ('subject:"spring sale" FROM:shop', MessageFilter(subject="spring sale", sender="shop")),
        (
            "set:news id:0100 hello",
            MessageFilter(text="hello", configuration_set="news", message_id="0100"),
        ),
        ('subject:"unbalanced', MessageFilter(subject='"unbalanced')),
        ("to: alone", MessageFilter(text="to: alone")),
        ("http://example.org", MessageFilter(text="http://example.org")),
    ],
)
def test_search_syntax(query: str, wanted: MessageFilter) -> None:
    assert search.parse(query) == wanted


@pytest.mark.parametrize(
    ("text", "cursor"),
    [
        (search.cursor_text(1733245566.123456, "0100-abc"), (1733245566.123456, "0100-abc")),
        ("12.5~a~b", (12.5, "a~b")),
        ("nan~x", None),
        ("12.5", None),
        ("12.5~", None),
        ("x~y", None),
        ("", None),
        (None, None),
    ],
)
def test_cursors(text: str | None, cursor: tuple[float, str] | None) -> None:
    assert search.cursor_of(text) == cursor


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:8840", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("LOCALHOST:80", True),
        ("[::1]:8840", True),
        ("app.localhost:8840", True),
        ("example.com", False),
        ("127.0.0.1.nip.io", False),
        ("10.0.0.1:8840", False),
        ("[::2]", False),
        ("", False),
    ],
)
def test_loopback_host_names(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_session_tokens_are_signed_and_expire() -> None:
    access = Access(open_=False, access_key_id="AKIA", secret_access_key="s" * 40, ui_password=None)
    session = access.new_session(logged_in=True)
    token = access.encode(session)
    assert access.decode(token) == session
    assert access.decode(token, now=session.issued + MAX_AGE + 1) is None
    assert access.decode(token.replace(".1.", ".0.")) is None
    other = Access(open_=False, access_key_id="AKIA", secret_access_key="t" * 40, ui_password=None)
    assert other.decode(token) is None  # a new secret ends every session
    assert access.csrf_ok(session, access.csrf_token(session))
    assert not access.csrf_ok(access.new_session(logged_in=True), access.csrf_token(session))
    assert not access.csrf_ok(None, access.csrf_token(session))


def event(kind: str, detail_key: str, detail: dict[str, Any], **extra: Any) -> Event:
    record = {"eventType": kind, "mail": {"messageId": "m"}, detail_key: detail, **extra}
    return Event(f"e-{kind}", "m", kind, 1.5, "cs", record)


def test_timeline_without_and_with_a_verdict() -> None:
    click = {"ipAddress": "203.0.113.9", "link": "https://x.example/", "userAgent": "UA"}
    plain, person, machine = timeline(
        [
            event("Click", "click", click | {"linkTags": {"place": ["footer"]}}),
            event("Open", "open", {"ipAddress": "1.2.3.4", "userAgent": "Mail"}, sesame="person"),
            event(
                "Click",
                "click",
                click,
                engagement={"agent": "machine", "reason": "link scanner (3 links in 1 s)"},
            ),
        ]
    )
    assert plain.verdict == "" and ("tags", "place: footer") in plain.facts
    assert ("link", "https://x.example/") in plain.facts
    assert person.verdict == "person" and ("sesame", "person") in person.facts
    assert machine.verdict == "machine"
    assert ("reason", "link scanner (3 links in 1 s)") in machine.facts
    assert plain.when == "1970-01-01T00:00:01.500Z"
    # The stored verdict decides over anything a record's extra attributes say.
    judged = dataclasses.replace(event("Open", "open", {}, note="person"), actor="machine")
    assert timeline([judged])[0].verdict == "machine"


def test_timeline_of_every_kind_has_its_facts() -> None:
    delivery = {"recipients": ["a@x"], "smtpResponse": "250 ok", "processingTimeMillis": 5}
    bounced = {"emailAddress": "b@x", "status": "5.1.1", "diagnosticCode": "smtp; 550"}
    bounce = {"bounceType": "Permanent", "bounceSubType": "General", "bouncedRecipients": [bounced]}
    failure = {"templateName": "t", "errorMessage": "Attribute 'name' is not present"}
    entries = timeline(
        [
            event("Delivery", "delivery", delivery),
            event("Bounce", "bounce", bounce),
            event("Rendering Failure", "failure", failure),
            event("Complaint", "complaint", {"complaintFeedbackType": "abuse"}),
        ]
    )
    assert ("SMTP response", "250 ok") in entries[0].facts
    assert ("recipients", "b@x 5.1.1 smtp; 550") in entries[1].facts
    assert ("error", "Attribute 'name' is not present") in entries[2].facts
    assert entries[2].slug == "rendering-failure"
    assert ("complaintFeedbackType", "abuse") in entries[3].facts


def test_link_report_decodes_click_urls_and_counts_clicks_per_target_and_tags() -> None:
    ring = Keyring({"k1": b"k" * 32}, "k1")
    old = Keyring({"k0": b"o" * 32}, "k0")
    host = "https://track.example.com"
    html = (
        f'<a href="{host}{click_path(ring, "m1", 0, "https://a.example/")}">First <b>A</b></a>'
        f'<a href="{host}{click_path(ring, "m1", 1, "https://b.example/")}"><img alt="B"></a>'
        f'<a href="{host}{click_path(ring, "m1", 2, "https://a.example/")}">Again A</a>'
        f'<a href="{host}{click_path(old, "m1", 3, "https://c.example/")}">gone key</a>'
        f'<a href="{host}{click_path(ring, "m2", 4, "https://d.example/")}">another message</a>'
        '<a href="mailto:x@example.org">mail</a>'
        f'<img src="{host}{open_path(ring, "m1")}">'
    )
    tags = [{"url": "", "tags": {}}, {"url": "", "tags": {"k": ["v"]}}, {"url": "", "tags": {}}]

    def click(link: str, **tags: list[str]) -> Event:
        return Event("c", "m1", "Click", 2.0, None, {"click": {"link": link, "linkTags": tags}})

    clicks = [click("https://a.example/"), click("https://a.example/"), click("https://b.example/")]
    clicks.append(click("https://b.example/", k=["v"]))
    report = link_report(html, "m1", tags, clicks, ring)
    assert [(r.target, r.positions, r.texts, r.clicks) for r in report.tracked] == [
        ("https://a.example/", [0, 2], ["First A", "Again A"], 2),
        ("https://b.example/", [1], ["B"], 1),
    ]
    assert report.tracked[1].tags == {"k": ["v"]}
    assert report.untracked == [("mailto:x@example.org", "mail")]
    assert len(report.unverified) == 2
    assert report.pixel is True
    assert link_report(None, "m1", [], [], ring).tracked == []
