"""SendBulkEmail through boto3: one templated message per entry, delivered through a
real SMTP server, one result per entry, events in the store."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness import ACCOUNT_ID, REGION, RunningSesame
from smtp_sink import Received, SmtpSink
from wire import error

SUBJECT = "{{greeting}}, {{name}}"
TEXT = "{{greeting}} {{name}}, your code is {{code.value}}."


@pytest.fixture
def template(client: Any, unique: str) -> str:
    client.create_email_template(
        TemplateName=unique, TemplateContent={"Subject": SUBJECT, "Text": TEXT}
    )
    return unique


def entry(to: str, data: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    made: dict[str, Any] = {"Destination": {"ToAddresses": [to]}, **extra}
    if data is not None:
        made["ReplacementEmailContent"] = {
            "ReplacementTemplate": {"ReplacementTemplateData": json.dumps(data)}
        }
    return made


def by_recipient(received: list[Received]) -> dict[str, Received]:
    return {r.recipients[0]: r for r in received}


def test_each_entry_gets_its_own_rendered_message(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str, template: str
) -> None:
    answer = client.send_bulk_email(
        FromEmailAddress=sender,
        DefaultContent={
            "Template": {
                "TemplateName": template,
                "TemplateData": json.dumps({"greeting": "Hello", "code": {"value": "none"}}),
                "Headers": [
                    {"Name": "X-Campaign", "Value": "default"},
                    {"Name": "X-Kept", "Value": "kept"},
                ],
            }
        },
        DefaultEmailTags=[{"Name": "campaign", "Value": "spring"}, {"Name": "kind", "Value": "a"}],
        BulkEmailEntries=[
            entry("ann@example.org", {"name": "Ann", "code": {"value": "A1"}}),
            entry(
                "bob@example.org",
                {"name": "Bob", "greeting": "Howdy"},
                ReplacementTags=[{"Name": "kind", "Value": "b"}],
                ReplacementHeaders=[
                    {"Name": "x-campaign", "Value": "bob"},
                    {"Name": "X-Extra", "Value": "added"},
                ],
            ),
        ],
    )
    results = answer["BulkEmailEntryResults"]
    assert [r["Status"] for r in results] == ["SUCCESS", "SUCCESS"]
    assert all("Error" not in r for r in results)
    ann_id, bob_id = (r["MessageId"] for r in results)
    assert ann_id != bob_id

    mail = by_recipient([sink.next(), sink.next()])
    ann, bob = mail["ann@example.org"].message(), mail["bob@example.org"].message()
    assert str(ann["Subject"]) == "Hello, Ann"
    assert ann.get_content().strip() == "Hello Ann, your code is A1."
    assert ann_id in str(ann["Message-ID"])
    assert (ann["X-Campaign"], ann["X-Kept"], ann["X-Extra"]) == ("default", "kept", None)
    assert str(bob["Subject"]) == "Howdy, Bob"
    assert bob.get_content().strip() == "Howdy Bob, your code is none."
    # A replacement header takes the value of the template's header of that name.
    assert (bob.get_all("X-Campaign"), bob["X-Kept"], bob["X-Extra"]) == (
        ["bob"],
        "kept",
        "added",
    )

    ann_send, bob_send = (
        next(e.record for e in relayed.events(i, "Send", "Delivery") if e.event_type == "Send")
        for i in (ann_id, bob_id)
    )
    assert ann_send["mail"]["tags"]["ses:operation"] == ["SendBulkEmail"]
    assert ann_send["mail"]["tags"]["kind"] == ["a"]
    assert bob_send["mail"]["tags"]["kind"] == ["b"]
    assert bob_send["mail"]["tags"]["campaign"] == ["spring"]
    assert bob_send["mail"]["destination"] == ["bob@example.org"]


def test_good_and_bad_entries_each_get_their_own_result(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str, template: str
) -> None:
    defaults = {"greeting": "Hi", "code": {"value": "X"}}
    answer = client.send_bulk_email(
        FromEmailAddress=sender,
        DefaultContent={
            "Template": {"TemplateName": template, "TemplateData": json.dumps(defaults)}
        },
        BulkEmailEntries=[
            entry("first@example.org", {"name": "First"}),
            entry("not-an-address", {"name": "Nobody"}),
            # No `name` anywhere: accepted, then a Rendering Failure.
            entry("nameless@example.org"),
            {
                "Destination": {"ToAddresses": [f"r{i}@example.org" for i in range(51)]},
                "ReplacementEmailContent": {
                    "ReplacementTemplate": {"ReplacementTemplateData": '{"name": "Many"}'}
                },
            },
            {
                "Destination": {"ToAddresses": ["broken@example.org"]},
                "ReplacementEmailContent": {
                    "ReplacementTemplate": {"ReplacementTemplateData": "{broken"}
                },
            },
            entry("tagged@example.org", {"name": "T"},
                  ReplacementTags=[{"Name": "bad name", "Value": "v"}]),
            entry("last@example.org", {"name": "Last"}),
        ],
    )  # fmt: skip
    results = answer["BulkEmailEntryResults"]
    assert [r["Status"] for r in results] == [
        "SUCCESS",
        "INVALID_PARAMETER",
        "SUCCESS",
        "INVALID_PARAMETER",
        "INVALID_PARAMETER",
        "INVALID_PARAMETER",
        "SUCCESS",
    ]
    assert [r.get("Error") for r in results] == [
        None,
        "Invalid email address <not-an-address>.",
        None,
        "Recipient count exceeds 50.",
        "TemplateData is not valid JSON: Expecting property name enclosed in double quotes at "
        "line 1, column 2.",
        "Invalid tag name <bad name>: only alphanumeric ASCII characters, '_',  '-' are allowed.",
        None,
    ]
    assert ["MessageId" in r for r in results] == [r["Status"] == "SUCCESS" for r in results]

    delivered = by_recipient([sink.next(), sink.next()])
    assert sorted(delivered) == ["first@example.org", "last@example.org"]
    assert str(delivered["last@example.org"].message()["Subject"]) == "Hi, Last"
    first_id, failed_id, last_id = (results[i]["MessageId"] for i in (0, 2, 6))
    relayed.events(first_id, "Delivery")
    relayed.events(last_id, "Delivery")
    [failure] = relayed.events(failed_id, "Rendering Failure")
    assert sink.handler.inbox.empty()
    assert failure.record["failure"] == {
        "templateName": template,
        "errorMessage": "Attribute 'name' is not present in the rendering data.",
    }
    assert failure.record["mail"]["destination"] == ["nameless@example.org"]
    assert failure.record["mail"]["tags"]["ses:operation"] == ["SendBulkEmail"]


def test_inline_content_and_a_template_arn(
    client: Any, sink: SmtpSink, sender: str, template: str
) -> None:
    inline = client.send_bulk_email(
        FromEmailAddress=sender,
        DefaultContent={
            "Template": {
                "TemplateContent": {"Subject": "Inline {{name}}", "Html": "<p>{{name}}</p>"},
                "TemplateData": '{"name": "default"}',
            }
        },
        BulkEmailEntries=[entry("inline@example.org")],
    )
    assert inline["BulkEmailEntryResults"][0]["Status"] == "SUCCESS"
    mail = sink.next().message()
    assert str(mail["Subject"]) == "Inline default"
    assert mail.get_content_type() == "text/html"
    by_arn = client.send_bulk_email(
        FromEmailAddress=sender,
        DefaultContent={
            "Template": {
                "TemplateArn": f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:template/{template}",
                "TemplateData": '{"greeting": "Yo", "code": {"value": "7"}}',
            }
        },
        BulkEmailEntries=[entry("arn@example.org", {"name": "Arn"})],
    )
    assert by_arn["BulkEmailEntryResults"][0]["Status"] == "SUCCESS"
    assert sink.next().message().get_content().strip() == "Yo Arn, your code is 7."


def test_a_paused_configuration_set_fails_the_whole_call(
    client: Any, sender: str, template: str, unique: str
) -> None:
    client.create_configuration_set(
        ConfigurationSetName=unique, SendingOptions={"SendingEnabled": False}
    )
    with pytest.raises(ClientError) as caught:
        client.send_bulk_email(
            FromEmailAddress=sender,
            DefaultContent={"Template": {"TemplateName": template}},
            BulkEmailEntries=[entry("a@example.org", {"name": "A"})],
            ConfigurationSetName=unique,
        )
    assert error(caught) == (
        "SendingPausedException",
        f"Sending is paused for configuration set <{unique}>.",
        400,
    )


def test_call_level_errors(client: Any, sender: str, template: str, unique: str) -> None:
    good = {"Template": {"TemplateName": template}}
    cases: list[tuple[dict[str, Any], tuple[str, str, int]]] = [
        (
            {"DefaultContent": {"Template": {"TemplateName": f"{unique}-missing"}}},
            ("NotFoundException", f"Template {unique}-missing does not exist.", 404),
        ),
        (
            {"DefaultContent": {}},
            ("BadRequestException", "DefaultContent must contain a Template.", 400),
        ),
        (
            {"BulkEmailEntries": []},
            ("BadRequestException", "BulkEmailEntries must contain at least one entry.", 400),
        ),
        (
            {"BulkEmailEntries": [entry(f"r{i}@example.org") for i in range(51)]},
            ("BadRequestException", "BulkEmailEntries count exceeds 50.", 400),
        ),
        (
            {"FromEmailAddress": "someone@unverified.example"},
            (
                "MessageRejected",
                "Email address is not verified. The following identities failed the check "
                "in region US-EAST-1: someone@unverified.example",
                400,
            ),
        ),
        (
            {"ConfigurationSetName": f"{unique}-nope"},
            ("NotFoundException", f"Configuration set <{unique}-nope> does not exist.", 404),
        ),
        (
            {"DefaultContent": {"Template": {"TemplateName": template, "TemplateData": "[]"}}},
            ("BadRequestException", "TemplateData must be a JSON object, not an array.", 400),
        ),
        (
            {"DefaultEmailTags": [{"Name": "", "Value": "v"}]},
            ("BadRequestException", "The tag name must be specified.", 400),
        ),
        (
            {"FeedbackForwardingEmailAddress": "nobody"},
            ("BadRequestException", "Invalid email address <nobody>.", 400),
        ),
    ]
    for change, expected in cases:
        request = {
            "FromEmailAddress": sender,
            "DefaultContent": good,
            "BulkEmailEntries": [entry("a@example.org", {"name": "A"})],
        } | change
        with pytest.raises(ClientError) as caught:
            client.send_bulk_email(**request)
        assert error(caught) == expected, change
