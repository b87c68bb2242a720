"""A real SMTP server (aiosmtpd) that tests deliver to, and wait on.

Each received message lands in a queue, so a test waits for mail the way a
person would: until it arrives, with a deadline, never by sleeping. A test can
script the replies (`replies`): each RCPT TO address may get a 4xx or 5xx.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from harness import free_port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    #: The client's (address, port): one per SMTP connection.
    peer: tuple[str, int] = ("", 0)
    #: Whether the session was encrypted (STARTTLS or implicit TLS), and the
    #: AUTH login it authenticated as, if any.
    tls: bool = False
    login: str | None = None

    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    inbox: queue.Queue[Received] = field(default_factory=queue.Queue)
    #: address -> list of replies to give to RCPT TO for it, used up in order.
    replies: dict[str, list[str]] = field(default_factory=dict)
    #: While set, DATA is not answered until this event is set (a relay that hangs).
    held: asyncio.Event | None = None

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        scripted = self.replies.get(address)
        if scripted:
            return scripted.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        if self.held is not None:
            await self.held.wait()
        login = session.auth_data.login.decode() if session.authenticated else None
        received = Received(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            envelope.content,
            tuple(session.peer),
            # session.ssl is set by STARTTLS; an implicit-TLS session shows on its transport.
            tls=session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            login=login,
        )
        self.inbox.put(received)
        return "250 2.0.0 Ok: queued by the test sink"


class SmtpSink:
    """`options` go to aiosmtpd's Controller (and so its SMTP server): `tls_context`
    and `require_starttls` for STARTTLS, `ssl_context` for implicit TLS,
    `authenticator` and `auth_require_tls` for AUTH."""

    def __init__(self, port: int | None = None, **options: Any) -> None:
        self.handler = _Handler()
        self.port = port or free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def hold(self) -> None:
        """From now on, DATA is answered only after `release()`."""
        self.handler.held = asyncio.Event()

    def release(self) -> None:
        held, self.handler.held = self.handler.held, None
        if held is not None:
            self.controller.loop.call_soon_threadsafe(held.set)

    def reply(self, address: str, *replies: str) -> None:
        self.handler.replies[address] = list(replies)

    def next(self, timeout: float = 30.0) -> Received:
        """The next message received; fails the test after `timeout` seconds."""
        return self.handler.inbox.get(timeout=timeout)

    def drain(self) -> Iterator[Received]:
        while True:
            try:
                yield self.handler.inbox.get_nowait()
            except queue.Empty:
                return
