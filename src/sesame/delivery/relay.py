"""One SMTP transaction to the relay, with every recipient's reply classified.

RFC 5321: a 2yz reply accepts, 4yz is a transient failure worth retrying, 5yz a
permanent one. Failing to reach the relay at all is transient. The relay's
final reply to DATA is what the Delivery event's `smtpResponse` carries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiosmtplib

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


def _failure(address: str, code: int, message: str) -> tuple[bool, Failure]:
    return code >= 500, Failure(address, code, message)


async def send(relay: Relay, sender: str, recipients: Sequence[str], content: bytes) -> Outcome:
    """Deliver `content` to `recipients` through `relay`; never raises for SMTP trouble."""
    client = aiosmtplib.SMTP(
        hostname=relay.host,
        port=relay.port,
        use_tls=relay.tls == "tls",
        start_tls=relay.tls == "starttls",
        username=relay.username,
        password=relay.password,
        timeout=relay.timeout,
    )
    try:
        async with client:
            refused, response = await client.sendmail(sender, list(recipients), content)
    except aiosmtplib.SMTPRecipientsRefused as every:
        failures = [_failure(r.recipient, r.code, r.message) for r in every.recipients]
        return Outcome(
            [], "", [f for bad, f in failures if bad], [f for bad, f in failures if not bad]
        )
    except aiosmtplib.SMTPResponseException as error:
        # The sender or the data was refused: the same answer for every recipient.
        failures = [_failure(address, error.code, error.message) for address in recipients]
        return Outcome(
            [], "", [f for bad, f in failures if bad], [f for bad, f in failures if not bad]
        )
    except (aiosmtplib.SMTPException, OSError) as error:
        message = f"4.4.1 Could not deliver through the relay: {error}"
        return Outcome([], "", [], [Failure(address, 421, message) for address in recipients])
    failures = [_failure(address, reply.code, reply.message) for address, reply in refused.items()]
    delivered = [address for address in recipients if address not in refused]
    return Outcome(
        delivered,
        response,
        [f for bad, f in failures if bad],
        [f for bad, f in failures if not bad],
    )
