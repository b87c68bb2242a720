"""BatchGetMetricData's numbers are the recorded events, counted as VDM defines them."""

from __future__ import annotations

import http.client
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from sesame.events.metrics import Query, count, is_machine
from sesame.store.base import Event

from engagement import configure, sns
from harness import RunningSesame
from smtp_sink import SmtpSink
from wire import error

RELAY_SETTINGS = {"delivery_retry_seconds": 1}
METRICS = [
    "SEND",
    "DELIVERY",
    "OPEN",
    "CLICK",
    "PERMANENT_BOUNCE",
    "TRANSIENT_BOUNCE",
    "COMPLAINT",
    "DELIVERY_OPEN",
    "DELIVERY_CLICK",
    "DELIVERY_COMPLAINT",
]


def fetch(url: str) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("GET", parts.path)
        reply = connection.getresponse()
        reply.read()
        return reply.status
    finally:
        connection.close()


def query(metric: str, start: datetime, end: datetime, **dimensions: str) -> dict[str, Any]:
    given: dict[str, Any] = {
        "Id": metric.lower(),
        "Namespace": "VDM",
        "Metric": metric,
        "StartDate": start,
        "EndDate": end,
    }
    if dimensions:
        given["Dimensions"] = dimensions
    return given


def totals(client: Any, start: datetime, end: datetime, **dimensions: str) -> dict[str, int]:
    answer = client.batch_get_metric_data(
        Queries=[query(m, start, end, **dimensions) for m in METRICS[:5]]
    )
    answer2 = client.batch_get_metric_data(
        Queries=[query(m, start, end, **dimensions) for m in METRICS[5:]]
    )
    assert answer["Errors"] == [] and answer2["Errors"] == []
    return {r["Id"].upper(): sum(r["Values"]) for r in answer["Results"] + answer2["Results"]}


def test_metrics_equal_the_recorded_events(
    client: Any, relayed: RunningSesame, sink: SmtpSink, unique: str
) -> None:
    domain = f"{unique}.example.com"
    configure(client, unique, ("engagement", sns("engagement")), types=["OPEN", "CLICK"])
    start = datetime.now(UTC) - timedelta(minutes=1)
    html = '<html><body><a href="https://example.org/x">x</a></body></html>'
    content = {"Simple": {"Subject": {"Data": "s"}, "Body": {"Html": {"Data": html}}}}
    ids = []
    for recipient in ("a@gmail.com", "b@yahoo.com"):
        ids.append(
            client.send_email(
                FromEmailAddress=f"n@{domain}",
                Destination={"ToAddresses": [recipient]},
                Content=content,
                ConfigurationSetName=unique,
            )["MessageId"]
        )
    # A message to two recipients counts nowhere (VDM leaves such mail out).
    client.send_email(
        FromEmailAddress=f"n@{domain}",
        Destination={"ToAddresses": ["c@gmail.com", "d@gmail.com"]},
        Content=content,
        ConfigurationSetName=unique,
    )
    bounced = f"{unique}@example.net"
    sink.reply(bounced, "550 5.1.1 No such user")
    ids.append(
        client.send_email(
            FromEmailAddress=f"n@{domain}",
            Destination={"ToAddresses": [bounced]},
            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}},
            ConfigurationSetName=unique,
        )["MessageId"]
    )
    body = ""
    while not any(i in body for i in ids[:2]):  # the first single-recipient message to arrive
        part = sink.next().message().get_body(("html",))
        body = part.get_content() if part is not None else ""
    pixel = re.search(r'src="([^"]+/I0/[^"]+)"', body)
    link = re.search(r'href="([^"]+/L0/[^"]+)"', body)
    assert pixel and link
    delivered_id = next(i for i in ids[:2] if i in body)
    assert fetch(pixel[1]) == 200 and fetch(pixel[1]) == 200  # two opens, one unique
    assert fetch(link[1]) == 302
    relayed.events(delivered_id, "Delivery", "Open", "Click")
    relayed.events(ids[2], "Bounce")
    for other in ids[:2]:
        relayed.events(other, "Delivery")
    end = datetime.now(UTC) + timedelta(minutes=1)

    found = totals(client, start, end, CONFIGURATION_SET=unique)
    assert found == {
        "SEND": 3,
        "DELIVERY": 2,
        "OPEN": 1,
        "CLICK": 1,
        "PERMANENT_BOUNCE": 1,
        "TRANSIENT_BOUNCE": 0,
        "COMPLAINT": 0,
        "DELIVERY_OPEN": 2,
        "DELIVERY_CLICK": 2,
        "DELIVERY_COMPLAINT": 1,  # Yahoo runs a feedback loop, Gmail does not
    }
    assert totals(client, start, end, CONFIGURATION_SET=unique, ISP="Gmail")["DELIVERY"] == 1
    assert totals(client, start, end, EMAIL_IDENTITY=domain)["SEND"] == 3
    assert totals(client, start, end, EMAIL_IDENTITY=f"N@{domain}")["SEND"] == 3
    assert totals(client, start, end, EMAIL_IDENTITY="other.example.com")["SEND"] == 0
    # Whole UTC days, sparse: only days with data, values summing to the total.
    answer = client.batch_get_metric_data(
        Queries=[
            query("SEND", start, end, CONFIGURATION_SET=unique),
            query("TRANSIENT_BOUNCE", start, end, CONFIGURATION_SET=unique),
        ]
    )
    sends, soft = answer["Results"]
    assert 1 <= len(sends["Timestamps"]) == len(sends["Values"]) <= 2
    assert all(t.hour == 0 and t.minute == 0 for t in sends["Timestamps"])
    assert soft == {"Id": "transient_bounce", "Timestamps": [], "Values": []}


