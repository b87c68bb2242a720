"""One SMTP transaction to the relay, with every recipient's reply classified.

RFC 5321: a 2yz reply accepts, 4yz is a transient failure worth retrying, 5yz a
permanent one. Failing to reach the relay at all is transient. The relay's
final reply to DATA is what the Delivery event's `smtpResponse` carries.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiosmtplib
from aiosmtplib.protocol import normalize_message_line_endings

_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\b")


@dataclass(frozen=True, slots=True)
class Relay:
    host: str
    port: int
    #: "none", "starttls" (upgrade after EHLO) or "tls" (implicit TLS, port 465 style).
    tls: str = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    #: PEM CA bundle to verify the relay's certificate with, instead of the system's.
    ca_file: str | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    address: str
    code: int
    message: str

    @property
    def status(self) -> str:
        """The enhanced status code (RFC 3463), or one derived from the reply code."""
        found = _ENHANCED.match(self.message)
        return found.group(1) if found else f"{str(self.code)[0]}.0.0"

    @property
    def diagnostic(self) -> str:
        return f"smtp; {self.code} {self.message}"


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered: list[str]
    #: The relay's reply to the message data, e.g. `250 2.0.0 Ok: queued as 12345`.
    response: str
    permanent: list[Failure]
    transient: list[Failure]


#: Replies that say the relay wants something of the client, not of the message:
#: 530 authentication (or STARTTLS) required, 534 a stronger mechanism, 535 bad
#: credentials, 538 encryption required (RFC 4954 §6, RFC 3207 §4).
_RELAY_SETUP_CODES = frozenset((530, 534, 535, 538))


def _failure(address: str, code: int, message: str) -> tuple[bool, Failure]:
    """(permanent?, the failure). "Authentication or TLS required" is about Sesame's
    own connection to the relay, not the recipient: retried, never a bounce (and so
    never an address put on the suppression list)."""
    return code >= 500 and code not in _RELAY_SETUP_CODES, Failure(address, code, message)


#: The name Sesame gives in EHLO; looked up once, because aiosmtplib would
#: otherwise resolve the host's FQDN (in a thread) for every new connection.
_EHLO_NAME = socket.gethostname() or "sesame"


def _client(relay: Relay) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=relay.host,
        local_hostname=_EHLO_NAME,
        port=relay.port,
        use_tls=relay.tls == "tls",
        start_tls=relay.tls == "starttls",
        username=relay.username,
        password=relay.password,
        timeout=relay.timeout,
        cert_bundle=relay.ca_file,
    )


def wire_size(content: bytes) -> int:
    """RFC 1870's SIZE: the octets DATA will carry, every line ending in CRLF.
    Sesame's messages end every line in CRLF already (mail.mime.POLICY), so that
    is their length, found without the copy aiosmtplib makes to normalise them."""
    pairs = content.count(b"\r\n")
    if content.count(b"\n") == pairs == content.count(b"\r") and content.endswith(b"\r\n"):
        return len(content)
    return len(normalize_message_line_endings(content))


def _split(failures: list[tuple[bool, Failure]], delivered: list[str], response: str) -> Outcome:
    return Outcome(
        delivered,
        response,
        [f for bad, f in failures if bad],
        [f for bad, f in failures if not bad],
    )


#: What ends a connection's usefulness without a reply about the message: SMTP
#: trouble (timeouts, a dropped connection), the socket's own errors, and the
#: ValueError aiosmtplib raises for an address it will not put on the wire.
_BROKEN = (aiosmtplib.SMTPException, OSError, ValueError)


def _all_transient(recipients: Sequence[str], what: str, error: Exception) -> Outcome:
    failures = [Failure(address, 421, f"{what}: {error}") for address in recipients]
    return Outcome([], "", [], failures)


#: Connections to the relay a worker keeps at most, each running one transaction at
#: a time: how many messages it hands to the relay concurrently.
POOL_SIZE = 8


class RelayPool:
    """Connections to the relay, kept open and reused between messages.

    At most `size` connections are in use at once. A message takes an idle
    connection (or opens one), runs one SMTP transaction on it and gives it back
    when the transaction succeeded; a connection that saw
    any trouble is closed instead. An idle connection the relay has meanwhile
    dropped is noticed at MAIL FROM, before anything was sent, and the message
    is tried once more on a fresh connection.
    """

    def __init__(self, relay: Relay, *, size: int = POOL_SIZE) -> None:
        self.relay = relay
        self.size = size
        self._idle: list[aiosmtplib.SMTP] = []
        # At most `size` transactions at once, so a batch queues for the open
        # connections instead of opening one per message.
        self._slots = asyncio.Semaphore(size)

    async def send(self, sender: str, recipients: Sequence[str], content: bytes) -> Outcome:
        """Deliver `content` to `recipients`; never raises for SMTP trouble."""
        async with self._slots:
            return await self._send(sender, recipients, content)

    async def _send(self, sender: str, recipients: Sequence[str], content: bytes) -> Outcome:
        while self._idle:
            client = self._idle.pop()
            if not client.is_connected:
                continue
            try:
                return await self._transaction(client, sender, recipients, content)
            except aiosmtplib.SMTPServerDisconnected:
                client.close()  # dropped while idle: try a fresh connection
            except _BROKEN as error:  # a timeout, a reset: this message waits for a retry
                client.close()
                return _all_transient(recipients, "4.4.2 The relay connection failed", error)
        client = _client(self.relay)
        try:
            await client.connect()
        except _BROKEN as error:
            client.close()
            return _all_transient(recipients, "4.4.1 Could not connect to the relay", error)
        try:
            return await self._transaction(client, sender, recipients, content)
        except _BROKEN as error:
            client.close()
            return _all_transient(recipients, "4.4.2 The relay connection failed", error)

    async def _transaction(
        self, client: aiosmtplib.SMTP, sender: str, recipients: Sequence[str], content: bytes
    ) -> Outcome:
        """MAIL, RCPT for each recipient, DATA: what `SMTP.sendmail` does, less the
        work it repeats per message (a second parse of every address, a second
        line-ending pass over the content just to count its size)."""
        try:
            if client.is_ehlo_or_helo_needed:
                await client.ehlo()
            size = [f"SIZE={wire_size(content)}"] if client.supports_extension("size") else []
            await client.mail(sender, options=size)
            failures: list[tuple[bool, Failure]] = []
            for address in recipients:
                try:
                    await client.rcpt(address)
                except aiosmtplib.SMTPRecipientRefused as refused:
                    failures.append(_failure(address, refused.code, refused.message))
            if len(failures) == len(recipients):
                client.close()
                return _split(failures, [], "")
            response = await client.data(content)
        except aiosmtplib.SMTPServerDisconnected:
            raise
        except aiosmtplib.SMTPResponseException as error:
            # The sender or the data was refused: the same answer for every recipient.
            client.close()
            failures = [_failure(address, error.code, error.message) for address in recipients]
            return _split(failures, [], "")
        if len(self._idle) < self.size:
            self._idle.append(client)
        else:
            client.close()
        refused_addresses = {f.address for _, f in failures}
        delivered = [a for a in recipients if a not in refused_addresses]
        return _split(failures, delivered, response.message)

    def close(self) -> None:
        for client in self._idle:
            client.close()
        self._idle.clear()
