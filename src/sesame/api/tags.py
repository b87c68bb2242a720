"""TagResource, UntagResource, ListTagsForResource, and the tag rules.

Tags live on their resource's record. An ARN names the resource:
`arn:aws:ses:<region>:<account>:configuration-set/<name>`, `.../identity/<name>`,
`.../template/<name>` or `.../contact-list/<name>`;
an ARN of another account, region or resource type is a resource that does
not exist here.
"""

from __future__ import annotations

from typing import Any

from sesame.api.context import RequestContext
from sesame.api.dispatch import handles
from sesame.protocol.errors import BadRequestException, NotFoundException
from sesame.store.base import Store

MAX_TAGS = 50
_KINDS = ("configuration-set", "identity", "template", "contact-list")


def check_tags(tags: list[dict[str, str]]) -> None:
    """SES's tag limits: 50 per resource, each key once (lengths are in the model)."""
    if len(tags) > MAX_TAGS:
        raise BadRequestException(f"A resource can have at most {MAX_TAGS} tags.")
    keys = [tag["Key"] for tag in tags]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise BadRequestException(f"Duplicate tag keys: {', '.join(duplicates)}.")
    reserved = [key for key in keys if key.lower().startswith("aws:")]
    if reserved:
        raise BadRequestException(f"Tag keys starting with 'aws:' are reserved: {reserved[0]}.")


class TagsProvider:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _resource(self, ctx: RequestContext, arn: str) -> tuple[str, str]:
        prefix = f"arn:aws:ses:{ctx.region}:{ctx.account_id}:"
        kind, _, name = arn.removeprefix(prefix).partition("/")
        if not arn.startswith(prefix) or kind not in _KINDS or not name:
            raise NotFoundException(f"Resource not found: {arn}")
        return kind, name

    def _tags(self, ctx: RequestContext, arn: str) -> list[dict[str, str]]:
        kind, name = self._resource(ctx, arn)
        getters = {
            "configuration-set": self.store.get_configuration_set,
            "identity": self.store.get_identity,
            "template": self.store.get_email_template,
            "contact-list": self.store.get_contact_list,
        }
        record = getters[kind](name)
        if record is None:
            raise NotFoundException(f"Resource not found: {arn}")
        return list(record.tags)

    def _save(self, ctx: RequestContext, arn: str, tags: list[dict[str, str]]) -> None:
        check_tags(tags)
        kind, name = self._resource(ctx, arn)
        if kind == "configuration-set":
            found = self.store.update_configuration_set(name, tags=tags)
        elif kind == "identity":
            found = self.store.update_identity(name, tags=tags)
        elif kind == "contact-list":
            found = self.store.set_contact_list_tags(name, tags)
        else:
            found = self.store.update_email_template(name, tags=tags)
        if not found:
            raise NotFoundException(f"Resource not found: {arn}")

    @handles("TagResource")
    def tag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["ResourceArn"]
        merged = {tag["Key"]: tag for tag in self._tags(ctx, arn)}
        for tag in request["Tags"]:
            merged[tag["Key"]] = {"Key": tag["Key"], "Value": tag["Value"]}
        self._save(ctx, arn, list(merged.values()))
        return {}

    @handles("UntagResource")
    def untag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["ResourceArn"]
        drop = set(request["TagKeys"])
        self._save(ctx, arn, [tag for tag in self._tags(ctx, arn) if tag["Key"] not in drop])
        return {}

    @handles("ListTagsForResource")
    def list_tags_for_resource(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return {"Tags": self._tags(ctx, request["ResourceArn"])}
