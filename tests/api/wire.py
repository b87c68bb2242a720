"""What boto3 hides: raw SigV4-signed HTTP requests, and the error a ClientError carries.

Some behaviour can only be seen below boto3: the exact response body of an
operation, the headers of an error, the older GET list routes that boto3
1.44.8 no longer sends, and bodies no SDK would build. `send` signs a request
with botocore's own SigV4 signer, the way every SDK does, and sends it over a
plain `http.client` connection.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from harness import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

CONFIGURATION_SETS = "/v2/email/configuration-sets"
IDENTITIES = "/v2/email/identities"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_type(self) -> str | None:
        """The error code as botocore reads it: the header, up to any `:` suffix."""
        value = self.headers.get("x-amzn-ErrorType")
        return None if value is None else value.split(":", 1)[0]


def send(
    base_url: str,
    method: str,
    path: str,
    *,
    query: dict[str, str | int] | None = None,
    body: bytes | dict[str, Any] | list[Any] | None = None,
) -> Reply:
    """Sign `method path?query` (with `body` as JSON, or as raw bytes) and send it."""
    url = base_url + path
    if query:
        url += "?" + urlencode(query, quote_via=quote)
    headers: dict[str, str] = {}
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "ses", REGION).add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request(
            method, target, body=prepared.body or None, headers=dict(prepared.headers.items())
        )
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    """(code, message, HTTP status) of a ClientError, as one comparable value."""
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def without_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "ResponseMetadata"}


def walk_pages(call: Any, **request: Any) -> list[dict[str, Any]]:
    """Every page of a List* call, following NextToken until it is absent."""
    pages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        answer = call(**request, **({"NextToken": token} if token else {}))
        pages.append(answer)
        token = answer.get("NextToken")
        if token is None:
            return pages
        assert len(pages) < 10_000, "NextToken never ran out"


# One event destination of each kind, as SES accepts them.
SNS = {"SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:topic"}}
EVENTBRIDGE = {
    "EventBridgeDestination": {
        "EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/default"
    }
}
FIREHOSE = {
    "KinesisFirehoseDestination": {
        "IamRoleArn": "arn:aws:iam::123456789012:role/ses-to-firehose",
        "DeliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/ses-events",
    }
}
CLOUDWATCH = {
    "CloudWatchDestination": {
        "DimensionConfigurations": [
            {
                "DimensionName": "campaign",
                "DimensionValueSource": "MESSAGE_TAG",
                "DefaultDimensionValue": "none",
            },
            {
                "DimensionName": "X-Mailer",
                "DimensionValueSource": "EMAIL_HEADER",
                "DefaultDimensionValue": "unknown",
            },
            {
                "DimensionName": "link_name",
                "DimensionValueSource": "LINK_TAG",
                "DefaultDimensionValue": "default-link",
            },
        ]
    }
}
KINDS = {"sns": SNS, "eventbridge": EVENTBRIDGE, "firehose": FIREHOSE, "cloudwatch": CLOUDWATCH}
ALL_EVENT_TYPES = [
    "SEND",
    "REJECT",
    "BOUNCE",
    "COMPLAINT",
    "DELIVERY",
    "OPEN",
    "CLICK",
    "RENDERING_FAILURE",
    "DELIVERY_DELAY",
    "SUBSCRIPTION",
]
