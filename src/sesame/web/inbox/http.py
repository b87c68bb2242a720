"""The inbox's requests and replies, and the headers every reply carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, quote

from sesame.web.asgi import Scope, request_headers

PREFIX = "/_sesame"

#: The inbox's own pages: its scripts and styles only; frames only from itself.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    # Not no-referrer: with it, browsers send `Origin: null` on form posts, and the
    # Origin check of every action would refuse them. Other sites still get nothing.
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


@dataclass
class Request:
    method: str
    #: The path after PREFIX, without its leading "/" ("" is the message list).
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    client: str
    secure: bool
    form: dict[str, str] = field(default_factory=dict)

    def cookie(self, name: str) -> str | None:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(self.headers.get("cookie", ""))
        except CookieError:
            return None
        morsel = jar.get(name)
        return None if morsel is None else morsel.value


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: bytes = b"text/html; charset=utf-8"
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def all_headers(self) -> list[tuple[bytes, bytes]]:
        names = {name for name, _ in self.headers}
        base = [(b"content-type", self.content_type)] + [
            header for header in SECURITY_HEADERS if header[0] not in names
        ]
        if b"content-security-policy" not in names:
            base += [(b"content-security-policy", PAGE_CSP.encode()), (b"x-frame-options", b"DENY")]
        return base + self.headers


def redirect(location: str, status: int = 303) -> Reply:
    return Reply(status, b"", headers=[(b"location", location.encode("utf-8"))])


def first_values(query_string: bytes | str) -> dict[str, str]:
    text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    parsed = parse_qs(text, keep_blank_values=True, encoding="utf-8", errors="replace")
    return {key: values[0] for key, values in parsed.items()}


def request_of(scope: Scope, *, trusted_proxy: bool) -> Request:
    headers = request_headers(scope)
    client = scope.get("client")
    forwarded_https = trusted_proxy and headers.get("x-forwarded-proto", "") == "https"
    return Request(
        scope["method"],
        scope["path"][len(PREFIX) :].lstrip("/"),
        first_values(scope.get("query_string", b"")),
        headers,
        client[0] if client else "",
        scope.get("scheme") == "https" or forwarded_https,
    )


def url(*parts: str, **query: str | None) -> str:
    """An inbox URL: PREFIX/part/part?query, each part escaped as one path segment."""
    path = "/".join(quote(part, safe="") for part in parts)
    text = f"{PREFIX}/{path}"
    pairs = [f"{key}={quote(value, safe='')}" for key, value in query.items() if value]
    return text + ("?" + "&".join(pairs) if pairs else "")
