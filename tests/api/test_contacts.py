"""Contact lists, contacts and the List-Unsubscribe round trip, through boto3 and HTTP."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from harness import RunningSesame
from smtp_sink import SmtpSink
from wire import error

RELAY_SETTINGS = {"delivery_retry_seconds": 1}
LIST = "newsletter"
TOPICS = [
    {"TopicName": "weekly", "DisplayName": "Weekly", "DefaultSubscriptionStatus": "OPT_IN"},
    {"TopicName": "offers", "DisplayName": "Offers", "DefaultSubscriptionStatus": "OPT_OUT"},
]


@pytest.fixture
def contact_list(client: Any) -> Iterator[str]:
    # SES allows one list per account: each test gets it fresh.
    client.create_contact_list(ContactListName=LIST, Topics=TOPICS, Description="News")
    yield LIST
    client.delete_contact_list(ContactListName=LIST)


def test_contact_list_crud(client: Any, contact_list: str) -> None:
    got = client.get_contact_list(ContactListName=contact_list)
    assert got["Topics"] == TOPICS
    assert got["Description"] == "News"
    assert got["Tags"] == []
    assert [c["ContactListName"] for c in client.list_contact_lists()["ContactLists"]] == [LIST]
    # One list per account: a second one, even of the same name, is over the limit.
    for name in (contact_list, "second"):
        with pytest.raises(ClientError) as caught:
            client.create_contact_list(ContactListName=name)
        assert error(caught) == (
            "BadRequestException",
            "A maximum of 1 Lists allowed per account.",
            400,
        )
    client.update_contact_list(ContactListName=contact_list, Description="Changed")
    got = client.get_contact_list(ContactListName=contact_list)
    assert got["Description"] == "Changed"
    assert got["Topics"] == TOPICS
    assert got["LastUpdatedTimestamp"] >= got["CreatedTimestamp"]
    with pytest.raises(ClientError) as caught:
        client.get_contact_list(ContactListName="missing")
    assert error(caught) == ("NotFoundException", "List with name: missing doesn't exist.", 404)
    with pytest.raises(ClientError) as caught:
        client.get_contact_list(ContactListName="no spaces")
    assert error(caught) == (
        "BadRequestException",
        "ContactListName can contain up to 64 characters. Only alphanumeric characters, "
        "underscores(_) and hyphens(-) are allowed.",
        400,
    )
    with pytest.raises(ClientError) as caught:
        client.update_contact_list(ContactListName=contact_list, Topics=TOPICS + TOPICS)
    assert error(caught) == (
        "BadRequestException",
        "Duplicate topic names are not allowed within a List.",
        400,
    )
    many = [
        {"TopicName": f"t{i}", "DisplayName": "T", "DefaultSubscriptionStatus": "OPT_IN"}
        for i in range(21)
    ]
    with pytest.raises(ClientError) as caught:
        client.update_contact_list(ContactListName=contact_list, Topics=many)
    assert error(caught)[1] == "Maximum of <20> topics allowed per ContactList"
    with pytest.raises(ClientError) as caught:
        client.update_contact_list(ContactListName=contact_list, Description="x" * 501)
    assert error(caught)[1] == "List description can contain up to 500 characters."


def test_contacts_crud_and_defaults(client: Any, contact_list: str) -> None:
    client.create_contact(
        ContactListName=contact_list,
        EmailAddress="Ann@example.org",
        TopicPreferences=[{"TopicName": "offers", "SubscriptionStatus": "OPT_IN"}],
        AttributesData='{"name": "Ann"}',
    )
    got = client.get_contact(ContactListName=contact_list, EmailAddress="ann@example.org")
    assert got["EmailAddress"] == "Ann@example.org"
    assert got["TopicPreferences"] == [{"TopicName": "offers", "SubscriptionStatus": "OPT_IN"}]
    assert got["TopicDefaultPreferences"] == [
        {"TopicName": "weekly", "SubscriptionStatus": "OPT_IN"}
    ]
    assert got["UnsubscribeAll"] is False
    assert got["AttributesData"] == '{"name": "Ann"}'
    with pytest.raises(ClientError) as caught:
        client.create_contact(ContactListName=contact_list, EmailAddress="ann@example.org")
    assert error(caught) == (
        "AlreadyExistsException",
        "ann@example.org already exists in List.",
        400,
    )
    with pytest.raises(ClientError) as caught:
        client.create_contact(ContactListName=contact_list, EmailAddress="not-an-address")
    assert error(caught) == ("BadRequestException", "EmailAddress <not-an-address> is invalid", 400)
    with pytest.raises(ClientError) as caught:
        client.create_contact(
            ContactListName=contact_list,
            EmailAddress="bob@example.org",
            TopicPreferences=[{"TopicName": "nope", "SubscriptionStatus": "OPT_IN"}],
        )
    assert error(caught) == (
        "BadRequestException",
        f"List: {contact_list} doesn't contain Topic: nope",
        400,
    )
    with pytest.raises(ClientError) as caught:
        client.create_contact(ContactListName="missing", EmailAddress="bob@example.org")
    assert error(caught)[0] == "NotFoundException"
    # Preferences merge by topic; UnsubscribeAll and AttributesData are replaced.
    client.update_contact(
        ContactListName=contact_list,
        EmailAddress="ann@example.org",
        TopicPreferences=[{"TopicName": "weekly", "SubscriptionStatus": "OPT_OUT"}],
        UnsubscribeAll=True,
    )
    got = client.get_contact(ContactListName=contact_list, EmailAddress="ann@example.org")
    assert got["UnsubscribeAll"] is True
    assert "AttributesData" not in got
    assert got["TopicPreferences"] == [
        {"TopicName": "offers", "SubscriptionStatus": "OPT_IN"},
        {"TopicName": "weekly", "SubscriptionStatus": "OPT_OUT"},
    ]
    assert got["TopicDefaultPreferences"] == []
    client.update_contact(ContactListName=contact_list, EmailAddress="ann@example.org")
    got = client.get_contact(ContactListName=contact_list, EmailAddress="ann@example.org")
    assert got["UnsubscribeAll"] is False
    assert len(got["TopicPreferences"]) == 2
    client.delete_contact(ContactListName=contact_list, EmailAddress="ann@example.org")
    with pytest.raises(ClientError) as caught:
        client.get_contact(ContactListName=contact_list, EmailAddress="ann@example.org")
    assert error(caught) == ("NotFoundException", "ann@example.org doesn't exist in List.", 404)


def test_list_contacts_filters_and_pages(client: Any, contact_list: str) -> None:
    for index in range(5):
        preferences = [{"TopicName": "offers", "SubscriptionStatus": "OPT_IN"}] if index < 2 else []
        client.create_contact(
            ContactListName=contact_list,
            EmailAddress=f"c{index}@example.org",
            TopicPreferences=preferences,
            UnsubscribeAll=index == 4,
        )

    def emails(**filters: Any) -> list[str]:
        found: list[str] = []
        token: dict[str, str] = {}
        while True:
            page = client.list_contacts(
                ContactListName=contact_list, PageSize=2, **filters, **token
            )
            found += [c["EmailAddress"] for c in page["Contacts"]]
            if "NextToken" not in page:
                return found
            token = {"NextToken": page["NextToken"]}

    assert emails() == [f"c{i}@example.org" for i in range(5)]
    assert emails(Filter={"FilteredStatus": "OPT_OUT"}) == ["c4@example.org"]
    offers_in = {"FilteredStatus": "OPT_IN", "TopicFilter": {"TopicName": "offers"}}
    assert emails(Filter=offers_in) == ["c0@example.org", "c1@example.org"]
    weekly_in = {
        "FilteredStatus": "OPT_IN",
        "TopicFilter": {"TopicName": "weekly", "UseDefaultIfPreferenceUnavailable": True},
    }
    assert emails(Filter=weekly_in) == [f"c{i}@example.org" for i in range(4)]
    with pytest.raises(ClientError) as caught:
        client.list_contacts(ContactListName=contact_list, NextToken="bm90IGEgdG9rZW4=")
    assert error(caught)[0] == "BadRequestException"


def _post(url: str, body: bytes = b"List-Unsubscribe=One-Click") -> tuple[int, str]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        method = "GET" if body == b"" else "POST"
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        connection.request(method, parts.path, body=body or None, headers=headers)
        reply = connection.getresponse()
        return reply.status, reply.read().decode()
    finally:
        connection.close()


def test_one_click_unsubscribe_changes_the_contact_and_records_the_event(
    client: Any,
    relayed: RunningSesame,
    sink: SmtpSink,
    sender: str,
    contact_list: str,
) -> None:
    client.create_contact(ContactListName=contact_list, EmailAddress="reader@example.org")
    message_id = client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["reader@example.org"]},
        Content={"Simple": {"Subject": {"Data": "News"}, "Body": {"Text": {"Data": "Hi"}}}},
        ListManagementOptions={"ContactListName": contact_list, "TopicName": "weekly"},
    )["MessageId"]
    mail = sink.next().message()
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    found = re.fullmatch(r"<(http://[^>]+/U0/[^>]+)>", str(mail["List-Unsubscribe"]))
    assert found is not None
    url = found[1]

    # GET shows a page and changes nothing (RFC 8058: scanners fetch links).
    status, page = _post(url, b"")
    assert status == 200 and "<form" in page
    got = client.get_contact(ContactListName=contact_list, EmailAddress="reader@example.org")
    assert got["TopicPreferences"] == []

    status, page = _post(url)
    assert status == 200 and "Unsubscribed" in page
    got = client.get_contact(ContactListName=contact_list, EmailAddress="reader@example.org")
    assert got["TopicPreferences"] == [{"TopicName": "weekly", "SubscriptionStatus": "OPT_OUT"}]
    assert got["UnsubscribeAll"] is False
    event = next(
        e for e in relayed.events(message_id, "Subscription") if e.event_type == "Subscription"
    )
    record = event.record
    assert record["eventType"] == "Subscription"
    assert record["mail"]["messageId"] == message_id
    detail = record["subscription"]
    assert detail["contactList"] == contact_list
    assert detail["source"] == "UnsubscribeHeader"
    assert detail["oldTopicPreferences"] == {
        "unsubscribeAll": False,
        "topicSubscriptionStatus": [
            {"topicName": "weekly", "subscriptionStatus": "OptIn"},
            {"topicName": "offers", "subscriptionStatus": "OptOut"},
        ],
    }
    assert detail["newTopicPreferences"]["topicSubscriptionStatus"][0] == {
        "topicName": "weekly",
        "subscriptionStatus": "OptOut",
    }
    # A tampered path is a 404, never a change.
    assert _post(url[:-3] + "AAA")[0] == 404


def test_unsubscribe_without_a_topic_unsubscribes_from_all(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str, contact_list: str
) -> None:
    client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["new@example.org"]},
        Content={"Simple": {"Subject": {"Data": "News"}, "Body": {"Text": {"Data": "Hi"}}}},
        ListManagementOptions={"ContactListName": contact_list},
    )
    header = str(sink.next().message()["List-Unsubscribe"])
    assert _post(header.strip("<>"))[0] == 200
    got = client.get_contact(ContactListName=contact_list, EmailAddress="new@example.org")
    assert got["UnsubscribeAll"] is True


def test_list_management_options_must_name_an_existing_list_and_topic(
    client: Any, sender: str, contact_list: str
) -> None:
    send = {
        "FromEmailAddress": sender,
        "Destination": {"ToAddresses": ["x@example.org"]},
        "Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}},
    }
    with pytest.raises(ClientError) as caught:
        client.send_email(**send, ListManagementOptions={"ContactListName": "missing"})
    assert error(caught)[0:3:2] == ("NotFoundException", 404)
    with pytest.raises(ClientError) as caught:
        client.send_email(
            **send, ListManagementOptions={"ContactListName": contact_list, "TopicName": "nope"}
        )
    assert error(caught)[0] == "BadRequestException"


def test_list_mail_to_several_recipients_gets_no_unsubscribe_header(
    client: Any, sink: SmtpSink, sender: str, contact_list: str
) -> None:
    client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["one@example.org", "two@example.org"]},
        Content={
            "Simple": {
                "Subject": {"Data": "News"},
                "Body": {"Text": {"Data": "Leave: {{amazonSESUnsubscribeUrl}}"}},
            }
        },
        ListManagementOptions={"ContactListName": contact_list},
    )
    mail = sink.next().message()
    assert mail["List-Unsubscribe"] is None
    assert "{{amazonSESUnsubscribeUrl}}" in mail.get_content()


def test_the_placeholder_becomes_the_unsubscribe_url_twice_at_most(
    client: Any, sink: SmtpSink, sender: str, contact_list: str
) -> None:
    placeholder = "{{amazonSESUnsubscribeUrl}}"
    client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["one@example.org"]},
        Content={
            "Simple": {
                "Subject": {"Data": "News"},
                "Body": {
                    "Text": {"Data": f"a {placeholder} b {placeholder} c {placeholder}"},
                    "Html": {"Data": f'<a href="{placeholder}">leave</a>'},
                },
            }
        },
        ListManagementOptions={"ContactListName": contact_list, "TopicName": "weekly"},
    )
    mail = sink.next().message()
    url = str(mail["List-Unsubscribe"]).strip("<>")
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().strip() == f"a {url} b {url} c {placeholder}"
    assert f'href="{url}"' in html.get_content()


def test_a_contact_who_unsubscribed_is_not_sent_list_mail(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str, contact_list: str
) -> None:
    client.create_contact(
        ContactListName=contact_list,
        EmailAddress="out@example.org",
        TopicPreferences=[{"TopicName": "weekly", "SubscriptionStatus": "OPT_OUT"}],
    )
    content = {"Simple": {"Subject": {"Data": "News"}, "Body": {"Text": {"Data": "Hi"}}}}
    message_id = client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["out@example.org"]},
        Content=content,
        ListManagementOptions={"ContactListName": contact_list, "TopicName": "weekly"},
    )["MessageId"]
    bounce = next(
        e.record["bounce"]
        for e in relayed.events(message_id, "Send", "Bounce")
        if e.event_type == "Bounce"
    )
    assert bounce["bounceType"] == "Permanent"
    assert [r["emailAddress"] for r in bounce["bouncedRecipients"]] == ["out@example.org"]
    # Mail for the list as a whole still goes: the contact left one topic only.
    client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["out@example.org"]},
        Content=content,
        ListManagementOptions={"ContactListName": contact_list},
    )
    assert sink.next().recipients == ["out@example.org"]


def test_list_mail_makes_its_recipient_a_contact_and_honours_topic_defaults(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str, contact_list: str
) -> None:
    content = {"Simple": {"Subject": {"Data": "News"}, "Body": {"Text": {"Data": "Hi"}}}}
    client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["fresh@example.org"]},
        Content=content,
        ListManagementOptions={"ContactListName": contact_list, "TopicName": "weekly"},
    )
    assert sink.next().recipients == ["fresh@example.org"]
    got = client.get_contact(ContactListName=contact_list, EmailAddress="fresh@example.org")
    assert got["TopicPreferences"] == []
    # "offers" is OPT_OUT by default: a contact who never opted in is not sent it.
    message_id = client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["fresh@example.org"]},
        Content=content,
        ListManagementOptions={"ContactListName": contact_list, "TopicName": "offers"},
    )["MessageId"]
    assert {e.event_type for e in relayed.events(message_id, "Send", "Bounce")} == {
        "Send",
        "Bounce",
    }


def test_contact_lists_are_taggable(client: Any, contact_list: str) -> None:
    arn = f"arn:aws:ses:us-east-1:123456789012:contact-list/{contact_list}"
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "growth"}])
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "growth"}
    ]
    assert client.get_contact_list(ContactListName=contact_list)["Tags"] == [
        {"Key": "team", "Value": "growth"}
    ]
    client.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == []
    with pytest.raises(ClientError) as caught:
        client.list_tags_for_resource(ResourceArn=arn.replace(contact_list, "missing"))
    assert error(caught)[0] == "NotFoundException"
