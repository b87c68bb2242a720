"""SES's mailbox simulator through boto3 over HTTP, with a real SMTP relay beside it:
simulator mail never reaches the relay, each address answers with SES's events, and
those events are published, counted and (not) suppressed as SES does."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sesame.delivery import simulator
from sesame.events.records import REPORTING_MTA
from sesame.store.base import Event
from sesame.suppression import SUPPRESSED_DIAGNOSTIC
from sesame.web.mailbox import PATH as MAILBOX_PATH

from engagement import configure, sns, topic
from harness import RunningSesame, start_sesame
from receiver import Receiver
from smtp_sink import SmtpSink

SIM = "simulator.amazonses.com"
USER_UNKNOWN = {
    "action": "failed",
    "status": "5.1.1",
    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def relayed(
    tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink, receiver: Receiver
) -> Iterator[RunningSesame]:
    """This module's Sesame: delivering to `sink`, publishing SNS to `receiver`."""
    running = start_sesame(
        tmp_path_factory.mktemp("simulator"),
        smtp_relay=sink.address,
        sns_webhooks=(f"{topic('simulated')}={receiver.url('/simulated')}",),
        publish_retry_seconds=1,
    )
    yield running
    running.stop()


def content() -> dict[str, Any]:
    return {"Simple": {"Subject": {"Data": "Simulated"}, "Body": {"Text": {"Data": "Hello"}}}}


def send(client: Any, sender: str, *to: str, **extra: Any) -> str:
    answer = client.send_email(
        FromEmailAddress=sender, Destination={"ToAddresses": list(to)}, Content=content(), **extra
    )
    return str(answer["MessageId"])


def of(events: list[Event], kind: str) -> list[dict[str, Any]]:
    return [e.record for e in events if e.event_type == kind]


def wait_for(server: RunningSesame, message_id: str, kind: str, count: int) -> list[Event]:
    """All of the message's events, once it has `count` events of `kind`."""
    store = server.app.store

    def ready() -> bool:
        return len(of(store.list_events(message_id=message_id), kind)) >= count

    assert server.app.feed.wait_for(ready, 30), f"{message_id}: fewer than {count} {kind}"
    return store.list_events(message_id=message_id)


def mailbox(server: RunningSesame, message_id: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{server.url}{MAILBOX_PATH}?id={message_id}") as answer:
        return list(json.loads(answer.read())["messages"])


def not_before_send(events: list[Event]) -> None:
    """No event happens before the Send (a Delivery or Complaint strictly after it), and
    their timestamps say so."""
    [send_event] = [e for e in events if e.event_type == "Send"]
    sent = send_event.record["mail"]["timestamp"]
    for event in events:
        assert event.happened >= send_event.happened
        if event.event_type in ("Delivery", "Complaint"):
            assert event.happened > send_event.happened
        detail = event.record[event.event_type.lower()]
        for key in ("timestamp", "arrivalDate"):
            if key in detail:
                assert detail[key] >= sent  # ISO 8601 with Z: text order is time order


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (f"success@{SIM}", simulator.SCENARIOS["success"]),
        (f"bounce+label1@{SIM}", simulator.SCENARIOS["bounce"]),
        ("OOTO+Out@Simulator.AmazonSES.com", simulator.SCENARIOS["ooto"]),
        (f"complaint@{SIM}.", simulator.SCENARIOS["complaint"]),
        (f"suppressionlist+2026@{SIM}", simulator.SCENARIOS["suppressionlist"]),
        (f"someone-else@{SIM}", simulator.USER_UNKNOWN),
        (f"+@{SIM}", simulator.USER_UNKNOWN),
        ("success@mail.simulator.amazonses.com", None),
        ("success@amazonses.com", None),
        ("success@example.org", None),
    ],
)
def test_the_address_picks_the_scenario(address: str, expected: object) -> None:
    assert simulator.scenario(address) == expected


