"""The whole point: tracking options change what is sent and what is served.

A boto3 script sets up a domain, a configuration set with tracking options and
an OPEN/CLICK destination, sends HTML, reads the delivered copy from a real
SMTP server, follows the click link with the custom domain as the Host, loads
the pixel, and finds the Open and Click events.
"""

from __future__ import annotations

import http.client
import re
import threading
from typing import Any
from urllib.parse import urlsplit

import pytest

from harness import RunningSesame
from smtp_sink import SmtpSink

HTML = (
    '<html><body><p>Hi <a href="https://example.org/a?x=1&amp;y=2">one</a> '
    "<a href='http://example.org/b' ses:tags=\"campaign:spring;\">two</a> "
    '<a ses:no-track href="https://example.org/c">three</a> '
    '<a href="mailto:x@example.org">mail</a></p></body></html>'
)


RELAY_SETTINGS = {"trusted_proxies": "127.0.0.0/8, 10.0.0.0/8"}
ISO_MILLISECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def server(relayed: RunningSesame) -> RunningSesame:
    return relayed


def get(
    server: RunningSesame, url: str, *, forwarded_for: str | None = None
) -> http.client.HTTPResponse:
    """GET a tracking URL from Sesame itself, presenting the URL's own host as Host."""
    parts = urlsplit(url)
    target = urlsplit(server.url)
    connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
    headers = {"Host": parts.netloc, "User-Agent": "test-agent/1.0"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    connection.request("GET", parts.path, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def set_up(client: Any, name: str, policy: str | None) -> str:
    domain = f"{name}.example.com"
    client.create_email_identity(EmailIdentity=domain)
    tracking = {"CustomRedirectDomain": f"track.{domain}"}
    if policy:
        tracking["HttpsPolicy"] = policy
    client.create_configuration_set(ConfigurationSetName=name, TrackingOptions=tracking)
    client.create_configuration_set_event_destination(
        ConfigurationSetName=name,
        EventDestinationName="engagement",
        EventDestination={
            "Enabled": True,
            "MatchingEventTypes": ["SEND", "DELIVERY", "OPEN", "CLICK"],
            "SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:engagement"},
        },
    )
    return domain


def send(client: Any, domain: str, name: str) -> str:
    answer = client.send_email(
        FromEmailAddress=f"news@{domain}",
        Destination={"ToAddresses": ["reader@example.org"]},
        Content={
            "Simple": {
                "Subject": {"Data": "Tracked"},
                "Body": {"Text": {"Data": "see https://example.org/a"}, "Html": {"Data": HTML}},
            }
        },
        ConfigurationSetName=name,
    )
    return str(answer["MessageId"])


@pytest.mark.parametrize(
    ("policy", "pixel_scheme", "schemes"),
    [
        (None, "http", ["https", "http"]),
        ("OPTIONAL", "http", ["https", "http"]),
        ("REQUIRE", "https", ["https", "https"]),
        ("REQUIRE_OPEN_ONLY", "https", ["https", "http"]),
    ],
)
def test_tracking_end_to_end(
    server: RunningSesame,
    sink: SmtpSink,
    unique: str,
    policy: str | None,
    pixel_scheme: str,
    schemes: list[str],
) -> None:
    client = server.client()
    domain = set_up(client, unique, policy)
    message_id = send(client, domain, unique)
    mail = sink.next().message()
    html_part = mail.get_body(preferencelist=("html",))
    text_part = mail.get_body(preferencelist=("plain",))
    assert html_part is not None and text_part is not None
    html = html_part.get_content()
    assert text_part.get_content().strip() == "see https://example.org/a"

    links = re.findall(r"href=[\"']([^\"']+)[\"']", html)
    tracked = [link for link in links if f"track.{domain}" in link]
    assert [urlsplit(link).scheme for link in tracked] == schemes
    assert all(urlsplit(link).path.startswith("/L0/") for link in tracked)
    assert 'href="https://example.org/c"' in html and "ses:no-track" not in html
    assert "ses:tags" not in html and 'href="mailto:x@example.org"' in html
    [pixel] = re.findall(r"<img[^>]+src=\"([^\"]+)\"", html)
    assert urlsplit(pixel).scheme == pixel_scheme and urlsplit(pixel).path.startswith("/I0/")
    assert html.index(pixel) < html.index("</body>")

    # The recipient's address is nowhere in the URLs (tokens carry the message id only).
    assert not [url for url in [*tracked, pixel] if "reader" in url.lower()]

    first = get(server, tracked[0])
    assert first.status == 302
    assert first.getheader("Location") == "https://example.org/a?x=1&y=2"
    assert "no-store" in (first.getheader("Cache-Control") or "")
    second = get(server, tracked[1])
    assert second.getheader("Location") == "http://example.org/b"
    image = get(server, pixel)
    assert image.status == 200 and image.getheader("Content-Type") == "image/gif"
    assert "no-store" in (image.getheader("Cache-Control") or "")

    events = server.events(message_id, "Send", "Delivery", "Open", "Click")
    by_type = {e.event_type: e.record for e in events}
    assert by_type["Send"]["send"] == {}
    assert by_type["Delivery"]["delivery"]["recipients"] == ["reader@example.org"]
    assert by_type["Delivery"]["delivery"]["smtpResponse"].startswith("250")
    clicks = [e.record for e in events if e.event_type == "Click"]
    opens = [e.record for e in events if e.event_type == "Open"]
    assert len(clicks) == 2 and len(opens) == 1
    by_link = {click["click"]["link"]: click["click"] for click in clicks}
    assert by_link["http://example.org/b"]["linkTags"] == {"campaign": ["spring"]}
    assert "linkTags" not in by_link["https://example.org/a?x=1&y=2"]
    for click in by_link.values():
        assert click["ipAddress"] == "127.0.0.1" and click["userAgent"] == "test-agent/1.0"
        assert ISO_MILLISECONDS.fullmatch(click["timestamp"])
    assert opens[0]["open"]["userAgent"] == "test-agent/1.0"
    assert opens[0]["open"]["ipAddress"] == "127.0.0.1"
    assert ISO_MILLISECONDS.fullmatch(opens[0]["open"]["timestamp"])
    assert opens[0]["mail"]["messageId"] == message_id
    assert opens[0]["mail"]["tags"]["ses:configuration-set"] == [unique]
    assert clicks[0]["mail"]["messageId"] == message_id


def test_a_tampered_link_is_404_and_never_redirects(
    server: RunningSesame, sink: SmtpSink, unique: str
) -> None:
    client = server.client()
    domain = set_up(client, unique, "REQUIRE")
    send(client, domain, unique)
    html = sink.next().message().get_body(preferencelist=("html",))
    assert html is not None
    link = re.findall(r"href=\"(https://track[^\"]+)\"", html.get_content())[0]
    evil = link.replace("example.org", "evil.example")
    assert evil != link
    for url in (evil, link[:-3], link + "x", link.replace("/L0/", "/I0/")):
        response = get(server, url)
        assert response.status == 404
        assert response.getheader("Location") is None


def test_without_a_configuration_set_nothing_is_tracked(
    server: RunningSesame, sink: SmtpSink, unique: str
) -> None:
    client = server.client()
    domain = f"{unique}.example.com"
    client.create_email_identity(EmailIdentity=domain)
    client.send_email(
        FromEmailAddress=f"news@{domain}",
        Destination={"ToAddresses": ["reader@example.org"]},
        Content={"Simple": {"Subject": {"Data": "x"}, "Body": {"Html": {"Data": HTML}}}},
    )
    html = sink.next().message().get_body(preferencelist=("html",))
    assert html is not None
    assert html.get_content().strip() == HTML


def test_oversized_headers_are_refused(server: RunningSesame) -> None:
    target = urlsplit(server.url)
    connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
    connection.request("GET", "/I0/x/y", headers={"Cookie": "a" * 9000})
    assert connection.getresponse().status == 400
    connection.close()


def tracked_links(sink: SmtpSink, domain: str) -> tuple[list[str], str]:
    html = sink.next().message().get_body(preferencelist=("html",))
    assert html is not None
    content = html.get_content()
    links = re.findall(rf"href=\"(https?://track\.{re.escape(domain)}[^\"]+)\"", content)
    [pixel] = re.findall(r"<img[^>]+src=\"([^\"]+)\"", content)
    return links, pixel


def test_forwarded_for_is_believed_only_from_trusted_proxies(
    server: RunningSesame, sink: SmtpSink, unique: str
) -> None:
    client = server.client()
    domain = set_up(client, unique, None)
    message_id = send(client, domain, unique)
    links, pixel = tracked_links(sink, domain)
    # 127.0.0.1 is trusted, and so is 10.1.2.3; the client is the first untrusted hop.
    get(server, pixel, forwarded_for="198.51.100.7, 203.0.113.9, 10.1.2.3")
    opened = server.events(message_id, "Open")
    [record] = [e.record for e in opened if e.event_type == "Open"]
    assert record["open"]["ipAddress"] == "203.0.113.9"


def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    sesame: RunningSesame, unique: str
) -> None:
    client = sesame.client()
    domain = set_up(client, unique, None)
    message_id = send(client, domain, unique)
    stored = sesame.app.store.get_message(message_id)
    assert stored is not None
    [pixel] = re.findall(rb'<img[^>]+src="([^"]+)"', stored.content)
    get(sesame, pixel.decode(), forwarded_for="203.0.113.9")
    evs = sesame.events(message_id, "Open")
    [record] = [e.record for e in evs if e.event_type == "Open"]
    assert record["open"]["ipAddress"] == "127.0.0.1"


