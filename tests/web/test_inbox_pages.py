"""What the inbox's pages say, over plain HTTP: search, pages, downloads, settings.

Mail goes in through boto3 (SendEmail, Raw with attachments) and comes out of
the pages; the browser tests cover what needs a browser (live updates, the
sandboxed preview, the keyboard).
"""

from __future__ import annotations

import contextlib
import html
import http.client
import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from harness import RunningSesame, start_sesame
from inbox_client import InboxClient


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSesame]:
    running = start_sesame(tmp_path_factory.mktemp("pages"))
    client: Any = running.client()
    client.create_email_identity(EmailIdentity="example.com")
    yield running
    running.stop()


def send(server: RunningSesame, subject: str, to: str = "b@example.org", **extra: Any) -> str:
    client: Any = server.client()
    answer = client.send_email(
        FromEmailAddress="a@example.com",
        Destination={"ToAddresses": [to]},
        Content={"Simple": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": "hi"}}}},
        **extra,
    )
    return str(answer["MessageId"])


def subjects(page: str) -> list[str]:
    return [
        html.unescape(s) for s in re.findall(r'<td class="subject"[^>]*><a [^>]*>([^<]*)<', page)
    ]


def test_search_by_each_field(server: RunningSesame) -> None:
    client: Any = server.client()
    with contextlib.suppress(client.exceptions.AlreadyExistsException):
        client.create_configuration_set(ConfigurationSetName="receipts")
    invoice = send(server, "Invoice 42", to="payer@example.net", ConfigurationSetName="receipts")
    send(server, 'Say "hello"', to="friend@example.org")
    browser = InboxClient(server.url)

    def found(query: str) -> list[str]:
        answer = browser.get("/_sesame/?q=" + quote(query))
        assert answer.status == 200
        return subjects(answer.text)

    assert found("to:payer@") == ["Invoice 42"]
    assert found("set:receipts") == ["Invoice 42"]
    assert found('subject:"say \\"hello"') == ['Say "hello"']
    assert found(f"id:{invoice[-12:]}") == ["Invoice 42"]
    assert found("from:a@example.com to:friend") == ['Say "hello"']
    assert found("invoice") == ["Invoice 42"]
    answer = browser.get("/_sesame/?q=" + quote("to:nobody@nowhere"))
    assert "Nothing matches" in answer.text and "<table" not in answer.text


def test_pages_of_fifty_newest_first(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_sesame(tmp_path_factory.mktemp("paged"))
    try:
        server.client().create_email_identity(EmailIdentity="example.com")
        for number in range(55):
            send(server, f"Number {number:02}")
        browser = InboxClient(server.url)
        first = browser.get("/_sesame/").text
        assert subjects(first) == [f"Number {n:02}" for n in range(54, 4, -1)]
        assert "Newer" not in first and 'data-live="on"' in first
        older = pager_link(first, "next")
        second = browser.get(older).text
        assert subjects(second) == [f"Number {n:02}" for n in range(4, -1, -1)]
        assert 'rel="next"' not in second and 'data-live="off"' in second
        newer = pager_link(second, "prev")
        assert subjects(browser.get(newer).text) == subjects(first)
        # A cursor that is not one is ignored, not a 500.
        assert browser.get("/_sesame/?before=nan~x&after=zzz").status == 200
    finally:
        server.stop()


def pager_link(page: str, rel: str) -> str:
    found = re.search(f'href="([^"]+)" rel="{rel}"', page)
    assert found, f"no {rel} link"
    return html.unescape(found.group(1))


def email(subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "a@example.com"
    message["To"] = "b@example.org"
    message["Subject"] = subject
    message.set_content(text)
    return message


def raw_with_attachments() -> bytes:
    message = email("Report attached", "See the attachments.")
    message.add_alternative("<p>See the <b>attachments</b>.</p>", subtype="html")
    message.add_attachment(b"col\n1\n", maintype="text", subtype="csv", filename="report.csv")
    page = b"<script>alert(document.cookie)</script>"
    message.add_attachment(page, maintype="text", subtype="html", filename="Überblick.html")
    return message.as_bytes()


def test_message_view_downloads_and_attachments(server: RunningSesame) -> None:
    client: Any = server.client()
    raw = raw_with_attachments()
    message_id = client.send_email(Content={"Raw": {"Data": raw}})["MessageId"]
    browser = InboxClient(server.url)
    page = browser.get(f"/_sesame/messages/{message_id}").text
    assert "Report attached" in page and "See the attachments." in page
    assert "report.csv" in page and "Überblick.html" in page
    assert "Not tracked: the message went through no configuration set." in page
    assert '<th scope="row">From</th><td>a@example.com</td>' in page  # the headers

    eml = browser.get(f"/_sesame/messages/{message_id}/raw")
    assert eml.headers["Content-Type"] == "message/rfc822"
    assert f'filename="{message_id}.eml"' in eml.headers["Content-Disposition"]
    stored = server.app.store.get_message(message_id)
    assert stored is not None and eml.body == stored.content

    links = re.findall(r'href="(/_sesame/messages/[^"]+/parts/\d+)"', page)
    assert len(links) == 2
    csv = browser.get(links[0])
    assert csv.body == b"col\n1\n"
    assert csv.headers["Content-Type"] == "application/octet-stream"
    assert csv.headers["Content-Disposition"].startswith('attachment; filename="report.csv"')
    # An HTML attachment is a download, never a page on the inbox's origin.
    page_attachment = browser.get(links[1])
    assert page_attachment.headers["Content-Type"] == "application/octet-stream"
    assert "filename*=UTF-8''%C3%9Cberblick.html" in page_attachment.headers["Content-Disposition"]
    assert "sandbox" in page_attachment.headers["Content-Security-Policy"]


def test_the_html_frame_is_sandboxed_by_its_own_headers(server: RunningSesame) -> None:
    client: Any = server.client()
    message_id = client.send_email(Content={"Raw": {"Data": raw_with_attachments()}})["MessageId"]
    browser = InboxClient(server.url)
    frame = browser.get(f"/_sesame/messages/{message_id}/frame")
    assert frame.status == 200 and "<b>attachments</b>" in frame.text
    policy = frame.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox allow-popups allow-popups-to-escape-sandbox;")
    assert "allow-scripts" not in policy and "allow-same-origin" not in policy
    assert "img-src data:;" in policy and "http:" not in policy
    images = browser.get(f"/_sesame/messages/{message_id}/frame?images=1")
    assert "img-src data: http: https:" in images.headers["Content-Security-Policy"]
    assert browser.get(f"/_sesame/messages/{send(server, 'plain')}/frame").status == 404


def test_missing_things_are_clear_404_pages(server: RunningSesame) -> None:
    browser = InboxClient(server.url)
    for path in (
        "/_sesame/messages/nope",
        "/_sesame/messages/nope/raw",
        "/_sesame/messages/nope/parts/1",
        f"/_sesame/messages/{send(server, 'x')}/parts/99",
        "/_sesame/no-such-page",
        "/_sesame/static/nothing.js",
    ):
        answer = browser.get(path)
        assert answer.status == 404, path
        assert "<h1>" in answer.text and "Back to the messages" in answer.text
    assert browser.request("PUT", "/_sesame/").status == 404


def test_configuration_sets_and_identities(server: RunningSesame) -> None:
    client: Any = server.client()
    client.create_email_identity(EmailIdentity="track.example.com")
    client.create_email_identity(EmailIdentity="someone@example.org")
    client.create_configuration_set(
        ConfigurationSetName="tracked",
        TrackingOptions={
            "CustomRedirectDomain": "links.track.example.com",
            "HttpsPolicy": "REQUIRE_OPEN_ONLY",
        },
    )
    client.create_configuration_set_event_destination(
        ConfigurationSetName="tracked",
        EventDestinationName="to-sns",
        EventDestination={
            "Enabled": False,
            "MatchingEventTypes": ["OPEN", "CLICK"],
            "SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:clicks"},
        },
    )
    browser = InboxClient(server.url)
    page = html.unescape(browser.get("/_sesame/configuration-sets").text)
    section = page[page.index("<h2 id=") :]
    tracked = section[section.index(">tracked<") :]
    assert "links.track.example.com" in tracked
    assert "REQUIRE_OPEN_ONLY — open pixel https://, click links the link's own scheme" in tracked
    assert "to-sns" in tracked and "OPEN, CLICK" in tracked and "arn:aws:sns" in tracked
    identities = browser.get("/_sesame/identities").text
    assert "track.example.com" in identities and "someone@example.org" in identities
    assert "SUCCESS" in identities and "email address" in identities


def test_empty_states(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_sesame(tmp_path_factory.mktemp("empty"))
    try:
        browser = InboxClient(server.url)
        assert "No mail yet" in browser.get("/_sesame/").text
        assert "No configuration sets" in browser.get("/_sesame/configuration-sets").text
        assert "No identities" in browser.get("/_sesame/identities").text
    finally:
        server.stop()


def test_live_stream_says_change_when_mail_arrives(server: RunningSesame) -> None:
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    connection.request("GET", "/_sesame/live")
    response = connection.getresponse()
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.readline() == b"retry: 1000\n"
    send(server, "wake up")
    lines = iter(response.readline, b"")
    assert next(line for line in lines if line.strip()) == b"event: change\n"
    connection.close()


def test_inline_images_are_shown_from_the_message_itself(server: RunningSesame) -> None:
    message = email("Logo", "text")
    message.add_alternative('<p><img src="cid:logo@example.com" alt="logo"></p>', subtype="html")
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    html_part.add_related(b"\x89PNG fake", "image", "png", cid="<logo@example.com>")
    client: Any = server.client()
    message_id = client.send_email(Content={"Raw": {"Data": message.as_bytes()}})["MessageId"]
    frame = InboxClient(server.url).get(f"/_sesame/messages/{message_id}/frame").text
    assert 'src="data:image/png;base64,iVBORyBmYWtl"' in frame
    assert "cid:" not in frame


def test_the_timeline_shows_the_classifiers_verdicts(server: RunningSesame) -> None:
    """A HEAD on a click URL (a link scanner's probe) and a mail client's open, each
    classified by events/machines.py, show as machine and person."""
    client: Any = server.client()
    with contextlib.suppress(client.exceptions.AlreadyExistsException):
        client.create_configuration_set(ConfigurationSetName="engaged")
        client.create_configuration_set_event_destination(
            ConfigurationSetName="engaged",
            EventDestinationName="engagement",
            EventDestination={
                "Enabled": True,
                "MatchingEventTypes": ["OPEN", "CLICK"],
                "SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:e"},
            },
        )
    html_body = '<html><body><a href="https://example.org/x">x</a></body></html>'
    message_id = client.send_email(
        FromEmailAddress="a@example.com",
        Destination={"ToAddresses": ["b@example.org"]},
        Content={"Simple": {"Subject": {"Data": "Judged"}, "Body": {"Html": {"Data": html_body}}}},
        ConfigurationSetName="engaged",
    )["MessageId"]
    server.events(message_id, "Delivery")
    stored = server.app.store.get_message(message_id)
    assert stored is not None
    [click] = re.findall(r'href="([^"]+/L0/[^"]+)"', stored.content.decode())
    [pixel] = re.findall(r'<img[^>]+src="([^"]+)"', stored.content.decode())
    parts = urlsplit(server.url)
    for method, url in (("HEAD", click), ("GET", pixel)):
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        connection.request(method, urlsplit(url).path, headers={"User-Agent": "Mail/16.0"})
        connection.getresponse().read()
        connection.close()
    server.events(message_id, "Open", "Click")
    page = InboxClient(server.url).get(f"/_sesame/messages/{message_id}").text
    badges = {}
    for item in page.split('<li class="event ')[1:]:
        badge = re.search(r'<span class="badge \w+">(\w+)</span>', item.split("</li>")[0])
        badges[item.split('"')[0]] = badge.group(1) if badge else None
    assert badges == {"send": None, "delivery": None, "click": "machine", "open": "person"}
