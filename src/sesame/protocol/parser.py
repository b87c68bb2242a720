"""restJson1 request → the operation's input dict, AWS member names unchanged.

Where each member comes from is the model's `location` trait: a URI label, the
query string, or (no location) the JSON body. Values are coerced to the
shape's type: timestamps become aware `datetime`s (epoch seconds in JSON,
ISO 8601 in the query string), blobs become `bytes` (base64 in JSON).

A body that is not a JSON object, or a member of the wrong JSON type, is a
`SerializationException` (400), as AWS answers before any constraint check;
the messages are the Jackson-style texts SES v2 sends (probed by Floci, see
ses-spec.md §2.8). JSON `null` counts as absent, and members the model does
not know are ignored, as AWS's deserialiser does. Constraint checks (required,
enum, length, range, pattern) are validate.py's job, not this module's.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from botocore.model import Shape, StructureShape

from sesame.protocol.errors import SerializationException
from sesame.protocol.http import HttpRequest
from sesame.protocol.router import Match

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse(match: Match, request: HttpRequest) -> dict[str, Any]:
    """Build the input dict of `match.operation` from `request`."""
    shape = match.operation.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    query: dict[str, list[str]] | None = None
    body_members = False
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if name in match.query_members:
            location, key = "querystring", match.query_members[name]
        else:
            key = member.serialization.get("name", name)
        if location == "uri":
            if key in match.labels:
                params[name] = _from_text(member, match.labels[key])
        elif location == "querystring":
            if query is None:
                query = _split_query(request.query)
            if member.type_name == "list":
                if key in query:
                    params[name] = [_from_text(member.member, v) for v in query[key]]
            elif key in query:
                params[name] = _from_text(member, query[key][0])
        elif location is None:
            body_members = True
    if body_members and not match.query_members:
        document = _load_body(request.body)
        params.update(_structure(shape, document, body_only=True))
    return params


def _split_query(raw: str) -> dict[str, list[str]]:
    # Not urllib's parse_qs: SigV4 clients encode a space as %20 and a plus as
    # %2B, so a literal "+" must stay a plus rather than become a space.
    values: dict[str, list[str]] = {}
    for pair in raw.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        values.setdefault(unquote(key), []).append(unquote(value))
    return values


def _load_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SerializationException("Malformed request body: not valid JSON") from None
    except RecursionError:
        raise SerializationException("Malformed request body: nested too deeply") from None
    if not isinstance(document, dict):
        raise SerializationException("Start of structure or map expected in the request body")
    return document


def _from_text(shape: Shape, text: str) -> Any:
    """Coerce a URI label or query value (always text on the wire)."""
    kind = shape.type_name
    if kind == "string":
        return text
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise SerializationException(
                f"STRING_VALUE can not be converted to {_article(kind)}"
            ) from None
    if kind == "boolean":
        if text in ("true", "false"):
            return text == "true"
        raise SerializationException("STRING_VALUE can not be converted to a Boolean")
    if kind == "timestamp":
        return _parse_timestamp_text(text)
    if kind in ("double", "float"):
        try:
            return float(text)
        except ValueError:
            raise SerializationException("STRING_VALUE can not be converted to a Double") from None
    raise SerializationException(f"Unsupported value for a {kind} in the URI")


def _parse_timestamp_text(text: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SerializationException(f"Unable to parse date: {text}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _article(kind: str) -> str:
    return {"integer": "an Integer", "long": "a Long"}.get(kind, f"a {kind.title()}")


def _token(value: Any) -> str:
    """Jackson's name for the JSON token found, used in AWS's messages."""
    if isinstance(value, bool):
        return "TRUE_VALUE" if value else "FALSE_VALUE"
    if isinstance(value, int | float):
        return "NUMBER_VALUE"
    if isinstance(value, str):
        return "STRING_VALUE"
    if isinstance(value, list):
        return "START_ARRAY"
    return "START_OBJECT"


def _utf8(value: str) -> str:
    # JSON's \ud800-style escapes can name half a surrogate pair, which is no
    # character at all: such a string can be neither stored nor sent back.
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise SerializationException("Invalid UTF-16 surrogate in a string value") from None
    return value


def _structure(shape: StructureShape, value: Any, *, body_only: bool = False) -> dict[str, Any]:
    if not isinstance(value, dict):
        # The text SES v2 answers for a non-object where a structure belongs.
        raise SerializationException("Expected null")
    result: dict[str, Any] = {}
    for name, member in shape.members.items():
        if body_only and member.serialization.get("location"):
            continue
        key = member.serialization.get("name", name)
        if key in value and value[key] is not None:
            result[name] = _value(member, value[key])
    return result


def _value(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        return _structure(shape, value)
    if kind == "list":
        if not isinstance(value, list):
            raise SerializationException("Expected list or null")
        return [_value(shape.member, item) for item in value if item is not None]
    if kind == "map":
        if not isinstance(value, dict):
            raise SerializationException("Expected map or null")
        return {_utf8(k): _value(shape.value, v) for k, v in value.items() if v is not None}
    if kind == "string":
        if isinstance(value, str):
            return _utf8(value)
        raise SerializationException(f"{_token(value)} can not be converted to a String")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise SerializationException(f"{_token(value)} can not be converted to a Boolean")
    if kind in ("integer", "long"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise SerializationException(f"{_token(value)} can not be converted to {_article(kind)}")
    if kind in ("double", "float"):
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise SerializationException(f"{_token(value)} can not be converted to a Double")
    if kind == "timestamp":
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return datetime.fromtimestamp(value, UTC)
            except (OverflowError, OSError, ValueError):
                raise SerializationException(f"Timestamp out of range: {value}") from None
        if isinstance(value, str):
            return _parse_timestamp_text(value)
        raise SerializationException(f"{_token(value)} can not be converted to a Timestamp")
    if kind == "blob":
        if not isinstance(value, str):
            raise SerializationException(f"{_token(value)} can not be converted to a Blob")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise SerializationException("Base64 encoded value is not valid") from None
    raise SerializationException(f"Unsupported member type {kind}")