def test_links_keep_working_after_a_key_rotation(
    server: RunningSesame, sink: SmtpSink, unique: str
) -> None:
    from sesame.keys import new_key

    client = server.client()
    domain = set_up(client, unique, None)
    send(client, domain, unique)
    old_links, _ = tracked_links(sink, domain)
    keys = server.app.keys
    key = new_key(server.app.store)
    keys.load()
    # Held and verifying at once, but not signing until every node has had time to
    # load it (two refresh intervals): the next message still goes out with the old key.
    send(client, domain, unique)
    waiting_links, _ = tracked_links(sink, domain)
    assert f"/{key.id}." not in waiting_links[0]
    assert keys.holding(f"/L0/x/{key.id}.mac") is not None
    later = keys.wall_clock() + keys.activation_seconds
    keys.wall_clock = lambda: later
    keys.load()
    send(client, domain, unique)
    new_links, _ = tracked_links(sink, domain)
    assert f"/{key.id}." in new_links[0] and f"/{key.id}." not in old_links[0]
    for link in (old_links[0], waiting_links[0], new_links[0]):
        response = get(server, link)
        assert response.status == 302
        assert response.getheader("Location") == "https://example.org/a?x=1&y=2"


@pytest.mark.parametrize(
    "path",
    [
        "/L0/",
        "/I0/",
        "/L0/%FF%FE/1/x/y.z",
        "/I0/" + "a" * 5000,
        "/L0/https:%2F%2Fexample.org/not-a-number/id/k.mac",
        "/L0/https:%2F%2Fexample.org/1/id/k.mac/extra",
        "/I0/id/" + "%00" * 10,
    ],
)
def test_hostile_tracking_paths_are_404(server: RunningSesame, path: str) -> None:
    target = urlsplit(server.url)
    connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 404
    assert response.getheader("Location") is None
    connection.close()


