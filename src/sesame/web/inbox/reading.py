"""A stored message taken apart for reading: headers, text, HTML, attachments.

Parts are numbered in `walk()` order; that number names an attachment in its
download URL, so it is stable for a given message. A part the email package
cannot decode is shown as what it could read (`errors="replace"`), never a 500.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from urllib.parse import unquote

from sesame.store.base import Message as Stored


@dataclass
class Attachment:
    number: int
    filename: str
    content_type: str
    size: int


@dataclass
class Reading:
    headers: list[tuple[str, str]]
    text: str | None
    html: str | None
    attachments: list[Attachment] = field(default_factory=list)


def parse(stored: Stored) -> EmailMessage:
    parsed = message_from_bytes(stored.content, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def content_of(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, ValueError, AssertionError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def payload_of(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def read(stored: Stored) -> Reading:
    parsed = parse(stored)
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    reading = Reading(
        [(name, str(value)) for name, value in parsed.items()],
        None if text_part is None else content_of(text_part),
        None if html_part is None else content_of(html_part),
    )
    for number, part in enumerate(parsed.walk()):
        if part.is_multipart() or part is text_part or part is html_part:
            continue
        name = part.get_filename() or f"part-{number}"
        reading.attachments.append(
            Attachment(number, name, part.get_content_type(), len(payload_of(part)))
        )
    return reading


def part(stored: Stored, number: int) -> Message | None:
    """The leaf part with this number, if there is one."""
    for index, found in enumerate(parse(stored).walk()):
        if index == number:
            return None if found.is_multipart() else found
    return None


_CID = re.compile(r"cid:([^\"'\s)>]+)", re.IGNORECASE)


def with_inline_images(stored: Stored, html: str) -> str:
    """`html` with each `cid:` reference to an image part of the message replaced by
    that image as a data: URI, so the preview shows it without fetching anything."""
    images: dict[str, str] = {}
    for found in parse(stored).walk():
        content_id = str(found.get("Content-ID", "")).strip().strip("<>")
        if content_id and found.get_content_maintype() == "image":
            data = base64.b64encode(payload_of(found)).decode("ascii")
            images[content_id] = f"data:{found.get_content_type()};base64,{data}"
    if not images:
        return html
    return _CID.sub(lambda m: images.get(unquote(m.group(1)), m.group(0)), html)
