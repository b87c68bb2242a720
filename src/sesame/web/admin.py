"""Sesame's own endpoints under `/_sesame/` on the API listener.

- `GET /_sesame/sns/SimpleNotificationService-<id>.pem`: the certificate that
  verifies the signatures of SNS-style notifications (public, as SNS's are).
- `GET /_sesame/events`: the recorded SES event records as JSON, SigV4-signed
  with Sesame's key pair like every API request (service `ses`, Sesame's
  region), so no second secret exists. Query parameters: `messageId`, `type`,
  `configurationSet`, `since` (Unix time), `actor` (`person` or `machine`),
  `limit` (default 1000), and `failed=true` for the publications that failed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any
from urllib.parse import parse_qsl

from sesame.events.publisher import describe_failure
from sesame.events.sns import CERT_PATH_PREFIX, Signer
from sesame.protocol import serializer, sigv4
from sesame.protocol.errors import ServiceError
from sesame.protocol.http import HttpRequest
from sesame.store.base import Store
from sesame.web.asgi import (
    Receive,
    Scope,
    Send,
    raw_path,
    request_headers,
    send_bytes,
    send_response,
)
from sesame.web.ids import request_id

EVENTS_PATH = "/_sesame/events"
_FILTERS = {
    "messageId": "message_id",
    "type": "event_type",
    "configurationSet": "configuration_set",
    "actor": "actor",
}


def is_admin_path(path: str) -> bool:
    """Ours, among the inbox's pages under /_sesame/ (web/inbox/)."""
    return path == EVENTS_PATH or path.startswith(CERT_PATH_PREFIX)


class AdminEndpoint:
    def __init__(
        self,
        store: Store,
        executor: Executor,
        signer: Signer,
        *,
        region: str,
        secret_for: Callable[[str], str | None],
    ) -> None:
        self.store = store
        self.executor = executor
        self.signer = signer
        self.region = region
        self.secret_for = secret_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        import asyncio

        path = raw_path(scope)
        loop = asyncio.get_running_loop()
        if path.startswith(CERT_PATH_PREFIX) and scope["method"] in ("GET", "HEAD"):
            signer = self.signer
            await loop.run_in_executor(self.executor, lambda: signer.certificate)
            if path == signer.cert_path:
                pem = signer.certificate.certificate.encode("ascii")
                await send_bytes(send, 200, [(b"content-type", b"application/x-pem-file")], pem)
                return
        if path == EVENTS_PATH and scope["method"] == "GET":
            query = scope.get("query_string", b"").decode("latin-1")
            request = HttpRequest("GET", path, query, request_headers(scope), b"")
            try:
                sigv4.verify(request, secret_for=self.secret_for, region=self.region)
            except ServiceError as error:
                await send_response(send, serializer.serialize_error(error, request_id()))
                return
            try:
                answer = await loop.run_in_executor(self.executor, self._events, query)
            except ValueError as problem:
                body = json.dumps({"message": str(problem)}).encode()
                await send_bytes(send, 400, [(b"content-type", b"application/json")], body)
                return
            body = json.dumps(answer, separators=(",", ":"), ensure_ascii=False).encode()
            await send_bytes(send, 200, [(b"content-type", b"application/json")], body)
            return
        await send_bytes(send, 404, [(b"content-type", b"text/plain")], b"Not Found")

    def _events(self, query: str) -> dict[str, Any]:
        params = dict(parse_qsl(query, keep_blank_values=True))
        limit = int(params.get("limit", "1000"))
        if not 1 <= limit <= 10_000:
            raise ValueError("limit must be from 1 to 10000")
        if params.get("failed", "").lower() in ("1", "true"):
            failed = self.store.failed_publications(limit=limit)
            return {"failures": [describe_failure(p) for p in failed]}
        if params.get("actor") not in (None, "person", "machine"):
            raise ValueError("actor must be person or machine")
        filters: dict[str, Any] = {_FILTERS[k]: v for k, v in params.items() if k in _FILTERS}
        if "since" in params:
            filters["since"] = float(params["since"])
        events = self.store.list_events(limit=limit, **filters)
        return {"events": [event.record for event in events]}
