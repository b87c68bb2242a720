"""Opaque page tokens for the List* operations.

A token is base64 of a small JSON document naming the last item returned and
the filter it belongs to, so a token cannot be replayed against another
filter (SES binds tokens the same way, ses-spec.md §3.5). Standard base64
with padding matches the model's NextTokenV2 pattern.
"""

from __future__ import annotations

import base64
import binascii
import json

from sesame.protocol.errors import BadRequestException, ServiceError

PAGE_SIZE_MESSAGE = "The page size must be between 1 and 1000"


def encode_token(after: str, scope: str = "") -> str:
    document = json.dumps({"a": after, "s": scope}, separators=(",", ":"))
    return base64.b64encode(document.encode()).decode("ascii")


def decode_token(
    token: str | None, scope: str = "", *, error: type[ServiceError] = BadRequestException
) -> str | None:
    """The name to continue after, or None for the first page."""
    if token is None:
        return None
    try:
        document = json.loads(base64.b64decode(token, validate=True))
        after, bound = document["a"], document["s"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise error(f"invalid nextToken {token}") from None
    if not isinstance(after, str) or bound != scope:
        raise error(f"invalid nextToken {token}")
    return after


def page_size(value: int | None, default: int, maximum: int = 1000) -> int:
    if value is None:
        return default
    if not 1 <= value <= maximum:
        raise BadRequestException(PAGE_SIZE_MESSAGE)
    return value
