"""A real SMTP server (aiosmtpd) that tests deliver to, and wait on.

Each received message lands in a queue, so a test waits for mail the way a
person would: until it arrives, with a deadline, never by sleeping. A test can
script the replies (`replies`): each RCPT TO address may get a 4xx or 5xx. One sink
may listen on several ports (`Received.port` says which), and may hold back the
reply to a message (`hold`): the message is in the queue, its sender waits for the
250 until `release()`, as a client does whose server took the mail and went quiet.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Iterator
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
    #: The sink's port the message came in on.
    port: int = 0

    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    inbox: queue.Queue[Received] = field(default_factory=queue.Queue)
    #: address -> list of replies to give to RCPT TO for it, used up in order.
    replies: dict[str, list[str]] = field(default_factory=dict)
    #: Called on each message before it is answered: true holds back the reply
    #: (a relay that took the mail and went quiet) until `released` is set.
    hold: Callable[[Received], bool] | None = None
    held: queue.Queue[Received] = field(default_factory=queue.Queue)
    released: threading.Event = field(default_factory=threading.Event)

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
        login = session.auth_data.login.decode() if session.authenticated else None
        port = server.transport.get_extra_info("sockname")[1]
        received = Received(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            envelope.content,
            tuple(session.peer),
            # session.ssl is set by STARTTLS; an implicit-TLS session shows on its transport.
            tls=session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            login=login,
            port=port,
        )
        self.inbox.put(received)
        if self.hold is not None and self.hold(received):
            self.held.put(received)
            # Off the event loop: the sink goes on answering other connections meanwhile.
            await asyncio.get_running_loop().run_in_executor(None, self.released.wait)
        return "250 2.0.0 Ok: queued by the test sink"


class SmtpSink:
    """`options` go to aiosmtpd's Controller (and so its SMTP server): `tls_context`
    and `require_starttls` for STARTTLS, `ssl_context` for implicit TLS,
    `authenticator` and `auth_require_tls` for AUTH."""

    def __init__(self, port: int | None = None, *, also: int = 0, **options: Any) -> None:
        """A sink on `port` (a free one if None), and on `also` more free ports."""
        self.handler = _Handler()
        self.port = port or free_port()
        self.ports = [self.port, *(free_port() for _ in range(also))]
        self.controllers = [
            Controller(self.handler, hostname="127.0.0.1", port=each, **options)
            for each in self.ports
        ]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def address_of(self, port: int) -> str:
        return f"127.0.0.1:{port}"

    def start(self) -> None:
        for controller in self.controllers:
            controller.start()

    def stop(self) -> None:
        self.release()
        for controller in self.controllers:
            controller.stop()

    def hold(self, which: Callable[[Received], bool] = lambda received: True) -> None:
        """From now on, the messages `which` picks are answered only after `release()`."""
        self.handler.released.clear()
        self.handler.hold = which

    def release(self) -> None:
        """Answer the messages held back, and hold no more."""
        self.handler.hold = None
        self.handler.released.set()

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
