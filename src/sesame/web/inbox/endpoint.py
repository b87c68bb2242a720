"""The inbox under /_sesame/ on the API listener: routing and the access gate.

In order, for each request: the Host check (open inboxes only, see access.py),
the session (a new one if the browser has none), static files (needed by the
login page), the login gate, CSRF on every POST, then the page.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from typing import Any
from urllib.parse import urlsplit

from sesame.events.feed import EventFeed
from sesame.keys import Keys
from sesame.store.base import Store
from sesame.web.asgi import Receive, Scope, Send, read_body, send_bytes
from sesame.web.inbox.access import COOKIE, Access, Session, is_loopback_host
from sesame.web.inbox.http import PREFIX, Reply, Request, first_values, redirect, request_of, url
from sesame.web.inbox.live import Live
from sesame.web.inbox.pages import Pages
from sesame.web.inbox.templating import environment, static_files

log = logging.getLogger("sesame.inbox")
Handler = Callable[[Request, dict[str, Any]], Awaitable[Reply]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Forms are small; anything bigger is not one of ours.
MAX_FORM = 64 * 1024


def is_inbox_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class Inbox:
    def __init__(
        self,
        store: Store,
        executor: Executor,
        keys: Keys,
        feed: EventFeed,
        access: Access,
        *,
        tracking_host: str,
        other_writers: bool,
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        self.env = environment()
        self.static = static_files()
        self.access = access
        self.pages = Pages(store, executor, keys, self.env, tracking_host=tracking_host)
        self.live = Live(feed, other_writers=other_writers)
        self.trusted_proxies = tuple(trusted_proxies)

    def close(self) -> None:
        self.live.close()

    def _trusted(self, scope: Scope) -> bool:
        client = scope.get("client")
        try:
            peer = ipaddress.ip_address(client[0]) if client else None
        except ValueError:
            return False
        return peer is not None and any(peer in net for net in self.trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = request_of(scope, trusted_proxy=self._trusted(scope))
        if scope["path"] == PREFIX:
            await self._send(send, redirect(url("")))
            return
        if request.path == "live" and request.method == "GET":
            session = self.access.decode(request.cookie(COOKIE))
            if self._host_ok(request) and self.access.allows(session):
                await self.live.stream(receive, send)
            else:
                await self._send(send, Reply(403, b"", b"text/plain"))
            return
        if request.method == "POST":
            try:
                body = await read_body(receive, limit=MAX_FORM)
            except OverflowError:
                await self._send(send, Reply(413, b"Form too large", b"text/plain"))
                return
            request.form = first_values(body.decode("utf-8", errors="replace"))
        try:
            reply = await self.handle(request)
        except Exception:
            log.exception("inbox page %s failed", request.path)
            reply = self.pages.error({}, 500, "Something went wrong", "The error is in the log.")
        await self._send(send, reply)

    def _host_ok(self, request: Request) -> bool:
        return not self.access.open or is_loopback_host(request.headers.get("host", "localhost"))

    def _origin_ok(self, request: Request) -> bool:
        """A POST names our own host as its Origin (or sends none, as old clients do)."""
        origin = request.headers.get("origin")
        if origin is None:
            return True
        return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()

    async def handle(self, request: Request) -> Reply:
        if not self._host_ok(request):
            return self.pages.error(
                {}, 403, "Wrong host name", "This inbox answers on localhost / 127.0.0.1 only."
            )
        if request.path.startswith("static/") and request.method == "GET":
            found = self.static.get(request.path.removeprefix("static/"))
            if found is None:
                return self.pages.error({}, 404, "Not found", "There is no such file.")
            return Reply(200, found[1], found[0], [(b"cache-control", b"max-age=300")])
        session = self.access.decode(request.cookie(COOKIE))
        fresh = session is None
        if session is None:
            session = self.access.new_session(logged_in=False)
        reply = await self._gated(request, session)
        if fresh and not any(name == b"set-cookie" for name, _ in reply.headers):
            reply.headers.append((b"set-cookie", self._cookie(request, session)))
        return reply

    def _cookie(self, request: Request, session: Session) -> bytes:
        return self.access.cookie(session, secure=request.secure, prefix=PREFIX + "/").encode()

    def common(self, session: Session) -> dict[str, Any]:
        return {
            "csrf": self.access.csrf_token(session),
            "logged_in": session.logged_in and not self.access.open,
        }

    async def _gated(self, request: Request, session: Session) -> Reply:
        common = self.common(session)
        if request.method == "POST" and not (
            self._origin_ok(request) and self.access.csrf_ok(session, request.form.get("csrf"))
        ):
            return self.pages.error(
                common,
                403,
                "Form expired",
                "This form came without a valid token (an old page, or another site). "
                "Go back, reload the page and try again.",
            )
        if request.path == "login":
            return await self._login(request, session, common)
        if request.path == "logout" and request.method == "POST":
            reply = redirect(url("login"))
            fresh = self.access.new_session(logged_in=False)
            reply.headers.append((b"set-cookie", self._cookie(request, fresh)))
            return reply
        if not self.access.allows(session):
            if request.method != "GET":
                return self.pages.error(common, 403, "Log in first", "This needs a login.")
            wanted = url("") if request.path == "" else f"{PREFIX}/{request.path}"
            return redirect(url("login", next=wanted))
        route = self._route(request)
        if route is None:
            return self.pages.error(common, 404, "Not found", "There is no such page here.")
        return await route(request, common)

    def _route(
        self, request: Request
    ) -> Callable[[Request, dict[str, Any]], Awaitable[Reply]] | None:
        parts = request.path.split("/") if request.path else []
        pages = self.pages
        get = request.method in ("GET", "HEAD")
        match parts:
            case [] if get:
                return pages.messages
            case ["clear"] if request.method == "POST":
                return pages.clear
            case ["configuration-sets"] if get:
                return pages.configuration_sets
            case ["identities"] if get:
                return pages.identities
            case ["messages", message_id] if get:
                return lambda r, c: pages.message(r, c, message_id)
            case ["messages", message_id, "frame"] if get:
                return lambda r, c: pages.frame(r, c, message_id)
            case ["messages", message_id, "raw"] if get:
                return lambda r, c: pages.raw(r, c, message_id)
            case ["messages", message_id, "parts", number] if get:
                return lambda r, c: pages.attachment(r, c, message_id, number)
            case ["messages", message_id, "delete"] if request.method == "POST":
                return lambda r, c: pages.delete(r, c, message_id)
        return None

    async def _login(self, request: Request, session: Session, common: dict[str, Any]) -> Reply:
        target = request.query.get("next") or request.form.get("next") or ""
        # Only back into the inbox: never a redirect to another site.
        if not target.startswith(PREFIX + "/") or target.startswith("//"):
            target = url("")
        if self.access.allows(session):
            return redirect(target)
        context = {"next": target, "has_password": self.access.has_password, "problem": ""}
        if request.method != "POST":
            return self.pages.page("login.html", common, **context)
        if self.access.throttled(request.client):
            context["problem"] = "Too many failed logins. Wait a few minutes and try again."
            return self.pages.page_with_status(429, "login.html", common, **context)
        key_id = request.form.get("access_key_id", "").strip()
        secret = request.form.get("secret", "")
        if not self.access.check_login(request.client, key_id, secret):
            context["problem"] = "That did not match. Check the key pair (or the password)."
            return self.pages.page_with_status(401, "login.html", common, **context)
        # A new session (new nonce, new CSRF token) on login: a session id planted
        # before the login is worth nothing after it.
        reply = redirect(target)
        fresh = self.access.new_session(logged_in=True)
        reply.headers.append((b"set-cookie", self._cookie(request, fresh)))
        return reply

    async def _send(self, send: Send, reply: Reply) -> None:
        await send_bytes(send, reply.status, reply.all_headers(), reply.body)
