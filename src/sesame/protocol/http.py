"""The two plain values the protocol layer works on: an HTTP request and response.

Nothing here touches a socket; the web layer builds an `HttpRequest` from the
ASGI scope and writes an `HttpResponse` back.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as it arrived: raw (still percent-encoded) path and query."""

    method: str
    path: str
    query: str = ""
    #: Header names lower-cased; repeated headers joined with "," as RFC 9110 allows.
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """Return the first header called `name` (case-insensitive), if any."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None
