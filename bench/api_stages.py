"""Where Sesame's time per API request goes, stage by stage, without sockets.

Runs in-process on Sesame's own app (build_app on a temporary SQLite file): the same
botocore-signed GetConfigurationSet and PutConfigurationSetTrackingOptions requests
as api.py are pushed through each stage of the endpoint's line (verify → route →
parse → validate → provider → serialise) and then through the whole
`ApiEndpoint.handle`, once with provider calls on the worker-thread pool (as shipped)
and once inline on the event-loop thread, 1 and 16 requests in flight. Each figure is
the median of 5 repeats of a timed loop, in µs per call, on one core of a machine
shared with nothing else during the run.

The stage figures are lower bounds: measured alone, with warm caches and no GIL
contention. api.py's end-to-end server CPU per request is the number to compare them
with.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import uvloop

from api import ACCESS_KEY_ID, DOMAIN, REGION, SECRET_ACCESS_KEY, SET_NAME, Signer, tracking_blocks
from sesame.api.context import RequestContext
from sesame.app import build_app
from sesame.config import Settings
from sesame.protocol import parser, router, serializer, sigv4
from sesame.protocol.http import HttpRequest
from sesame.protocol.validate import validate
from sesame.web.asgi import request_headers
from sesame_variant import InlineExecutor

ENDPOINT = "http://127.0.0.1:8840"
REPEATS = 5
T = TypeVar("T")


def timed(fn: Callable[[], object], calls: int) -> float:
    """Median over REPEATS of the mean µs per call of `calls` calls."""
    means = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        means.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(means)


def http_request(signer: Signer, operation: str, params: dict[str, Any]) -> HttpRequest:
    """What the web layer builds from the wire for this botocore-signed request."""
    prepared = signer.prepared(ENDPOINT, operation, params)
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    body = body.encode() if isinstance(body, str) else bytes(body)
    headers = {name.lower(): value for name, value in prepared.headers.items()}
    headers["host"] = url.netloc
    if body:
        headers["content-length"] = str(len(body))
    return HttpRequest(prepared.method, url.path, url.query, headers, body)


class Cycle(Generic[T]):
    """Hands out the given items round-robin (so every PUT writes a new value)."""

    def __init__(self, items: Sequence[T]) -> None:
        self.items = items
        self.index = 0

    def __call__(self) -> T:
        self.index = (self.index + 1) % len(self.items)
        return self.items[self.index]


def stages(app: Any, requests: Cycle[HttpRequest]) -> dict[str, float]:
    """µs per call of each stage of the endpoint's line, for one operation."""
    secrets = {ACCESS_KEY_ID: SECRET_ACCESS_KEY}.get
    first = requests()
    match = router.match(first.method, first.path)
    params = parser.parse(match, first)
    handler = app.api.table[match.operation.name]
    ctx = RequestContext("id", match.operation.name, "0" * 12, REGION, ACCESS_KEY_ID, "")
    output = handler(ctx, dict(params))
    parsed = [parser.parse(match, r) for r in requests.items]
    scope_headers = [(k.encode(), v.encode()) for k, v in first.headers.items()]
    turn = Cycle(parsed)

    def provider() -> object:
        return handler(ctx, dict(turn()))

    return {
        "request_headers (ASGI scope → dict)": timed(
            lambda: request_headers({"headers": scope_headers}), 5000
        ),
        "uuid4 request id": timed(lambda: str(uuid.uuid4()), 5000),
        "sigv4.verify": timed(
            lambda: sigv4.verify(requests(), secret_for=secrets, region=REGION), 3000
        ),
        "router.match": timed(lambda: router.match(first.method, first.path), 5000),
        "parser.parse": timed(lambda: parser.parse(match, first), 5000),
        "validate": timed(lambda: validate(match.operation.input_shape, params), 5000),
        "provider incl. SQLite (calling thread)": timed(provider, 1000),
        "serializer.serialize": timed(
            lambda: serializer.serialize(match.operation, output, "id"), 5000
        ),
    }


