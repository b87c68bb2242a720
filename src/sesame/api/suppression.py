"""The account-level suppression list: Put, Get, List and DeleteSuppressedDestination.

Addresses are trimmed and their domain lower-cased, the local part kept as it
is, as SES does (sesame/suppression.py `normalize`); an entry is answered in
that form. A PUT of an address already listed
replaces its reason and update time, as SES does. ListSuppressedDestinations
filters on reasons and on the last update time (`StartDate` and `EndDate`,
both inclusive), pages in address order (default 1,000 a page, SES's maximum)
and answers a token it did not issue, or one issued for other filters, with
`InvalidNextTokenException`. Tenant lists (`TenantName`) are not implemented:
tenants do not exist here, so naming one is a NotFoundException.

Sending honours the list (api/policy.py) and delivery adds to it
(sesame/suppression.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sesame.api.context import RequestContext
from sesame.api.dispatch import handles
from sesame.api.paging import decode_token, encode_token
from sesame.protocol.errors import (
    BadRequestException,
    InvalidNextTokenException,
    NotFoundException,
)
from sesame.store.base import Store, SuppressedDestination
from sesame.suppression import normalize

DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def _missing(email: str) -> NotFoundException:
    return NotFoundException(f"Email address {email} does not exist on your suppression list.")


def _address(request: dict[str, Any]) -> str:
    email = str(request["EmailAddress"])
    if not email.strip():
        raise BadRequestException("EmailAddress is required.")
    return normalize(email)


def _no_tenants(request: dict[str, Any]) -> None:
    tenant = request.get("TenantName")
    if tenant is not None:
        raise NotFoundException(f"Tenant {tenant} does not exist.")


class SuppressionProvider:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    @handles("PutSuppressedDestination")
    def put(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        _no_tenants(request)
        email = _address(request)
        self.store.put_suppressed_destination(
            SuppressedDestination(email, request["Reason"], self.clock())
        )
        return {}

    @handles("GetSuppressedDestination")
    def get(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        _no_tenants(request)
        email = _address(request)
        entry = self.store.get_suppressed_destination(email)
        if entry is None:
            raise _missing(email)
        answer: dict[str, Any] = {
            "EmailAddress": entry.email,
            "Reason": entry.reason,
            "LastUpdateTime": entry.updated,
        }
        attributes = {
            key: value
            for key, value in (("MessageId", entry.message_id), ("FeedbackId", entry.feedback_id))
            if value is not None
        }
        if attributes:
            answer["Attributes"] = attributes
        return {"SuppressedDestination": answer}

    @handles("ListSuppressedDestinations")
    def list(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        _no_tenants(request)
        size = request.get("PageSize", DEFAULT_PAGE_SIZE)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise BadRequestException(f"PageSize must be between 1 and {MAX_PAGE_SIZE}.")
        reasons = sorted(set(request.get("Reasons", []))) or None
        start, end = _seconds(request.get("StartDate")), _seconds(request.get("EndDate"))
        if start is not None and end is not None and start > end:
            raise BadRequestException("StartDate must be before EndDate.")
        scope = json.dumps([reasons, start, end])
        after = decode_token(request.get("NextToken"), scope, error=InvalidNextTokenException)
        found = self.store.list_suppressed_destinations(
            reasons=reasons, start=start, end=end, after=after, limit=size + 1
        )
        answer: dict[str, Any] = {
            "SuppressedDestinationSummaries": [
                {"EmailAddress": e.email, "Reason": e.reason, "LastUpdateTime": e.updated}
                for e in found[:size]
            ]
        }
        if len(found) > size:
            answer["NextToken"] = encode_token(found[size - 1].email, scope)
        return answer

    @handles("DeleteSuppressedDestination")
    def delete(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        _no_tenants(request)
        email = _address(request)
        if not self.store.delete_suppressed_destination(email):
            raise _missing(email)
        return {}
