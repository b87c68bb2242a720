"""SendEmail and SendBulkEmail: check, build, track, and queue — committed before we answer.

The order of checks follows SES: the content must be one of Simple, Raw or
Template; the sender must be a verified identity (the address, or its domain);
at most 50 recipients, each a valid address, and so must the Reply-To addresses
and the FeedbackForwardingEmailAddress be (the envelope sender, where bounces go;
the From address when there is none); the configuration set is the one
named on the call, else the Raw message's `X-SES-CONFIGURATION-SET` header,
else the sending identity's default (an address's before its domain's), and it
must exist and have sending enabled; message tags follow SES's character rules;
the message must stay within 40 MB.

What the account allows (api/policy.py) is checked around that: account sending
enabled first; the quotas last, just before the commit; recipients on the
suppression list, and contacts who left the message's list or topic, get no
copy but a Bounce event; list mail gets its List-Unsubscribe headers.

The message is built with the stdlib `email` package, tracked (links rewritten,
pixel added) when its configuration set asks for it, and stored together with
its outbound-queue row and its Send event in one transaction. Only then does
the caller get its MessageId (architecture decision 5). Recipients at the
mailbox simulator (delivery/simulator.py) never reach the queue: their Delivery,
Bounce and Complaint events are stored in that same transaction.

Template content (templates.py chooses and renders the template): the template
must exist (NotFoundException) and TemplateData must be a JSON object (400);
the rendered subject, text and HTML, with the Template's Headers and
Attachments, are built like Simple content. A template the data does not fit (a
missing attribute, a missing partial) is SES's Rendering Failure: SES renders
after it accepts the call, so the call still answers a MessageId, but nothing
is stored, queued or sent. A `Rendering Failure` event is stored instead (detail
`failure`: `templateName`, `errorMessage`; `templateName` is "" for inline
content; the `mail` object has no `headers` or `commonHeaders`, as in SES's
example record) and the event feed is told. That is the only event of such a
message: there is no Send event, since nothing was sent.

SendBulkEmail sends one message per entry, each through `_send`, the path of
SendEmail with all its checks; `ses:operation` is `SendBulkEmail`. What the
entries share is checked once, first, and fails the whole call with a modelled
error, as SES does: DefaultContent holds a Template, there are 1 to 50 entries,
the template exists (NotFoundException), the default TemplateData, the
DefaultEmailTags, the ReplyToAddresses and the FeedbackForwardingEmailAddress
are valid (BadRequestException), the sender is verified (MessageRejected), the
configuration set exists and may send (NotFoundException,
SendingPausedException). Then, for each entry:

- data: ReplacementTemplateData's top-level members over the default
  TemplateData's (a shallow merge: a replaced member is replaced whole);
- tags: DefaultEmailTags, a ReplacementTag replacing the default of its name;
- headers: the Template's Headers, a ReplacementHeader replacing the value of a
  header of the same name (case-insensitive) where it stands, or added at the
  end (API reference, BulkEmailEntry.ReplacementHeaders).

Each entry gets one BulkEmailEntryResult, in order, and one entry's failure
never stops the others (those already accepted stay accepted). A failed entry
has a Status and an Error and no MessageId; the Status follows the error an
entry of its own would have raised as SendEmail: BadRequestException →
INVALID_PARAMETER, MessageRejected → MESSAGE_REJECTED, NotFoundException →
CONFIGURATION_SET_NOT_FOUND (the template was found once for the whole call, so
only the set can have gone), SendingPausedException →
CONFIGURATION_SET_SENDING_PAUSED, MailFromDomainNotVerifiedException →
MAIL_FROM_DOMAIN_NOT_VERIFIED, AccountSuspendedException → ACCOUNT_SUSPENDED,
TooManyRequestsException → ACCOUNT_THROTTLED, LimitExceededException →
ACCOUNT_DAILY_QUOTA_EXCEEDED, any other error → FAILED (an unexpected one is
logged with its traceback and answered "An internal error occurred."). An entry
whose rendering fails is SUCCESS with a MessageId, exactly as SendEmail answers
it: SES accepted the entry, and its Rendering Failure event tells the rest.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from sesame.api.context import RequestContext
from sesame.api.dispatch import handles
from sesame.api.engagement import Tracking, decide, engagement_enabled
from sesame.api.names import configuration_set_missing, domain_of, is_email_address
from sesame.api.policy import DailyQuotaExceeded, SendingPolicy
from sesame.api.templates import Chosen, choose, render_simple, template_data
from sesame.delivery import simulator
from sesame.events import records
from sesame.keys import Keys
from sesame.mail import mime, tracking
from sesame.mail.render import RenderingError
from sesame.protocol.errors import (
    AccountSuspendedException,
    BadRequestException,
    LimitExceededException,
    MailFromDomainNotVerifiedException,
    MessageRejected,
    NotFoundException,
    SendingPausedException,
    ServiceError,
    TooManyRequestsException,
)
from sesame.store.base import ConfigurationSet, EmailIdentity, Message, SendRecord, Store
from sesame.suppression import suppress_from

log = logging.getLogger("sesame.sending")

MAX_RECIPIENTS = 50
#: SendBulkEmail takes at most 50 entries (API reference: 50 destinations per call).
MAX_BULK_ENTRIES = 50
#: SES v2 takes messages up to 40 MB (SES developer guide, quotas).
MAX_MESSAGE_BYTES = 40 * 1024 * 1024
_TAG_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_TAG_VALUE = re.compile(r"[A-Za-z0-9_.@-]{0,255}")


def check_tags(tags: list[dict[str, str]]) -> None:
    """SES's rules and words for message tags (ses-spec.md §3.10)."""
    for tag in tags:
        name, value = tag["Name"], tag["Value"]
        if not name:
            raise BadRequestException("The tag name must be specified.")
        if len(name) > 255:
            raise BadRequestException("Tag name cannot exceed 255 characters.")
        if not _TAG_NAME.fullmatch(name):
            raise BadRequestException(
                f"Invalid tag name <{name}>: only alphanumeric ASCII characters, '_',  '-' "
                "are allowed."
            )
        if len(value) > 255:
            raise BadRequestException("Tag value cannot exceed 255 characters.")
        if not _TAG_VALUE.fullmatch(value):
            raise BadRequestException(
                f"Invalid tag value <{value}>: only alphanumeric ASCII characters, '_',  '-' , "
                "'.', '@' are allowed."
            )


