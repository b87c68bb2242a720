"""With --aws-endpoint-url, destinations are published with the AWS SDK: tested against
moto's server standing in for AWS, reading back what arrived (an SQS queue subscribed
to the topic, an EventBridge rule with an SQS target, the Firehose stream's S3
bucket, CloudWatch's metrics)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from engagement import configure, fetch, send
from harness import ACCOUNT_ID, REGION, RunningSesame, free_port, start_sesame
from smtp_sink import SmtpSink

TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:ses-events"
BUS = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/default"
STREAM = f"arn:aws:firehose:{REGION}:{ACCOUNT_ID}:deliverystream/ses-stream"
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/firehose"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="module")
def aws() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        yield f"http://127.0.0.1:{port}"
    server.stop()


def client(aws: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=aws, region_name=REGION)


@pytest.fixture(scope="module")
def server(
    aws: str, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[RunningSesame]:
    running = start_sesame(
        tmp_path_factory.mktemp("aws"),
        smtp_relay=sink.address,
        aws_endpoint_url=aws,
        machine_click_seconds=0,
    )
    yield running
    running.stop()


def queue(aws: str, name: str) -> tuple[str, str]:
    sqs = client(aws, "sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def drain(aws: str, url: str) -> list[dict[str, Any]]:
    sqs = client(aws, "sqs")
    bodies: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        for message in got:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_sns_eventbridge_firehose_and_cloudwatch(
    aws: str, server: RunningSesame, sink: SmtpSink, unique: str
) -> None:
    sns = client(aws, "sns")
    topic = sns.create_topic(Name="ses-events")["TopicArn"]
    assert topic == TOPIC
    from_sns, from_sns_arn = queue(aws, "from-sns")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=from_sns_arn)
    events = client(aws, "events")
    from_bus, from_bus_arn = queue(aws, "from-bus")
    events.put_rule(Name="ses", EventPattern=json.dumps({"source": ["aws.ses"]}))
    events.put_targets(Rule="ses", Targets=[{"Id": "q", "Arn": from_bus_arn}])
    s3 = client(aws, "s3")
    s3.create_bucket(Bucket="ses-archive")
    client(aws, "firehose").create_delivery_stream(
        DeliveryStreamName="ses-stream",
        ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE,
            "BucketARN": "arn:aws:s3:::ses-archive",
        },
    )

    ses = server.client()
    types = ["SEND", "DELIVERY", "CLICK"]
    sender = configure(
        ses,
        unique,
        ("sns", {"SnsDestination": {"TopicArn": TOPIC}}),
        ("bus", {"EventBridgeDestination": {"EventBusArn": BUS}}),
        (
            "stream",
            {"KinesisFirehoseDestination": {"IamRoleArn": ROLE, "DeliveryStreamArn": STREAM}},
        ),
        (
            "metrics",
            {
                "CloudWatchDestination": {
                    "DimensionConfigurations": [
                        {
                            "DimensionName": "campaign",
                            "DimensionValueSource": "MESSAGE_TAG",
                            "DefaultDimensionValue": "none",
                        },
                        {
                            "DimensionName": "Subject",
                            "DimensionValueSource": "EMAIL_HEADER",
                            "DefaultDimensionValue": "no-subject",
                        },
                        {
                            "DimensionName": "placement",
                            "DimensionValueSource": "LINK_TAG",
                            "DefaultDimensionValue": "no-link",
                        },
                    ]
                }
            },
        ),
        types=types,
    )
    sent = send(ses, sink, sender, unique)
    assert fetch(server, sent.links[0]) == 302
    server.events(sent.message_id, "Send", "Delivery", "Click")
    publisher = server.app.publisher
    assert publisher.wait_for(lambda: server.app.store.pending_publications() == 0, 30)

    # SNS Publish → the subscribed queue gets SNS's envelope around the record.
    notes = drain(aws, from_sns)
    records = [json.loads(note["Message"]) for note in notes]
    assert [r["eventType"] for r in records] == ["Send", "Delivery", "Click"]
    assert {note["Subject"] for note in notes} == {"Amazon SES Email Event Notification"}
    stored = {
        e.event_type: e.record for e in server.app.store.list_events(message_id=sent.message_id)
    }
    assert records == [stored["Send"], stored["Delivery"], stored["Click"]]

    # EventBridge PutEvents → the rule's queue: source aws.ses, SES's detail-types.
    bus = drain(aws, from_bus)
    assert [(e["source"], e["detail-type"]) for e in bus] == [
        ("aws.ses", "Email Sent"),
        ("aws.ses", "Email Delivered"),
        ("aws.ses", "Email Clicked"),
    ]
    assert [e["detail"] for e in bus] == records
    set_arn = f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:configuration-set/{unique}"
    assert all(e["resources"] == [set_arn] for e in bus)

    # Firehose PutRecordBatch → objects in the bucket, one JSON record per line.
    lines: list[dict[str, Any]] = []
    for item in s3.list_objects_v2(Bucket="ses-archive").get("Contents", []):
        body = s3.get_object(Bucket="ses-archive", Key=item["Key"])["Body"].read()
        lines += [json.loads(line) for line in body.decode().splitlines() if line.strip()]
    assert sorted(r["eventType"] for r in lines) == ["Click", "Delivery", "Send"]

    # CloudWatch PutMetricData → AWS/SES metrics with the configured dimensions.
    cloudwatch = client(aws, "cloudwatch")
    metrics = cloudwatch.list_metrics(Namespace="AWS/SES")["Metrics"]
    dimensions = {
        m["MetricName"]: {d["Name"]: d["Value"] for d in m["Dimensions"]} for m in metrics
    }
    assert dimensions["Send"] == {
        "campaign": "launch",
        "Subject": "Tracked",
        "placement": "no-link",
    }
    assert dimensions["Click"]["placement"] == "hero"
    assert set(dimensions) == {"Send", "Delivery", "Click"}


def test_an_unreachable_aws_endpoint_is_retried_and_visible(
    tmp_path: Path, sink: SmtpSink, unique: str, aws: str
) -> None:
    away = start_sesame(
        tmp_path,
        smtp_relay=sink.address,
        aws_endpoint_url=f"http://127.0.0.1:{free_port()}",
        publish_retry_seconds=1,
    )
    try:
        ses = away.client()
        sender = configure(ses, unique, ("bus", {"EventBridgeDestination": {"EventBusArn": BUS}}))
        sent = send(ses, sink, sender, unique)
        away.events(sent.message_id, "Send")
        assert away.app.publisher.wait_for(lambda: away.app.publisher.failures >= 2, 30)
        [failed] = away.app.store.failed_publications()
        assert failed.destination == "bus" and failed.event.event_type == "Send"
        assert failed.attempts >= 1
        assert "Could not connect to the endpoint URL" in (failed.last_error or "")
    finally:
        away.stop()
