"""What the account allows a send, as SES decides it: sending enabled, the
quotas, the suppression list and list management.

SendEmail and SendBulkEmail (sending.py) call this at four points: before
anything else (`account`: is sending enabled?), once the configuration set is
known (`list_management`, `suppressed`), when the message is built
(`add_unsubscribe`), and last, just before the message is committed (`reserve`).

Errors, with their sources:

- Account sending disabled (PutAccountSendingAttributes): SendingPausedException,
  400, with the text SES sends when an account's sending is paused ("Sending
  paused for this account. ...", quoted from real responses in public bug
  reports, e.g. GoodDollar/GoodServer#419).
- Over the maximum send rate: TooManyRequestsException, 429,
  `Maximum sending rate exceeded.` (a real SES v2 response, ses-spec.md §2.4).
- Over the daily quota: the same throttling error with `Daily message quota
  exceeded.`: the SES developer guide ("Errors related to the sending quotas for
  your Amazon SES account") says the API answers a throttling error for both,
  with one of these two texts; SES v2's throttling error is
  TooManyRequestsException. SendBulkEmail reports such an entry as
  ACCOUNT_DAILY_QUOTA_EXCEEDED.

Quotas count recipients (SES developer guide, quotas), including suppressed
ones (SES counts a send to a suppressed address against the quota). The rate is
a sliding one-second window (for rates below one a second, a window of 1/rate
seconds holding one recipient); a message with more recipients than the rate
goes when the window is empty, so it is never refused forever. The reservation
is one store transaction, exact across every process on the database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from sesame.keys import Keys
from sesame.mail.unsubscribe import Unsubscribe, unsubscribe_path
from sesame.protocol.errors import (
    BadRequestException,
    NotFoundException,
    SendingPausedException,
    TooManyRequestsException,
)
from sesame.store.base import SendLimit, SendRecord, Store, SuppressedDestination
from sesame.suppression import reasons_for, suppressed_recipients

DAY_SECONDS = 86_400.0
ACCOUNT_PAUSED = (
    "Sending paused for this account. For more information, please check the inbox of "
    "the email address associated with your AWS account."
)


class DailyQuotaExceeded(TooManyRequestsException):
    """The daily sending quota (still a TooManyRequestsException on the wire)."""


def contact_list_missing(name: str) -> NotFoundException:
    return NotFoundException(f"List with name {name} does not exist.")


class SendingPolicy:
    def __init__(
        self,
        store: Store,
        keys: Keys,
        *,
        max_send_rate: float = -1,
        max_24h_send: float = -1,
        unsubscribe_base: str = "",
    ) -> None:
        self.store = store
        self.keys = keys
        self.max_send_rate = max_send_rate
        self.max_24h_send = max_24h_send
        #: `scheme://host` the List-Unsubscribe URLs point at.
        self.unsubscribe_base = unsubscribe_base

    def limits(self) -> list[SendLimit]:
        limits: list[SendLimit] = []
        if self.max_send_rate != -1:
            window = max(1.0, 1.0 / self.max_send_rate)
            allowed = math.floor(self.max_send_rate * window + 1e-9)
            limits.append(SendLimit("rate", window, allowed, allow_oversized=True))
        if self.max_24h_send != -1:
            limits.append(SendLimit("daily", DAY_SECONDS, math.floor(self.max_24h_send + 1e-9)))
        return limits

    def account(self) -> dict[str, Any]:
        """The account's settings; SendingPausedException when sending is disabled."""
        settings = self.store.account_settings()
        if not settings.get("SendingEnabled", True):
            raise SendingPausedException(ACCOUNT_PAUSED)
        return settings

    def list_management(self, options: Mapping[str, str] | None) -> tuple[str, str | None] | None:
        """(contact list, topic) of ListManagementOptions, both checked to exist."""
        if options is None:
            return None
        name, topic = options["ContactListName"], options.get("TopicName")
        record = self.store.get_contact_list(name)
        if record is None:
            raise contact_list_missing(name)
        if topic is not None and topic not in {t["TopicName"] for t in record.topics}:
            raise BadRequestException(f"Topic {topic} does not exist in list {name}.")
        return name, topic

    def suppressed(
        self,
        settings: Mapping[str, Any],
        set_options: Mapping[str, Any] | None,
        recipients: list[str],
    ) -> dict[str, SuppressedDestination]:
        return suppressed_recipients(self.store, recipients, reasons_for(settings, set_options))

    def add_unsubscribe(
        self, message: EmailMessage, message_id: str, listing: tuple[str, str | None] | None
    ) -> None:
        """RFC 8058 one-click headers for the message's first recipient (one message
        carries one header; list mail goes one recipient per message)."""
        if listing is None:
            return
        path = unsubscribe_path(self.keys.keyring(), Unsubscribe(message_id, 0, *listing))
        for name in ("List-Unsubscribe", "List-Unsubscribe-Post"):
            del message[name]
        message["List-Unsubscribe"] = f"<{self.unsubscribe_base}{path}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    def reserve(self, record: SendRecord) -> None:
        """Count the send against the quotas, or refuse it (see the module docstring)."""
        refused = self.store.reserve_send(record, self.limits())
        if refused == "rate":
            raise TooManyRequestsException("Maximum sending rate exceeded.")
        if refused == "daily":
            raise DailyQuotaExceeded("Daily message quota exceeded.")
