"""Opens and clicks of machines told apart from a person's, by replaying the requests
each kind of client makes against a running Sesame (over HTTP, through a proxy that
Sesame trusts for X-Forwarded-For, as in production)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engagement import SAFARI, Sent, configure, fetch, send, sns, topic
from harness import RunningSesame, start_sesame
from receiver import Receiver
from smtp_sink import SmtpSink

PROXIES = "127.0.0.0/8"
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
YAHOO_PROXY = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
BING_PREVIEW = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "BingPreview/1.0b"
)
PERSON_IP = "203.0.113.7"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[RunningSesame]:
    running = start_sesame(
        tmp_path_factory.mktemp("machines"),
        smtp_relay=sink.address,
        trusted_proxies=PROXIES,
        machine_click_seconds=0,
    )
    yield running
    running.stop()


def mail(server: RunningSesame, sink: SmtpSink, name: str) -> Sent:
    client = server.client()
    sender = configure(client, name, ("engagement", sns("engagement")))
    sent = send(client, sink, sender, name)
    server.events(sent.message_id, "Delivery")
    return sent


def verdicts(server: RunningSesame, message_id: str, kind: str, count: int) -> list[Any]:
    store = server.app.store
    ok = server.app.feed.wait_for(
        lambda: len(store.list_events(message_id=message_id, event_type=kind)) >= count, 30
    )
    assert ok, f"{count} {kind} events never came"
    events = store.list_events(message_id=message_id, event_type=kind)
    for event in events:
        assert event.actor == event.record["sesameVerdict"]["actor"]
    return [event.record["sesameVerdict"] for event in events]


# (user agent, client address, extra headers, method) of one pixel fetch → verdict
OPENS = {
    "a person's mail client": (SAFARI, PERSON_IP, {}, "GET", "person", "no-machine-signal"),
    "Apple MPP (agent and network)": (
        "Mozilla/5.0",
        "17.58.63.1",
        {},
        "GET",
        "machine",
        "apple-mail-privacy-protection",
    ),
    "Apple MPP (network)": (
        SAFARI,
        "17.122.4.9",
        {},
        "GET",
        "machine",
        "apple-mail-privacy-protection",
    ),
    "Gmail image proxy": (GMAIL_PROXY, "66.249.84.12", {}, "GET", "machine", "gmail-image-proxy"),
    "Yahoo image proxy": (YAHOO_PROXY, "98.137.11.4", {}, "GET", "machine", "yahoo-image-proxy"),
    "prefetching browser": (
        SAFARI,
        PERSON_IP,
        {"Sec-Purpose": "prefetch"},
        "GET",
        "machine",
        "prefetch",
    ),
    # Each proxy is known by its agent alone and by its network alone.
    "Gmail image proxy (agent)": (
        GMAIL_PROXY,
        PERSON_IP,
        {},
        "GET",
        "machine",
        "gmail-image-proxy",
    ),
    "Gmail image proxy (network)": (
        SAFARI,
        "66.102.8.9",
        {},
        "GET",
        "machine",
        "gmail-image-proxy",
    ),
    "Yahoo image proxy (agent)": (
        YAHOO_PROXY,
        PERSON_IP,
        {},
        "GET",
        "machine",
        "yahoo-image-proxy",
    ),
    "Yahoo image proxy (network)": (
        SAFARI,
        "74.6.231.20",
        {},
        "GET",
        "machine",
        "yahoo-image-proxy",
    ),
    "security gateway fetching the pixel": (
        BING_PREVIEW,
        "40.77.167.1",
        {},
        "GET",
        "machine",
        "link-scanner",
    ),
    # The older prefetch hints: Chrome's `Purpose`, Safari's `X-Purpose: preview`,
    # Firefox's `X-Moz: prefetch`.
    "Purpose: prefetch": (SAFARI, PERSON_IP, {"Purpose": "prefetch"}, "GET", "machine", "prefetch"),
    "X-Purpose: preview": (
        SAFARI,
        PERSON_IP,
        {"X-Purpose": "preview"},
        "GET",
        "machine",
        "prefetch",
    ),
    "X-Moz: prefetch": (SAFARI, PERSON_IP, {"X-Moz": "prefetch"}, "GET", "machine", "prefetch"),
}


@pytest.mark.parametrize("case", sorted(OPENS))
def test_opens(server: RunningSesame, sink: SmtpSink, unique: str, case: str) -> None:
    agent, address, headers, method, actor, reason = OPENS[case]
    sent = mail(server, sink, unique)
    status = fetch(
        server, sent.pixel, method=method, agent=agent, forwarded_for=address, headers=headers
    )
    assert status == 200
    assert verdicts(server, sent.message_id, "Open", 1) == [{"actor": actor, "reason": reason}]


def test_a_person_clicks_one_link(server: RunningSesame, sink: SmtpSink, unique: str) -> None:
    sent = mail(server, sink, unique)
    assert fetch(server, sent.links[1], forwarded_for=PERSON_IP) == 302
    assert verdicts(server, sent.message_id, "Click", 1) == [
        {"actor": "person", "reason": "no-machine-signal"}
    ]


def test_a_gateway_probes_with_head_then_follows(
    server: RunningSesame, sink: SmtpSink, unique: str
) -> None:
    sent = mail(server, sink, unique)
    assert fetch(server, sent.links[0], method="HEAD", forwarded_for="198.51.100.20") == 302
    assert verdicts(server, sent.message_id, "Click", 1) == [
        {"actor": "machine", "reason": "head-request"}
    ]


def test_a_prefetched_link(server: RunningSesame, sink: SmtpSink, unique: str) -> None:
    sent = mail(server, sink, unique)
    headers = {"Sec-Purpose": "prefetch;prerender"}
    assert fetch(server, sent.links[1], forwarded_for=PERSON_IP, headers=headers) == 302
    assert verdicts(server, sent.message_id, "Click", 1) == [
        {"actor": "machine", "reason": "prefetch"}
    ]


def test_a_scanner_agent(server: RunningSesame, sink: SmtpSink, unique: str) -> None:
    sent = mail(server, sink, unique)
    assert fetch(server, sent.links[2], agent=BING_PREVIEW, forwarded_for="40.77.167.1") == 302
    assert verdicts(server, sent.message_id, "Click", 1) == [
        {"actor": "machine", "reason": "link-scanner"}
    ]


def test_every_link_clicked_at_once_is_a_burst(
    server: RunningSesame, sink: SmtpSink, unique: str
) -> None:
    # A gateway with a browser's agent follows every link of the message in turn.
    sent = mail(server, sink, unique)
    for link in sent.links:
        assert fetch(server, link, forwarded_for="198.51.100.20") == 302
    assert (
        verdicts(server, sent.message_id, "Click", 3)
        == [{"actor": "machine", "reason": "click-burst"}] * 3
    )


def test_a_click_right_after_delivery_is_a_scanner(
    tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink, unique: str
) -> None:
    quick = start_sesame(
        tmp_path_factory.mktemp("quick"), smtp_relay=sink.address, machine_click_seconds=60
    )
    try:
        sent = mail(quick, sink, unique)
        assert fetch(quick, sent.links[0]) == 302
        assert verdicts(quick, sent.message_id, "Click", 1) == [
            {"actor": "machine", "reason": "click-soon-after-delivery"}
        ]
    finally:
        quick.stop()


def test_machine_events_can_be_kept_from_destinations(
    tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink, unique: str
) -> None:
    receiver = Receiver().start()
    quiet = start_sesame(
        tmp_path_factory.mktemp("quiet"),
        smtp_relay=sink.address,
        machine_click_seconds=0,
        publish_machine_events=False,
        sns_webhooks=(f"{topic('engagement')}={receiver.url()}",),
    )
    try:
        client = quiet.client()
        sender = configure(client, unique, ("engagement", sns("engagement")), types=["CLICK"])
        sent = send(client, sink, sender, unique)
        quiet.events(sent.message_id, "Delivery")
        fetch(quiet, sent.links[0], agent=BING_PREVIEW)
        verdicts(quiet, sent.message_id, "Click", 1)
        fetch(quiet, sent.links[0])  # the same link: no burst, however soon
        # The person's click comes after the scanner's in the same lane, so once it
        # has arrived the scanner's has been dealt with: kept back.
        [click] = receiver.until(1)
        assert click.record()["sesameVerdict"] == {"actor": "person", "reason": "no-machine-signal"}
        assert receiver.untaken() == []
        assert len(quiet.app.store.list_events(message_id=sent.message_id, actor="machine")) == 1
    finally:
        quiet.stop()
        receiver.stop()


def test_metrics_count_machine_opens_as_ses_does_and_people_beside(
    server: RunningSesame, sink: SmtpSink, unique: str
) -> None:
    client = server.client()
    sender = configure(client, unique, ("engagement", sns("engagement")))
    proxied, read, both = [send(client, sink, sender, unique) for _ in range(3)]
    opens = [
        (proxied, GMAIL_PROXY, "66.249.84.12"),  # only Gmail's proxy fetched it
        (read, SAFARI, PERSON_IP),  # only its reader
        (both, "Mozilla/5.0", "17.58.63.1"),  # Apple's proxy first, ...
        (both, SAFARI, PERSON_IP),  # ... then its reader
    ]
    for sent, agent, address in opens:
        assert fetch(server, sent.pixel, agent=agent, forwarded_for=address) == 200
    for sent, count in ((proxied, 1), (read, 1), (both, 2)):
        verdicts(server, sent.message_id, "Open", count)

    # BatchGetMetricData counts every open as SES does: one unique open per message.
    now = datetime.now(UTC)
    answer = client.batch_get_metric_data(
        Queries=[
            {
                "Id": "opens",
                "Namespace": "VDM",
                "Metric": "OPEN",
                "Dimensions": {"CONFIGURATION_SET": unique},
                "StartDate": now - timedelta(days=1),
                "EndDate": now + timedelta(days=1),
            }
        ]
    )
    assert sum(answer["Results"][0]["Values"]) == 3
    # `sesame metrics` puts the person-only figure beside it: Gmail's fetch left out.
    result = subprocess.run(
        [sys.executable, "-m", "sesame", "metrics", "--metric", "OPEN", "--days", "2"]
        + ["--configuration-set", unique, "--data-dir", str(server.app.settings.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert sum(line["value"] for line in lines) == 3
    assert sum(line["human"] for line in lines) == 2
