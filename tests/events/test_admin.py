"""GET /_sesame/events: the records as JSON, SigV4-signed like every API request."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from engagement import configure, fetch, send, sns, topic
from harness import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, RunningSesame, start_sesame
from smtp_sink import SmtpSink


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[RunningSesame]:
    running = start_sesame(
        tmp_path_factory.mktemp("admin"),
        smtp_relay=sink.address,
        machine_click_seconds=0,
        publish_retry_seconds=60,
        sns_webhooks=(f"{topic('away')}=http://127.0.0.1:9/away",),
    )
    yield running
    running.stop()


def get(
    server: RunningSesame, query: dict[str, str], *, secret: str = SECRET_ACCESS_KEY
) -> tuple[int, dict[str, str], Any]:
    url = (
        f"{server.url}/_sesame/events?{urlencode(query)}"
        if query
        else f"{server.url}/_sesame/events"
    )
    request = AWSRequest("GET", url)
    SigV4Auth(Credentials(ACCESS_KEY_ID, secret), "ses", REGION).add_auth(request)
    return call(urllib.request.Request(url, headers=dict(request.headers.items())))


def call(request: urllib.request.Request) -> tuple[int, dict[str, str], Any]:
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            headers = {k.lower(): v for k, v in answer.headers.items()}
            return answer.status, headers, json.loads(answer.read())
    except urllib.error.HTTPError as problem:
        with problem:
            headers = {k.lower(): v for k, v in problem.headers.items()}
            return problem.code, headers, json.loads(problem.read())


def test_records_filtered_and_signed(server: RunningSesame, sink: SmtpSink, unique: str) -> None:
    client = server.client()
    sender = configure(client, unique, ("away", sns("away")))
    sent = send(client, sink, sender, unique)
    fetch(server, sent.links[0], agent="python-requests/2.32")
    server.events(sent.message_id, "Send", "Delivery", "Click")

    status, _, body = get(server, {"messageId": sent.message_id})
    assert status == 200
    stored = server.app.store.list_events(message_id=sent.message_id)
    assert body == {"events": [e.record for e in stored]}
    status, _, body = get(server, {"configurationSet": unique, "type": "Click"})
    assert [r["click"]["link"] for r in body["events"]] == ["https://example.org/one"]
    _, _, body = get(server, {"messageId": sent.message_id, "actor": "machine"})
    assert [r["sesameVerdict"]["reason"] for r in body["events"]] == ["link-scanner"]
    _, _, body = get(server, {"messageId": sent.message_id, "actor": "person"})
    assert body == {"events": []}
    _, _, body = get(server, {"messageId": sent.message_id, "since": "4102444800"})
    assert body == {"events": []}

    # The unreachable webhook: its Send is in the failures.
    assert server.app.publisher.wait_for(lambda: server.app.publisher.failures >= 1, 30)
    _, _, body = get(server, {"failed": "true"})
    [failure] = [f for f in body["failures"] if f["messageId"] == sent.message_id]
    assert failure["destination"] == "away" and failure["state"] == "retrying"
    assert failure["eventType"] == "Send" and failure["attempts"] == 1
    assert failure["record"]["eventType"] == "Send"


def test_unsigned_or_badly_signed_requests_are_refused(server: RunningSesame) -> None:
    status, headers, body = call(urllib.request.Request(f"{server.url}/_sesame/events"))
    assert status == 403 and headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    status, headers, _ = get(server, {}, secret="not-the-secret")
    assert status == 403 and headers["x-amzn-errortype"] == "SignatureDoesNotMatch"


def test_bad_filters_are_a_400(server: RunningSesame) -> None:
    status, _, body = get(server, {"actor": "robot"})
    assert status == 400 and body == {"message": "actor must be person or machine"}
    status, _, _ = get(server, {"since": "yesterday"})
    assert status == 400
