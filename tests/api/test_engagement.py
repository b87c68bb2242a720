"""When a message is tracked and where its URLs point (api/engagement.py), through boto3.

Each case sets up a configuration set over the API, sends HTML with SendEmail and
reads what a real SMTP server received: links rewritten (`/L0/`) for CLICK, a
pixel (`/I0/`) for OPEN, as ses-spec.md §5.1 decides it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from harness import RunningSesame, start_sesame
from smtp_sink import SmtpSink

HTML = '<html><body><p><a href="https://example.org/x">x</a> <a href="http://example.org/y">y</a></p></body></html>'
#: An HTML attachment with a link: attachments are never tracked.
ATTACHED = b'<html><body><a href="https://example.org/attached">a</a></body></html>'
TEXT = "Read https://example.org/x"
OPEN_CLICK = ["SEND", "OPEN", "CLICK"]


def destination(kinds: list[str], enabled: bool = True) -> dict[str, Any]:
    return {
        "Enabled": enabled,
        "MatchingEventTypes": kinds,
        "SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:engagement"},
    }


def set_up(client: Any, name: str, *destinations: dict[str, Any], **options: Any) -> str:
    """A verified domain named after the test and a set `name` with these destinations."""
    domain = f"{name}.example.com"
    client.create_email_identity(EmailIdentity=domain)
    client.create_configuration_set(ConfigurationSetName=name, **options)
    for index, definition in enumerate(destinations):
        client.create_configuration_set_event_destination(
            ConfigurationSetName=name,
            EventDestinationName=f"d{index}",
            EventDestination=definition,
        )
    return domain


def delivered_html(client: Any, sink: SmtpSink, domain: str, **request: Any) -> str:
    client.send_email(
        FromEmailAddress=f"news@{domain}",
        Destination={"ToAddresses": ["reader@example.org"]},
        Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Html": {"Data": HTML}}}},
        **request,
    )
    body = sink.next().message().get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content())


def tracked(html: str) -> tuple[bool, bool]:
    """(links rewritten, pixel added)"""
    links = "/L0/" in html and "https://example.org/x" not in html
    return links, "/I0/" in html


@pytest.mark.parametrize(
    ("destinations", "expected"),
    [
        ([destination(OPEN_CLICK)], (True, True)),
        ([destination(["OPEN"])], (False, True)),
        ([destination(["CLICK"])], (True, False)),
        ([destination(["OPEN"]), destination(["CLICK"])], (True, True)),
        ([destination(OPEN_CLICK, enabled=False)], (False, False)),
        ([destination(["SEND", "DELIVERY", "BOUNCE"])], (False, False)),
        ([], (False, False)),
    ],
    ids=["open-click", "open", "click", "two", "disabled", "no-engagement", "none"],
)
def test_event_destinations_decide(
    client: Any,
    sink: SmtpSink,
    unique: str,
    destinations: list[dict[str, Any]],
    expected: tuple[bool, bool],
) -> None:
    domain = set_up(client, unique, *destinations)
    html = delivered_html(client, sink, domain, ConfigurationSetName=unique)
    assert tracked(html) == expected
    if expected == (False, False):
        assert html.strip() == HTML


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"OpenTrackingEnabled": "DISABLED"}, (True, False)),
        ({"ClickTrackingEnabled": "DISABLED"}, (False, True)),
        ({"OpenTrackingEnabled": "DISABLED", "ClickTrackingEnabled": "DISABLED"}, (False, False)),
        ({"OpenTrackingEnabled": "ENABLED"}, (True, True)),
    ],
)
def test_configuration_overrides_turn_tracking_off_for_one_message(
    client: Any, sink: SmtpSink, unique: str, overrides: dict[str, str], expected: tuple[bool, bool]
) -> None:
    domain = set_up(client, unique, destination(OPEN_CLICK))
    html = delivered_html(
        client,
        sink,
        domain,
        ConfigurationSetName=unique,
        ConfigurationOverrides={"Tracking": overrides},
    )
    assert tracked(html) == expected


def test_overrides_turn_tracking_on_without_an_engagement_destination(
    client: Any, sink: SmtpSink, unique: str
) -> None:
    """ENABLED wins outright, even with no OPEN/CLICK destination (ses-spec §5.1, rule 1)."""
    domain = set_up(client, unique, destination(["SEND"]))
    on = {"OpenTrackingEnabled": "ENABLED", "ClickTrackingEnabled": "ENABLED"}
    html = delivered_html(
        client, sink, domain, ConfigurationSetName=unique, ConfigurationOverrides={"Tracking": on}
    )
    assert tracked(html) == (True, True)


def test_overrides_without_a_configuration_set_track_nothing(
    client: Any, sink: SmtpSink, unique: str
) -> None:
    domain = f"{unique}.example.com"
    client.create_email_identity(EmailIdentity=domain)
    on = {"OpenTrackingEnabled": "ENABLED", "ClickTrackingEnabled": "ENABLED"}
    html = delivered_html(client, sink, domain, ConfigurationOverrides={"Tracking": on})
    assert html.strip() == HTML


def test_a_sets_vdm_engagement_metrics_turn_tracking_on(
    client: Any, sink: SmtpSink, unique: str
) -> None:
    domain = set_up(
        client, unique, VdmOptions={"DashboardOptions": {"EngagementMetrics": "ENABLED"}}
    )
    html = delivered_html(client, sink, domain, ConfigurationSetName=unique)
    assert tracked(html) == (True, True)


def test_the_identitys_default_set_tracks_mail_that_names_none(
    client: Any, sink: SmtpSink, unique: str
) -> None:
    domain = set_up(client, unique, destination(OPEN_CLICK))
    client.put_email_identity_configuration_set_attributes(
        EmailIdentity=domain, ConfigurationSetName=unique
    )
    assert tracked(delivered_html(client, sink, domain)) == (True, True)


def test_text_parts_and_attachments_are_never_touched(
    client: Any, sink: SmtpSink, unique: str
) -> None:
    domain = set_up(client, unique, destination(OPEN_CLICK))
    client.send_email(
        FromEmailAddress=f"news@{domain}",
        Destination={"ToAddresses": ["reader@example.org"]},
        Content={
            "Simple": {
                "Subject": {"Data": "s"},
                "Body": {"Text": {"Data": TEXT}, "Html": {"Data": HTML}},
                "Attachments": [
                    {"RawContent": ATTACHED, "FileName": "page.html", "ContentType": "text/html"}
                ],
            }
        },
        ConfigurationSetName=unique,
    )
    mail = sink.next().message()
    html, text = (mail.get_body(preferencelist=(kind,)) for kind in ("html", "plain"))
    assert html is not None and text is not None
    assert tracked(html.get_content()) == (True, True)
    assert text.get_content().strip() == TEXT
    [attachment] = mail.iter_attachments()
    assert attachment.get_payload(decode=True) == ATTACHED


# --- where the URLs point -------------------------------------------------------------


@pytest.fixture(scope="module")
def public(sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSesame]:
    """A Sesame with a public default tracking host (--tracking-domain)."""
    running = start_sesame(
        tmp_path_factory.mktemp("public"),
        smtp_relay=sink.address,
        tracking_domain="links.example.net",
    )
    yield running
    running.stop()


def urls(html: str) -> tuple[list[str], str]:
    links = [u for u in re.findall(r'href="([^"]+)"', html) if "/L0/" in u]
    [pixel] = re.findall(r'<img[^>]+src="([^"]+)"', html)
    return links, pixel


def test_the_tracking_domain_is_the_host_of_sets_without_a_custom_domain(
    public: RunningSesame, sink: SmtpSink, unique: str
) -> None:
    client = public.client()
    domain = set_up(client, unique, destination(OPEN_CLICK))
    links, pixel = urls(delivered_html(client, sink, domain, ConfigurationSetName=unique))
    # No HttpsPolicy without a custom domain: the pixel over http, links keep their scheme.
    assert [urlsplit(u)[:2] for u in links] == [
        ("https", "links.example.net"),
        ("http", "links.example.net"),
    ]
    assert urlsplit(pixel)[:2] == ("http", "links.example.net")


def test_a_custom_redirect_domain_beats_the_tracking_domain(
    public: RunningSesame, sink: SmtpSink, unique: str
) -> None:
    client = public.client()
    domain = f"{unique}.example.com"
    set_up(
        client,
        unique,
        destination(OPEN_CLICK),
        TrackingOptions={"CustomRedirectDomain": f"t.{domain}", "HttpsPolicy": "REQUIRE"},
    )
    links, pixel = urls(delivered_html(client, sink, domain, ConfigurationSetName=unique))
    assert {urlsplit(u)[:2] for u in [*links, pixel]} == {("https", f"t.{domain}")}


def test_without_a_tracking_domain_urls_point_at_the_listener_over_http(
    client: Any, relayed: RunningSesame, sink: SmtpSink, unique: str
) -> None:
    domain = set_up(client, unique, destination(OPEN_CLICK))
    links, pixel = urls(delivered_html(client, sink, domain, ConfigurationSetName=unique))
    listener = urlsplit(relayed.url).netloc
    assert {urlsplit(u)[:2] for u in [*links, pixel]} == {("http", listener)}


def test_a_tracked_message_keeps_its_charsets_and_headers(
    client: Any, sink: SmtpSink, unique: str
) -> None:
    domain = set_up(client, unique, destination(OPEN_CLICK))
    client.send_email(
        FromEmailAddress=f"news@{domain}",
        Destination={"ToAddresses": ["reader@example.org"]},
        Content={
            "Simple": {
                "Subject": {"Data": "Café crème", "Charset": "ISO-8859-1"},
                "Body": {
                    "Text": {"Data": "Crème brûlée", "Charset": "ISO-8859-1"},
                    "Html": {"Data": f"<p>Crème</p>{HTML}", "Charset": "ISO-8859-1"},
                },
                "Headers": [{"Name": "X-Campaign", "Value": "spring"}],
            }
        },
        ConfigurationSetName=unique,
    )
    mail = sink.next().message()
    assert str(mail["Subject"]) == "Café crème" and str(mail["X-Campaign"]) == "spring"
    html, text = (mail.get_body(preferencelist=(kind,)) for kind in ("html", "plain"))
    assert html is not None and text is not None
    assert html.get_content_charset() == text.get_content_charset() == "iso-8859-1"
    assert text.get_content().strip() == "Crème brûlée"
    assert html.get_content().startswith("<p>Crème</p>")
    assert tracked(html.get_content()) == (True, True)


def test_on_an_ipv6_listener_tracked_urls_bracket_the_address_and_work(
    tmp_path: Any, sink: SmtpSink, unique: str
) -> None:
    import urllib.request

    running = start_sesame(tmp_path, host="::1", smtp_relay=sink.address)
    try:
        assert urlsplit(running.url).netloc.startswith("[::1]:")
        client = running.client()
        domain = set_up(client, unique, destination(OPEN_CLICK))
        links, pixel = urls(delivered_html(client, sink, domain, ConfigurationSetName=unique))
        assert {urlsplit(u).netloc for u in [*links, pixel]} == {urlsplit(running.url).netloc}

        class Keep(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any) -> None:
                return None  # report the 302 instead of following it

        opener = urllib.request.build_opener(Keep)
        with opener.open(pixel) as answer:
            assert answer.status == 200 and answer.headers["Content-Type"] == "image/gif"
        try:
            opener.open(links[0])
        except urllib.error.HTTPError as redirect:
            assert redirect.code == 302 and redirect.headers["Location"] == "https://example.org/x"
        else:
            raise AssertionError("the click was not a redirect")
    finally:
        running.stop()
