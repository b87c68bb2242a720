"""Where a destination's events go: the targets of each destination kind.

- `SnsDestination`: a signed SNS HTTP notification POSTed to every URL mapped to
  the topic (`--sns-webhook TOPIC_ARN=URL`), and, with `--aws-endpoint-url`, SNS
  `Publish` to the topic itself.
- `EventBridgeDestination`: `PutEvents`, source `aws.ses`, the detail-type SES
  uses for the event type, the record as `detail`.
- `KinesisFirehoseDestination`: `PutRecordBatch` of the record (one JSON line).
- `CloudWatchDestination`: `PutMetricData` in `AWS/SES`, metric named after the
  event type, value 1, with the configured dimensions.

The AWS calls go through botocore clients (credentials from the usual AWS_*
variables) to `--aws-endpoint-url`. Each target has a key; a publication records
the keys already done, so a retry repeats only the targets that failed.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.client
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from sesame.events.sns import SUBJECT, Signer
from sesame.store.base import Event

#: EventBridge detail-type per record eventType (EventBridge reference for SES).
DETAIL_TYPES = {
    "Send": "Email Sent",
    "Delivery": "Email Delivered",
    "Bounce": "Email Bounced",
    "Complaint": "Email Complaint Received",
    "Reject": "Email Rejected",
    "Open": "Email Opened",
    "Click": "Email Clicked",
    "Rendering Failure": "Email Rendering Failed",
    "DeliveryDelay": "Email Delivery Delayed",
    "Subscription": "Email Subscribed",
}
#: CloudWatch metric name per record eventType (SES developer guide, CloudWatch destinations).
METRIC_NAMES = {"Rendering Failure": "RenderingFailure"}
METRIC_NAMESPACE = "AWS/SES"
WEBHOOK_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Target:
    #: Stable name of the target within its destination (a URL, "sns", "events", …).
    key: str
    publish: Callable[[Event], None]


class PublishError(Exception):
    """A target refused or could not be reached; the message says which and why."""


class Targets:
    """Turns a destination definition into the targets to publish to."""

    def __init__(
        self,
        *,
        signer: Signer,
        webhooks: Mapping[str, Sequence[str]],
        aws_endpoint_url: str | None,
        region: str,
        account_id: str,
    ) -> None:
        self.signer = signer
        self.webhooks = webhooks
        self.aws_endpoint_url = aws_endpoint_url
        self.region = region
        self.account_id = account_id
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        # Keep-alive connections to webhook hosts, one set per publishing thread;
        # `_opened` keeps them all, so close() can close them from any thread.
        self._connections = threading.local()
        self._opened: list[http.client.HTTPConnection] = []

    def of(self, set_name: str, definition: Mapping[str, Any]) -> list[Target]:
        targets: list[Target] = []
        if "SnsDestination" in definition:
            topic = definition["SnsDestination"]["TopicArn"]
            for url in self.webhooks.get(topic, ()):
                # The key goes into the store (done targets): no secrets in it.
                key = f"{shown(url)}#{hashlib.sha256(url.encode()).hexdigest()[:12]}"
                targets.append(Target(key, _bind(self._webhook, topic, url)))
            if self.aws_endpoint_url:
                targets.append(Target("sns", _bind(self._sns, topic)))
        if not self.aws_endpoint_url:
            return targets
        if "EventBridgeDestination" in definition:
            bus = definition["EventBridgeDestination"]["EventBusArn"]
            targets.append(Target("events", _bind(self._eventbridge, bus, set_name)))
        if "KinesisFirehoseDestination" in definition:
            stream = definition["KinesisFirehoseDestination"]["DeliveryStreamArn"]
            targets.append(Target("firehose", _bind(self._firehose, stream)))
        if "CloudWatchDestination" in definition:
            dimensions = definition["CloudWatchDestination"]["DimensionConfigurations"]
            targets.append(Target("cloudwatch", _bind(self._cloudwatch, dimensions)))
        return targets

    # Targets --------------------------------------------------------------------
    def _webhook(self, topic: str, url: str, event: Event) -> None:
        envelope, headers = self.signer.notification(topic, _json(event.record), url)
        body = self.signer.body(envelope)
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        if parts.username is not None:
            # SNS sends the user and password of an https://user:pass@host/ endpoint
            # as HTTP basic authentication.
            secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(secret.encode()).decode()
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        try:
            # A kept-alive connection may have been closed by the server meanwhile:
            # on a failure with one, try once more on a fresh connection.
            for fresh in (False, True):
                connection, reused = self._connection(parts.scheme, netloc, fresh)
                try:
                    connection.request("POST", target, body=body, headers=headers)
                    answer = connection.getresponse()
                    answer.read()
                except (OSError, http.client.HTTPException):
                    connection.close()
                    if reused and not fresh:
                        continue
                    raise
                if answer.will_close:
                    connection.close()
                break
        except (OSError, http.client.HTTPException, ValueError) as problem:
            raise PublishError(f"{shown(url)}: {problem or type(problem).__name__}") from None
        if not 200 <= answer.status < 300:
            raise PublishError(f"{shown(url)}: HTTP {answer.status}")

    def _connection(
        self, scheme: str, netloc: str, fresh: bool
    ) -> tuple[http.client.HTTPConnection, bool]:
        """(this thread's connection to scheme://netloc, whether it was used before)."""
        pool: dict[tuple[str, str], http.client.HTTPConnection] = getattr(
            self._connections, "pool", {}
        )
        self._connections.pool = pool
        connection = pool.get((scheme, netloc))
        if connection is not None and not fresh and connection.sock is not None:
            return connection, True
        if connection is not None:
            connection.close()
            with self._lock:
                self._opened.remove(connection)
        kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        if scheme not in ("http", "https"):
            raise ValueError(f"unsupported scheme {scheme!r}")
        connection = kind(netloc, timeout=WEBHOOK_TIMEOUT_SECONDS)
        pool[(scheme, netloc)] = connection
        with self._lock:
            self._opened.append(connection)
        return connection, False

    def close(self) -> None:
        """Close every webhook connection (after the publishing threads have stopped)."""
        with self._lock:
            for connection in self._opened:
                connection.close()
            self._opened.clear()

    def _sns(self, topic: str, event: Event) -> None:
        self._call("sns", _region_of(topic, self.region), "publish")(
            TopicArn=topic, Message=_json(event.record), Subject=SUBJECT
        )

    def _eventbridge(self, bus: str, set_name: str, event: Event) -> None:
        answer = self._call("events", _region_of(bus, self.region), "put_events")(
            Entries=[
                {
                    "Time": datetime.datetime.fromtimestamp(event.happened, datetime.UTC),
                    "Source": "aws.ses",
                    "Resources": [
                        f"arn:aws:ses:{self.region}:{self.account_id}:configuration-set/{set_name}"
                    ],
                    "DetailType": DETAIL_TYPES.get(event.event_type, event.event_type),
                    "Detail": _json(event.record),
                    "EventBusName": bus,
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            failed = answer["Entries"][0]
            raise PublishError(f"events: {failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")

    def _firehose(self, stream: str, event: Event) -> None:
        name = stream.rsplit("/", 1)[-1]
        answer = self._call("firehose", _region_of(stream, self.region), "put_record_batch")(
            DeliveryStreamName=name, Records=[{"Data": (_json(event.record) + "\n").encode()}]
        )
        if answer.get("FailedPutCount"):
            failed = answer["RequestResponses"][0]
            raise PublishError(f"firehose: {failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")

    def _cloudwatch(self, dimensions: list[dict[str, str]], event: Event) -> None:
        self._call("cloudwatch", self.region, "put_metric_data")(
            Namespace=METRIC_NAMESPACE,
            MetricData=[
                {
                    "MetricName": METRIC_NAMES.get(event.event_type, event.event_type),
                    "Dimensions": [
                        {"Name": d["DimensionName"], "Value": dimension_value(d, event.record)}
                        for d in dimensions
                    ],
                    "Timestamp": datetime.datetime.fromtimestamp(event.happened, datetime.UTC),
                    "Value": 1.0,
                    "Unit": "Count",
                }
            ],
        )

    def _call(self, service: str, region: str, operation: str) -> Callable[..., Any]:
        client = self._client(service, region)
        method: Callable[..., Any] = getattr(client, operation)

        def call(**params: Any) -> Any:
            try:
                return method(**params)
            except Exception as problem:  # botocore's errors: the target refused or is away
                raise PublishError(f"{service}: {problem}") from None

        return call

    def _client(self, service: str, region: str) -> Any:
        with self._lock:
            client = self._clients.get((service, region))
            if client is None:
                import botocore.session
                from botocore.config import Config

                client = botocore.session.get_session().create_client(
                    service,
                    region_name=region,
                    endpoint_url=self.aws_endpoint_url,
                    # The outbox retries with its own backoff: one try per attempt here.
                    config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10),
                )
                self._clients[(service, region)] = client
            return client


def dimension_value(config: Mapping[str, str], record: Mapping[str, Any]) -> str:
    """The value of one CloudWatch dimension for a record (SES developer guide,
    "Set up a CloudWatch event destination"): a message tag, an email header or a
    link tag of that name, else the configured default."""
    name, source = config["DimensionName"], config["DimensionValueSource"]
    found: Any = None
    if source == "MESSAGE_TAG":
        found = record.get("mail", {}).get("tags", {}).get(name)
    elif source == "EMAIL_HEADER":
        for header in record.get("mail", {}).get("headers", []):
            if header.get("name", "").lower() == name.lower():
                found = header.get("value")
                break
    elif source == "LINK_TAG":
        found = record.get("click", {}).get("linkTags", {}).get(name)
    if isinstance(found, list):
        found = found[0] if found else None
    return str(found) if found else config["DefaultDimensionValue"]


def shown(url: str) -> str:
    """A webhook URL as logs and `sesame events --failed` show it: no user, password
    or query string, which may hold secrets."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _bind(function: Callable[..., None], *args: Any) -> Callable[[Event], None]:
    return lambda event: function(*args, event)


def _json(record: Mapping[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _region_of(arn: str, default: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 4 and parts[3] else default
