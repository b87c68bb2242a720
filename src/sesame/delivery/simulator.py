"""SES's mailbox simulator: the addresses at `simulator.amazonses.com` and how each
answers (SES developer guide, "Using the mailbox simulator").

Mail to the simulator never goes to the SMTP relay: its outcome is known when the
message is accepted, so SendEmail stores the simulator's events with the Send
event, in the same transaction (api/sending.py). The message itself is kept like
any other (the mailbox, the web inbox); the other recipients of the same message
are delivered as usual.

The local part before an optional `+label` (SES supports labels, for VERP tests)
picks the scenario, case-insensitively:

- `success`: delivered (Delivery, `250 2.6.0 Message received`).
- `bounce`: a hard bounce, Permanent/General, status 5.1.1, `smtp; 550 5.1.1 user
  unknown` (the SMTP reply and DSN SES's simulator gives). SES does not put the
  simulator's address on the suppression list (suppression.py leaves out every
  simulator address).
- `ooto`: delivered, and then the out-of-office auto-reply, which SES reports as a
  Transient/General Bounce whose recipient carries only its address (the record
  SES's simulator has published for it; a transient bounce never suppresses).
- `complaint`: delivered, then a Complaint: feedback type `abuse`, user agent
  `Amazon SES Mailbox Simulator`, as SES's simulator reports it.
- `suppressionlist`: a hard bounce as if the address were on the account-level
  suppression list, whether or not it is (api/policy.py reports it exactly as it
  reports a listed recipient: Permanent/OnAccountSuppressionList).
- any other local part: bounced as `user unknown`, as a mailbox provider answers
  for a mailbox it does not have (Sesame's choice; SES documents only the five).

Timestamps: the simulator answers at once, but after the Send, as SES's does: the
Delivery is one millisecond after the Send (`processingTimeMillis` 1), a Bounce
or Complaint one more millisecond later, so every reader (event lists, the inbox
timeline, destinations, which get one message's events in time order) sees Send,
Delivery, then the feedback. The Delivery has no `remoteMtaIp`: no remote server
took the mail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sesame.events import records
from sesame.store.base import Event

DOMAIN = "simulator.amazonses.com"
#: The SMTP reply in SES's Delivery records for the simulator.
SMTP_RESPONSE = "250 2.6.0 Message received"
#: The user agent of the simulator's feedback reports.
USER_AGENT = "Amazon SES Mailbox Simulator"
#: When the simulator's Delivery, and its Bounce or Complaint, happen after the Send.
DELIVERED_AFTER = 0.001
FEEDBACK_AFTER = 0.002


@dataclass(frozen=True, slots=True)
class Bounce:
    type: str
    sub_type: str
    #: Status and diagnostic code of the DSN; "" when there is none (an auto-reply).
    status: str = ""
    diagnostic: str = ""


@dataclass(frozen=True, slots=True)
class Scenario:
    #: The receiving server accepts the mail: a Delivery event.
    delivered: bool = False
    #: Then (or instead) a Bounce event of this kind.
    bounce: Bounce | None = None
    #: Then the recipient complains: a Complaint event.
    complaint: bool = False
    #: Bounced as if on the account-level suppression list (api/policy.py).
    listed: bool = False


USER_UNKNOWN = Scenario(
    bounce=Bounce("Permanent", "General", "5.1.1", "smtp; 550 5.1.1 user unknown")
)
#: Local part (before `+label`) → what the simulator does.
SCENARIOS: dict[str, Scenario] = {
    "success": Scenario(delivered=True),
    "bounce": USER_UNKNOWN,
    "ooto": Scenario(delivered=True, bounce=Bounce("Transient", "General")),
    "complaint": Scenario(delivered=True, complaint=True),
    "suppressionlist": Scenario(listed=True),
}


def is_simulator(address: str) -> bool:
    """True for an address at the mailbox simulator's domain."""
    return address.rpartition("@")[2].strip().rstrip(".").lower() == DOMAIN


def scenario(address: str) -> Scenario | None:
    """What the simulator does with mail to `address`; None for any other address."""
    if not is_simulator(address):
        return None
    local = address.rpartition("@")[0].partition("+")[0].lower()
    return SCENARIOS.get(local, USER_UNKNOWN)


def split(recipients: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the recipients the simulator answers, those the relay gets)."""
    simulated = [r for r in recipients if is_simulator(r)]
    return simulated, [r for r in recipients if not is_simulator(r)]


def events(
    mail: Mapping[str, Any],
    recipients: Sequence[str],
    *,
    happened: float,
    configuration_set: str | None,
) -> list[Event]:
    """The simulator's events for `recipients` of a message sent at `happened`: a
    Delivery for each one it accepts, one Bounce per kind, one Complaint per complaining
    recipient, in that order (a `suppressionlist@` recipient is api/policy.py's)."""
    chosen = [(r, s) for r in recipients if (s := scenario(r)) is not None and not s.listed]
    found: list[Event] = []
    # One Delivery per recipient, as the worker records a relay's (SES notifies each
    # successful delivery to a recipient's mail server on its own).
    found.extend(
        records.delivery(
            mail,
            happened=happened + DELIVERED_AFTER,
            accepted=happened,
            recipients=[recipient],
            smtp_response=SMTP_RESPONSE,
            configuration_set=configuration_set,
        )
        for recipient, outcome in chosen
        if outcome.delivered
    )
    bounced: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for recipient, outcome in chosen:
        if outcome.bounce is not None:
            kind = outcome.bounce
            bounced.setdefault((kind.type, kind.sub_type), []).append(
                (recipient, kind.status, kind.diagnostic)
            )
    for (bounce_type, sub_type), listed in bounced.items():
        found.append(
            records.bounce(
                mail,
                happened=happened + FEEDBACK_AFTER,
                bounce_type=bounce_type,
                bounce_sub_type=sub_type,
                recipients=listed,
                configuration_set=configuration_set,
            )
        )
    for recipient, outcome in chosen:
        if outcome.complaint:
            found.append(
                records.complaint(
                    mail,
                    happened=happened + FEEDBACK_AFTER,
                    recipients=[recipient],
                    user_agent=USER_AGENT,
                    feedback_type="abuse",
                    arrived=happened + FEEDBACK_AFTER,
                    configuration_set=configuration_set,
                )
            )
    return found
