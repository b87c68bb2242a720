"""The store interface: one Protocol, implemented for SQLite and for PostgreSQL.

Records keep AWS member names inside their JSON blocks (`TrackingOptions`,
`DeliveryOptions`, ...), so a provider can hand them back to the wire
unchanged. Every method is one transaction: an operation either happens whole
or not at all, and read-modify-write races (two PUTs of different option
blocks at once) cannot lose an update.

Store methods are synchronous; the web layer calls them on worker threads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class StoreError(Exception):
    """Base of the store's own outcomes; providers turn them into SES errors."""


class Duplicate(StoreError):
    """A record with that name exists already."""


class Missing(StoreError):
    """The parent record does not exist."""


class LimitReached(StoreError):
    """Adding the record would pass a per-account or per-parent limit."""


class Unstorable(StoreError):
    """A value the database cannot keep: PostgreSQL text holds no U+0000 (NUL). The
    API answers it as a bad request."""


class Unreachable(StoreError):
    """The database cannot be opened (the message says why, without secrets)."""


@dataclass(frozen=True, slots=True)
class ConfigurationSet:
    name: str
    #: Option block name (e.g. "TrackingOptions") → the block, AWS member names.
    options: dict[str, Any] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)
    created: float = 0.0


@dataclass(frozen=True, slots=True)
class EventDestination:
    name: str
    #: The EventDestinationDefinition as sent, AWS member names.
    definition: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EmailIdentity:
    #: An address as given, or a domain in lower case.
    name: str
    #: "EMAIL_ADDRESS" or "DOMAIN" (the model's IdentityType).
    kind: str
    #: Verification status, default configuration set and other attributes.
    attributes: dict[str, Any] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)
    created: float = 0.0


@dataclass(frozen=True, slots=True)
class Message:
    """A message accepted by SendEmail, as it is delivered (tracking applied)."""

    id: str
    created: float
    configuration_set: str | None
    #: Envelope MAIL FROM.
    sender: str
    #: Envelope RCPT TO: To, Cc and Bcc.
    recipients: list[str]
    #: The SES event record's `mail` object, ready to put into every event.
    mail: dict[str, Any]
    #: The MIME message as it goes over SMTP.
    content: bytes
    #: The tracked links by index: {"url": ..., "tags": {...}}.
    links: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Event:
    """One SES event record, stored before anything publishes it."""

    id: str
    message_id: str
    #: The record's `eventType` ("Send", "Delivery", "Open", ...).
    event_type: str
    happened: float
    configuration_set: str | None
    record: dict[str, Any]
    #: Opens and clicks: "person" or "machine" (events/machines.py); None otherwise.
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """An outbound-queue row claimed by a worker, with what it needs to deliver."""

    message: Message
    attempts: int
    #: Recipients still to deliver to: all of the message's at first.
    recipients: list[str]


@dataclass(frozen=True, slots=True)
class Publication:
    """One event on its way to one event destination (the publishing outbox)."""

    id: str
    event: Event
    set_name: str
    destination: str
    #: The EventDestinationDefinition as it was when the event happened.
    definition: dict[str, Any]
    attempts: int
    #: Targets already published to (a retry skips them).
    done: list[str] = field(default_factory=list)
    last_error: str | None = None
    #: When retrying stopped (the row stays for `sesame events --failed`).
    gave_up: float | None = None


@dataclass(frozen=True, slots=True)
class SnsCertificate:
    """The RSA key (PEM) that signs SNS-style notifications, and its certificate."""

    id: str
    private_key: str
    certificate: str
    created: float


@dataclass(frozen=True, slots=True)
class SigningKey:
    id: str
    secret: bytes
    created: float


@dataclass(frozen=True, slots=True)
class EmailTemplate:
    name: str
    #: The EmailTemplateContent as sent: "Subject", "Text", "Html" (each optional).
    content: dict[str, str]
    tags: list[dict[str, str]] = field(default_factory=list)
    created: float = 0.0


