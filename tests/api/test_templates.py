"""Email templates through boto3: CRUD, paging, TestRender, and SendEmail with a
template, delivered through a real SMTP server, events in the store."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sesame.mail.render import RenderingError, check_template

from harness import ACCOUNT_ID, REGION, RunningSesame
from smtp_sink import SmtpSink
from wire import error, walk_pages

#: One template using what SES's Handlebars offers: nested attributes, #if, #each.
SUBJECT = "Order {{order.id}} for {{name}}"
TEXT = (
    "Dear {{name}},\n"
    "{{#if vip}}Thank you for being a VIP.\n{{/if}}"
    "{{#each items}}- {{this.title}} x{{this.qty}}\n{{/each}}"
)
HTML = (
    "<p>Dear {{name}}</p>{{#if vip}}<p>VIP</p>{{else}}<p>regular</p>{{/if}}"
    "<ul>{{#each items}}<li>{{title}}</li>{{/each}}</ul>"
)
DATA = {
    "name": "Ann",
    "vip": True,
    "order": {"id": "A-17"},
    "items": [{"title": "Tea", "qty": 2}, {"title": "Cake", "qty": 1}],
}


@pytest.fixture
def template(client: Any, unique: str) -> str:
    """A stored template named `unique`, with SUBJECT, TEXT and HTML."""
    client.create_email_template(
        TemplateName=unique,
        TemplateContent={"Subject": SUBJECT, "Text": TEXT, "Html": HTML},
    )
    return unique


def template_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:ses:{region}:{ACCOUNT_ID}:template/{name}"


def bodies(mail: EmailMessage) -> tuple[str, str]:
    """(text, html) of a multipart/alternative message, line ends as `\n`."""
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    return (
        str(text.get_content()).replace("\r\n", "\n"),
        str(html.get_content()).replace("\r\n", "\n"),
    )


def syntax_message(subject: str | None, text: str | None, html: str | None) -> str:
    with pytest.raises(RenderingError) as caught:
        check_template(subject, text, html)
    return caught.value.message


# --- CRUD ------------------------------------------------------------------------


def test_create_get_update_delete(client: Any, unique: str) -> None:
    before = datetime.now(UTC)
    client.create_email_template(
        TemplateName=unique,
        TemplateContent={"Subject": "Hi {{name}}", "Html": "<b>{{name}}</b>"},
        Tags=[{"Key": "team", "Value": "mail"}],
    )
    got = client.get_email_template(TemplateName=unique)
    assert got["TemplateName"] == unique
    assert got["TemplateContent"] == {"Subject": "Hi {{name}}", "Html": "<b>{{name}}</b>"}
    assert got["Tags"] == [{"Key": "team", "Value": "mail"}]

    client.update_email_template(
        TemplateName=unique, TemplateContent={"Subject": "Bye {{name}}", "Text": "bye"}
    )
    got = client.get_email_template(TemplateName=unique)
    # An update replaces the whole content; the tags stay.
    assert got["TemplateContent"] == {"Subject": "Bye {{name}}", "Text": "bye"}
    assert got["Tags"] == [{"Key": "team", "Value": "mail"}]
    [listed] = [
        t
        for page in walk_pages(client.list_email_templates, PageSize=100)
        for t in page["TemplatesMetadata"]
        if t["TemplateName"] == unique
    ]
    assert before - timedelta(seconds=5) <= listed["CreatedTimestamp"] <= datetime.now(UTC)

    client.delete_email_template(TemplateName=unique)
    with pytest.raises(ClientError) as caught:
        client.get_email_template(TemplateName=unique)
    assert error(caught) == ("NotFoundException", f"Template {unique} does not exist.", 404)


def test_a_duplicate_name_already_exists(client: Any, template: str) -> None:
    with pytest.raises(ClientError) as caught:
        client.create_email_template(TemplateName=template, TemplateContent={"Subject": "x"})
    assert error(caught) == ("AlreadyExistsException", f"Template {template} already exists.", 400)
    # The first template is untouched.
    assert client.get_email_template(TemplateName=template)["TemplateContent"]["Subject"] == SUBJECT


def test_a_missing_template_is_not_found_everywhere(client: Any, unique: str) -> None:
    calls = [
        lambda: client.get_email_template(TemplateName=unique),
        lambda: client.update_email_template(TemplateName=unique, TemplateContent={"Subject": "x"}),
        lambda: client.delete_email_template(TemplateName=unique),
        lambda: client.test_render_email_template(TemplateName=unique, TemplateData="{}"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        assert error(caught) == ("NotFoundException", f"Template {unique} does not exist.", 404)


@pytest.mark.parametrize("name", ["has space", "dotted.name", "x" * 65, "ünï"])
def test_an_invalid_name_is_bad_request(client: Any, name: str) -> None:
    with pytest.raises(ClientError) as caught:
        client.create_email_template(TemplateName=name, TemplateContent={"Subject": "x"})
    assert error(caught) == (
        "BadRequestException",
        f"Invalid template name <{name}>: only alphanumeric ASCII characters, '_', and '-' "
        "are allowed, up to 64 characters.",
        400,
    )


def test_names_of_64_letters_digits_underscores_and_dashes_are_fine(client: Any) -> None:
    name = ("Ab_9-" * 13)[:64]
    client.create_email_template(TemplateName=name, TemplateContent={"Subject": "x"})
    assert client.get_email_template(TemplateName=name)["TemplateName"] == name
    client.delete_email_template(TemplateName=name)


@pytest.mark.parametrize(
    "content",
    [
        {"Subject": "{{#if a}}never closed"},
        {"Subject": "ok", "Text": "{{name"},
        {"Subject": "ok", "Html": "{{#each items}}{{/if}}"},
    ],
)
def test_a_template_that_does_not_compile_is_bad_request(
    client: Any, unique: str, content: dict[str, str]
) -> None:
    expected = syntax_message(content.get("Subject"), content.get("Text"), content.get("Html"))
    with pytest.raises(ClientError) as caught:
        client.create_email_template(TemplateName=unique, TemplateContent=content)
    assert error(caught) == ("BadRequestException", expected, 400)
    client.create_email_template(TemplateName=unique, TemplateContent={"Subject": "fine"})
    with pytest.raises(ClientError) as caught:
        client.update_email_template(TemplateName=unique, TemplateContent=content)
    assert error(caught) == ("BadRequestException", expected, 400)
    assert client.get_email_template(TemplateName=unique)["TemplateContent"] == {"Subject": "fine"}


def test_more_than_one_open_tracker_is_bad_request(client: Any, unique: str) -> None:
    one = "<p>{{ses:openTracker}}</p>"
    client.create_email_template(TemplateName=unique, TemplateContent={"Subject": "s", "Html": one})
    for html in (one + one, one + "{{ ses:openTracker }}"):
        for call in (client.create_email_template, client.update_email_template):
            with pytest.raises(ClientError) as caught:
                call(TemplateName=unique, TemplateContent={"Subject": "s", "Html": html})
            assert error(caught) == (
                "BadRequestException",
                "A template can contain at most one {{ses:openTracker}} placeholder.",
                400,
            )


def test_a_template_over_500_kb_is_bad_request(client: Any, unique: str) -> None:
    content = {"Subject": "s", "Text": "t" * (300 * 1024), "Html": "h" * (200 * 1024)}
    with pytest.raises(ClientError) as caught:
        client.create_email_template(TemplateName=unique, TemplateContent=content)
    assert error(caught) == (
        "BadRequestException",
        "Template size (512001 bytes) exceeds the limit of 512000 bytes.",
        400,
    )


# --- ListEmailTemplates --------------------------------------------------------------


def test_list_pages_through_every_template_in_name_order(client: Any, unique: str) -> None:
    names = [f"{unique}-{i}" for i in (3, 0, 6, 1, 5, 2, 4)]
    for name in names:
        client.create_email_template(TemplateName=name, TemplateContent={"Subject": name})
    pages = walk_pages(client.list_email_templates, PageSize=3)
    assert all(len(page["TemplatesMetadata"]) <= 3 for page in pages)
    assert all("NextToken" in page for page in pages[:-1])
    listed = [t["TemplateName"] for page in pages for t in page["TemplatesMetadata"]]
    assert listed == sorted(listed)
    assert [name for name in listed if name.startswith(unique)] == sorted(names)


def test_list_has_ten_per_page_by_default(client: Any, unique: str) -> None:
    for i in range(11):
        client.create_email_template(TemplateName=f"{unique}-{i:02}", TemplateContent={})
    first = client.list_email_templates()
    assert len(first["TemplatesMetadata"]) == 10
    assert "NextToken" in first


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"PageSize": 101}, "The page size must be between 1 and 100"),
        ({"PageSize": 0}, "The page size must be between 1 and 100"),
        ({"NextToken": "bm90LWEtdG9rZW4="}, "invalid nextToken bm90LWEtdG9rZW4="),
    ],
)
def test_list_rejects_a_bad_page_size_or_token(
    client: Any, request_: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClientError) as caught:
        client.list_email_templates(**request_)
    assert error(caught) == ("BadRequestException", message, 400)


# --- TestRenderEmailTemplate -----------------------------------------------------------


def test_render_answers_the_mime_message(client: Any, template: str) -> None:
    rendered = client.test_render_email_template(
        TemplateName=template, TemplateData=json.dumps(DATA)
    )["RenderedTemplate"]
    mail = email.message_from_string(rendered, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert str(mail["Subject"]) == "Order A-17 for Ann"
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["MIME-Version"] == "1.0"
    assert mail["Date"] is not None and mail["Message-ID"] is not None
    # The call names no sender and no recipient.
    assert mail["From"] is None and mail["To"] is None
    text, html = bodies(mail)
    assert text == "Dear Ann,\nThank you for being a VIP.\n- Tea x2\n- Cake x1\n"
    assert html == "<p>Dear Ann</p><p>VIP</p><ul><li>Tea</li><li>Cake</li></ul>\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('{"name": "Ann", "items": []}',
         "Attribute 'order.id' is not present in the rendering data."),
        ("[1, 2]", "TemplateData must be a JSON object, not an array."),
        ("{", "TemplateData is not valid JSON: Expecting property name enclosed in double "
         "quotes at line 1, column 2."),
    ],
)  # fmt: skip
def test_render_reports_what_does_not_render(
    client: Any, template: str, data: str, message: str
) -> None:
    with pytest.raises(ClientError) as caught:
        client.test_render_email_template(TemplateName=template, TemplateData=data)
    assert error(caught) == ("BadRequestException", message, 400)


# --- SendEmail with a template ------------------------------------------------------


def test_a_stored_template_is_rendered_and_delivered(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str, template: str
) -> None:
    answer = client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["ann@example.org"]},
        Content={"Template": {"TemplateName": template, "TemplateData": json.dumps(DATA)}},
    )
    message_id = answer["MessageId"]
    received = sink.next()
    assert received.recipients == ["ann@example.org"]
    mail = received.message()
    assert str(mail["Subject"]) == "Order A-17 for Ann"
    assert message_id in str(mail["Message-ID"])
    text, html = bodies(mail)
    assert text == "Dear Ann,\nThank you for being a VIP.\n- Tea x2\n- Cake x1\n"
    assert html == "<p>Dear Ann</p><p>VIP</p><ul><li>Tea</li><li>Cake</li></ul>\n"
    events = relayed.events(message_id, "Send", "Delivery")
    send = next(e.record for e in events if e.event_type == "Send")
    assert send["mail"]["commonHeaders"]["subject"] == "Order A-17 for Ann"
    assert send["mail"]["tags"]["ses:operation"] == ["SendEmail"]


def test_the_else_branch_and_an_empty_list(
    client: Any, sink: SmtpSink, sender: str, template: str
) -> None:
    data = {"name": "Bob", "vip": False, "order": {"id": "B-1"}, "items": []}
    client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["bob@example.org"]},
        Content={"Template": {"TemplateName": template, "TemplateData": json.dumps(data)}},
    )
    text, html = bodies(sink.next().message())
    assert text == "Dear Bob,\n"
    assert html == "<p>Dear Bob</p><p>regular</p><ul></ul>\n"


def test_a_template_by_arn_with_headers_and_attachments(
    client: Any, sink: SmtpSink, sender: str, template: str
) -> None:
    client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["carol@example.org"]},
        Content={
            "Template": {
                "TemplateArn": template_arn(template),
                "TemplateData": json.dumps(DATA | {"name": "Carol"}),
                "Headers": [{"Name": "X-Campaign", "Value": "spring"}],
                "Attachments": [
                    {"FileName": "note.txt", "RawContent": b"hello", "ContentType": "text/plain"}
                ],
            }
        },
    )
    mail = sink.next().message()
    assert str(mail["Subject"]) == "Order A-17 for Carol"
    assert mail["X-Campaign"] == "spring"
    assert mail.get_content_type() == "multipart/mixed"
    [attachment] = list(mail.iter_attachments())
    assert isinstance(attachment, EmailMessage)
    assert attachment.get_filename() == "note.txt"
    assert attachment.get_content() == "hello"
    text, _ = bodies(mail)
    assert text.startswith("Dear Carol,")


def test_inline_template_content(client: Any, sink: SmtpSink, sender: str) -> None:
    client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["dan@example.org"]},
        Content={
            "Template": {
                "TemplateContent": {"Subject": "Hi {{name}}", "Text": "Text for {{name}}"},
                "TemplateData": '{"name": "Dan"}',
            }
        },
    )
    mail = sink.next().message()
    assert str(mail["Subject"]) == "Hi Dan"
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content().strip() == "Text for Dan"


def test_a_missing_attribute_is_a_rendering_failure_and_nothing_is_sent(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str, template: str, unique: str
) -> None:
    client.create_configuration_set(ConfigurationSetName=unique)
    answer = client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["erin@example.org"]},
        Content={"Template": {"TemplateName": template, "TemplateData": '{"name": "Erin"}'}},
        ConfigurationSetName=unique,
        EmailTags=[{"Name": "campaign", "Value": "spring"}],
    )
    message_id = answer["MessageId"]
    [failure] = relayed.events(message_id, "Rendering Failure")
    # The event is written before SendEmail answers; nothing was queued.
    assert sink.handler.inbox.empty()
    assert relayed.app.store.get_message(message_id) is None
    assert failure.configuration_set == unique
    record = failure.record
    assert record["eventType"] == "Rendering Failure"
    assert record["failure"] == {
        "templateName": template,
        "errorMessage": "Attribute 'order.id' is not present in the rendering data.",
    }
    mail = record["mail"]
    assert mail["messageId"] == message_id
    assert mail["destination"] == ["erin@example.org"]
    assert mail["source"] == sender
    assert "headers" not in mail and "commonHeaders" not in mail
    assert mail["tags"]["campaign"] == ["spring"]
    assert mail["tags"]["ses:configuration-set"] == [unique]


def test_an_inline_template_failure_has_no_template_name(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str
) -> None:
    answer = client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["fay@example.org"]},
        Content={"Template": {"TemplateContent": {"Subject": "Hi {{name}}"}}},
    )
    [failure] = relayed.events(answer["MessageId"], "Rendering Failure")
    assert sink.handler.inbox.empty()
    assert failure.record["failure"] == {
        "templateName": "",
        "errorMessage": "Attribute 'name' is not present in the rendering data.",
    }


def test_sending_with_a_missing_template_is_not_found(
    client: Any, sender: str, unique: str
) -> None:
    for spec, named in (
        ({"TemplateName": unique}, unique),
        ({"TemplateArn": template_arn(unique)}, unique),
        ({"TemplateArn": template_arn(unique, "eu-west-1")}, template_arn(unique, "eu-west-1")),
    ):
        with pytest.raises(ClientError) as caught:
            client.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": ["a@example.org"]},
                Content={"Template": spec | {"TemplateData": "{}"}},
            )
        assert error(caught) == ("NotFoundException", f"Template {named} does not exist.", 404)


def test_a_template_in_another_region_is_not_found_even_if_named_here(
    client: Any, sender: str, template: str
) -> None:
    with pytest.raises(ClientError) as caught:
        client.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": ["a@example.org"]},
            Content={"Template": {"TemplateArn": template_arn(template, "eu-west-1")}},
        )
    assert error(caught)[0] == "NotFoundException"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"TemplateData": "{not json"}, "TemplateData is not valid JSON: Expecting property "
         "name enclosed in double quotes at line 1, column 2."),
        ({"TemplateData": '"text"'}, "TemplateData must be a JSON object, not a string."),
        ({"TemplateContent": {"Subject": "x"}},
         "Exactly one of TemplateName, TemplateArn or TemplateContent is required."),
    ],
)  # fmt: skip
def test_bad_template_requests_are_bad_request(
    client: Any, sender: str, template: str, spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClientError) as caught:
        client.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": ["a@example.org"]},
            Content={"Template": {"TemplateName": template} | spec},
        )
    assert error(caught) == ("BadRequestException", message, 400)


def test_inline_content_that_does_not_compile_is_bad_request(client: Any, sender: str) -> None:
    with pytest.raises(ClientError) as caught:
        client.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": ["a@example.org"]},
            Content={"Template": {"TemplateContent": {"Subject": "{{#if a}}"}}},
        )
    assert error(caught) == (
        "BadRequestException",
        syntax_message("{{#if a}}", None, None),
        400,
    )
