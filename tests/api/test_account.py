"""The account through boto3: GetAccount, PutAccount*, quotas, throttling, sending disabled."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness import RunningSesame, start_sesame
from smtp_sink import SmtpSink
from wire import error

RELAY_SETTINGS = {"delivery_retry_seconds": 1}


def simple(html: str = "<p>Hi</p>") -> Any:
    return {"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Html": {"Data": html}}}}


@pytest.fixture
def limited(tmp_path: Path, shared_database: dict[str, Any]) -> Iterator[RunningSesame]:
    running = start_sesame(tmp_path, max_24h_send=5, max_send_rate=1000, **shared_database)
    yield running
    running.stop()


def test_get_account_defaults(ses: Any) -> None:
    account = ses.get_account()
    assert account["SendingEnabled"] is True
    assert account["ProductionAccessEnabled"] is True
    assert account["EnforcementStatus"] == "HEALTHY"
    assert account["DedicatedIpAutoWarmupEnabled"] is False
    assert account["SendQuota"]["Max24HourSend"] == -1.0
    assert account["SendQuota"]["MaxSendRate"] == -1.0
    assert account["VdmAttributes"] == {"VdmEnabled": "DISABLED"}
    assert "Details" not in account


def test_put_account_attributes_round_trip(limited: RunningSesame) -> None:
    ses = limited.client()
    assert ses.get_account()["SuppressionAttributes"] == {
        "SuppressedReasons": ["BOUNCE", "COMPLAINT"]
    }
    ses.put_account_suppression_attributes(SuppressedReasons=["COMPLAINT"])
    ses.put_account_details(
        MailType="MARKETING",
        WebsiteURL="https://example.com",
        ContactLanguage="EN",
        AdditionalContactEmailAddresses=["ops@example.com"],
        ProductionAccessEnabled=True,
    )
    ses.put_account_vdm_attributes(
        VdmAttributes={
            "VdmEnabled": "ENABLED",
            "DashboardAttributes": {"EngagementMetrics": "ENABLED"},
        }
    )
    account = ses.get_account()
    assert account["SuppressionAttributes"] == {"SuppressedReasons": ["COMPLAINT"]}
    details = account["Details"]
    assert details["MailType"] == "MARKETING"
    assert details["WebsiteURL"] == "https://example.com"
    assert details["AdditionalContactEmailAddresses"] == ["ops@example.com"]
    assert details["ReviewDetails"]["Status"] == "GRANTED"
    assert account["VdmAttributes"]["DashboardAttributes"] == {"EngagementMetrics": "ENABLED"}
    assert account["SendQuota"]["Max24HourSend"] == 5.0


def test_bad_account_input_is_a_bad_request(ses: Any) -> None:
    with pytest.raises(ClientError) as caught:
        ses.put_account_details(MailType="SPAM", WebsiteURL="https://example.com")
    code, message, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "Member must satisfy enum value set: [MARKETING, TRANSACTIONAL]" in message
    with pytest.raises(ClientError) as caught:
        ses.put_account_suppression_attributes(SuppressedReasons=["SPAM"])
    assert error(caught)[0] == "BadRequestException"
    with pytest.raises(ClientError) as caught:
        ses.put_account_vdm_attributes(VdmAttributes={"VdmEnabled": "MAYBE"})
    assert error(caught)[0] == "BadRequestException"


def test_sent_last_24_hours_counts_recipients(limited: RunningSesame) -> None:
    ses = limited.client()
    ses.create_email_identity(EmailIdentity="quota.example.com")
    ses.send_email(
        FromEmailAddress="a@quota.example.com",
        Destination={"ToAddresses": ["x@example.org"], "CcAddresses": ["y@example.org"]},
        Content=simple(),
    )
    assert ses.get_account()["SendQuota"]["SentLast24Hours"] == 2.0


def test_a_burst_from_threads_accepts_exactly_the_daily_quota(
    limited: RunningSesame, tmp_path: Path, shared_database: dict[str, Any]
) -> None:
    # Two servers on one database, as two nodes would be: the quota is the store's.
    other = start_sesame(tmp_path, max_24h_send=5, max_send_rate=1000, **shared_database)
    ses_clients = [limited.client() for _ in range(3)] + [other.client() for _ in range(3)]
    ses_clients[0].create_email_identity(EmailIdentity="burst.example.com")
    accepted: list[str] = []
    refused: list[tuple[str, str, int]] = []
    lock = threading.Lock()

    def send(client: Any, index: int) -> None:
        for attempt in range(2):
            try:
                answer = client.send_email(
                    FromEmailAddress="a@burst.example.com",
                    Destination={"ToAddresses": [f"r{index}-{attempt}@example.org"]},
                    Content=simple(),
                )
            except ClientError as problem:
                with lock:
                    refused.append(
                        (
                            problem.response["Error"]["Code"],
                            problem.response["Error"]["Message"],
                            problem.response["ResponseMetadata"]["HTTPStatusCode"],
                        )
                    )
            else:
                with lock:
                    accepted.append(answer["MessageId"])

    threads = [threading.Thread(target=send, args=(c, i)) for i, c in enumerate(ses_clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(accepted) == 5
    assert set(refused) == {("TooManyRequestsException", "Daily message quota exceeded.", 429)}
    assert len(refused) == 7
    assert ses_clients[0].get_account()["SendQuota"]["SentLast24Hours"] == 5.0
    other.stop()


def test_the_rate_limit_refuses_the_second_message_of_a_second(tmp_path: Path) -> None:
    # A rate of one recipient in any 1/0.001 = 1000 s window: the second send must wait.
    running = start_sesame(tmp_path, max_send_rate=0.001)
    try:
        ses = running.client()
        ses.create_email_identity(EmailIdentity="rate.example.com")
        send = {
            "FromEmailAddress": "a@rate.example.com",
            "Destination": {"ToAddresses": ["x@example.org"]},
            "Content": simple(),
        }
        ses.send_email(**send)
        with pytest.raises(ClientError) as caught:
            ses.send_email(**send)
        assert error(caught) == ("TooManyRequestsException", "Maximum sending rate exceeded.", 429)
        bulk = ses.send_bulk_email(
            FromEmailAddress="a@rate.example.com",
            DefaultContent={"Template": {"TemplateContent": {"Subject": "s", "Text": "t"}}},
            BulkEmailEntries=[{"Destination": {"ToAddresses": ["y@example.org"]}}],
        )
        assert bulk["BulkEmailEntryResults"][0]["Status"] == "ACCOUNT_THROTTLED"
    finally:
        running.stop()


def test_account_sending_disabled_pauses_every_send(limited: RunningSesame) -> None:
    ses = limited.client()
    ses.create_email_identity(EmailIdentity="paused.example.com")
    ses.put_account_sending_attributes(SendingEnabled=False)
    assert ses.get_account()["SendingEnabled"] is False
    with pytest.raises(ClientError) as caught:
        ses.send_email(
            FromEmailAddress="a@paused.example.com",
            Destination={"ToAddresses": ["x@example.org"]},
            Content=simple(),
        )
    assert error(caught) == (
        "SendingPausedException",
        "Sending paused for this account. For more information, please check the inbox of "
        "the email address associated with your AWS account.",
        400,
    )
    ses.put_account_sending_attributes(SendingEnabled=True)
    ses.send_email(
        FromEmailAddress="a@paused.example.com",
        Destination={"ToAddresses": ["x@example.org"]},
        Content=simple(),
    )


def test_api_rate_throttles_one_operation_only(
    tmp_path: Path, shared_database: dict[str, Any]
) -> None:
    # 1 call in any 1000-second window: deterministic whatever the machine's speed.
    running = start_sesame(tmp_path, api_rate=("GetAccount=0.001/s",), **shared_database)
    other = start_sesame(tmp_path, api_rate=("GetAccount=0.001/s",), **shared_database)
    try:
        ses = running.client()
        ses.get_account()
        # The other server on the same database counts the same calls.
        with pytest.raises(ClientError) as caught:
            other.client().get_account()
        assert error(caught) == (
            "TooManyRequestsException",
            "Too many requests have been made to the operation.",
            429,
        )
        ses.list_configuration_sets()
        ses.list_configuration_sets()
    finally:
        other.stop()
        running.stop()


def test_account_engagement_metrics_turn_tracking_on_without_a_set(
    client: Any, relayed: RunningSesame, sink: SmtpSink, sender: str
) -> None:
    client.put_account_vdm_attributes(
        VdmAttributes={
            "VdmEnabled": "ENABLED",
            "DashboardAttributes": {"EngagementMetrics": "ENABLED"},
        }
    )
    try:
        client.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": ["reader@example.org"]},
            Content=simple('<html><body><a href="https://example.org/a">a</a></body></html>'),
        )
        body = sink.next().message().get_body(("html",))
        assert body is not None
        html = body.get_content()
        assert "/L0/" in html and "/I0/" in html
        # A set whose own VDM options disable engagement metrics overrides the account.
        client.create_configuration_set(
            ConfigurationSetName="quiet",
            VdmOptions={"DashboardOptions": {"EngagementMetrics": "DISABLED"}},
        )
        client.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": ["reader@example.org"]},
            Content=simple('<html><body><a href="https://example.org/a">a</a></body></html>'),
            ConfigurationSetName="quiet",
        )
        body = sink.next().message().get_body(("html",))
        assert body is not None
        assert "/L0/" not in body.get_content()
    finally:
        client.put_account_vdm_attributes(VdmAttributes={"VdmEnabled": "DISABLED"})


def test_bulk_entries_over_the_daily_quota_say_so(limited: RunningSesame) -> None:
    ses = limited.client()
    ses.create_email_identity(EmailIdentity="bulk.example.com")
    answer = ses.send_bulk_email(
        FromEmailAddress="a@bulk.example.com",
        DefaultContent={"Template": {"TemplateContent": {"Subject": "s", "Text": "t"}}},
        BulkEmailEntries=[
            {"Destination": {"ToAddresses": [f"r{i}@example.org"]}} for i in range(7)
        ],
    )
    statuses = [entry["Status"] for entry in answer["BulkEmailEntryResults"]]
    assert statuses == ["SUCCESS"] * 5 + ["ACCOUNT_DAILY_QUOTA_EXCEEDED"] * 2
    assert answer["BulkEmailEntryResults"][5]["Error"] == "Daily message quota exceeded."