def test_simulator_mail_never_reaches_the_relay_and_the_others_are_delivered(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str
) -> None:
    simulated = [
        f"success@{SIM}",
        f"bounce+abc@{SIM}",
        f"ooto@{SIM}",
        f"complaint@{SIM}",
        f"suppressionlist@{SIM}",
        f"nobody@{SIM}",
    ]
    message_id = client.send_email(
        FromEmailAddress=sender,
        Destination={
            "ToAddresses": ["ann@example.org", *simulated[:3]],
            "BccAddresses": ["bob@example.org", *simulated[3:]],
        },
        Content=content(),
    )["MessageId"]
    received = sink.next()
    assert message_id in str(received.message()["Message-ID"])
    assert sorted(received.recipients) == ["ann@example.org", "bob@example.org"]
    # The relay's Delivery is the worker's last word on the message: once it is
    # stored, the message is done, and nothing more came to the relay.
    events = wait_for(relayed, message_id, "Delivery", 5)
    assert not [r for r in sink.drain() if message_id in str(r.message()["Message-ID"])]
    # One Delivery per recipient, the relay's and the simulator's alike.
    assert sorted(d["delivery"]["recipients"] for d in of(events, "Delivery")) == [
        ["ann@example.org"],
        ["bob@example.org"],
        [f"complaint@{SIM}"],
        [f"ooto@{SIM}"],
        [f"success@{SIM}"],
    ]
    bounced = {
        r["emailAddress"]: (b["bounce"]["bounceType"], b["bounce"]["bounceSubType"])
        for b in of(events, "Bounce")
        for r in b["bounce"]["bouncedRecipients"]
    }
    assert bounced == {
        f"bounce+abc@{SIM}": ("Permanent", "General"),
        f"nobody@{SIM}": ("Permanent", "General"),
        f"ooto@{SIM}": ("Transient", "General"),
        f"suppressionlist@{SIM}": ("Permanent", "OnAccountSuppressionList"),
    }
    [complaint] = of(events, "Complaint")
    assert complaint["complaint"]["complainedRecipients"] == [{"emailAddress": f"complaint@{SIM}"}]
    not_before_send(events)
    # The message is kept like any other: the mailbox shows it with the recipients it
    # went to (suppressionlist@ is skipped as a listed address is: never sent).
    [shown] = mailbox(relayed, message_id)
    assert shown["Destination"]["ToAddresses"] == ["ann@example.org", *simulated[:3]]
    assert sorted(shown["Destination"]["BccAddresses"]) == [
        "bob@example.org",
        f"complaint@{SIM}",
        f"nobody@{SIM}",
    ]


@pytest.mark.parametrize("address", [f"success@{SIM}", f"success+run-7@{SIM}"])
def test_success_is_delivered(
    client: Any, relayed: RunningSesame, sender: str, address: str
) -> None:
    message_id = send(client, sender, address)
    events = relayed.events(message_id, "Send", "Delivery")
    assert [e.event_type for e in events if e.event_type != "Send"] == ["Delivery"]
    [delivery] = of(events, "Delivery")
    assert delivery["delivery"] == {
        "timestamp": delivery["delivery"]["timestamp"],
        "processingTimeMillis": 1,
        "recipients": [address],
        "smtpResponse": "250 2.6.0 Message received",
        "reportingMTA": REPORTING_MTA,
    }
    assert delivery["mail"]["destination"] == [address]
    not_before_send(events)
    assert [m["Id"] for m in mailbox(relayed, message_id)] == [message_id]


@pytest.mark.parametrize("address", [f"bounce@{SIM}", f"bounce+abc@{SIM}", f"unknown@{SIM}"])
def test_bounce_and_unknown_local_parts_are_hard_bounces(
    client: Any, relayed: RunningSesame, sender: str, address: str
) -> None:
    message_id = send(client, sender, address)
    events = relayed.events(message_id, "Send", "Bounce")
    assert sorted(e.event_type for e in events) == ["Bounce", "Send"]
    [bounce] = of(events, "Bounce")
    detail = bounce["bounce"]
    assert (detail["bounceType"], detail["bounceSubType"]) == ("Permanent", "General")
    assert detail["bouncedRecipients"] == [{"emailAddress": address, **USER_UNKNOWN}]
    assert detail["feedbackId"].startswith(message_id)
    assert detail["reportingMTA"] == REPORTING_MTA
    not_before_send(events)


