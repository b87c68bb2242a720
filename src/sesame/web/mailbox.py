"""`GET /_aws/ses`: the local mailbox, in LocalStack's JSON shape.

Tests written against LocalStack's retrospection endpoint work against Sesame
unchanged: `{"messages": [{"Id", "Region", "Destination", "Source", "Subject",
"Body": {"text_part", "html_part"}, "RawData", "Timestamp"}]}`, filtered by
`?id=` (message id) and `?email=` (the sender). Every message is shown as it
was delivered, tracking applied.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import Executor
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import parse_qs

from sesame.events.records import iso
from sesame.store.base import Message, Store
from sesame.web.asgi import Receive, Scope, Send, send_bytes

PATH = "/_aws/ses"


def describe(message: Message, region: str) -> dict[str, Any]:
    parsed = message_from_bytes(message.content, policy=policy.default)
    common = message.mail.get("commonHeaders", {})
    to, cc = list(common.get("to", [])), list(common.get("cc", []))
    shown = {address.lower() for address in to + cc}
    bcc = [r for r in message.recipients if not any(r.lower() in s for s in shown)]
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    return {
        "Id": message.id,
        "Region": region,
        "Destination": {"ToAddresses": to, "CcAddresses": cc, "BccAddresses": bcc},
        "Source": message.mail.get("source", message.sender),
        "Subject": str(parsed.get("Subject", "")),
        "Body": {
            "text_part": None if text is None else text.get_content(),
            "html_part": None if html is None else html.get_content(),
        },
        "RawData": message.content.decode("utf-8", errors="replace"),
        "Timestamp": iso(message.created),
    }


class MailboxEndpoint:
    def __init__(self, store: Store, executor: Executor, region: str) -> None:
        self.store = store
        self.executor = executor
        self.region = region

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "GET":
            await _send_json(send, 405, {"message": "Only GET is supported here."})
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        message_id = query.get("id", [None])[0] or None
        email = query.get("email", [None])[0] or None
        loop = asyncio.get_running_loop()
        messages = await loop.run_in_executor(
            self.executor, lambda: self.store.list_messages(message_id=message_id)
        )
        described = [describe(m, self.region) for m in messages]
        if email is not None:
            described = [d for d in described if email in d["Source"]]
        await _send_json(send, 200, {"messages": described})


async def _send_json(send: Send, status: int, document: Any) -> None:
    await send_bytes(
        send, status, [(b"content-type", b"application/json")], json.dumps(document).encode()
    )
