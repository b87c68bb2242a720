"""Email identities: an address or a domain that may send.

With `--identity-verification auto` an identity is verified the moment it is
created, which is what local development wants. With `dns` it starts PENDING;
checking the DNS records that verify it comes with a later issue, so until
then a `dns` identity stays PENDING.

Domain identities are kept in lower case (DNS names are case-insensitive);
address identities are kept as given.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from sesame.api.context import RequestContext
from sesame.api.dispatch import handles
from sesame.api.names import configuration_set_missing, is_email_address, is_host_name
from sesame.api.paging import decode_token, encode_token, page_size
from sesame.api.tags import check_tags
from sesame.protocol.errors import (
    AlreadyExistsException,
    BadRequestException,
    NotFoundException,
)
from sesame.store.base import Duplicate, EmailIdentity, Store

DEFAULT_PAGE_SIZE = 100


def normalise(identity: str) -> tuple[str, str]:
    """(stored name, IdentityType) of an identity as given on the wire."""
    if "@" in identity:
        if not is_email_address(identity):
            raise BadRequestException(f"Invalid email address <{identity}>.")
        local, _, domain = identity.rpartition("@")
        return f"{local}@{domain.lower()}", "EMAIL_ADDRESS"
    if not is_host_name(identity):
        raise BadRequestException(f"Invalid domain name <{identity}>.")
    return identity.lower().rstrip("."), "DOMAIN"


def _missing(name: str) -> NotFoundException:
    return NotFoundException(f"Email identity <{name}> does not exist.")


class IdentitiesProvider:
    def __init__(self, store: Store, verification: str) -> None:
        self.store = store
        self.verification = verification

    def _dkim(self, kind: str, signing: dict[str, Any] | None, now: float) -> dict[str, Any]:
        status = "SUCCESS" if self.verification == "auto" else "PENDING"
        if kind != "DOMAIN":
            # An address identity signs with its domain's keys, if any.
            return {"SigningEnabled": False, "Status": "NOT_STARTED", "Tokens": []}
        if signing and signing.get("DomainSigningSelector"):
            # Bring-your-own DKIM: the selector is the one token.
            return {
                "SigningEnabled": True,
                "Status": status,
                "Tokens": [signing["DomainSigningSelector"]],
                "SigningAttributesOrigin": "EXTERNAL",
            }
        length = (signing or {}).get("NextSigningKeyLength", "RSA_2048_BIT")
        return {
            "SigningEnabled": True,
            "Status": status,
            # Easy DKIM publishes three CNAME selectors per domain.
            "Tokens": [secrets.token_hex(16) for _ in range(3)],
            "SigningAttributesOrigin": "AWS_SES",
            "NextSigningKeyLength": length,
            "CurrentSigningKeyLength": length,
            "LastKeyGenerationTimestamp": now,
        }

    @handles("CreateEmailIdentity")
    def create_email_identity(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, kind = normalise(request["EmailIdentity"])
        tags = request.get("Tags", [])
        check_tags(tags)
        set_name = request.get("ConfigurationSetName")
        if set_name is not None and self.store.get_configuration_set(set_name) is None:
            raise configuration_set_missing(set_name)
        now = time.time()
        verified = self.verification == "auto"
        attributes: dict[str, Any] = {
            "VerificationStatus": "SUCCESS" if verified else "PENDING",
            "DkimAttributes": self._dkim(kind, request.get("DkimSigningAttributes"), now),
            "VerificationInfo": {"LastCheckedTimestamp": now}
            | ({"LastSuccessTimestamp": now} if verified else {}),
        }
        if set_name is not None:
            attributes["ConfigurationSetName"] = set_name
        try:
            self.store.create_identity(EmailIdentity(name, kind, attributes, tags, now))
        except Duplicate:
            raise AlreadyExistsException(f"Email identity <{name}> already exists.") from None
        return {
            "IdentityType": kind,
            "VerifiedForSendingStatus": verified,
            "DkimAttributes": attributes["DkimAttributes"],
        }

    def _get(self, given: str) -> EmailIdentity:
        try:
            name, _ = normalise(given)
        except BadRequestException:
            raise _missing(given) from None
        identity = self.store.get_identity(name)
        if identity is None:
            raise _missing(given)
        return identity

    @handles("GetEmailIdentity")
    def get_email_identity(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        identity = self._get(request["EmailIdentity"])
        attributes = identity.attributes
        answer: dict[str, Any] = {
            "IdentityType": identity.kind,
            "FeedbackForwardingStatus": True,
            "VerifiedForSendingStatus": attributes["VerificationStatus"] == "SUCCESS",
            "DkimAttributes": attributes["DkimAttributes"],
            "Policies": {},
            "Tags": identity.tags,
            "VerificationStatus": attributes["VerificationStatus"],
            "VerificationInfo": attributes["VerificationInfo"],
        }
        if "ConfigurationSetName" in attributes:
            answer["ConfigurationSetName"] = attributes["ConfigurationSetName"]
        return answer

    @handles("ListEmailIdentities")
    def list_email_identities(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        limit = page_size(request.get("PageSize"), DEFAULT_PAGE_SIZE)
        filters = request.get("Filter", {})
        scope = "&".join(f"{k}={v}" for k, v in sorted(filters.items()))
        after = decode_token(request.get("NextToken"), scope)
        found: list[dict[str, Any]] = []
        # Filters are applied while scanning in name order, so paging stays stable.
        while len(found) <= limit:
            batch = self.store.list_identities(after=after, limit=500)
            if not batch:
                break
            for identity in batch:
                entry = {
                    "IdentityType": identity.kind,
                    "IdentityName": identity.name,
                    "SendingEnabled": True,
                    "VerificationStatus": identity.attributes["VerificationStatus"],
                }
                if _matches(entry, filters):
                    found.append(entry)
                    if len(found) > limit:
                        break
            after = batch[-1].name
        answer: dict[str, Any] = {"EmailIdentities": found[:limit]}
        if len(found) > limit:
            answer["NextToken"] = encode_token(found[limit - 1]["IdentityName"], scope)
        return answer

    @handles("DeleteEmailIdentity")
    def delete_email_identity(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        identity = self._get(request["EmailIdentity"])
        if not self.store.delete_identity(identity.name):
            raise _missing(request["EmailIdentity"])
        return {}

    @handles("PutEmailIdentityConfigurationSetAttributes")
    def put_configuration_set_attributes(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        identity = self._get(request["EmailIdentity"])
        set_name = request.get("ConfigurationSetName")
        if set_name is not None and self.store.get_configuration_set(set_name) is None:
            raise configuration_set_missing(set_name)
        # Leaving the name out removes the identity's default configuration set.
        if not self.store.update_identity(
            identity.name, attributes={"ConfigurationSetName": set_name}
        ):
            raise _missing(request["EmailIdentity"])
        return {}


def _matches(entry: dict[str, Any], filters: dict[str, str]) -> bool:
    contains = filters.get("IDENTITY_NAME_CONTAINS")
    if contains is not None and contains.lower() not in entry["IdentityName"].lower():
        return False
    kind = filters.get("IDENTITY_TYPE")
    if kind is not None and kind != entry["IdentityType"]:
        return False
    status = filters.get("VERIFICATION_STATUS")
    return status is None or status == entry["VerificationStatus"]
