"""The SES v2 API endpoint, as a plain ASGI app.

One straight line per request: read the body → verify SigV4 → route →
parse → validate → call the provider on a worker thread → serialise. Every
failure on that line becomes an AWS-shaped error; an unexpected exception is
logged with its traceback and answered as `InternalFailure`, never leaked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sesame.api.context import RequestContext
from sesame.api.dispatch import Handler
from sesame.protocol import parser, router, serializer, sigv4
from sesame.protocol.errors import (
    BadRequestException,
    InternalFailure,
    NotImplementedOperation,
    RequestEntityTooLarge,
    ServiceError,
)
from sesame.protocol.http import HttpRequest, HttpResponse
from sesame.protocol.validate import validate
from sesame.store.base import Unstorable
from sesame.web.asgi import (
    Receive,
    Scope,
    Send,
    raw_path,
    read_body,
    request_headers,
    send_response,
)
from sesame.web.ids import request_id as request_id_

log = logging.getLogger("sesame.api")

#: SES v2 takes messages up to 40 MB; as base64 inside JSON that is ~54 MB.
MAX_BODY = 60 * 1024 * 1024


class ApiEndpoint:
    def __init__(
        self,
        table: Mapping[str, Handler],
        *,
        account_id: str,
        region: str,
        secret_for: Callable[[str], str | None],
        executor: ThreadPoolExecutor,
        inline: frozenset[str] = frozenset(),
    ) -> None:
        self.table = table
        #: Operations called on the event loop rather than on a worker thread.
        self.inline = inline
        self.account_id = account_id
        self.region = region
        self.secret_for = secret_for
        self.executor = executor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_()
        try:
            body = await read_body(receive, limit=MAX_BODY)
        except OverflowError:
            error = RequestEntityTooLarge("Request body exceeds the maximum size.")
            await send_response(send, serializer.serialize_error(error, request_id))
            return
        request = HttpRequest(
            scope["method"],
            raw_path(scope),
            scope.get("query_string", b"").decode("latin-1"),
            request_headers(scope),
            body,
        )
        client = scope.get("client")
        response = await self.handle(request, request_id, client[0] if client else "")
        await send_response(send, response)

    async def handle(self, request: HttpRequest, request_id: str, source_ip: str) -> HttpResponse:
        try:
            principal = sigv4.verify(request, secret_for=self.secret_for, region=self.region)
            match = router.match(request.method, request.path)
            name = match.operation.name
            params = parser.parse(match, request)
            validate(match.operation.input_shape, params)
            handler = self.table.get(name)
            if handler is None:
                raise NotImplementedOperation(
                    f"Sesame does not implement the {name} operation yet."
                )
            ctx = RequestContext(
                request_id, name, self.account_id, self.region, principal.access_key_id, source_ip
            )
            output: dict[str, Any]
            if name in self.inline:
                # A read on a store whose reads never wait (see Store.fast_reads):
                # cheaper than the hop to a thread, which costs more than the read.
                output = handler(ctx, params)
            else:
                loop = asyncio.get_running_loop()
                output = await loop.run_in_executor(self.executor, handler, ctx, params)
            return serializer.serialize(match.operation, output, request_id)
        except ServiceError as error:
            return serializer.serialize_error(error, request_id)
        except Unstorable as problem:
            return serializer.serialize_error(BadRequestException(str(problem)), request_id)
        except Exception:
            log.exception("internal failure (request %s)", request_id)
            failure = InternalFailure("An internal error occurred. The request id is in the log.")
            return serializer.serialize_error(failure, request_id)
