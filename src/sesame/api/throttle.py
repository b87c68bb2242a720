"""Per-operation API throttling (`--api-rate OP=N/s`), off unless asked for.

SES throttles its control plane (one request a second for many operations,
BatchGetMetricData 16 a second; ses-spec.md §6) and answers 429
TooManyRequestsException beyond. Sesame does so only for the operations named
on the command line. Calls are counted per operation and per window of whole
seconds in the store, so the limit holds across every process on the database;
a refused call is not counted. For N below one, the window is 1/N seconds long
and holds one call.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from sesame.api.context import RequestContext
from sesame.api.dispatch import Handler
from sesame.protocol.errors import TooManyRequestsException
from sesame.store.base import Store

MESSAGE = "Too many requests have been made to the operation."


def throttled(
    table: Mapping[str, Handler],
    store: Store,
    rates: Mapping[str, float],
    *,
    clock: Callable[[], float] = time.time,
) -> dict[str, Handler]:
    """`table` with each operation of `rates` wrapped in its limit."""
    wrapped = dict(table)
    for name, rate in rates.items():
        if name in wrapped:
            wrapped[name] = _limit(name, wrapped[name], store, rate, clock)
    return wrapped


def _limit(
    name: str, handler: Handler, store: Store, rate: float, clock: Callable[[], float]
) -> Handler:
    window = max(1, math.ceil(1 / rate - 1e-9))
    calls = max(1, math.floor(rate * window + 1e-9))

    def limited(ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        if not store.count_api_call(name, int(clock() // window), calls):
            raise TooManyRequestsException(MESSAGE)
        return handler(ctx, request)

    return limited
