"""Events reach their destinations: SNS notifications POSTed to a real HTTP receiver.

A boto3 script sends through a set with an SNS destination whose topic is mapped
to a local receiver, loads the pixel and clicks a link; the receiver gets Send,
Delivery, Open and Click notifications, each signed as SNS signs and verified
here the way receivers verify SNS (rebuilding the canonical string from the AWS
documentation, checking it against the certificate fetched from SigningCertURL).
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from engagement import SAFARI, configure, fetch, send, sns, topic
from harness import ACCOUNT_ID, RunningSesame, start_sesame
from receiver import Notification, Receiver
from smtp_sink import SmtpSink


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def failing() -> Iterator[Receiver]:
    running = Receiver(status=500).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink, receiver: Receiver, failing: Receiver
) -> Iterator[RunningSesame]:
    running = start_sesame(
        tmp_path_factory.mktemp("publishing"),
        smtp_relay=sink.address,
        sns_webhooks=(
            f"{topic('engagement')}={receiver.url('/engagement')}",
            f"{topic('second')}={receiver.url('/second')}",
            f"{topic('broken')}={failing.url('/broken')}",
            f"{topic('nowhere')}=http://127.0.0.1:9/unreachable",
            f"{topic('slow')}={receiver.url('/slow')}",
            f"{topic('auth')}=http://user:p%40ss@127.0.0.1:{receiver.port}/auth?token=s3cret",
            f"{topic('auth-broken')}=http://user:pw@127.0.0.1:{failing.port}/a?token=s3cret",
            f"{topic('subscriptions')}={receiver.url('/subscriptions')}",
        ),
        machine_click_seconds=0,
        publish_retry_seconds=1,
    )
    yield running
    running.stop()


def canonical(envelope: dict[str, str]) -> bytes:
    """The string SNS signs for a Notification, per "Verifying the signatures of Amazon
    SNS messages": Message, MessageId, Subject (if present), Timestamp, TopicArn, Type,
    each as name, newline, value, newline."""
    text = ""
    for key in ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"):
        if key in envelope:
            text += f"{key}\n{envelope[key]}\n"
    return text.encode()


def verify(envelope: dict[str, str]) -> None:
    with urllib.request.urlopen(envelope["SigningCertURL"], timeout=30) as answer:
        certificate = x509.load_pem_x509_certificate(answer.read())
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    digest = hashes.SHA256() if envelope["SignatureVersion"] == "2" else hashes.SHA1()
    signature = base64.b64decode(envelope["Signature"])
    key.verify(signature, canonical(envelope), padding.PKCS1v15(), digest)  # raises if bad


def by_type(notifications: list[Notification]) -> dict[str, dict[str, Any]]:
    return {n.record()["eventType"]: n.record() for n in notifications}


def test_send_delivery_open_click_arrive_signed_and_shaped_as_ses(
    server: RunningSesame, sink: SmtpSink, receiver: Receiver, unique: str
) -> None:
    client = server.client()
    sender = configure(client, unique, ("engagement", sns("engagement")))
    sent = send(client, sink, sender, unique)
    assert fetch(server, sent.pixel) == 200
    assert fetch(server, sent.links[0]) == 302
    got = receiver.until(4, path="/engagement")

    # The lane of one message to one destination is published in order.
    assert [n.record()["eventType"] for n in got] == ["Send", "Delivery", "Open", "Click"]
    stored = {
        e.event_type: e.record for e in server.app.store.list_events(message_id=sent.message_id)
    }
    for notification in got:
        envelope = notification.envelope()
        assert list(envelope) == [
            "Type",
            "MessageId",
            "TopicArn",
            "Subject",
            "Message",
            "Timestamp",
            "SignatureVersion",
            "Signature",
            "SigningCertURL",
            "UnsubscribeURL",
        ]
        assert envelope["Type"] == "Notification"
        assert envelope["TopicArn"] == topic("engagement")
        assert envelope["Subject"] == "Amazon SES Email Event Notification"
        assert envelope["SignatureVersion"] == "2"
        headers = notification.headers
        assert headers["x-amz-sns-message-type"] == "Notification"
        assert headers["x-amz-sns-message-id"] == envelope["MessageId"]
        assert headers["x-amz-sns-topic-arn"] == topic("engagement")
        assert headers["x-amz-sns-subscription-arn"].startswith(topic("engagement") + ":")
        assert headers["content-type"] == "text/plain; charset=UTF-8"
        assert headers["user-agent"] == "Amazon Simple Notification Service Agent"
        verify(envelope)
        # The record is exactly the stored one.
        record = notification.record()
        assert record == stored[record["eventType"]]

    records = by_type(got)
    mail = records["Send"]["mail"]
    assert list(mail) == [
        "timestamp",
        "source",
        "sourceArn",
        "sendingAccountId",
        "messageId",
        "destination",
        "headersTruncated",
        "headers",
        "commonHeaders",
        "tags",
    ]
    assert mail["messageId"] == sent.message_id and mail["sendingAccountId"] == ACCOUNT_ID
    assert mail["destination"] == ["reader@example.org"]
    assert mail["tags"]["ses:configuration-set"] == [unique]
    assert mail["tags"]["campaign"] == ["launch"]
    assert records["Send"]["send"] == {}
    assert list(records["Send"]) == ["eventType", "mail", "send"]
    delivery = records["Delivery"]["delivery"]
    assert list(delivery) == [
        "timestamp",
        "processingTimeMillis",
        "recipients",
        "smtpResponse",
        "reportingMTA",
    ]
    assert delivery["recipients"] == ["reader@example.org"]
    assert list(records["Open"]) == ["eventType", "mail", "open", "sesameVerdict"]
    assert list(records["Open"]["open"]) == ["ipAddress", "timestamp", "userAgent"]
    assert records["Open"]["open"]["userAgent"] == SAFARI
    click = records["Click"]["click"]
    assert list(click) == ["ipAddress", "link", "timestamp", "userAgent", "linkTags"]
    assert click["link"] == "https://example.org/one"
    assert click["linkTags"] == {"placement": ["hero"]}
    assert records["Click"]["sesameVerdict"] == {"actor": "person", "reason": "no-machine-signal"}


def test_the_certificate_is_served_and_unknown_paths_are_not(server: RunningSesame) -> None:
    signer = server.app.admin.signer
    with urllib.request.urlopen(server.url + signer.cert_path, timeout=30) as answer:
        assert answer.headers["Content-Type"] == "application/x-pem-file"
        assert answer.read().startswith(b"-----BEGIN CERTIFICATE-----")
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(server.url + "/_sesame/sns/SimpleNotificationService-x.pem")
    assert missing.value.code == 404
    missing.value.close()


def test_only_enabled_matching_destinations_receive(
    server: RunningSesame, sink: SmtpSink, receiver: Receiver, unique: str
) -> None:
    client = server.client()
    sender = configure(client, unique, ("sends", sns("engagement")), types=["SEND"])
    client.create_configuration_set_event_destination(
        ConfigurationSetName=unique,
        EventDestinationName="off",
        EventDestination={
            "Enabled": False,
            "MatchingEventTypes": ["SEND", "DELIVERY"],
            **sns("second"),
        },
    )
    first = send(client, sink, sender, unique)
    server.events(first.message_id, "Send", "Delivery")
    # Now turn "off" on and delete "sends": the next message goes to "second" only.
    client.update_configuration_set_event_destination(
        ConfigurationSetName=unique,
        EventDestinationName="off",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND"], **sns("second")},
    )
    client.delete_configuration_set_event_destination(
        ConfigurationSetName=unique, EventDestinationName="sends"
    )
    second = send(client, sink, sender, unique)
    [on_second] = receiver.until(1, path="/second")
    assert on_second.record()["mail"]["messageId"] == second.message_id
    assert on_second.record()["eventType"] == "Send"
    # The first message's Send went to "engagement" only (its Delivery matched nothing).
    [on_first] = receiver.until(1, path="/engagement")
    assert on_first.record()["mail"]["messageId"] == first.message_id
    assert on_first.record()["eventType"] == "Send"
    assert receiver.untaken("/second") == [] and receiver.untaken("/engagement") == []


def test_a_failing_destination_is_retried_visible_and_holds_up_nobody(
    server: RunningSesame, sink: SmtpSink, receiver: Receiver, failing: Receiver, unique: str
) -> None:
    client = server.client()
    sender = configure(
        client,
        unique,
        ("broken", sns("broken")),
        ("nowhere", sns("nowhere")),
        ("fine", sns("engagement")),
        types=["SEND", "DELIVERY"],
    )
    sent = send(client, sink, sender, unique)
    # The healthy destination gets both events, in order, while the others fail.
    got = receiver.until(2, path="/engagement")
    assert [n.record()["eventType"] for n in got] == ["Send", "Delivery"]
    # The failing subscriber is tried again (backoff from 1 s): two attempts of the Send.
    attempts = failing.take(2, path="/broken")
    assert [a.record()["eventType"] for a in attempts] == ["Send", "Send"]
    failed = {p.destination: p for p in server.app.store.failed_publications()}
    assert failed["broken"].last_error == f"{failing.url('/broken')}: HTTP 500"
    assert failed["broken"].event.event_type == "Send"  # its Delivery waits behind it
    assert "unreachable" in (failed["nowhere"].last_error or "")
    publisher = server.app.publisher
    assert publisher.wait_for(lambda: publisher.failures >= 3, 30)
    # The subscriber recovers: the Send and then the Delivery arrive.
    failing.status = 200
    recovered = failing.until(2, path="/broken")
    assert [n.record()["eventType"] for n in recovered] == ["Send", "Delivery"]
    assert all(n.record()["mail"]["messageId"] == sent.message_id for n in recovered)
    failing.status = 500


def test_events_survive_a_restart_before_publishing(
    tmp_path: Path, sink: SmtpSink, receiver: Receiver, failing: Receiver, unique: str
) -> None:
    # First run: the subscriber fails, so nothing is published.
    first = start_sesame(
        tmp_path,
        smtp_relay=sink.address,
        machine_click_seconds=0,
        publish_retry_seconds=1,
        sns_webhooks=(f"{topic('restart')}={failing.url('/restart')}",),
    )
    try:
        client = first.client()
        sender = configure(client, unique, ("engagement", sns("restart")))
        sent = send(client, sink, sender, unique)
        fetch(first, sent.pixel)
        fetch(first, sent.links[1])
        first.events(sent.message_id, "Delivery", "Open", "Click")
        failing.take(1, path="/restart")  # a publication was attempted, and failed
    finally:
        first.stop()
    second = start_sesame(
        tmp_path,
        smtp_relay=sink.address,
        sns_webhooks=(f"{topic('restart')}={receiver.url('/restart')}",),
        publish_retry_seconds=1,
    )
    try:
        got = receiver.until(4, path="/restart")
        assert [n.record()["eventType"] for n in got] == ["Send", "Delivery", "Open", "Click"]
    finally:
        second.stop()


def test_webhook_credentials_are_sent_as_sns_sends_them_and_never_shown(
    server: RunningSesame, sink: SmtpSink, receiver: Receiver, failing: Receiver, unique: str
) -> None:
    client = server.client()
    sender = configure(
        client,
        unique,
        ("auth", sns("auth")),
        ("auth-broken", sns("auth-broken")),
        types=["SEND"],
    )
    send(client, sink, sender, unique)
    [note] = receiver.until(1, path="/auth?token=s3cret")
    assert note.headers["authorization"] == "Basic " + base64.b64encode(b"user:p@ss").decode()
    failing.take(1, path="/a?token=s3cret")
    assert server.app.publisher.wait_for(
        lambda: any(p.destination == "auth-broken" for p in server.app.store.failed_publications()),
        30,
    )
    [failed] = [p for p in server.app.store.failed_publications() if p.destination == "auth-broken"]
    assert failed.last_error == f"http://127.0.0.1:{failing.port}/a: HTTP 500"
    assert "s3cret" not in repr(server.app.settings) and "pw@" not in repr(server.app.settings)


def test_a_hanging_subscriber_stalls_nobody_else(
    server: RunningSesame, sink: SmtpSink, receiver: Receiver, unique: str
) -> None:
    receiver.held.add("/slow")
    try:
        client = server.client()
        sender = configure(
            client,
            unique,
            ("slow", sns("slow")),
            ("fine", sns("engagement")),
            types=["SEND", "DELIVERY"],
        )
        first = send(client, sink, sender, unique)
        second = send(client, sink, sender, unique)
        # Both messages' events reach the healthy subscriber while /slow hangs.
        got = receiver.until(4, path="/engagement")
        assert sorted(
            (n.record()["mail"]["messageId"], n.record()["eventType"]) for n in got
        ) == sorted((m.message_id, t) for m in (first, second) for t in ("Send", "Delivery"))
    finally:
        receiver.release.set()
    slow = receiver.until(4, path="/slow")
    assert {n.record()["eventType"] for n in slow} == {"Send", "Delivery"}


def test_an_unsubscribe_publishes_the_subscription_event(
    server: RunningSesame, sink: SmtpSink, receiver: Receiver, unique: str
) -> None:
    client = server.client()
    sender = configure(
        client, unique, ("subscriptions", sns("subscriptions")), types=["SUBSCRIPTION"]
    )
    client.create_contact_list(
        ContactListName=unique,
        Topics=[{"TopicName": "weekly", "DisplayName": "W", "DefaultSubscriptionStatus": "OPT_IN"}],
    )
    try:
        message_id = client.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": ["reader@example.org"]},
            Content={"Simple": {"Subject": {"Data": "News"}, "Body": {"Text": {"Data": "Hi"}}}},
            ConfigurationSetName=unique,
            ListManagementOptions={"ContactListName": unique, "TopicName": "weekly"},
        )["MessageId"]
        url = str(sink.next().message()["List-Unsubscribe"]).strip("<>")
        # What a mail client sends for RFC 8058 one-click unsubscribe.
        request = urllib.request.Request(
            url,
            data=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200
        [note] = receiver.until(1, path="/subscriptions")
        verify(note.envelope())
        record = note.record()
        assert list(record) == ["eventType", "mail", "subscription"]
        assert record["eventType"] == "Subscription"
        assert record["mail"]["messageId"] == message_id
        assert record["subscription"]["contactList"] == unique
        assert record["subscription"]["source"] == "UnsubscribeHeader"
        assert record["subscription"]["newTopicPreferences"]["topicSubscriptionStatus"] == [
            {"topicName": "weekly", "subscriptionStatus": "OptOut"}
        ]
        assert receiver.untaken("/subscriptions") == []  # nothing else matched SUBSCRIPTION
    finally:
        client.delete_contact_list(ContactListName=unique)


def test_a_topic_with_two_webhooks_retries_only_the_one_that_failed(
    tmp_path: Path, sink: SmtpSink, receiver: Receiver, unique: str
) -> None:
    flaky = Receiver(status=500).start()
    running = start_sesame(
        tmp_path,
        smtp_relay=sink.address,
        publish_retry_seconds=1,
        sns_webhooks=(
            f"{topic('pair')}={receiver.url('/pair')}",
            f"{topic('pair')}={flaky.url('/pair')}",
        ),
    )
    try:
        client = running.client()
        sender = configure(client, unique, ("pair", sns("pair")), types=["SEND", "DELIVERY"])
        sent = send(client, sink, sender, unique)
        # The healthy webhook has the Send; the flaky one refuses it twice.
        [first] = receiver.until(1, path="/pair")
        assert first.record()["eventType"] == "Send"
        assert [n.record()["eventType"] for n in flaky.take(2, path="/pair")] == ["Send", "Send"]
        flaky.status = 200
        assert [n.record()["eventType"] for n in flaky.until(2, path="/pair")] == [
            "Send",
            "Delivery",
        ]
        # The retries went to the flaky webhook only: the healthy one's next
        # notification is the Delivery, not the Send again.
        [second] = receiver.until(1, path="/pair")
        assert second.record()["eventType"] == "Delivery"
        assert second.record()["mail"]["messageId"] == sent.message_id
        assert receiver.untaken("/pair") == []
    finally:
        running.stop()
        flaky.stop()
