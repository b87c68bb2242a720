"""Request ids: UUID-shaped, unique per process run, cheap to make.

`x-amzn-RequestId` only has to be unique, not unpredictable, so instead of
`uuid4()` (a system call for randomness per request) each process draws one
random prefix and counts.
"""

from __future__ import annotations

import itertools
import secrets

_PREFIX = secrets.token_hex(8)
_COUNTER = itertools.count(1)


def request_id() -> str:
    """A new id in UUID layout: 8-4-4-4-12 hex digits."""
    count = f"{next(_COUNTER):014x}"
    p = _PREFIX
    return f"{p[:8]}-{p[8:12]}-4{p[12:15]}-8{p[15]}{count[:2]}-{count[2:14]}"