def test_ooto_is_delivered_then_reports_the_auto_reply_as_a_transient_bounce(
    client: Any, relayed: RunningSesame, sender: str
) -> None:
    address = f"ooto+away@{SIM}"
    message_id = send(client, sender, address)
    events = relayed.events(message_id, "Send", "Delivery", "Bounce")
    assert [e.event_type for e in events if e.event_type != "Send"] == ["Delivery", "Bounce"]
    [bounce] = of(events, "Bounce")
    detail = bounce["bounce"]
    assert (detail["bounceType"], detail["bounceSubType"]) == ("Transient", "General")
    assert detail["bouncedRecipients"] == [{"emailAddress": address}]
    not_before_send(events)


def test_complaint_is_delivered_then_complained_about(
    client: Any, relayed: RunningSesame, sender: str
) -> None:
    address = f"complaint+abc@{SIM}"
    message_id = send(client, sender, address)
    events = relayed.events(message_id, "Send", "Delivery", "Complaint")
    [complaint] = of(events, "Complaint")
    detail = complaint["complaint"]
    assert list(detail) == [
        "complainedRecipients",
        "timestamp",
        "feedbackId",
        "complaintSubType",
        "userAgent",
        "complaintFeedbackType",
        "arrivalDate",
    ]
    assert detail["complainedRecipients"] == [{"emailAddress": address}]
    assert detail["complaintSubType"] is None
    assert detail["userAgent"] == "Amazon SES Mailbox Simulator"
    assert detail["complaintFeedbackType"] == "abuse"
    assert detail["feedbackId"].startswith(message_id)
    assert complaint["mail"] == of(events, "Send")[0]["mail"]
    assert detail["timestamp"] >= of(events, "Delivery")[0]["delivery"]["timestamp"]
    not_before_send(events)


def test_suppressionlist_bounces_as_listed_whatever_the_list_says(
    client: Any, relayed: RunningSesame, sender: str, unique: str
) -> None:
    address = f"suppressionlist@{SIM}"
    # A set whose suppression reasons are none: a listed address would be sent to.
    client.create_configuration_set(
        ConfigurationSetName=unique, SuppressionOptions={"SuppressedReasons": []}
    )
    for extra in ({}, {"ConfigurationSetName": unique}):
        message_id = send(client, sender, address, **extra)
        events = relayed.events(message_id, "Send", "Bounce")
        assert sorted(e.event_type for e in events) == ["Bounce", "Send"]
        [bounce] = of(events, "Bounce")
        detail = bounce["bounce"]
        assert (detail["bounceType"], detail["bounceSubType"]) == (
            "Permanent",
            "OnAccountSuppressionList",
        )
        assert detail["bouncedRecipients"] == [
            {
                "emailAddress": address,
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": SUPPRESSED_DIAGNOSTIC,
            }
        ]
    with pytest.raises(ClientError) as caught:
        client.get_suppressed_destination(EmailAddress=address)
    assert caught.value.response["Error"]["Code"] == "NotFoundException"


def test_simulator_addresses_never_go_on_the_suppression_list(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str, unique: str
) -> None:
    client.put_account_suppression_attributes(SuppressedReasons=["BOUNCE", "COMPLAINT"])
    bounce, complaint = f"bounce+{unique}@{SIM}", f"complaint+{unique}@{SIM}"
    first = send(client, sender, bounce, complaint)
    relayed.events(first, "Bounce", "Complaint")
    for address in (bounce, complaint):
        with pytest.raises(ClientError) as caught:
            client.get_suppressed_destination(EmailAddress=address)
        assert caught.value.response["Error"]["Code"] == "NotFoundException"
    # So they answer the same way every time.
    again = relayed.events(send(client, sender, bounce, complaint), "Bounce", "Complaint")
    assert [b["bounce"]["bounceSubType"] for b in of(again, "Bounce")] == ["General"]
    # A real mailbox's hard bounce, beside them, is listed as usual.
    real = f"{unique}@example.org"
    sink.reply(real, "550 5.1.1 No such user")
    relayed.events(send(client, sender, real), "Bounce")
    listed = client.get_suppressed_destination(EmailAddress=real)
    assert listed["SuppressedDestination"]["Reason"] == "BOUNCE"


