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
from collections.abc import Callable, Mapping
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


# One encoder for the process: json.dumps with options builds a new one per call.
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _dumps(document: Any) -> bytes:
    return _JSON.encode(document).encode()


Encoder = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _value(shape: Shape, value: Any) -> Any:
    return _encoder(shape)(value)


def _encoder(shape: Shape) -> Encoder:
    """The function that turns a value of `shape` into JSON-ready data, built once.

    Shape names are unique within the model, so they key the cache; recursive
    shapes are resolved lazily through the cache.
    """
    encoder = _ENCODERS.get(shape.name)
    if encoder is None:
        encoder = _build(shape)
        _ENCODERS[shape.name] = encoder
    return encoder


_ENCODERS: dict[str, Encoder] = {}


def _build(shape: Shape) -> Encoder:
    kind = shape.type_name
    if kind == "structure":
        members = {
            name: (member.serialization.get("name", name), member)
            for name, member in shape.members.items()
        }

        def structure(value: Any) -> dict[str, Any]:
            # Outputs are sparse: walk what is there, keep what the shape has.
            result: dict[str, Any] = {}
            for name, item in value.items():
                found = members.get(name)
                if found is not None and item is not None:
                    result[found[0]] = _encoder(found[1])(item)
            return result

        return structure
    if kind == "list":
        element = shape.member

        def sequence(value: Any) -> list[Any]:
            encode = _encoder(element)
            return [encode(item) for item in value] if encode is not _identity else list(value)

        return sequence
    if kind == "map":
        values = shape.value

        def mapping(value: Any) -> dict[str, Any]:
            encode = _encoder(values)
            return {k: encode(v) for k, v in value.items()}

        return mapping
    if kind == "timestamp":
        return _epoch
    if kind == "blob":
        return _base64
    if kind in ("double", "float"):
        return float
    return _identity


def _base64(value: Any) -> str:
    raw = value.encode() if isinstance(value, str) else bytes(value)
    return base64.b64encode(raw).decode("ascii")


def _epoch(value: datetime | float | int) -> float | int:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        seconds = moment.timestamp()
    else:
        seconds = float(value)
    # Whole seconds go out as integers, the rest with millisecond precision.
    return int(seconds) if seconds.is_integer() else round(seconds, 3)
