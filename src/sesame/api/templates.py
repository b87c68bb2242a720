"""Email templates: create, read, list, update, delete and test-render them; and
the template half of sending (choose a template, render it into Simple content).

SES behaviour copied here (SES v2 API reference; SES developer guide, "Using
templates to send personalized email"; ses-spec.md §5.2, §5.6):

- Names: ASCII letters, digits, `_` and `-`, up to 64 characters (the model only
  says "at least 1"; the SES API reference for `Template.TemplateName` states the
  rule). Names are case-sensitive. A name that could never exist is simply not
  found by Get/Update/Delete/TestRender.
- Messages: `Template <name> already exists.` (AlreadyExistsException, 400) and
  `Template <name> does not exist.` (NotFoundException, 404) — SES's own wording
  for templates, which names the template without angle brackets.
- Content is checked when it is stored (Create, Update): every part must compile
  (`render.check_template`; the BadRequestException carries its message), more
  than one `{{ses:openTracker}}` in the HTML part is a 400 ("in a template, more
  than one placeholder makes the call fail", developer guide, open tracking), and
  a template holds at most 500 KB (SES quotas: "each template can be up to 500 KB
  in size, including both the text and HTML parts").
- At most 20,000 templates per account and region (SES quotas) →
  LimitExceededException.
- ListEmailTemplates pages through names in ascending order; 10 per page unless
  PageSize says otherwise (API reference: "the next 10 email templates"), at most
  100 (the reference's range for PageSize).
- Tags given at creation are kept and returned by GetEmailTemplate.
- TestRenderEmailTemplate answers the MIME message SES would send, built like
  Simple content: Date, Message-ID, Subject, MIME-Version and the body parts. It
  has no From or To header, since the call names no sender and no recipient. A
  template that does not render (a missing attribute, bad TemplateData) is a
  BadRequestException here: showing such errors is what the call is for.

Sending with a template (`choose`, `render_simple`, used by sending.py):

- `Template` names exactly one of `TemplateName`, `TemplateArn`
  (`arn:aws:ses:<region>:<account>:template/<name>`) or inline
  `TemplateContent`; an ARN of another account, region or resource type names a
  template that does not exist here (as in tags.py).
- Inline content must compile (a 400 otherwise). SES documents that inline
  templates support "only simple substitutions", without saying which constructs
  it refuses or with what words; Sesame renders inline content with the same
  Handlebars engine as stored templates, a superset, rather than guess.
  The one-`{{ses:openTracker}}` rule and the size limit apply to stored
  templates only, as SES states them.
- `TemplateData` defaults to `{}`; text that is not a JSON object is a 400
  (SES checks the data when it accepts the call).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sesame.api.context import RequestContext
from sesame.api.dispatch import handles
from sesame.api.paging import decode_token, encode_token
from sesame.api.tags import check_tags
from sesame.mail import mime
from sesame.mail.render import (
    RenderingError,
    check_template,
    parse_template_data,
    render_template,
)
from sesame.protocol.errors import (
    AlreadyExistsException,
    BadRequestException,
    LimitExceededException,
    NotFoundException,
)
from sesame.store.base import Duplicate, EmailTemplate, LimitReached, Store

#: SES's quota of email templates per account and region.
MAX_TEMPLATES = 20_000
#: SES's limit on one template: subject, text and HTML together.
MAX_TEMPLATE_BYTES = 500 * 1024
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
#: The members of EmailTemplateContent, in the model's order.
PARTS = ("Subject", "Text", "Html")

_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# `{{ses:openTracker}}` as the renderer reads it: any mustache form whose name it is.
_OPEN_TRACKER = re.compile(r"\{\{\{?[~&]?\s*ses:openTracker\s*~?\}?\}\}")
#: The domain of the Message-ID of a rendered preview, which has no sender.
PREVIEW_MAIL_DOMAIN = "email.amazonses.com"


def template_missing(name: str) -> NotFoundException:
    return NotFoundException(f"Template {name} does not exist.")


def check_template_name(name: str) -> None:
    if not _TEMPLATE_NAME.fullmatch(name):
        raise BadRequestException(
            f"Invalid template name <{name}>: only alphanumeric ASCII characters, '_', "
            "and '-' are allowed, up to 64 characters."
        )


def content_of(given: Mapping[str, Any]) -> dict[str, str]:
    """The EmailTemplateContent members that are present."""
    return {part: given[part] for part in PARTS if given.get(part) is not None}


def check_syntax(content: Mapping[str, str]) -> None:
    """Every part compiles, else BadRequestException with the renderer's message."""
    try:
        check_template(content.get("Subject"), content.get("Text"), content.get("Html"))
    except RenderingError as problem:
        raise BadRequestException(problem.message) from None


def check_stored_content(content: Mapping[str, str]) -> None:
    """The rules for a template SES stores (Create, Update)."""
    size = sum(len(value.encode("utf-8", "surrogatepass")) for value in content.values())
    if size > MAX_TEMPLATE_BYTES:
        raise BadRequestException(
            f"Template size ({size} bytes) exceeds the limit of {MAX_TEMPLATE_BYTES} bytes."
        )
    check_syntax(content)
    if len(_OPEN_TRACKER.findall(content.get("Html", ""))) > 1:
        raise BadRequestException(
            "A template can contain at most one {{ses:openTracker}} placeholder."
        )


def template_data(text: str | None) -> dict[str, Any]:
    """`TemplateData` (JSON text, `{}` when absent) as an object, else BadRequest."""
    try:
        return parse_template_data("{}" if text is None else text)
    except RenderingError as problem:
        raise BadRequestException(problem.message) from None


