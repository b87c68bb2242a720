"""Mail that is opened and clicked, for the publishing and classification tests.

A configuration set with an SNS destination, a tracked HTML message sent
through a real SMTP sink, and the pixel and links of the delivered copy
fetched over HTTP the way a mail client, a proxy or a scanner would.
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from harness import ACCOUNT_ID, RunningSesame
from smtp_sink import SmtpSink

ALL_TYPES = ["SEND", "DELIVERY", "OPEN", "CLICK"]
HTML = (
    "<html><body><p>"
    '<a href="https://example.org/one" ses:tags="placement:hero;">one</a> '
    '<a href="https://example.org/two">two</a> '
    '<a href="https://example.org/three">three</a>'
    "</p></body></html>"
)
SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Safari/605.1.15"
)


def topic(name: str) -> str:
    return f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:{name}"


def configure(
    client: Any,
    name: str,
    *destinations: tuple[str, dict[str, Any]],
    types: list[str] | None = None,
) -> str:
    """A verified domain and a set `name` with the given (name, kind block) destinations;
    returns the From address."""
    domain = f"{name}.example.com"
    client.create_email_identity(EmailIdentity=domain)
    client.create_configuration_set(ConfigurationSetName=name)
    for destination, block in destinations:
        client.create_configuration_set_event_destination(
            ConfigurationSetName=name,
            EventDestinationName=destination,
            EventDestination={"Enabled": True, "MatchingEventTypes": types or ALL_TYPES, **block},
        )
    return f"news@{domain}"


def sns(name: str) -> dict[str, Any]:
    return {"SnsDestination": {"TopicArn": topic(name)}}


@dataclass
class Sent:
    message_id: str
    #: The tracked click URLs, in the order of the links in HTML.
    links: list[str]
    #: The open pixel's URL ("" when the message is not tracked for opens).
    pixel: str


def send(client: Any, sink: SmtpSink, sender: str, set_name: str) -> Sent:
    answer = client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["reader@example.org"]},
        Content={"Simple": {"Subject": {"Data": "Tracked"}, "Body": {"Html": {"Data": HTML}}}},
        ConfigurationSetName=set_name,
        EmailTags=[{"Name": "campaign", "Value": "launch"}],
    )
    part = sink.next().message().get_body(preferencelist=("html",))
    assert part is not None
    html = part.get_content()
    links = [link for link in re.findall(r'href="([^"]+)"', html) if "/L0/" in link]
    pixels = re.findall(r'<img[^>]+src="([^"]+)"', html)
    return Sent(str(answer["MessageId"]), links, pixels[0] if pixels else "")


def fetch(
    server: RunningSesame,
    url: str,
    *,
    method: str = "GET",
    agent: str = SAFARI,
    forwarded_for: str | None = None,
    headers: dict[str, str] | None = None,
) -> int:
    """Request a tracking URL from Sesame as a client would; the status."""
    parts = urlsplit(url)
    target = urlsplit(server.url)
    connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
    sent = {"Host": parts.netloc, "User-Agent": agent} | (headers or {})
    if forwarded_for is not None:
        sent["X-Forwarded-For"] = forwarded_for
    connection.request(method, parts.path, headers=sent)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status
