"""The SES event records, field for field (ses-spec.md §5.6; SES developer guide,
"Contents of event data that Amazon SES publishes").

Every record is `{"eventType": ..., "mail": {...}, "<type>": {...}}`. The `mail`
object is built once when a message is accepted and stored with it, so Open and
Click events days later carry exactly what the Send event carried. Timestamps
are ISO 8601 with milliseconds and `Z`, as SES writes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sesame.store.base import Event
from sesame.store.ids import new_id

#: The `reportingMTA` SES names in delivery and bounce records; ours is Sesame.
REPORTING_MTA = "dns; sesame.local"


def iso(moment: float) -> str:
    """`2017-08-09T21:59:49.927Z`."""
    stamp = datetime.fromtimestamp(moment, UTC)
    if stamp.year >= 1000:
        # The same text as below, at a third of the cost (one per Open and Click):
        # isoformat truncates to milliseconds, and its "+00:00" becomes the "Z".
        return stamp.isoformat(timespec="milliseconds")[:-6] + "Z"
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def mail_object(
    *,
    message_id: str,
    timestamp: float,
    source: str,
    source_arn: str,
    account_id: str,
    destination: Sequence[str],
    headers: list[dict[str, str]] | None,
    headers_truncated: bool,
    common_headers: Mapping[str, Any] | None,
    tags: Mapping[str, list[str]],
) -> dict[str, Any]:
    """The `mail` object. `headers` and `common_headers` are None when there is no
    message to describe (a Rendering Failure: SES's example record has neither)."""
    mail: dict[str, Any] = {
        "timestamp": iso(timestamp),
        "source": source,
        "sourceArn": source_arn,
        "sendingAccountId": account_id,
        "messageId": message_id,
        "destination": list(destination),
        "headersTruncated": headers_truncated,
    }
    if headers is not None:
        mail["headers"] = headers
    if common_headers is not None:
        mail["commonHeaders"] = dict(common_headers)
    mail["tags"] = {name: list(values) for name, values in tags.items()}
    return mail


def event(
    mail: Mapping[str, Any],
    event_type: str,
    detail_key: str,
    detail: Mapping[str, Any],
    *,
    happened: float,
    configuration_set: str | None,
) -> Event:
    """A stored Event whose record is `{"eventType", "mail", detail_key: detail}`.

    The record holds `mail` itself, not a copy, when it is a dict: the events of one
    message share it (nothing changes a stored record's `mail`), and the store then
    encodes it once for all of them (store/relational.py)."""
    shared = mail if isinstance(mail, dict) else dict(mail)
    record = {"eventType": event_type, "mail": shared, detail_key: dict(detail)}
    return Event(new_id(), mail["messageId"], event_type, happened, configuration_set, record)


def send(mail: Mapping[str, Any], *, happened: float, configuration_set: str | None) -> Event:
    return event(mail, "Send", "send", {}, happened=happened, configuration_set=configuration_set)


def rendering_failure(
    mail: Mapping[str, Any],
    *,
    happened: float,
    template_name: str,
    error_message: str,
    configuration_set: str | None,
) -> Event:
    """`eventType` is "Rendering Failure", with a space, and the detail key is
    `failure` (SES developer guide, event examples)."""
    detail = {"templateName": template_name, "errorMessage": error_message}
    return event(
        mail,
        "Rendering Failure",
        "failure",
        detail,
        happened=happened,
        configuration_set=configuration_set,
    )


def delivery(
    mail: Mapping[str, Any],
    *,
    happened: float,
    accepted: float,
    recipients: Sequence[str],
    smtp_response: str,
    configuration_set: str | None,
) -> Event:
    detail = {
        "timestamp": iso(happened),
        "processingTimeMillis": max(0, round((happened - accepted) * 1000)),
        "recipients": list(recipients),
        "smtpResponse": smtp_response,
        "reportingMTA": REPORTING_MTA,
    }
    return event(
        mail, "Delivery", "delivery", detail, happened=happened, configuration_set=configuration_set
    )


def bounce(
    mail: Mapping[str, Any],
    *,
    happened: float,
    bounce_type: str,
    bounce_sub_type: str,
    recipients: Sequence[tuple[str, str, str]],
    configuration_set: str | None,
) -> Event:
    """`recipients`: (address, status like 5.1.1, diagnostic code like `smtp; 550 ...`).
    An empty status stands for a bounce without a DSN: the recipient is then only its
    `emailAddress` (SES's record of an automatic response, e.g. the mailbox
    simulator's out-of-office)."""
    detail = {
        "bounceType": bounce_type,
        "bounceSubType": bounce_sub_type,
        "bouncedRecipients": [
            {
                "emailAddress": address,
                "action": "failed",
                "status": status,
                "diagnosticCode": diagnostic,
            }
            if status
            else {"emailAddress": address}
            for address, status, diagnostic in recipients
        ],
        "timestamp": iso(happened),
        "feedbackId": f"{mail['messageId']}-{uuid.uuid4()}",
        "reportingMTA": REPORTING_MTA,
    }
    return event(
        mail, "Bounce", "bounce", detail, happened=happened, configuration_set=configuration_set
    )


def complaint(
    mail: Mapping[str, Any],
    *,
    happened: float,
    recipients: Sequence[str],
    user_agent: str,
    feedback_type: str,
    arrived: float,
    configuration_set: str | None,
) -> Event:
    """A complaint with its feedback report (RFC 5965): SES adds `userAgent`,
    `complaintFeedbackType` and `arrivalDate` from the report; `complaintSubType` is
    null unless the recipient was on the suppression list (SES developer guide,
    "Complaint object"; the mailbox simulator's records show the null)."""
    detail = {
        "complainedRecipients": [{"emailAddress": address} for address in recipients],
        "timestamp": iso(happened),
        "feedbackId": f"{mail['messageId']}-{uuid.uuid4()}",
        "complaintSubType": None,
        "userAgent": user_agent,
        "complaintFeedbackType": feedback_type,
        "arrivalDate": iso(arrived),
    }
    return event(
        mail,
        "Complaint",
        "complaint",
        detail,
        happened=happened,
        configuration_set=configuration_set,
    )


def delivery_delay(
    mail: Mapping[str, Any],
    *,
    happened: float,
    expires: float,
    recipients: Sequence[tuple[str, str, str]],
    configuration_set: str | None,
) -> Event:
    detail = {
        "timestamp": iso(happened),
        "delayType": "TransientCommunicationFailure",
        "expirationTime": iso(expires),
        "reportingMTA": REPORTING_MTA,
        "delayedRecipients": [
            {"emailAddress": address, "status": status, "diagnosticCode": diagnostic}
            for address, status, diagnostic in recipients
        ],
    }
    return event(
        mail,
        "DeliveryDelay",
        "deliveryDelay",
        detail,
        happened=happened,
        configuration_set=configuration_set,
    )


def open_(
    mail: Mapping[str, Any],
    *,
    happened: float,
    ip_address: str,
    user_agent: str,
    configuration_set: str | None,
) -> Event:
    detail = {"ipAddress": ip_address, "timestamp": iso(happened), "userAgent": user_agent}
    return event(
        mail, "Open", "open", detail, happened=happened, configuration_set=configuration_set
    )


def click(
    mail: Mapping[str, Any],
    *,
    happened: float,
    ip_address: str,
    user_agent: str,
    link: str,
    link_tags: Mapping[str, list[str]],
    configuration_set: str | None,
) -> Event:
    detail: dict[str, Any] = {
        "ipAddress": ip_address,
        "link": link,
        "timestamp": iso(happened),
        "userAgent": user_agent,
    }
    if link_tags:
        detail["linkTags"] = {key: list(values) for key, values in link_tags.items()}
    return event(
        mail, "Click", "click", detail, happened=happened, configuration_set=configuration_set
    )