def gif_image(data: bytes) -> tuple[int, int, list[int], int | None]:
    """(width, height, colour indexes of its pixels, transparent index) of a one-frame
    GIF, read by the GIF89a specification: structure, then LZW."""
    assert data[:6] == b"GIF89a" and data[-1:] == b";"
    width, height = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    packed = data[10]
    at = 13 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)
    transparent: int | None = None
    while data[at] == 0x21:  # extensions
        if data[at + 1] == 0xF9 and data[at + 3] & 1:  # graphic control: transparency flag
            transparent = data[at + 6]
        at += 2
        while data[at]:  # sub-blocks
            at += data[at] + 1
        at += 1
    assert data[at] == 0x2C, "no image descriptor"
    assert not data[at + 9] & 0x80, "a local colour table is not expected here"
    minimum, at = data[at + 10], at + 11
    stream = b""
    while data[at]:
        stream += data[at + 1 : at + 1 + data[at]]
        at += data[at] + 1
    # LZW with variable code sizes, least significant bit first.
    bits, position, clear = int.from_bytes(stream, "little"), 0, 1 << minimum
    size, table = minimum + 1, [[i] for i in range(clear + 2)]
    previous: list[int] = []
    pixels: list[int] = []
    while position + size <= len(stream) * 8:
        code = (bits >> position) & ((1 << size) - 1)
        position += size
        if code == clear:
            size, table, previous = minimum + 1, table[: clear + 2], []
            continue
        if code == clear + 1:
            break
        entry = table[code] if code < len(table) else previous + previous[:1]
        if previous:
            table.append(previous + entry[:1])
        pixels += entry
        previous = entry
        if len(table) == 1 << size and size < 12:
            size += 1
    return width, height, pixels, transparent


def test_the_pixel_is_a_transparent_one_by_one_gif_never_cached(
    server: RunningSesame, sink: SmtpSink, unique: str
) -> None:
    client = server.client()
    domain = set_up(client, unique, "OPTIONAL")
    send(client, domain, unique)
    _, pixel = tracked_links(sink, domain)
    target = urlsplit(server.url)
    connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
    connection.request("GET", urlsplit(pixel).path, headers={"Host": urlsplit(pixel).netloc})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == 200 and response.getheader("Content-Type") == "image/gif"
    width, height, pixels, transparent = gif_image(body)
    assert (width, height) == (1, 1)
    assert transparent is not None and pixels == [transparent]
    cache = response.getheader("Cache-Control") or ""
    assert "no-store" in cache and "no-cache" in cache and "max-age=0" in cache


def test_recording_that_fails_never_breaks_the_redirect_and_catches_up(
    server: RunningSesame, sink: SmtpSink, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = server.client()
    domain = set_up(client, unique, None)
    message_id = send(client, domain, unique)
    links, pixel = tracked_links(sink, domain)
    server.events(message_id, "Delivery")
    failed = threading.Event()
    store = server.app.store

    def database_away(*args: object, **kwargs: object) -> None:
        failed.set()
        raise RuntimeError("the database is away")

    # The recorder writes off the request path; make every write fail meanwhile.
    monkeypatch.setattr(store, "message_facts", database_away)
    click = get(server, links[0])
    assert click.status == 302
    assert click.getheader("Location") == "https://example.org/a?x=1&y=2"
    assert get(server, pixel).status == 200
    assert failed.wait(timeout=30), "the recorder never tried to write"
    monkeypatch.undo()
    # The hits were kept and are written once the database is back.
    events = server.events(message_id, "Open", "Click")
    assert [e.record["click"]["link"] for e in events if e.event_type == "Click"] == [
        "https://example.org/a?x=1&y=2"
    ]