def _addresses(values: list[str]) -> list[str]:
    """The bare addresses of `Name <address>` values; BadRequest for a bad one."""
    found: list[str] = []
    for value in values:
        name, address = parseaddr(value)
        if not address or not is_email_address(address):
            raise BadRequestException(f"Invalid email address <{value}>.")
        found.append(address)
    return found


#: BulkEmailEntryResult.Status for the error an entry raised (module docstring).
_BULK_STATUS: dict[type[ServiceError], str] = {
    BadRequestException: "INVALID_PARAMETER",
    MessageRejected: "MESSAGE_REJECTED",
    NotFoundException: "CONFIGURATION_SET_NOT_FOUND",
    SendingPausedException: "CONFIGURATION_SET_SENDING_PAUSED",
    MailFromDomainNotVerifiedException: "MAIL_FROM_DOMAIN_NOT_VERIFIED",
    AccountSuspendedException: "ACCOUNT_SUSPENDED",
    DailyQuotaExceeded: "ACCOUNT_DAILY_QUOTA_EXCEEDED",
    TooManyRequestsException: "ACCOUNT_THROTTLED",
    LimitExceededException: "ACCOUNT_DAILY_QUOTA_EXCEEDED",
}


def bulk_status(problem: ServiceError) -> str:
    for kind in type(problem).__mro__:
        if kind in _BULK_STATUS:
            return _BULK_STATUS[kind]
    return "FAILED"


def merged_tags(
    defaults: Sequence[Mapping[str, str]], replacements: Sequence[Mapping[str, str]]
) -> list[dict[str, str]]:
    """DefaultEmailTags with each ReplacementTag replacing the default of its name."""
    replaced = {tag["Name"] for tag in replacements}
    kept = [dict(tag) for tag in defaults if tag["Name"] not in replaced]
    return kept + [dict(tag) for tag in replacements]


def merged_headers(
    base: Sequence[Mapping[str, str]], replacements: Sequence[Mapping[str, str]]
) -> list[dict[str, str]]:
    """The Template's Headers with ReplacementHeaders applied: a header of the same
    name (case-insensitive) takes the replacement's value where it stands; other
    replacements are added at the end."""
    by_name: dict[str, list[dict[str, str]]] = {}
    for header in replacements:
        by_name.setdefault(header["Name"].lower(), []).append(dict(header))
    merged: list[dict[str, str]] = []
    placed: set[str] = set()
    for header in base:
        key = header["Name"].lower()
        if key not in by_name:
            merged.append(dict(header))
        elif key not in placed:
            merged.extend(by_name[key])
            placed.add(key)
    for key, headers in by_name.items():
        if key not in placed:
            merged.extend(headers)
    return merged