# --- account, suppression list, contact lists (issue 5) ---


@dataclass(frozen=True, slots=True)
class SendRecord:
    """One accepted message in the sending ledger (quotas, VDM metrics)."""

    message_id: str
    sent: float
    #: Recipients of the message: SES's quotas count recipients, not messages.
    recipients: int
    opens_tracked: bool = False
    clicks_tracked: bool = False
    #: Of those, the mailbox simulator's: they count against the sending rate but
    #: not the daily quota (SES developer guide, "Using the mailbox simulator").
    simulated: int = 0


@dataclass(frozen=True, slots=True)
class SendLimit:
    """At most `recipients` recipients within any `window` seconds; `name` is what
    `reserve_send` answers when a send would pass it."""

    name: str
    window: float
    recipients: float
    #: A single message bigger than the limit may go when the window is empty
    #: (a per-second rate below a message's recipient count must not block it forever).
    allow_oversized: bool = False
    #: Whether the mailbox simulator's recipients count (the rate: yes; the daily
    #: quota: no).
    counts_simulated: bool = True


@dataclass(frozen=True, slots=True)
class SuppressedDestination:
    email: str
    #: "BOUNCE" or "COMPLAINT".
    reason: str
    updated: float
    message_id: str | None = None
    feedback_id: str | None = None


@dataclass(frozen=True, slots=True)
class ContactList:
    name: str
    description: str | None
    #: The Topic structures as sent (TopicName, DisplayName, Description,
    #: DefaultSubscriptionStatus).
    topics: list[dict[str, Any]]
    tags: list[dict[str, str]]
    created: float
    updated: float


@dataclass(frozen=True, slots=True)
class Contact:
    list_name: str
    email: str
    #: TopicPreference structures: {"TopicName", "SubscriptionStatus"}.
    preferences: list[dict[str, str]]
    unsubscribe_all: bool
    attributes: str | None
    created: float
    updated: float


# --- inbox -------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower-case ASCII letters only, as SQL's lower() does on every backend we run."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class MessageSummary:
    """One row of the inbox's message list: a Message without its content."""

    id: str
    created: float
    configuration_set: str | None
    sender: str
    recipients: list[str]
    #: The Subject header (`mail.commonHeaders.subject`), "" when there is none.
    subject: str


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """What the inbox searches for. Each field given must match (a substring,
    case-insensitive for ASCII letters); `text` matches any of the five fields."""

    text: str | None = None
    recipient: str | None = None
    sender: str | None = None
    subject: str | None = None
    configuration_set: str | None = None
    message_id: str | None = None

    def terms(self) -> dict[str, str]:
        """The non-empty fields, folded: field name -> term."""
        names = ("text", "recipient", "sender", "subject", "configuration_set", "message_id")
        return {n: _fold(v) for n in names if (v := getattr(self, n))}

    def matches(self, summary: MessageSummary) -> bool:
        """The filter's meaning; a backend's SQL only narrows the rows it tests."""
        fields = {
            "recipient": [_fold(r) for r in summary.recipients],
            "sender": [_fold(summary.sender)],
            "subject": [_fold(summary.subject)],
            "configuration_set": [_fold(summary.configuration_set or "")],
            "message_id": [_fold(summary.id)],
        }
        for name, term in self.terms().items():
            values = [v for vs in fields.values() for v in vs] if name == "text" else fields[name]
            if not any(term in value for value in values):
                return False
        return True


#: An inbox page cursor: (created, id) of the message at the page's edge.
Cursor = tuple[float, str]


