"""SendEmail through boto3, delivered through a real SMTP server, events in the store."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness import RunningSesame, start_sesame
from smtp_sink import SmtpSink
from wire import error

MESSAGE_ID = re.compile(
    r"0100[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}-000000"
)

RELAY_SETTINGS = {"delivery_retry_seconds": 1}


def simple(subject: str = "Hello", text: str = "Hi there", html: str | None = None) -> Any:
    body: dict[str, Any] = {"Text": {"Data": text}}
    if html is not None:
        body["Html"] = {"Data": html}
    return {"Simple": {"Subject": {"Data": subject}, "Body": body}}


def test_a_simple_message_is_delivered_with_send_and_delivery_events(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str
) -> None:
    answer = client.send_email(
        FromEmailAddress=f"News <{sender}>",
        Destination={"ToAddresses": ["ann@example.org"], "BccAddresses": ["bob@example.org"]},
        Content=simple("Grüße", "Hallo Welt"),
        EmailTags=[{"Name": "campaign", "Value": "spring"}],
    )
    message_id = answer["MessageId"]
    assert MESSAGE_ID.fullmatch(message_id)
    received = sink.next()
    assert received.sender == sender
    assert sorted(received.recipients) == ["ann@example.org", "bob@example.org"]
    mail = received.message()
    assert str(mail["Subject"]) == "Grüße"
    assert mail["Bcc"] is None
    assert mail.get_content().strip() == "Hallo Welt"
    assert message_id in str(mail["Message-ID"])
    events = relayed.events(message_id, "Send", "Delivery")
    send = next(e.record for e in events if e.event_type == "Send")
    assert send["mail"]["messageId"] == message_id
    assert send["mail"]["destination"] == ["ann@example.org", "bob@example.org"]
    assert send["mail"]["tags"]["campaign"] == ["spring"]
    assert send["mail"]["tags"]["ses:from-domain"] == [sender.split("@")[1]]
    # One Delivery event per recipient, as SES publishes them.
    deliveries = [e.record["delivery"] for e in events if e.event_type == "Delivery"]
    assert sorted(d["recipients"][0] for d in deliveries) == ["ann@example.org", "bob@example.org"]
    assert all(len(d["recipients"]) == 1 for d in deliveries) and len(deliveries) == 2
    assert all(d["smtpResponse"].startswith("250 ") for d in deliveries)


def test_an_unverified_sender_is_rejected(client: Any) -> None:
    with pytest.raises(ClientError) as caught:
        client.send_email(
            FromEmailAddress="someone@unverified.example",
            Destination={"ToAddresses": ["ann@example.org"]},
            Content=simple(),
        )
    assert error(caught) == (
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: someone@unverified.example",
        400,
    )


def test_more_than_fifty_recipients_is_bad_request(client: Any, sender: str) -> None:
    with pytest.raises(ClientError) as caught:
        client.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": [f"r{i}@example.org" for i in range(51)]},
            Content=simple(),
        )
    assert error(caught) == ("BadRequestException", "Recipient count exceeds 50.", 400)


@pytest.mark.parametrize("address", ["not-an-address", "a@b", "x y@example.org"])
def test_an_invalid_recipient_is_bad_request(client: Any, sender: str, address: str) -> None:
    with pytest.raises(ClientError) as caught:
        client.send_email(
            FromEmailAddress=sender, Destination={"ToAddresses": [address]}, Content=simple()
        )
    assert error(caught)[0] == "BadRequestException"


def test_configuration_set_rules(client: Any, sender: str, unique: str) -> None:
    with pytest.raises(ClientError) as caught:
        client.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": ["a@example.org"]},
            Content=simple(),
            ConfigurationSetName=f"{unique}-missing",
        )
    assert error(caught) == (
        "NotFoundException",
        f"Configuration set <{unique}-missing> does not exist.",
        404,
    )
    client.create_configuration_set(
        ConfigurationSetName=unique, SendingOptions={"SendingEnabled": False}
    )
    with pytest.raises(ClientError) as caught:
        client.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": ["a@example.org"]},
            Content=simple(),
            ConfigurationSetName=unique,
        )
    assert error(caught)[0] == "SendingPausedException"


def test_invalid_tags_are_bad_request(client: Any, sender: str) -> None:
    with pytest.raises(ClientError) as caught:
        client.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": ["a@example.org"]},
            Content=simple(),
            EmailTags=[{"Name": "bad name", "Value": "v"}],
        )
    assert error(caught) == (
        "BadRequestException",
        "Invalid tag name <bad name>: only alphanumeric ASCII characters, '_',  '-' are allowed.",
        400,
    )


def test_a_raw_message_keeps_its_content_and_loses_the_ses_headers(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str, unique: str
) -> None:
    client.create_configuration_set(ConfigurationSetName=unique)
    raw = (
        f"From: {sender}\r\nTo: carol@example.org\r\nSubject: raw\r\n"
        f"X-SES-CONFIGURATION-SET: {unique}\r\nX-SES-MESSAGE-TAGS: team=mail, kind=raw\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nraw body\r\n"
    ).encode()
    answer = client.send_email(Content={"Raw": {"Data": raw}})
    received = sink.next()
    assert received.recipients == ["carol@example.org"]
    mail = received.message()
    assert mail["X-SES-CONFIGURATION-SET"] is None and mail["X-SES-MESSAGE-TAGS"] is None
    assert mail.get_content().strip() == "raw body"
    [send] = [e for e in relayed.events(answer["MessageId"], "Send") if e.event_type == "Send"]
    assert send.configuration_set == unique
    assert send.record["mail"]["tags"]["team"] == ["mail"]
    assert send.record["mail"]["tags"]["ses:configuration-set"] == [unique]


def test_a_transient_failure_is_retried_then_delivered(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str
) -> None:
    sink.reply("slow@example.org", "451 4.3.0 try again later")
    answer = client.send_email(
        FromEmailAddress=sender, Destination={"ToAddresses": ["slow@example.org"]}, Content=simple()
    )
    received = sink.next()
    assert received.recipients == ["slow@example.org"]
    events = relayed.events(answer["MessageId"], "DeliveryDelay", "Delivery")
    delay = next(e.record for e in events if e.event_type == "DeliveryDelay")
    assert delay["deliveryDelay"]["delayedRecipients"][0]["status"] == "4.3.0"
    # No configuration set: retried for SES's default MaxDeliverySeconds, 50,400 s.
    sent = datetime.fromisoformat(delay["mail"]["timestamp"])
    expires = datetime.fromisoformat(delay["deliveryDelay"]["expirationTime"])
    assert abs(expires - sent - timedelta(seconds=50_400)) <= timedelta(milliseconds=1)


def test_a_permanent_failure_is_a_bounce(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str
) -> None:
    sink.reply("gone@example.org", "550 5.1.1 no such user")
    answer = client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["gone@example.org", "here@example.org"]},
        Content=simple(),
    )
    assert sink.next().recipients == ["here@example.org"]
    events = relayed.events(answer["MessageId"], "Bounce", "Delivery")
    bounce = next(e.record for e in events if e.event_type == "Bounce")["bounce"]
    assert bounce["bounceType"] == "Permanent"
    assert bounce["bouncedRecipients"] == [
        {
            "emailAddress": "gone@example.org",
            "action": "failed",
            "status": "5.1.1",
            "diagnosticCode": "smtp; 550 5.1.1 no such user",
        }
    ]


def test_without_a_relay_mail_is_kept_locally(ses: Any, sesame: RunningSesame, unique: str) -> None:
    import json
    import urllib.request

    domain = f"{unique}.example.com"
    ses.create_email_identity(EmailIdentity=domain)
    answer = ses.send_email(
        FromEmailAddress=f"me@{domain}",
        Destination={"ToAddresses": ["you@example.org"]},
        Content=simple("Local", "kept here"),
    )
    message_id = answer["MessageId"]
    sesame.events(message_id, "Delivery")
    with urllib.request.urlopen(f"{sesame.url}/_aws/ses?id={message_id}") as response:
        document = json.load(response)
    [message] = document["messages"]
    assert message["Id"] == message_id
    assert message["Source"] == f"me@{domain}"
    assert message["Destination"]["ToAddresses"] == ["you@example.org"]
    assert message["Subject"] == "Local"
    assert message["Body"]["text_part"].strip() == "kept here"
    assert parseaddr(message["Source"])[1] == f"me@{domain}"


def test_settings_reject_a_bad_relay(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--smtp-relay must be HOST:PORT"):
        start_sesame(tmp_path, smtp_relay="nohost")


def test_attachments_arrive_byte_for_byte(client: Any, sink: SmtpSink, sender: str) -> None:
    payload = bytes(range(256)) * 40
    client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["files@example.org"]},
        Content={
            "Simple": {
                "Subject": {"Data": "files"},
                "Body": {"Text": {"Data": "see attached"}},
                "Attachments": [
                    {"RawContent": payload, "FileName": "data.bin"},
                    {
                        "RawContent": "Zählung;1\n".encode(),
                        "FileName": "zählung.csv",
                        "ContentType": "text/csv",
                    },
                ],
            }
        },
    )
    mail = sink.next().message()
    attached = {part.get_filename(): part for part in mail.iter_attachments()}
    assert attached["data.bin"].get_content() == payload
    assert attached["zählung.csv"].get_content_type() == "text/csv"
    assert attached["zählung.csv"].get_payload(decode=True) == "Zählung;1\n".encode()


def test_cc_reply_to_and_the_feedback_address(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str
) -> None:
    answer = client.send_email(
        FromEmailAddress=f"News <{sender}>",
        Destination={"ToAddresses": ["ann@example.org"], "CcAddresses": ["Cy <cy@example.org>"]},
        ReplyToAddresses=["Desk <desk@example.org>", "help@example.org"],
        FeedbackForwardingEmailAddress=f"bounces@{sender.split('@')[1]}",
        Content=simple(),
    )
    received = sink.next()
    # The feedback address is the envelope sender: bounces go there, not to From.
    assert received.sender == f"bounces@{sender.split('@')[1]}"
    assert sorted(received.recipients) == ["ann@example.org", "cy@example.org"]
    mail = received.message()
    assert str(mail["From"]) == f"News <{sender}>"
    assert str(mail["Cc"]) == "Cy <cy@example.org>"
    assert str(mail["Reply-To"]) == "Desk <desk@example.org>, help@example.org"
    [send] = [e for e in relayed.events(answer["MessageId"], "Send") if e.event_type == "Send"]
    common = send.record["mail"]["commonHeaders"]
    assert common["cc"] == ["Cy <cy@example.org>"]
    assert common["replyTo"] == ["Desk <desk@example.org>", "help@example.org"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ReplyToAddresses", ["not an address"]),
        ("FeedbackForwardingEmailAddress", "nobody"),
        ("FeedbackForwardingEmailAddress", "a@b"),
    ],
)
def test_bad_reply_to_and_feedback_addresses_are_bad_request(
    client: Any, sender: str, field: str, value: Any
) -> None:
    with pytest.raises(ClientError) as caught:
        client.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": ["a@example.org"]},
            Content=simple(),
            **{field: value},
        )
    shown = value[0] if isinstance(value, list) else value
    assert error(caught) == ("BadRequestException", f"Invalid email address <{shown}>.", 400)


def test_the_set_named_on_the_call_then_the_header_then_the_identity_default(
    client: Any, relayed: RunningSesame, sink: SmtpSink, unique: str
) -> None:
    domain = f"{unique}.example.com"
    named, header, own, domains = (f"{unique}-{n}" for n in ("named", "header", "own", "domain"))
    for name in (named, header, own, domains):
        client.create_configuration_set(ConfigurationSetName=name)
    client.create_email_identity(EmailIdentity=domain, ConfigurationSetName=domains)
    client.create_email_identity(EmailIdentity=f"news@{domain}", ConfigurationSetName=own)
    raw = (
        f"From: news@{domain}\r\nTo: a@example.org\r\nSubject: s\r\n"
        f"X-SES-CONFIGURATION-SET: {header}\r\n\r\nbody\r\n"
    ).encode()

    def used(**request: Any) -> str | None:
        message_id = client.send_email(**request)["MessageId"]
        sink.next()
        [send] = [e for e in relayed.events(message_id, "Send") if e.event_type == "Send"]
        return send.configuration_set

    assert used(Content={"Raw": {"Data": raw}}, ConfigurationSetName=named) == named
    assert used(Content={"Raw": {"Data": raw}}) == header
    to = {"ToAddresses": ["a@example.org"]}
    # An address's own default beats its domain's; another address gets the domain's.
    assert used(FromEmailAddress=f"news@{domain}", Destination=to, Content=simple()) == own
    assert used(FromEmailAddress=f"other@{domain}", Destination=to, Content=simple()) == domains


def test_email_tags_on_the_call_replace_the_raw_header_tags(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str
) -> None:
    raw = (
        f"From: {sender}\r\nTo: a@example.org\r\nSubject: s\r\n"
        "X-SES-MESSAGE-TAGS: team=mail\r\n\r\nbody\r\n"
    ).encode()
    answer = client.send_email(
        Content={"Raw": {"Data": raw}}, EmailTags=[{"Name": "kind", "Value": "api"}]
    )
    assert sink.next().message()["X-SES-MESSAGE-TAGS"] is None
    [send] = [e for e in relayed.events(answer["MessageId"], "Send") if e.event_type == "Send"]
    tags = send.record["mail"]["tags"]
    assert tags["kind"] == ["api"] and "team" not in tags  # no merge (SES developer guide)


def test_the_local_mailbox_filters_by_sender(ses: Any, sesame: RunningSesame, unique: str) -> None:
    import json
    import urllib.request

    domain = f"{unique}.example.com"
    ses.create_email_identity(EmailIdentity=domain)
    sent = {
        who: ses.send_email(
            FromEmailAddress=f"{who}@{domain}",
            Destination={"ToAddresses": ["you@example.org"]},
            Content=simple(who),
        )["MessageId"]
        for who in ("ann", "bob")
    }
    for message_id in sent.values():
        sesame.events(message_id, "Delivery")
    with urllib.request.urlopen(f"{sesame.url}/_aws/ses?email=bob@{domain}") as response:
        document = json.load(response)
    assert [m["Id"] for m in document["messages"]] == [sent["bob"]]


def test_a_verified_address_may_send_without_its_domain(
    client: Any, sink: SmtpSink, unique: str
) -> None:
    domain = f"{unique}.example.net"
    client.create_email_identity(EmailIdentity=f"me@{domain}")
    client.send_email(
        FromEmailAddress=f"me@{domain}",
        Destination={"ToAddresses": ["a@example.org"]},
        Content=simple(),
    )
    assert sink.next().sender == f"me@{domain}"
    with pytest.raises(ClientError) as caught:
        client.send_email(
            FromEmailAddress=f"other@{domain}",
            Destination={"ToAddresses": ["a@example.org"]},
            Content=simple(),
        )
    assert error(caught)[0] == "MessageRejected"
