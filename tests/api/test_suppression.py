"""The suppression list through boto3, and as sending and delivery apply it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness import RunningSesame
from smtp_sink import SmtpSink
from wire import error

RELAY_SETTINGS = {"delivery_retry_seconds": 1}


def simple() -> Any:
    return {"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}}}


def test_put_get_delete(client: Any, unique: str) -> None:
    # SES trims the address and lower-cases its domain; the local part keeps its case.
    client.put_suppressed_destination(EmailAddress=f" {unique}@Example.ORG ", Reason="BOUNCE")
    address = f"{unique}@example.org"
    found = client.get_suppressed_destination(EmailAddress=f"{unique}@EXAMPLE.org")[
        "SuppressedDestination"
    ]
    assert found["EmailAddress"] == address
    assert found["Reason"] == "BOUNCE"
    assert abs(found["LastUpdateTime"] - datetime.now(UTC)) < timedelta(minutes=1)
    client.put_suppressed_destination(EmailAddress=address, Reason="COMPLAINT")
    assert (
        client.get_suppressed_destination(EmailAddress=address)["SuppressedDestination"]["Reason"]
        == "COMPLAINT"
    )
    client.delete_suppressed_destination(EmailAddress=address)
    with pytest.raises(ClientError) as caught:
        client.get_suppressed_destination(EmailAddress=address)
    assert error(caught) == (
        "NotFoundException",
        f"Email address {address} does not exist on your suppression list.",
        404,
    )
    with pytest.raises(ClientError) as caught:
        client.delete_suppressed_destination(EmailAddress=address)
    assert error(caught)[0] == "NotFoundException"


def test_bad_input(client: Any) -> None:
    with pytest.raises(ClientError) as caught:
        client.put_suppressed_destination(EmailAddress="  ", Reason="BOUNCE")
    assert error(caught) == ("BadRequestException", "EmailAddress is required.", 400)
    with pytest.raises(ClientError) as caught:
        client.put_suppressed_destination(EmailAddress="a@example.org", Reason="SPAM")
    assert error(caught)[0] == "BadRequestException"
    with pytest.raises(ClientError) as caught:
        client.list_suppressed_destinations(NextToken="bm90IGEgdG9rZW4=")
    assert error(caught)[0:3:2] == ("InvalidNextTokenException", 400)
    with pytest.raises(ClientError) as caught:
        client.list_suppressed_destinations(PageSize=0)
    assert error(caught)[0] == "BadRequestException"


def test_list_filters_and_pages(client: Any, unique: str) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    for index in range(5):
        reason = "BOUNCE" if index % 2 == 0 else "COMPLAINT"
        client.put_suppressed_destination(
            EmailAddress=f"{unique}-{index}@example.org", Reason=reason
        )
    seen: list[str] = []
    token: dict[str, str] = {}
    while True:
        page = client.list_suppressed_destinations(
            Reasons=["BOUNCE"], StartDate=start, PageSize=2, **token
        )
        seen += [
            s["EmailAddress"]
            for s in page["SuppressedDestinationSummaries"]
            if s["EmailAddress"].startswith(unique)
        ]
        assert all(s["Reason"] == "BOUNCE" for s in page["SuppressedDestinationSummaries"])
        if "NextToken" not in page:
            break
        token = {"NextToken": page["NextToken"]}
    assert seen == [f"{unique}-{i}@example.org" for i in (0, 2, 4)]
    # A token belongs to the filters it was issued for.
    first = client.list_suppressed_destinations(Reasons=["BOUNCE"], StartDate=start, PageSize=1)
    with pytest.raises(ClientError) as caught:
        client.list_suppressed_destinations(Reasons=["COMPLAINT"], NextToken=first["NextToken"])
    assert error(caught)[0] == "InvalidNextTokenException"
    future = client.list_suppressed_destinations(EndDate=start - timedelta(days=1))
    assert all(
        not s["EmailAddress"].startswith(unique) for s in future["SuppressedDestinationSummaries"]
    )


def test_a_hard_bounce_suppresses_and_the_next_send_is_suppressed(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str, unique: str
) -> None:
    gone = f"{unique}-gone@example.org"
    sink.reply(gone, "550 5.1.1 No such user")
    first = client.send_email(
        FromEmailAddress=sender, Destination={"ToAddresses": [gone]}, Content=simple()
    )["MessageId"]
    relayed.events(first, "Bounce")
    entry = client.get_suppressed_destination(EmailAddress=gone)["SuppressedDestination"]
    assert entry["Reason"] == "BOUNCE"
    assert entry["Attributes"]["MessageId"] == first
    assert entry["Attributes"]["FeedbackId"]

    kept = f"{unique}-kept@example.org"
    second = client.send_email(
        FromEmailAddress=sender, Destination={"ToAddresses": [gone, kept]}, Content=simple()
    )["MessageId"]
    received = sink.next()
    assert received.recipients == [kept]
    events = relayed.events(second, "Send", "Bounce", "Delivery")
    bounce = next(e.record["bounce"] for e in events if e.event_type == "Bounce")
    assert bounce["bounceType"] == "Permanent"
    assert bounce["bounceSubType"] == "OnAccountSuppressionList"
    assert [r["emailAddress"] for r in bounce["bouncedRecipients"]] == [gone]
    delivery = next(e.record["delivery"] for e in events if e.event_type == "Delivery")
    assert delivery["recipients"] == [kept]

    # Only suppressed recipients: accepted, nothing delivered, just the two events.
    third = client.send_email(
        FromEmailAddress=sender, Destination={"ToAddresses": [gone]}, Content=simple()
    )["MessageId"]
    assert {e.event_type for e in relayed.events(third, "Send", "Bounce")} == {"Send", "Bounce"}
    assert relayed.app.store.pending_deliveries() == 0


def test_a_set_without_suppression_reasons_overrides_the_account(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str, unique: str
) -> None:
    client.create_configuration_set(
        ConfigurationSetName=unique, SuppressionOptions={"SuppressedReasons": []}
    )
    listed = f"{unique}-listed@example.org"
    client.put_suppressed_destination(EmailAddress=listed, Reason="BOUNCE")
    client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": [listed]},
        Content=simple(),
        ConfigurationSetName=unique,
    )
    assert sink.next().recipients == [listed]
    # And a hard bounce through that set does not add the address.
    fresh = f"{unique}-fresh@example.org"
    sink.reply(fresh, "550 5.1.1 No such user")
    message_id = client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": [fresh]},
        Content=simple(),
        ConfigurationSetName=unique,
    )["MessageId"]
    relayed.events(message_id, "Bounce")
    with pytest.raises(ClientError) as caught:
        client.get_suppressed_destination(EmailAddress=fresh)
    assert error(caught)[0] == "NotFoundException"


def test_the_local_part_keeps_its_case(client: Any, unique: str) -> None:
    client.put_suppressed_destination(EmailAddress=f"Up{unique}@example.org", Reason="BOUNCE")
    with pytest.raises(ClientError) as caught:
        client.get_suppressed_destination(EmailAddress=f"up{unique}@example.org")
    assert error(caught)[0] == "NotFoundException"