def test_the_complaint_is_published_to_an_sns_destination_in_order(
    client: Any, relayed: RunningSesame, receiver: Receiver, unique: str
) -> None:
    sender = configure(
        client, unique, ("sns", sns("simulated")), types=["SEND", "DELIVERY", "COMPLAINT"]
    )
    message_id = send(client, sender, f"complaint@{SIM}", ConfigurationSetName=unique)
    got = receiver.until(3, path="/simulated")
    assert [n.record()["eventType"] for n in got] == ["Send", "Delivery", "Complaint"]
    assert {n.record()["mail"]["messageId"] for n in got} == {message_id}
    stored = of(relayed.app.store.list_events(message_id=message_id), "Complaint")
    assert got[2].record() == stored[0]
    assert got[2].envelope()["Subject"] == "Amazon SES Email Event Notification"


def test_vdm_metrics_leave_the_simulator_out(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str
) -> None:
    """The model's Metric definitions exclude the mailbox simulator from every metric:
    its complaint is no COMPLAINT, its delivery no DELIVERY or DELIVERY_COMPLAINT."""
    simulated = send(client, sender, f"complaint@{SIM}")
    relayed.events(simulated, "Complaint")
    real = send(client, sender, "reader@yahoo.com")  # a provider with a feedback loop
    sink.next()
    relayed.events(real, "Delivery")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = today - timedelta(days=1), today + timedelta(days=2)
    domain = sender.split("@")[1]
    metrics = ["SEND", "DELIVERY", "COMPLAINT", "DELIVERY_COMPLAINT"]
    answer = client.batch_get_metric_data(
        Queries=[
            {
                "Id": metric.lower(),
                "Namespace": "VDM",
                "Metric": metric,
                "Dimensions": {"EMAIL_IDENTITY": domain},
                "StartDate": start,
                "EndDate": end,
            }
            for metric in metrics
        ]
    )
    totals = {r["Id"]: sum(r["Values"]) for r in answer["Results"]}
    assert totals == {"send": 1, "delivery": 1, "complaint": 0, "delivery_complaint": 1}


def test_simulator_mail_counts_against_the_rate_but_not_the_daily_quota(
    tmp_path: Path, shared_database: dict[str, Any]
) -> None:
    # A daily quota of one recipient, and a rate of one recipient per 1,000 s: each
    # send below is refused by the limit it names, and by nothing else.
    running = start_sesame(tmp_path, max_24h_send=1, max_send_rate=0.001, **shared_database)
    try:
        ses = running.client()
        ses.create_email_identity(EmailIdentity="quota.example.com")
        sender = "a@quota.example.com"
        send(ses, sender, f"success@{SIM}", f"complaint@{SIM}")  # two, oversized: alone
        with pytest.raises(ClientError) as caught:
            send(ses, sender, f"success@{SIM}")
        assert caught.value.response["Error"]["Message"] == "Maximum sending rate exceeded."
        assert ses.get_account()["SendQuota"]["SentLast24Hours"] == 0.0
    finally:
        running.stop()
    running = start_sesame(tmp_path / "daily", max_24h_send=1)
    try:
        ses = running.client()
        ses.create_email_identity(EmailIdentity="quota.example.com")
        for _ in range(3):
            send(ses, sender, f"success@{SIM}", f"bounce@{SIM}")
        send(ses, sender, "x@example.org")
        assert ses.get_account()["SendQuota"]["SentLast24Hours"] == 1.0
        with pytest.raises(ClientError) as caught:
            send(ses, sender, "y@example.org")
        assert caught.value.response["Error"]["Message"] == "Daily message quota exceeded."
        # The quota is used up, and the simulator still answers.
        message_id = send(ses, sender, f"success@{SIM}")
        running.events(message_id, "Delivery")
    finally:
        running.stop()
