"""The account-level suppression list as SES applies it, for sending and delivery.

Which reasons apply to a message (SES developer guide, "Using configuration
set-level suppression", ses-spec.md §3.8): a configuration set with
`SuppressionOptions` decides alone, its `SuppressedReasons` overriding the
account's (an empty list: this set suppresses nothing); otherwise the account's
`SuppressionAttributes.SuppressedReasons` apply. An account that never set them
has both BOUNCE and COMPLAINT, SES's default for accounts created since November
2019.

The same reasons govern both directions: a send skips a recipient on the list
for one of them (Bounce event, subtype `OnAccountSuppressionList`), and a
permanent bounce or a complaint adds the address to the list only when its
reason applies.

Mailbox simulator addresses are never added, for a bounce or a complaint: SES
says its simulator's bounce address is not put on the list, and that mail to the
simulator does not count towards reputation (SES developer guide, "Using the
mailbox simulator"); a listed `complaint@` would also stop answering with
complaints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sesame.delivery.simulator import is_simulator
from sesame.store.base import Event, Store, SuppressedDestination

#: SES's default for the account-level list.
DEFAULT_REASONS = ("BOUNCE", "COMPLAINT")
#: The bounce subtype of a recipient skipped because of the list.
ON_SUPPRESSION_LIST = "OnAccountSuppressionList"
#: The diagnostic SES writes for such a recipient (SES developer guide,
#: "Using the Amazon SES account-level suppression list").
SUPPRESSED_DIAGNOSTIC = (
    "Amazon SES did not send the message to this address because it is on the "
    "suppression list for your account."
)


def reasons_for(
    account: Mapping[str, Any], configuration_set_options: Mapping[str, Any] | None
) -> frozenset[str]:
    """The suppression reasons that apply to a message of that set (None: no set)."""
    if configuration_set_options is not None and "SuppressionOptions" in configuration_set_options:
        return frozenset(
            configuration_set_options["SuppressionOptions"].get("SuppressedReasons", [])
        )
    attributes = account.get("SuppressionAttributes")
    if attributes is None:
        return frozenset(DEFAULT_REASONS)
    return frozenset(attributes.get("SuppressedReasons", []))


def normalize(address: str) -> str:
    """An address as the suppression list keys it: trimmed, the domain in lower case,
    the local part as it is (Floci reports from real SES that `Foo@Example.COM` and
    `Foo@example.com` are one entry, `Foo@x` and `foo@x` two)."""
    local, at, domain = address.strip().rpartition("@")
    return f"{local}@{domain.lower()}" if at else address.strip()


def suppressed_recipients(
    store: Store, recipients: list[str], reasons: frozenset[str]
) -> dict[str, SuppressedDestination]:
    """The recipients (as given) a send must skip, with their entries."""
    if not reasons:
        return {}
    found = store.suppressed_among([normalize(r) for r in recipients])
    skipped: dict[str, SuppressedDestination] = {}
    for recipient in recipients:
        entry = found.get(normalize(recipient))
        if entry is not None and entry.reason in reasons:
            skipped[recipient] = entry
    return skipped


def _listed(events: Iterable[Event]) -> list[tuple[Event, str, str]]:
    """(event, address, reason) for each permanent bounce and complaint recipient,
    the mailbox simulator's left out."""
    listed: list[tuple[Event, str, str]] = []
    for event in events:
        if event.event_type == "Bounce":
            bounce = event.record["bounce"]
            if (
                bounce["bounceType"] != "Permanent"
                or bounce["bounceSubType"] == ON_SUPPRESSION_LIST
            ):
                continue
            for recipient in bounce["bouncedRecipients"]:
                if not is_simulator(recipient["emailAddress"]):
                    listed.append((event, recipient["emailAddress"], "BOUNCE"))
        elif event.event_type == "Complaint":
            complaint = event.record["complaint"]
            if complaint.get("complaintSubType") == ON_SUPPRESSION_LIST:
                continue
            for recipient in complaint["complainedRecipients"]:
                if not is_simulator(recipient["emailAddress"]):
                    listed.append((event, recipient["emailAddress"], "COMPLAINT"))
    return listed


def suppress_from(store: Store, events: Iterable[Event]) -> int:
    """Put the permanently bounced and complaining recipients of `events` on the list,
    where their message's reasons say so; how many entries were written."""
    listed = _listed(events)
    if not listed:
        return 0
    account = store.account_settings()
    sets: dict[str | None, frozenset[str]] = {}
    written = 0
    for event, address, reason in listed:
        name = event.configuration_set
        if name not in sets:
            record = None if name is None else store.get_configuration_set(name)
            sets[name] = reasons_for(account, None if record is None else record.options)
        if reason not in sets[name]:
            continue
        detail = event.record["bounce" if reason == "BOUNCE" else "complaint"]
        store.put_suppressed_destination(
            SuppressedDestination(
                normalize(address),
                reason,
                event.happened,
                event.message_id,
                detail.get("feedbackId"),
            )
        )
        written += 1
    return written
