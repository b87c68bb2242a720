"""Output dict → restJson1 response; ServiceError → AWS-shaped error response.

Successes are always 200 (no sesv2 operation declares another code) with the
output members as one JSON object. Members that are None are left out, as AWS
omits absent optional members. Timestamps go out as epoch seconds, blobs as
base64, the rest-json defaults botocore expects.

Errors carry the code in `x-amzn-ErrorType` and the text in the body's
`message` (ses-spec.md §2.4–2.5): the sesv2 error shapes have no members, so
that is all an SDK reads.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.model import OperationModel, Shape

from sesame.protocol.errors import ServiceError
from sesame.protocol.http import HttpResponse

JSON = "application/json"


def serialize(
    operation: OperationModel, output: Mapping[str, Any], request_id: str
) -> HttpResponse:
    """Serialise `output` with the operation's output shape into a 200 response."""
    shape = operation.output_shape
    document = _value(shape, output) if shape is not None else {}
    return HttpResponse(
        200,
        [("Content-Type", JSON), ("x-amzn-RequestId", request_id)],
        _dumps(document),
    )


def serialize_error(error: ServiceError, request_id: str) -> HttpResponse:
    """Serialise any ServiceError the way SES v2 answers errors."""
    return HttpResponse(
        error.status,
        [
            ("Content-Type", JSON),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", error.code),
        ],
        _dumps({"message": error.message}),
    )


def _dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _value(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        result: dict[str, Any] = {}
        for name, member in shape.members.items():
            item = value.get(name)
            if item is not None:
                result[member.serialization.get("name", name)] = _value(member, item)
        return result
    if kind == "list":
        return [_value(shape.member, item) for item in value]
    if kind == "map":
        return {k: _value(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        return _epoch(value)
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if kind in ("double", "float"):
        return float(value)
    return value


def _epoch(value: datetime | float | int) -> float | int:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        seconds = moment.timestamp()
    else:
        seconds = float(value)
    # Whole seconds go out as integers, the rest with millisecond precision.
    return int(seconds) if seconds.is_integer() else round(seconds, 3)
