"""The tracking endpoint: the open pixel and the click redirect.

Routes on the path, not the Host: a custom tracking domain reaches us
unchanged through a CDN or reverse proxy, and any Host is served, since the
signature (not the host name) decides what is answered. A token that does not verify is a
404 and never a redirect: the signature covers the exact target, so Sesame is
never an open redirector. Recording is handed to the EngagementRecorder and
never delays or breaks the answer. Nothing here waits on the database: the
keyring is held in memory, and a key id it lacks is looked up as keys.py says
(at most one read a second, shared, bounded; unknown or unreadable → 404).

Request headers over 8192 bytes in all are refused with 400, as SES's tracking
servers do (SES developer guide, custom tracking domains).
"""

from __future__ import annotations

import base64
import ipaddress
import time
from collections.abc import Sequence

from sesame.events.recorder import EngagementRecorder, Hit
from sesame.keys import Keys
from sesame.mail.tokens import read_click, read_open
from sesame.web.asgi import Receive, Scope, Send, raw_path, send_bytes

#: A 1×1 transparent GIF89a (43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
MAX_HEADER_BYTES = 8192
_NO_CACHE = (b"cache-control", b"no-store, no-cache, must-revalidate, max-age=0")
#: The click answer's headers after `location` (send_bytes would add the length).
_302 = (_NO_CACHE, (b"content-type", b"text/plain"), (b"content-length", b"0"))
#: Headers by which browsers and proxies say a fetch is a prefetch or preview.
_PURPOSE_HEADERS = frozenset((b"purpose", b"sec-purpose", b"x-purpose", b"x-moz"))
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_tracking_path(path: str) -> bool:
    return path.startswith(("/I0/", "/L0/"))


class TrackingEndpoint:
    def __init__(
        self,
        keys: Keys,
        recorder: EngagementRecorder,
        *,
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        self.keys = keys
        self.recorder = recorder
        self.trusted_proxies = tuple(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        who = self._who(scope)
        if who is None:
            await send_bytes(send, 400, [(b"content-type", b"text/plain")], b"Bad Request")
            return
        path = raw_path(scope)
        keyring = self.keys.holding(path) or await self.keys.verifying(path)
        if keyring is None:
            await not_found(send)
            return
        if path.startswith("/I0/"):
            message_id = read_open(keyring, path)
            if message_id is None:
                await not_found(send)
                return
            ip, agent, purpose = who
            self.recorder.record(
                Hit(
                    "Open",
                    message_id,
                    time.time(),
                    ip,
                    agent,
                    method=scope["method"],
                    purpose=purpose,
                )
            )
            await send_bytes(
                send,
                200,
                [(b"content-type", b"image/gif"), _NO_CACHE, (b"pragma", b"no-cache")],
                PIXEL,
            )
            return
        click = read_click(keyring, path)
        if click is None:
            await not_found(send)
            return
        ip, agent, purpose = who
        self.recorder.record(
            Hit(
                "Click",
                click.message_id,
                time.time(),
                ip,
                agent,
                click.index,
                click.url,
                scope["method"],
                purpose,
            )
        )
        # send_bytes' two messages, with the header list written out once.
        location = (b"location", click.url.encode("utf-8"))
        await send({"type": "http.response.start", "status": 302, "headers": [location, *_302]})
        await send({"type": "http.response.body", "body": b""})

    def _who(self, scope: Scope) -> tuple[str, str, str] | None:
        """(client IP, User-Agent, prefetch hint); X-Forwarded-For counts only from
        trusted proxies. None when the headers are over MAX_HEADER_BYTES (one pass
        over the headers for both: this runs for every open and click)."""
        client = scope.get("client")
        peer = client[0] if client else ""
        agent = purpose = ""
        forwarded: list[str] = []
        size = 0
        for name, value in scope.get("headers", []):
            size += len(name) + len(value) + 4
            if name == b"user-agent":
                agent = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                forwarded.append(value.decode("latin-1"))
            elif name in _PURPOSE_HEADERS:
                purpose = value.decode("latin-1")
        if size > MAX_HEADER_BYTES:
            return None
        return self._client_ip(peer, ",".join(forwarded)), agent, purpose

    def _client_ip(self, peer: str, forwarded: str) -> str:
        if not forwarded or not self.trusted_proxies:
            return peer
        # Walk the chain from the nearest hop outwards while each hop is a proxy we
        # trust; the first untrusted address is the client.
        chain = [peer] + [part.strip() for part in reversed(forwarded.split(",")) if part.strip()]
        for index, address in enumerate(chain):
            if not self._trusted(address) or index == len(chain) - 1:
                return address
        return peer

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)


async def not_found(send: Send) -> None:
    await send_bytes(send, 404, [(b"content-type", b"text/plain"), _NO_CACHE], b"Not Found")
