"""Hostile and malformed requests: an AWS-shaped 4xx every time, never a 500, nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from harness import RunningSesame
from wire import CONFIGURATION_SETS, send


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("GET", CONFIGURATION_SETS + "/%FF%FE", None, "BadRequestException"),
        ("GET", CONFIGURATION_SETS + "/%", None, "NotFoundException"),
        ("POST", CONFIGURATION_SETS, b"[" * 100_000 + b"]" * 100_000, "SerializationException"),
        ("POST", CONFIGURATION_SETS, b'{"ConfigurationSetName": NaN}', "SerializationException"),
        (
            "POST",
            CONFIGURATION_SETS,
            b'{"ConfigurationSetName": "a\\ud800"}',
            "SerializationException",
        ),
        ("POST", CONFIGURATION_SETS, b"\xff\xfe\x00", "SerializationException"),
        (
            "POST",
            CONFIGURATION_SETS,
            b'{"ConfigurationSetName": "x", "Tags": {}}',
            "SerializationException",
        ),
        (
            "PUT",
            CONFIGURATION_SETS + "/x/delivery-options",
            b'{"MaxDeliverySeconds": 1e400}',
            "SerializationException",
        ),
        (
            "PUT",
            CONFIGURATION_SETS + "/x/delivery-options",
            b'{"MaxDeliverySeconds": 99999999999999999999999999}',
            "BadRequestException",
        ),
        ("GET", CONFIGURATION_SETS + "/" + "a" * 5000, None, "NotFoundException"),
    ],
    ids=[
        "invalid-utf8-label",
        "lone-percent",
        "deeply-nested-json",
        "nan",
        "lone-surrogate",
        "binary-body",
        "object-for-list",
        "infinite-number",
        "huge-integer",
        "long-label",
    ],
)
def test_malformed_requests_get_a_clear_4xx(
    sesame: RunningSesame, ses: Any, method: str, path: str, body: bytes | None, code: str
) -> None:
    before = ses.list_configuration_sets(PageSize=1000)["ConfigurationSets"]
    reply = send(sesame.url, method, path, body=body)
    assert 400 <= reply.status < 500, reply.body
    assert reply.error_type == code, reply.body
    assert reply.json()["message"]
    assert reply.headers["x-amzn-RequestId"]
    assert ses.list_configuration_sets(PageSize=1000)["ConfigurationSets"] == before
