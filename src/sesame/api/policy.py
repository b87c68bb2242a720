"""What the account allows a send, as SES decides it: sending enabled, the
quotas, the suppression list and list management.

SendEmail and SendBulkEmail (sending.py) call this at a few points: before
anything else (`account`: is sending enabled?); once the configuration set is
known (`list_management`: the list and topic exist); while the message is built
(`unsubscribe_url`, `fill_placeholder`, `add_unsubscribe`); to choose who gets
it (`skipped`, `bounces`); and last, just before it is committed (`reserve`).

List management follows the SES developer guide ("Using subscription
management", "Using list management"): the List-Unsubscribe and
List-Unsubscribe-Post headers (replacing the sender's own) and the
`{{amazonSESUnsubscribeUrl}}` placeholder (its first two occurrences, in the
text and HTML bodies) are added only to mail for exactly one recipient; a
contact who opted out of the message's topic, or of every topic, is not sent
the message, and SES "will bounce" it: a Permanent bounce, subtype General
(the subtype and text are not documented; ours are a choice).

Errors, with their sources:

- Account sending disabled (PutAccountSendingAttributes): SendingPausedException,
  400, the v2 model's error for "the account's ability to send email is currently
  paused", with the text real SES sends when an account is paused ("Sending
  paused for this account. ...", quoted from SES v1 MessageRejected responses in
  public bug reports, e.g. GoodDollar/GoodServer#419; the v2 text is not on
  record).
- Over the maximum send rate: TooManyRequestsException, 429,
  `Maximum sending rate exceeded.` (a real SES v2 response, ses-spec.md §2.4).
- Over the daily quota: the same throttling error with `Daily message quota
  exceeded.`: the SES developer guide ("Errors related to the sending quotas for
  your Amazon SES account") says the API answers a throttling error for both,
  with one of these two texts; SES v2's throttling error is
  TooManyRequestsException. SendBulkEmail reports such an entry as
  ACCOUNT_DAILY_QUOTA_EXCEEDED.

Quotas count recipients (SES developer guide, quotas), every recipient of an
accepted call, suppressed or not (our choice: the call was accepted for all of
them). A Rendering Failure counts nothing: nothing was sent. Recipients at the
mailbox simulator count against the rate but not the daily quota (nor
GetAccount's SentLast24Hours), as SES says of its simulator. The rate is
a sliding one-second window (for rates below one a second, a window of 1/rate
seconds holding one recipient); a message with more recipients than the rate
goes when the window is empty, so it is never refused forever. The reservation
is one store transaction, exact across every process on the database.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from sesame.delivery import simulator
from sesame.events import records
from sesame.keys import Keys
from sesame.mail.unsubscribe import Unsubscribe, unsubscribe_path
from sesame.protocol.errors import (
    BadRequestException,
    NotFoundException,
    SendingPausedException,
    TooManyRequestsException,
)
from sesame.store.base import Contact, Duplicate, Event, Missing, SendLimit, SendRecord, Store
from sesame.suppression import (
    ON_SUPPRESSION_LIST,
    SUPPRESSED_DIAGNOSTIC,
    reasons_for,
    suppressed_recipients,
)

DAY_SECONDS = 86_400.0
UNSUBSCRIBE_PLACEHOLDER = "{{amazonSESUnsubscribeUrl}}"
#: Sesame's diagnostic for a contact skipped because it unsubscribed (SES documents
#: that it bounces such a send, not the bounce's text or subtype).
UNSUBSCRIBED_DIAGNOSTIC = (
    "The message was not sent to this address because the contact unsubscribed "
    "from the list or topic."
)
ACCOUNT_PAUSED = (
    "Sending paused for this account. For more information, please check the inbox of "
    "the email address associated with your AWS account."
)


class DailyQuotaExceeded(TooManyRequestsException):
    """The daily sending quota (still a TooManyRequestsException on the wire)."""


def contact_list_missing(name: str) -> NotFoundException:
    return NotFoundException(f"List with name: {name} doesn't exist.")


def topic_missing(list_name: str, topic: str) -> BadRequestException:
    return BadRequestException(f"List: {list_name} doesn't contain Topic: {topic}")


def effective_status(contact: Contact | None, topic: Mapping[str, Any]) -> str:
    """OPT_IN or OPT_OUT: the contact's own preference, else the topic's default."""
    if contact is not None:
        if contact.unsubscribe_all:
            return "OPT_OUT"
        for preference in contact.preferences:
            if preference["TopicName"] == topic["TopicName"]:
                return preference["SubscriptionStatus"]
    return str(topic["DefaultSubscriptionStatus"])


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
            daily = math.floor(self.max_24h_send + 1e-9)
            limits.append(SendLimit("daily", DAY_SECONDS, daily, counts_simulated=False))
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
            raise topic_missing(name, topic)
        return name, topic

    def skipped(
        self,
        settings: Mapping[str, Any],
        set_options: Mapping[str, Any] | None,
        listing: tuple[str, str | None] | None,
        recipients: list[str],
    ) -> dict[str, tuple[str, str]]:
        """Recipients a send must not deliver to → (bounceSubType, diagnostic): those
        on the suppression list for a reason that applies (and the mailbox
        simulator's `suppressionlist@`), and contacts of the message's list who
        opted out of its topic or of everything."""
        suppressed = suppressed_recipients(
            self.store, recipients, reasons_for(settings, set_options)
        )
        # The simulator's `suppressionlist@` bounces as if listed, whatever the list
        # and its reasons say (delivery/simulator.py).
        listed = [r for r in recipients if (s := simulator.scenario(r)) is not None and s.listed]
        skipped = dict.fromkeys(
            [*suppressed, *listed], (ON_SUPPRESSION_LIST, SUPPRESSED_DIAGNOSTIC)
        )
        for recipient in self.unsubscribed(listing, recipients):
            skipped.setdefault(recipient, ("General", UNSUBSCRIBED_DIAGNOSTIC))
        return skipped

    @staticmethod
    def bounces(
        mail: Mapping[str, Any],
        skipped: Mapping[str, tuple[str, str]],
        *,
        happened: float,
        configuration_set: str | None,
    ) -> list[Event]:
        """One Permanent bounce per subtype for the skipped recipients, as SES reports
        a send it did not make."""
        by_type: dict[str, list[tuple[str, str, str]]] = {}
        for recipient, (sub_type, diagnostic) in skipped.items():
            by_type.setdefault(sub_type, []).append((recipient, "5.1.1", diagnostic))
        return [
            records.bounce(
                mail,
                happened=happened,
                bounce_type="Permanent",
                bounce_sub_type=sub_type,
                recipients=listed,
                configuration_set=configuration_set,
            )
            for sub_type, listed in by_type.items()
        ]

    def unsubscribe_url(
        self, message_id: str, listing: tuple[str, str | None] | None, recipients: list[str]
    ) -> str | None:
        """The signed one-click URL of a list message; None unless the message names a
        list and goes to exactly one recipient (SES adds the header and the footer
        link only then: developer guide, "Using subscription management")."""
        if listing is None or len(recipients) != 1:
            return None
        path = unsubscribe_path(self.keys.keyring(), Unsubscribe(message_id, 0, *listing))
        return f"{self.unsubscribe_base}{path}"

    @staticmethod
    def fill_placeholder(simple: dict[str, Any], url: str | None) -> dict[str, Any]:
        """Simple content with the first two `{{amazonSESUnsubscribeUrl}}` of its text
        and HTML bodies replaced by the URL (SES replaces at most two)."""
        if url is None:
            return simple
        body = dict(simple.get("Body", {}))
        for kind in ("Text", "Html"):
            if kind in body and UNSUBSCRIBE_PLACEHOLDER in body[kind]["Data"]:
                data = body[kind]["Data"].replace(UNSUBSCRIBE_PLACEHOLDER, url, 2)
                body[kind] = body[kind] | {"Data": data}
        return simple | {"Body": body}

    @staticmethod
    def add_unsubscribe(message: EmailMessage, url: str | None) -> None:
        """The RFC 8058 one-click headers; they replace any the sender wrote (SES
        overrides them when ListManagementOptions is given)."""
        if url is None:
            return
        for name in ("List-Unsubscribe", "List-Unsubscribe-Post"):
            del message[name]
        message["List-Unsubscribe"] = f"<{url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    def unsubscribed(
        self, listing: tuple[str, str | None] | None, recipients: list[str]
    ) -> list[str]:
        """Recipients of list mail who opted out of its topic (or of everything): SES
        does not send them list mail any more. A recipient who is not a contact yet
        becomes one, with no preferences of its own, as SES does (reported by Floci
        from real SES); the topic's default status then decides."""
        if listing is None:
            return []
        record = self.store.get_contact_list(listing[0])
        if record is None:
            return []
        topic = next((t for t in record.topics if t["TopicName"] == listing[1]), None)
        skipped: list[str] = []
        for recipient in recipients:
            contact = self.store.get_contact(record.name, recipient)
            if contact is None:
                now = time.time()
                with contextlib.suppress(Duplicate, Missing):
                    self.store.create_contact(
                        Contact(record.name, recipient, [], False, None, now, now)
                    )
            if (contact is not None and contact.unsubscribe_all) or (
                topic is not None and effective_status(contact, topic) == "OPT_OUT"
            ):
                skipped.append(recipient)
        return skipped

    def reserve(self, record: SendRecord) -> None:
        """Count the send against the quotas, or refuse it (see the module docstring)."""
        refused = self.store.reserve_send(record, self.limits())
        if refused == "rate":
            raise TooManyRequestsException("Maximum sending rate exceeded.")
        if refused == "daily":
            raise DailyQuotaExceeded("Daily message quota exceeded.")
