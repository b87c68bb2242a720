"""The List-Unsubscribe endpoint (RFC 8058 one-click, and a page for people).

`POST /U0/…` (what a mail client sends for one-click, body
`List-Unsubscribe=One-Click`, or the button of the page) records the
unsubscribe: the recipient's contact in the list opts out of the message's
topic, or of everything when the message named no topic; the contact is
created when the recipient was not one yet. A Subscription event is stored
with the change, in one transaction. `GET /U0/…` only shows a page with that
button: RFC 8058 forbids unsubscribing on GET, which link scanners fetch.

A path that does not verify is a 404 (the keys are looked up as keys.py says,
never failing the request); a POST the database cannot record now is a 503; a
verified path whose message or list is gone answers a page saying nothing
changed. Nothing here ever redirects.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor

from sesame.events.subscription import subscription
from sesame.keys import Keys
from sesame.mail.unsubscribe import PREFIX, Unsubscribe, read_unsubscribe
from sesame.store.base import Contact, Store
from sesame.web.asgi import Receive, Scope, Send, raw_path, read_body, send_bytes

log = logging.getLogger("sesame.unsubscribe")

SOURCE = "UnsubscribeHeader"
_HTML = (b"content-type", b"text/html; charset=utf-8")
_NO_CACHE = (b"cache-control", b"no-store")


def is_unsubscribe_path(path: str) -> bool:
    return path.startswith(PREFIX)


def _page(title: str, body: str) -> bytes:
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{body}</body></html>"
    ).encode()


class UnsubscribeEndpoint:
    def __init__(
        self,
        store: Store,
        keys: Keys,
        executor: Executor,
        *,
        on_recorded: Callable[[int], None] = lambda count: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.keys = keys
        self.executor = executor
        self.on_recorded = on_recorded
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = raw_path(scope)
        keyring = self.keys.holding(path) or await self.keys.verifying(path)
        what = None if keyring is None else read_unsubscribe(keyring, path)
        if what is None:
            await send_bytes(send, 404, [(b"content-type", b"text/plain")], b"Not Found")
            return
        if scope["method"] == "GET":
            form = (
                f"<p>Unsubscribe from {html.escape(what.contact_list)}"
                f"{' (' + html.escape(what.topic) + ')' if what.topic else ''}?</p>"
                '<form method="post"><input type="hidden" name="List-Unsubscribe" '
                'value="One-Click"><button type="submit">Unsubscribe</button></form>'
            )
            await send_bytes(send, 200, [_HTML, _NO_CACHE], _page("Unsubscribe", form))
            return
        if scope["method"] != "POST":
            await send_bytes(send, 405, [(b"allow", b"GET, POST")], b"")
            return
        try:
            await read_body(receive, limit=64 * 1024)
        except OverflowError:
            await send_bytes(send, 413, [(b"content-type", b"text/plain")], b"Too Large")
            return
        loop = asyncio.get_running_loop()
        try:
            done = await loop.run_in_executor(self.executor, self.record, what)
        except Exception:
            # The opt-out must be stored before we say it is done (RFC 8058 wants it
            # effective); with the database away, say so and let the client retry.
            log.exception("could not record an unsubscribe")
            page = _page("Please try again", "<p>We could not record this just now.</p>")
            await send_bytes(send, 503, [_HTML, _NO_CACHE, (b"retry-after", b"60")], page)
            return
        if done:
            self.on_recorded(1)
            page = _page("Unsubscribed", "<p>You will not receive these emails any more.</p>")
        else:
            page = _page("Nothing to unsubscribe", "<p>This list no longer exists.</p>")
        await send_bytes(send, 200, [_HTML, _NO_CACHE], page)

    def record(self, what: Unsubscribe) -> bool:
        """Apply the unsubscribe and store its event; False when the message, the
        recipient or the list is gone."""
        facts = self.store.message_facts(what.message_id)
        contact_list = self.store.get_contact_list(what.contact_list)
        if facts is None or contact_list is None:
            return False
        mail, configuration_set, _ = facts
        destination = mail.get("destination", [])
        if not 0 <= what.index < len(destination):
            return False
        now = self.clock()
        email = destination[what.index]
        old = self.store.get_contact(contact_list.name, email)
        preferences = [p for p in (old.preferences if old else []) if p["TopicName"] != what.topic]
        unsubscribe_all = bool(old and old.unsubscribe_all)
        if what.topic is None:
            unsubscribe_all = True
        else:
            preferences.append({"TopicName": what.topic, "SubscriptionStatus": "OPT_OUT"})
        new = Contact(
            contact_list.name,
            old.email if old else email,
            preferences,
            unsubscribe_all,
            old.attributes if old else None,
            old.created if old else now,
            now,
        )
        event = subscription(
            mail,
            happened=now,
            contact_list=contact_list,
            old=old,
            new=new,
            source=SOURCE,
            configuration_set=configuration_set,
        )
        return self.store.save_contact(new, [event])