class SendingProvider:
    def __init__(
        self,
        store: Store,
        keys: Keys,
        *,
        tracking_host: str,
        tracking_host_is_listener: bool,
        on_queued: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        policy: SendingPolicy | None = None,
    ) -> None:
        self.store = store
        self.policy = policy or SendingPolicy(store, keys)
        self.keys = keys
        self.tracking_host = tracking_host
        self.tracking_host_is_listener = tracking_host_is_listener
        self.on_queued = on_queued
        self.clock = clock

    def _sender(
        self, ctx: RequestContext, address: str
    ) -> tuple[EmailIdentity, list[EmailIdentity]]:
        """(the verified identity the sender sends as, all the sender's identities,
        its address's before its domain's), each looked up once; MessageRejected
        unless one of them is verified."""
        local, _, domain = address.rpartition("@")
        names = (f"{local}@{domain.lower()}", domain.lower())
        found = [i for i in map(self.store.get_identity, names) if i is not None]
        for identity in found:
            if identity.attributes.get("VerificationStatus") == "SUCCESS":
                return identity, found
        raise MessageRejected(
            "Email address is not verified. The following identities failed the check in "
            f"region {ctx.region.upper()}: {address}"
        )

    def _configuration_set(
        self, named: str | None, identities: list[EmailIdentity]
    ) -> ConfigurationSet | None:
        name = named
        if name is None:
            # An address's own default beats its domain's (SES developer guide).
            name = next(
                (
                    i.attributes["ConfigurationSetName"]
                    for i in identities
                    if i.attributes.get("ConfigurationSetName")
                ),
                None,
            )
        if name is None:
            return None
        record = self.store.get_configuration_set(name)
        if record is None:
            raise configuration_set_missing(name)
        if not record.options.get("SendingOptions", {}).get("SendingEnabled", True):
            raise SendingPausedException(f"Sending is paused for configuration set <{name}>.")
        return record

    @handles("SendEmail")
    def send_email(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return {"MessageId": self._send(ctx, request, operation="SendEmail")}

    @handles("SendBulkEmail")
    def send_bulk_email(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self.policy.account()
        template = request["DefaultContent"].get("Template")
        if template is None:
            raise BadRequestException("DefaultContent must contain a Template.")
        entries = request["BulkEmailEntries"]
        if not entries:
            raise BadRequestException("BulkEmailEntries must contain at least one entry.")
        if len(entries) > MAX_BULK_ENTRIES:
            raise BadRequestException(f"BulkEmailEntries count exceeds {MAX_BULK_ENTRIES}.")
        chosen = choose(self.store, ctx, template)
        defaults = template_data(template.get("TemplateData"))
        sender_value = request.get("FromEmailAddress") or ""
        if not sender_value:
            raise BadRequestException("Missing required header 'From'.")
        sender = _addresses([sender_value])[0]
        _, identities = self._sender(ctx, sender)
        default_tags = request.get("DefaultEmailTags", [])
        check_tags(default_tags)
        _addresses(request.get("ReplyToAddresses", []))
        if request.get("FeedbackForwardingEmailAddress"):
            _addresses([request["FeedbackForwardingEmailAddress"]])
        self._configuration_set(request.get("ConfigurationSetName"), identities)
        results = [
            self._bulk_entry(ctx, request, entry, chosen, defaults, default_tags)
            for entry in entries
        ]
        return {"BulkEmailEntryResults": results}

    def _bulk_entry(
        self,
        ctx: RequestContext,
        request: dict[str, Any],
        entry: dict[str, Any],
        chosen: Chosen,
        defaults: dict[str, Any],
        default_tags: list[dict[str, str]],
    ) -> dict[str, str]:
        """Send one entry as SendEmail would; its BulkEmailEntryResult, never an error."""
        template = request["DefaultContent"]["Template"]
        replacement = entry.get("ReplacementEmailContent", {}).get("ReplacementTemplate", {})
        try:
            data = defaults | template_data(replacement.get("ReplacementTemplateData"))
            single: dict[str, Any] = {
                key: request[key]
                for key in (
                    "FromEmailAddress",
                    "ReplyToAddresses",
                    "FeedbackForwardingEmailAddress",
                    "ConfigurationSetName",
                    "ConfigurationOverrides",
                )
                if key in request
            }
            single["Destination"] = entry["Destination"]
            single["EmailTags"] = merged_tags(default_tags, entry.get("ReplacementTags", []))
            single["Content"] = {
                "Template": template
                | {
                    "TemplateData": json.dumps(data),
                    "Headers": merged_headers(
                        template.get("Headers", []), entry.get("ReplacementHeaders", [])
                    ),
                }
            }
            message_id = self._send(ctx, single, operation="SendBulkEmail", chosen=chosen)
        except ServiceError as problem:
            return {"Status": bulk_status(problem), "Error": problem.message}
        except Exception:
            # One entry's fault must not lose the answers of those already accepted.
            log.exception("SendBulkEmail: an entry failed unexpectedly")
            return {"Status": "FAILED", "Error": "An internal error occurred."}
        return {"Status": "SUCCESS", "MessageId": message_id}

    def _send(
        self,
        ctx: RequestContext,
        request: dict[str, Any],
        *,
        operation: str,
        chosen: Chosen | None = None,
    ) -> str:
        """Check, build, track and queue one message (SendEmail's request shape);
        its MessageId. `chosen` is a template already looked up for this send."""
        content = request["Content"]
        kinds = [kind for kind in ("Simple", "Raw", "Template") if kind in content]
        if len(kinds) != 1:
            raise BadRequestException("Exactly one of Simple, Raw or Template content is required.")
        account = self.policy.account()
        now = self.clock()
        destination = request.get("Destination", {})
        raw: EmailMessage | None = None
        header_set: str | None = None
        header_tags: list[tuple[str, str]] = []
        submitted: tuple[list[dict[str, str]], bool] | None = None
        template: dict[str, Any] | None = None
        data: dict[str, Any] = {}
        if kinds[0] == "Raw":
            try:
                raw = mime.parse_raw(content["Raw"]["Data"])
                # Event records show a raw message's headers as submitted, the
                # X-SES-* ones included (SES developer guide, event examples).
                submitted = mime.header_list(raw)
                header_set, header_tags = mime.ses_headers(raw)
            except ValueError as problem:
                raise BadRequestException(f"The raw message is not valid: {problem}") from None
        elif kinds[0] == "Template":
            template = content["Template"]
            chosen = chosen or choose(self.store, ctx, template)
            data = template_data(template.get("TemplateData"))
        sender_value = request.get("FromEmailAddress") or (raw and raw.get("From")) or ""
        if not sender_value:
            raise BadRequestException("Missing required header 'From'.")
        sender = _addresses([str(sender_value)])[0]
        verified, identities = self._sender(ctx, sender)

        to = list(destination.get("ToAddresses", []))
        cc = list(destination.get("CcAddresses", []))
        bcc = list(destination.get("BccAddresses", []))
        if raw is not None and not (to or cc or bcc):
            # A Raw message without Destination goes to its own To, Cc and Bcc.
            bcc = mime.recipients_of(raw)
        recipients = _addresses(to + cc + bcc)
        if not recipients:
            raise BadRequestException("At least one recipient address is required.")
        if len(recipients) > MAX_RECIPIENTS:
            raise BadRequestException(f"Recipient count exceeds {MAX_RECIPIENTS}.")
        reply_to = request.get("ReplyToAddresses", [])
        _addresses(reply_to)
        # The envelope sender (MAIL FROM), where bounces go: a bare address, so a
        # display name or a malformed value is refused here rather than by the relay.
        feedback = request.get("FeedbackForwardingEmailAddress")
        envelope_from = _addresses([feedback])[0] if feedback else sender

        tags = request.get("EmailTags")
        if tags is None:
            # Header tags count only when the call names none (SES developer guide).
            tags = [{"Name": name, "Value": value} for name, value in header_tags]
        check_tags(tags)
        configuration_set = self._configuration_set(
            request.get("ConfigurationSetName") or header_set, identities
        )
        set_name = configuration_set.name if configuration_set else None
        listing = self.policy.list_management(request.get("ListManagementOptions"))
        auto_tags: dict[str, list[str]] = {
            "ses:operation": [operation],
            "ses:source-ip": [ctx.source_ip],
            "ses:from-domain": [domain_of(sender)],
            "ses:caller-identity": [ctx.access_key_id],
        }
        if set_name:
            auto_tags["ses:configuration-set"] = [set_name]
        for tag in tags:
            auto_tags.setdefault(tag["Name"], []).append(tag["Value"])

        message_id = mime.new_message_id(datetime.fromtimestamp(now, UTC), ctx.region)
        describe = functools.partial(
            records.mail_object,
            message_id=message_id,
            timestamp=now,
            source=str(sender_value),
            source_arn=ctx.arn(f"identity/{verified.name}"),
            account_id=ctx.account_id,
            destination=recipients,
            tags=auto_tags,
        )
        mail_domain = domain_of(sender)
        unsubscribe_url = self.policy.unsubscribe_url(message_id, listing, recipients)
        if raw is not None:
            message = raw
            mime.ensure_headers(
                message,
                message_id=message_id,
                mail_domain=mail_domain,
                date=datetime.fromtimestamp(now, UTC),
            )
        else:
            simple = content.get("Simple")
            if template is not None and chosen is not None:
                try:
                    simple = render_simple(
                        chosen,
                        data,
                        headers=template.get("Headers") or [],
                        attachments=template.get("Attachments") or [],
                    )
                except RenderingError as problem:
                    mail = describe(headers=None, headers_truncated=False, common_headers=None)
                    failure = records.rendering_failure(
                        mail,
                        happened=now,
                        template_name=chosen.name,
                        error_message=problem.message,
                        configuration_set=set_name,
                    )
                    self.store.add_events([failure])
                    self.on_queued()
                    return message_id
            try:
                message = mime.build_simple(
                    self.policy.fill_placeholder(simple or {}, unsubscribe_url),
                    from_address=str(sender_value),
                    to=to,
                    cc=cc,
                    reply_to=reply_to,
                    message_id=message_id,
                    mail_domain=mail_domain,
                    date=datetime.fromtimestamp(now, UTC),
                )
            except ValueError as problem:
                raise BadRequestException(str(problem)) from None
        links, tracked = self._track(configuration_set, request, message, message_id, account)
        self.policy.add_unsubscribe(message, unsubscribe_url)
        content_bytes = message.as_bytes()
        if len(content_bytes) > MAX_MESSAGE_BYTES:
            raise MessageRejected("Message length is more than 40 megabytes.")

        # Described from the bytes just flattened: the same text, folded only once.
        headers, truncated = submitted or mime.header_list(content_bytes)
        mail = describe(
            headers=headers,
            headers_truncated=truncated,
            common_headers=mime.common_headers(content_bytes, message_id=message_id),
        )
        set_options = configuration_set.options if configuration_set else None
        skipped = self.policy.skipped(account, set_options, listing, recipients)
        deliver_to = [r for r in recipients if r not in skipped]
        # The mailbox simulator answers its recipients now; the relay gets the others.
        simulated, relay_to = simulator.split(deliver_to)
        stored = Message(
            message_id,
            now,
            set_name,
            envelope_from,
            deliver_to,
            mail,
            content_bytes,
            [{"url": link.url, "tags": link.tags} for link in links],
        )
        answered = simulator.events(mail, simulated, happened=now, configuration_set=set_name)
        events = [
            records.send(mail, happened=now, configuration_set=set_name),
            *self.policy.bounces(mail, skipped, happened=now, configuration_set=set_name),
            *answered,
        ]
        opens, clicks = (tracked.opens, tracked.clicks) if tracked else (False, False)
        sims = sum(simulator.is_simulator(r) for r in recipients)
        self.policy.reserve(SendRecord(message_id, now, len(recipients), opens, clicks, sims))
        # As the worker does with a relay's answers (it adds no simulator address).
        suppress_from(self.store, answered)
        self.store.accept_message(stored, events, due=now if relay_to else None, relay_to=relay_to)
        self.on_queued()
        return message_id

    def _track(
        self,
        configuration_set: ConfigurationSet | None,
        request: dict[str, Any],
        message: EmailMessage,
        message_id: str,
        account: dict[str, Any],
    ) -> tuple[list[tracking.Link], Tracking | None]:
        """Rewrite the HTML parts as the set's tracking asks; the links now tracked."""
        account_engagement = engagement_enabled(account)
        if configuration_set is None and not account_engagement:
            return [], None
        destinations = (
            self.store.list_event_destinations(configuration_set.name) or []
            if configuration_set
            else []
        )
        decision = decide(
            configuration_set.options if configuration_set else {},
            [d.definition for d in destinations],
            request.get("ConfigurationOverrides", {}).get("Tracking"),
            default_host=self.tracking_host,
            default_host_is_listener=self.tracking_host_is_listener,
            account_engagement=account_engagement,
        )
        if decision is None:
            return [], None
        keyring = self.keys.keyring()
        click_url = decision.click_url(keyring, message_id) if decision.clicks else None
        open_url = decision.pixel_url(keyring, message_id) if decision.opens else None
        links: list[tracking.Link] = []

        def rewrite(html: str) -> str:
            # Link indexes run on across HTML parts, so every link of the message is unique.
            done = tracking.rewrite(
                html, click_url=click_url, open_url=open_url, first_index=len(links)
            )
            links.extend(done.links)
            return done.html

        mime.transform_html(message, rewrite)
        return links, decision