def handle_costs(
    app: Any, loop: asyncio.AbstractEventLoop, requests: Cycle[HttpRequest]
) -> dict[str, float]:
    """µs per request of the whole ApiEndpoint.handle, thread pool vs inline."""

    async def serial(calls: int) -> None:
        for _ in range(calls):
            response = await app.api.handle(requests(), "id", "127.0.0.1")
            assert response.status == 200, response.body

    async def concurrent(calls: int, width: int) -> None:
        async def one() -> None:
            await serial(calls // width)

        await asyncio.gather(*(one() for _ in range(width)))

    results = {}
    pool = app.api.executor
    for name, executor in (("thread pool (as shipped)", pool), ("inline", InlineExecutor())):
        app.api.executor = executor
        results[f"handle, provider {name}, 1 in flight"] = (
            timed(lambda: loop.run_until_complete(serial(200)), 1) / 200
        )
        results[f"handle, provider {name}, 16 in flight"] = (
            timed(lambda: loop.run_until_complete(concurrent(1600, 16)), 1) / 1600
        )
    app.api.executor = pool
    return results


def hop_costs(app: Any, loop: asyncio.AbstractEventLoop) -> dict[str, float]:
    """µs per `await loop.run_in_executor(executor, no-op)`: the hop alone."""

    async def hops(executor: Executor, calls: int, width: int) -> None:
        async def one() -> None:
            for _ in range(calls // width):
                await loop.run_in_executor(executor, int)

        await asyncio.gather(*(one() for _ in range(width)))

    def run(executor: Executor, width: int) -> None:
        loop.run_until_complete(hops(executor, 1600, width))

    results = {}
    for name, executor in (("pool", app.api.executor), ("inline", InlineExecutor())):
        for width in (1, 16):
            seconds = timed(partial(run, executor, width), 1)
            results[f"run_in_executor({name}, no-op), {width} in flight"] = seconds / 1600
    return results


def main() -> int:
    signer = Signer()
    loop = uvloop.new_event_loop()
    with tempfile.TemporaryDirectory(prefix="sesame-stages-") as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
            region=REGION,
        )
        app = build_app(settings)
        try:
            for operation, params in (
                ("CreateEmailIdentity", {"EmailIdentity": DOMAIN}),
                ("CreateConfigurationSet", {"ConfigurationSetName": SET_NAME}),
            ):
                request = http_request(signer, operation, params)
                response = loop.run_until_complete(app.api.handle(request, "id", ""))
                assert response.status == 200, response.body
            get = Cycle(
                [http_request(signer, "GetConfigurationSet", {"ConfigurationSetName": SET_NAME})]
            )
            put = Cycle(
                [
                    http_request(
                        signer,
                        "PutConfigurationSetTrackingOptions",
                        {"ConfigurationSetName": SET_NAME, **block},
                    )
                    for block in tracking_blocks()
                ]
            )
            columns = {"Get": stages(app, get), "Put": stages(app, put)}
            totals = {name: sum(values.values()) for name, values in columns.items()}
            handles = {"Get": handle_costs(app, loop, get), "Put": handle_costs(app, loop, put)}
            hops = hop_costs(app, loop)
        finally:
            app.close()
            loop.close()

    print(
        "Where Sesame's time goes: GetConfigurationSet (GET) and PutConfigurationSetTracking"
        "Options (PUT), in-process, no sockets; µs per call, median of 5 repeats"
    )
    print(f"{'stage':<58} {'GET':>8} {'PUT':>8}")
    for stage in columns["Get"]:
        print(f"  {stage:<56} {columns['Get'][stage]:>8.1f} {columns['Put'][stage]:>8.1f}")
    print(f"  {'sum of the stages':<56} {totals['Get']:>8.1f} {totals['Put']:>8.1f}")
    for name in handles["Get"]:
        print(f"  {name:<56} {handles['Get'][name]:>8.1f} {handles['Put'][name]:>8.1f}")
    for name, value in hops.items():
        print(f"  {name:<56} {value:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