@dataclass(frozen=True, slots=True)
class Chosen:
    """The template a send uses: its name ("" for inline content) and content."""

    name: str
    content: dict[str, str]


def choose(store: Store, ctx: RequestContext, spec: Mapping[str, Any]) -> Chosen:
    """The template a `Template` member names; NotFound or BadRequest otherwise."""
    given = [key for key in ("TemplateName", "TemplateArn", "TemplateContent") if key in spec]
    if len(given) != 1:
        raise BadRequestException(
            "Exactly one of TemplateName, TemplateArn or TemplateContent is required."
        )
    if given[0] == "TemplateContent":
        content = content_of(spec["TemplateContent"])
        check_syntax(content)
        return Chosen("", content)
    if given[0] == "TemplateName":
        name = spec["TemplateName"]
    else:
        arn: str = spec["TemplateArn"]
        prefix = ctx.arn("template/")
        name = arn.removeprefix(prefix)
        if not arn.startswith(prefix) or not name:
            raise template_missing(arn)
    record = store.get_email_template(name)
    if record is None:
        raise template_missing(name)
    return Chosen(record.name, dict(record.content))


def render_simple(
    chosen: Chosen,
    data: Mapping[str, Any],
    *,
    headers: Sequence[Mapping[str, str]] = (),
    attachments: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Render a template into a `Content.Simple` dict for `mime.build_simple`.

    Raises `RenderingError` when the data does not fit the template (SES's
    Rendering Failure). Every part is UTF-8; a template without a subject makes a
    message with an empty one, and one without text and HTML (and no
    attachments) an empty text/plain body.
    """
    content = chosen.content
    subject, text, html = render_template(
        content.get("Subject"), content.get("Text"), content.get("Html"), json.dumps(data)
    )
    body: dict[str, Any] = {}
    if text is not None:
        body["Text"] = {"Data": text, "Charset": "UTF-8"}
    if html is not None:
        body["Html"] = {"Data": html, "Charset": "UTF-8"}
    if not body and not attachments:
        # Every part of a template is optional (model); a message needs a body.
        body["Text"] = {"Data": "", "Charset": "UTF-8"}
    simple: dict[str, Any] = {"Subject": {"Data": subject or "", "Charset": "UTF-8"}, "Body": body}
    if headers:
        simple["Headers"] = [dict(header) for header in headers]
    if attachments:
        simple["Attachments"] = [dict(attachment) for attachment in attachments]
    return simple


class TemplatesProvider:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def _require(self, name: str) -> EmailTemplate:
        record = self.store.get_email_template(name)
        if record is None:
            raise template_missing(name)
        return record

    @handles("CreateEmailTemplate")
    def create_email_template(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["TemplateName"]
        check_template_name(name)
        content = content_of(request["TemplateContent"])
        check_stored_content(content)
        tags = request.get("Tags", [])
        check_tags(tags)
        try:
            self.store.create_email_template(
                EmailTemplate(name, content, tags, self.clock()), limit=MAX_TEMPLATES
            )
        except Duplicate:
            raise AlreadyExistsException(f"Template {name} already exists.") from None
        except LimitReached:
            raise LimitExceededException(
                f"Maximum number of email templates ({MAX_TEMPLATES}) reached."
            ) from None
        return {}

    @handles("GetEmailTemplate")
    def get_email_template(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        record = self._require(request["TemplateName"])
        return {
            "TemplateName": record.name,
            "TemplateContent": dict(record.content),
            "Tags": list(record.tags),
        }

    @handles("ListEmailTemplates")
    def list_email_templates(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        limit = request.get("PageSize", DEFAULT_PAGE_SIZE)
        # paging.page_size's message names its own maximum (1000); this one is 100.
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise BadRequestException(f"The page size must be between 1 and {MAX_PAGE_SIZE}")
        after = decode_token(request.get("NextToken"))
        records = self.store.list_email_templates(after=after, limit=limit + 1)
        answer: dict[str, Any] = {
            "TemplatesMetadata": [
                {"TemplateName": record.name, "CreatedTimestamp": record.created}
                for record in records[:limit]
            ]
        }
        if len(records) > limit:
            answer["NextToken"] = encode_token(records[limit - 1].name)
        return answer

    @handles("UpdateEmailTemplate")
    def update_email_template(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["TemplateName"]
        # A missing template is a 404 whatever the new content is.
        self._require(name)
        content = content_of(request["TemplateContent"])
        check_stored_content(content)
        if not self.store.update_email_template(name, content):
            raise template_missing(name)
        return {}

    @handles("DeleteEmailTemplate")
    def delete_email_template(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["TemplateName"]
        if not self.store.delete_email_template(name):
            raise template_missing(name)
        return {}

    @handles("TestRenderEmailTemplate")
    def test_render_email_template(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        record = self._require(request["TemplateName"])
        data = template_data(request["TemplateData"])
        try:
            simple = render_simple(Chosen(record.name, dict(record.content)), data)
        except RenderingError as problem:
            raise BadRequestException(problem.message) from None
        now = datetime.fromtimestamp(self.clock(), UTC)
        try:
            message = mime.build_simple(
                simple,
                # build_simple needs a sender; the preview has none, so its From goes.
                from_address=f"preview@{PREVIEW_MAIL_DOMAIN}",
                to=[],
                cc=[],
                reply_to=[],
                message_id=mime.new_message_id(now, ctx.region),
                mail_domain=PREVIEW_MAIL_DOMAIN,
                date=now,
            )
        except ValueError as problem:
            raise BadRequestException(str(problem)) from None
        del message["From"]
        return {"RenderedTemplate": mime.to_bytes(message).decode("utf-8", "replace")}
