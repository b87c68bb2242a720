"""The inbox's pages: each takes a request and answers a Reply.

Store calls run on the store's thread pool. The message's HTML is never put into
an inbox page: it is served on its own (`frame`) with a Content-Security-Policy
that sandboxes it (no scripts, an opaque origin, so no access to the inbox or
its cookie) and blocks every remote resource unless the reader asked for images.
A frame opened on its own in a tab is sandboxed just the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar
from urllib.parse import quote

import jinja2

from sesame.keys import Keys
from sesame.store.base import MessageSummary, Store
from sesame.web.inbox import reading, search
from sesame.web.inbox.http import Reply, Request, redirect, url
from sesame.web.inbox.links import link_report
from sesame.web.inbox.templating import render
from sesame.web.inbox.timeline import timeline

T = TypeVar("T")
PAGE_SIZE = 50

_FRAME_BASE = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
    "form-action 'none'; frame-ancestors 'self'; "
)
#: Images off: styles written in the HTML and data: images, nothing fetched.
FRAME_CSP = _FRAME_BASE + "style-src 'unsafe-inline'; img-src data:; font-src data:"
#: Images on: remote images, styles and fonts may load (and with them the open pixel).
FRAME_CSP_IMAGES = (
    _FRAME_BASE + "style-src 'unsafe-inline' http: https:; img-src data: http: https:; "
    "font-src data: http: https:"
)
#: Links in the preview open in a new tab (allowed to leave the sandbox), as in a
#: mail client, instead of loading the linked site into the preview.
_BASE_TARGET = '<base target="_blank">'


def _download_name(name: str) -> bytes:
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}".encode()


class Pages:
    def __init__(
        self,
        store: Store,
        executor: Executor,
        keys: Keys,
        env: jinja2.Environment,
        *,
        tracking_host: str,
    ) -> None:
        self.store = store
        self.executor = executor
        self.keys = keys
        self.env = env
        self.tracking_host = tracking_host

    async def _db(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, call, *args)

    def page(self, name: str, common: dict[str, Any], **context: Any) -> Reply:
        return self.page_with_status(200, name, common, **context)

    def page_with_status(
        self, status: int, name: str, common: dict[str, Any], **context: Any
    ) -> Reply:
        shown = {"csrf": "", "logged_in": False} | common
        return Reply(status, render(self.env, name, url=url, **shown, **context))

    def error(self, common: dict[str, Any], status: int, title: str, detail: str) -> Reply:
        return self.page_with_status(status, "error.html", common, title=title, detail=detail)

    # The message list ----------------------------------------------------------
    async def messages(self, request: Request, common: dict[str, Any]) -> Reply:
        query = request.query.get("q", "").strip()
        wanted = search.parse(query)
        before = search.cursor_of(request.query.get("before"))
        after = None if before else search.cursor_of(request.query.get("after"))
        rows: list[MessageSummary] = await self._db(
            lambda: self.store.inbox_messages(
                wanted, before=before, after=after, limit=PAGE_SIZE + 1
            )
        )
        if after is not None and len(rows) <= PAGE_SIZE:
            after = None  # fewer than a page is newer: that is the first page
            rows = await self._db(lambda: self.store.inbox_messages(wanted, limit=PAGE_SIZE + 1))
        more = len(rows) > PAGE_SIZE
        rows = rows[1:] if after is not None else rows[:PAGE_SIZE]
        first_page = before is None and after is None
        older = (more or after is not None) and rows
        newer = not first_page and rows
        counts = await self._db(self.store.event_counts, [row.id for row in rows])
        context = {
            "rows": rows,
            "counts": counts,
            "query": query,
            "live": first_page,
            "older": search.cursor_text(rows[-1].created, rows[-1].id) if older else None,
            "newer": search.cursor_text(rows[0].created, rows[0].id) if newer else None,
        }
        name = "_messages.html" if "fragment" in request.query else "messages.html"
        return self.page(name, common, **context)

    async def clear(self, request: Request, common: dict[str, Any]) -> Reply:
        await self._db(self.store.clear_messages)
        return redirect(url(""))

    # One message -----------------------------------------------------------------
    async def message(self, request: Request, common: dict[str, Any], message_id: str) -> Reply:
        stored = await self._db(self.store.get_message, message_id)
        if stored is None:
            return self.error(common, 404, "No such message", f"There is no message {message_id}.")
        events = await self._db(lambda: self.store.list_events(message_id=message_id))
        read = reading.read(stored)
        keyring = await self._db(self.keys.keyring)
        links = link_report(read.html, stored.id, stored.links, events, keyring)
        context = {
            "message": stored,
            "subject": str(stored.mail.get("commonHeaders", {}).get("subject", "")),
            "reading": read,
            "links": links,
            "entries": timeline(events),
            "images": request.query.get("images") == "1",
        }
        name = "_activity.html" if "fragment" in request.query else "message.html"
        return self.page(name, common, **context)

    async def frame(self, request: Request, common: dict[str, Any], message_id: str) -> Reply:
        stored = await self._db(self.store.get_message, message_id)
        html = None if stored is None else reading.read(stored).html
        if stored is None or html is None:
            return self.error(common, 404, "No HTML", "This message has no HTML part.")
        html = reading.with_inline_images(stored, html)
        images = request.query.get("images") == "1"
        policy = FRAME_CSP_IMAGES if images else FRAME_CSP
        return Reply(
            200,
            (_BASE_TARGET + html).encode("utf-8"),
            headers=[
                (b"content-security-policy", policy.encode()),
                (b"referrer-policy", b"no-referrer"),
            ],
        )

    async def raw(self, request: Request, common: dict[str, Any], message_id: str) -> Reply:
        stored = await self._db(self.store.get_message, message_id)
        if stored is None:
            return self.error(common, 404, "No such message", f"There is no message {message_id}.")
        return Reply(
            200,
            stored.content,
            b"message/rfc822",
            [(b"content-disposition", _download_name(f"{stored.id}.eml"))],
        )

    async def attachment(
        self, request: Request, common: dict[str, Any], message_id: str, number: str
    ) -> Reply:
        stored = await self._db(self.store.get_message, message_id)
        found = (
            None if stored is None or not number.isdigit() else reading.part(stored, int(number))
        )
        if found is None:
            return self.error(common, 404, "No such attachment", "That part does not exist.")
        # Always a download, never rendered here: an HTML attachment opened on the
        # inbox's origin could script the inbox.
        name = found.get_filename() or f"part-{number}"
        return Reply(
            200,
            reading.payload_of(found),
            b"application/octet-stream",
            [
                (b"content-disposition", _download_name(name)),
                (b"content-security-policy", b"sandbox; default-src 'none'"),
            ],
        )

    async def delete(self, request: Request, common: dict[str, Any], message_id: str) -> Reply:
        await self._db(self.store.delete_message, message_id)
        return redirect(url(""))

    # Settings ----------------------------------------------------------------------
    async def configuration_sets(self, request: Request, common: dict[str, Any]) -> Reply:
        def load() -> list[dict[str, Any]]:
            found = []
            for name in self.store.list_configuration_sets(after=None, limit=1000):
                record = self.store.get_configuration_set(name)
                if record is None:  # deleted meanwhile
                    continue
                destinations = self.store.list_event_destinations(name) or []
                found.append({"set": record, "destinations": destinations})
            return found

        sets = await self._db(load)
        return self.page(
            "configuration_sets.html", common, sets=sets, tracking_host=self.tracking_host
        )

    async def identities(self, request: Request, common: dict[str, Any]) -> Reply:
        found = await self._db(lambda: self.store.list_identities(after=None, limit=1000))
        return self.page("identities.html", common, identities=found)