def test_documented_limits_are_enforced(client: Any) -> None:
    now = datetime.now(UTC)
    with pytest.raises(ClientError) as caught:
        client.batch_get_metric_data(
            Queries=[
                query("SEND", now, now + timedelta(days=1)) | {"Id": str(i)} for i in range(11)
            ]
        )
    code, message, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "Member must have length less than or equal to 10" in message
    with pytest.raises(ClientError) as caught:
        client.batch_get_metric_data(Queries=[query("SEND", now, now - timedelta(days=1))])
    assert error(caught) == ("BadRequestException", "StartDate must be before EndDate.", 400)
    with pytest.raises(ClientError) as caught:
        client.batch_get_metric_data(Queries=[query("BOGUS", now, now + timedelta(days=1))])
    assert error(caught)[0] == "BadRequestException"
    with pytest.raises(ClientError) as caught:
        client.batch_get_metric_data(Queries=[query("SEND", now, now + timedelta(days=1))] * 2)
    assert error(caught) == ("BadRequestException", "Query identifiers must be unique.", 400)
    answer = client.batch_get_metric_data(
        Queries=[query("SEND", now, now + timedelta(days=1), TENANT_NAME="t")]
    )
    assert answer["Errors"][0]["Code"] == "ACCESS_DENIED"


def _open(message_id: str, happened: float, actor: str | None = None) -> Event:
    record: dict[str, Any] = {
        "eventType": "Open",
        "mail": {"destination": ["a@example.org"], "sourceArn": "arn:x:identity/example.org"},
        "open": {},
    }
    if actor is not None:  # the attribute events/machines.py writes
        reason = "no-machine-signal" if actor == "person" else "apple-mail-privacy-protection"
        record["sesameVerdict"] = {"actor": actor, "reason": reason}
    return Event(f"{message_id}@{happened}", message_id, "Open", happened, None, record)


def test_human_only_figures_leave_out_machine_verdicts_and_tolerate_none() -> None:
    events = [
        _open("m1", 10.0),  # recorded before classification existed: a person's
        _open("m2", 11.0, "machine"),
        _open("m3", 12.0, "person"),
        # One message opened by its proxy, then by its reader: SES counts one unique
        # open, and so does the person-only figure (the reader's).
        _open("m4", 13.0, "machine"),
        _open("m4", 14.0, "person"),
    ]
    every = Query("OPEN", {}, 0.0, 86_400.0)
    people = Query("OPEN", {}, 0.0, 86_400.0, human_only=True)
    assert count(every, events, lambda ids: {}) == ([0], [4])
    assert count(people, events, lambda ids: {}) == ([0], [3])
    assert count(Query("CLICK", {}, 0.0, 86_400.0), events, lambda ids: {}) == ([], [])
    assert is_machine(events[1].record) and not is_machine(events[2].record)
    assert not is_machine(events[0].record)