class Store(Protocol):
    """Everything Sesame keeps. Each method is atomic."""

    #: True when a read never waits on anything but local memory and disk (SQLite
    #: in WAL mode: readers never wait for the writer). The web layer then runs
    #: read-only operations on the event loop instead of paying for a thread hop.
    fast_reads: bool
    #: How many calls may usefully run at once: the size of the thread pool the
    #: web layer runs store calls on (SQLite has one writer, so 1).
    concurrency: int

    def close(self) -> None: ...

    def migrate(self, target: int | None = None) -> int:
        """Apply the pending migrations (those up to `target` only, when given) in one
        transaction; return the schema version in force."""
        ...

    # Configuration sets ---------------------------------------------------
    def create_configuration_set(self, record: ConfigurationSet, *, limit: int) -> None:
        """Insert; Duplicate if the name exists, LimitReached at `limit` sets."""

    def get_configuration_set(self, name: str) -> ConfigurationSet | None: ...

    def list_configuration_sets(
        self, *, after: str | None, limit: int, name_contains: str | None = None
    ) -> list[str]:
        """Names in ascending order, strictly after `after`, at most `limit`."""
        ...

    def update_configuration_set(
        self,
        name: str,
        *,
        options: Mapping[str, dict[str, Any] | None] | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> bool:
        """Replace the given option blocks (None removes one) and/or the tags."""
        ...

    def tracking_domains(self) -> set[str]:
        """Every CustomRedirectDomain of every configuration set, in lower case."""
        ...

    def delete_configuration_set(self, name: str) -> bool:
        """Delete a set and its event destinations; False if it did not exist."""
        ...

    # Event destinations -----------------------------------------------------
    def add_event_destination(
        self, set_name: str, destination: EventDestination, *, limit: int
    ) -> None:
        """Append; Missing if no such set, Duplicate, or LimitReached at `limit`."""

    def list_event_destinations(self, set_name: str) -> list[EventDestination] | None:
        """In creation order; None if the set does not exist."""
        ...

    def replace_event_destination(self, set_name: str, destination: EventDestination) -> bool:
        """Replace in place, keeping its position; False if either is missing."""
        ...

    def delete_event_destination(self, set_name: str, name: str) -> bool: ...

    # Email identities -------------------------------------------------------
    def create_identity(self, record: EmailIdentity) -> None:
        """Insert; Duplicate if the identity exists."""

    def get_identity(self, name: str) -> EmailIdentity | None: ...

    def list_identities(self, *, after: str | None, limit: int) -> list[EmailIdentity]:
        """Identities in ascending name order, strictly after `after`."""
        ...

    def update_identity(
        self,
        name: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> bool:
        """Merge attributes (a None value removes one) and/or replace the tags."""
        ...

    def delete_identity(self, name: str) -> bool: ...

    # Messages, the outbound queue and events ---------------------------------
    def accept_message(
        self,
        message: Message,
        events: list[Event],
        *,
        due: float | None,
        relay_to: list[str] | None = None,
    ) -> None:
        """Store a message, its outbound-queue row and its first events, together;
        `due` None stores it with nothing to deliver (every recipient suppressed or
        answered by the mailbox simulator). `relay_to`: the recipients the worker
        delivers to, when not all of `message.recipients`."""

    def get_message(self, message_id: str) -> Message | None: ...

    def message_facts(self, message_id: str) -> tuple[dict[str, Any], str | None, list[Any]] | None:
        """(mail object, configuration set, links) without the content: for Open/Click."""
        ...

    def list_messages(
        self, *, message_id: str | None = None, recipient: str | None = None, limit: int = 1000
    ) -> list[Message]:
        """Newest first; `recipient` matches the envelope recipients or the sender."""
        ...

    def claim_deliveries(self, *, now: float, lease: float, limit: int) -> list[Delivery]:
        """Take due, unleased queue rows for `lease` seconds; no two callers get one row."""
        ...

    def finish_deliveries(self, finished: Sequence[tuple[str, list[Event]]]) -> None:
        """For each (message id, events): drop the queue row and record the outcome's
        events; all of them in one transaction (a worker commits a batch of outcomes
        at once rather than one transaction per message)."""

    def defer_delivery(
        self,
        message_id: str,
        *,
        due: float,
        error: str,
        remaining: list[str],
        events: list[Event],
    ) -> None:
        """Count an attempt, keep `remaining` recipients, release the lease until `due`,
        and record events, together."""

    def pending_deliveries(self) -> int: ...

    def add_events(self, events: list[Event]) -> None: ...

    def list_events(
        self,
        *,
        message_id: str | None = None,
        event_type: str | None = None,
        configuration_set: str | None = None,
        since: float | None = None,
        limit: int = 1000,
        actor: str | None = None,
    ) -> list[Event]:
        """Oldest first."""
        ...

    def recent_clicks(
        self, message_id: str, since: float, *, limit: int = 1000
    ) -> list[tuple[str, float, str | None, Any]]:
        """(id, happened, actor, the record's `click.link`) of the message's Click events
        that happened at `since` or later, oldest first: the rows, order and limit of
        `list_events(message_id=..., event_type="Click", since=...)`, without decoding
        the records (the classifier's burst rule reads these for every batch)."""
        ...

    # Email templates ------------------------------------------------------------
    def create_email_template(self, record: EmailTemplate, *, limit: int) -> None:
        """Insert; Duplicate if the name exists, LimitReached at `limit` templates."""

    def get_email_template(self, name: str) -> EmailTemplate | None: ...

    def list_email_templates(self, *, after: str | None, limit: int) -> list[EmailTemplate]:
        """Templates in ascending name order, strictly after `after`, at most `limit`."""
        ...

    def update_email_template(
        self,
        name: str,
        content: dict[str, str] | None = None,
        *,
        tags: list[dict[str, str]] | None = None,
    ) -> bool:
        """Replace the content (tags and creation time stay); False if it does not exist."""
        ...

    def delete_email_template(self, name: str) -> bool: ...

    # Tracking-link signing keys ------------------------------------------------
    def add_signing_key(self, key: SigningKey) -> None: ...

    def signing_keys(self) -> list[SigningKey]:
        """Oldest first; the newest signs new links."""
        ...

    # --- publishing: the outbox of event publications (issue 4) ---------------
    # Every method that writes events (accept_message, finish_deliveries,
    # defer_delivery, add_events) also enqueues, in the same transaction, one
    # publication per (event, destination of the event's configuration set that
    # events.routing.matches), with due = events.routing.due(...).

    def claim_publications(self, *, now: float, lease: float, limit: int) -> list[Publication]:
        """Take due, unleased rows for `lease` seconds, only the oldest pending row of
        each (message, set, destination) lane, so a lane is published in order and
        a row never goes to two callers."""
        ...

    def finish_publications(self, ids: list[str]) -> None:
        """Published: drop the rows."""

    def defer_publication(
        self, id: str, *, due: float, error: str, done: list[str], give_up: bool
    ) -> None:
        """Count an attempt, keep the error and the targets done, release the lease
        until `due`; with `give_up`, stop retrying (the row then no longer blocks
        its lane)."""

    def failed_publications(self, *, limit: int = 1000) -> list[Publication]:
        """Rows whose last attempt failed (retrying or given up), oldest first."""
        ...

    def pending_publications(self) -> int:
        """Rows not yet published and not given up."""
        ...

    def update_events(self, events: list[Event]) -> None:
        """Replace the record and actor of events already stored (by id): a burst of
        clicks found later relabels its earlier clicks before they are published."""

    def sns_certificate(self, make: Callable[[], SnsCertificate]) -> SnsCertificate:
        """The notification-signing key in force: if there is none yet, `make()` one and
        store it, in one transaction (so every process on the database agrees)."""

    # --- account, suppression list, contact lists (issue 5) ---
    def account_settings(self) -> dict[str, Any]:
        """Every stored account-level block by name (SendingEnabled, Details, ...)."""
        ...

    def put_account_setting(self, name: str, value: Any) -> None:
        """Replace one account-level block."""

    def reserve_send(self, record: SendRecord, limits: list[SendLimit]) -> str | None:
        """Record a send unless it would pass one of `limits`, atomically across every
        process on the database; None when recorded, else the name of the limit."""
        ...

    def recipients_sent_since(self, since: float) -> int:
        """Recipients of the sends recorded strictly after `since`, as the daily quota
        counts them (the mailbox simulator's left out)."""
        ...

    def tracking_of(self, message_ids: list[str]) -> dict[str, tuple[bool, bool]]:
        """(opens tracked, clicks tracked) of each recorded message among `message_ids`."""
        ...

    def count_api_call(self, operation: str, second: int, limit: int) -> bool:
        """Count one call of `operation` in that whole second, unless `limit` calls
        were counted already (then False, nothing counted); atomic across processes."""
        ...

    def put_suppressed_destination(self, record: SuppressedDestination) -> None:
        """Add or replace the entry of `record.email` (the caller normalises addresses;
        the store compares them exactly)."""

    def get_suppressed_destination(self, email: str) -> SuppressedDestination | None: ...

    def list_suppressed_destinations(
        self,
        *,
        reasons: list[str] | None,
        start: float | None,
        end: float | None,
        after: str | None,
        limit: int,
    ) -> list[SuppressedDestination]:
        """In ascending address order, strictly after `after`; `start`/`end` bound the
        last update time (inclusive)."""
        ...

    def delete_suppressed_destination(self, email: str) -> bool: ...

    def suppressed_among(self, emails: list[str]) -> dict[str, SuppressedDestination]:
        """The entries of those addresses that are on the list, by address."""
        ...

    def create_contact_list(self, record: ContactList, *, limit: int) -> None:
        """Insert; LimitReached at `limit` lists (checked first), Duplicate if the name
        exists."""

    def get_contact_list(self, name: str) -> ContactList | None: ...

    def list_contact_lists(self, *, after: str | None, limit: int) -> list[ContactList]:
        """Ascending name order, strictly after `after`."""
        ...

    def update_contact_list(
        self, name: str, *, topics: list[dict[str, Any]], description: str | None, updated: float
    ) -> bool: ...

    def delete_contact_list(self, name: str) -> bool:
        """Delete a list and its contacts."""
        ...

    def set_contact_list_tags(self, name: str, tags: list[dict[str, str]]) -> bool:
        """Replace a list's tags; False if it does not exist."""
        ...

    def create_contact(self, record: Contact) -> None:
        """Insert; Missing if the list does not exist, Duplicate if the contact does."""

    def get_contact(self, list_name: str, email: str) -> Contact | None: ...

    def list_contacts(self, list_name: str, *, after: str | None, limit: int) -> list[Contact]:
        """Ascending lower-cased address order, strictly after `after` (lower case)."""
        ...

    def save_contact(self, record: Contact, events: list[Event]) -> bool:
        """Insert or replace a contact and record events, together; False (nothing
        written) if the list does not exist."""
        ...

    def delete_contact(self, list_name: str, email: str) -> bool: ...

    def events_between(self, start: float, end: float, event_types: list[str]) -> list[Event]:
        """Events of those types with start <= happened < end, oldest first (no limit)."""
        ...

    # --- inbox ------------------------------------------------------------------
    def inbox_messages(
        self,
        search: MessageFilter,
        *,
        before: Cursor | None = None,
        after: Cursor | None = None,
        limit: int = 50,
    ) -> list[MessageSummary]:
        """Messages that `search.matches`, newest first, without content: the `limit`
        just older than `before`, or the `limit` just newer than `after`, or the newest."""
        ...

    def event_counts(self, message_ids: list[str]) -> dict[str, dict[str, int]]:
        """For each of these messages that has events: eventType -> how many."""
        ...

    def delete_message(self, message_id: str) -> bool:
        """Delete a message and its queue row (an undelivered message is not
        delivered); its events stay, as the record of what happened. False if absent."""
        ...

    def clear_messages(self) -> int:
        """Delete every message and queue row (events stay); how many messages."""
        ...
