"""Configuration sets: create, read, list, update, delete, and every Put*Options.

Each option group is one replaceable block (ses-spec.md §3.8): a PUT replaces
the whole block, and members left out take their "off" value rather than
keeping the old one. Defaults of a new set follow what SES answers for a set
created through v2: sending enabled, reputation metrics enabled, TLS optional.
"""

from __future__ import annotations

import time
from typing import Any

from sesame.api.context import RequestContext
from sesame.api.dispatch import handles
from sesame.api.names import (
    check_configuration_set_name,
    configuration_set_missing,
    domain_of,
    is_host_name,
)
from sesame.api.paging import decode_token, encode_token, page_size
from sesame.api.tags import check_tags
from sesame.protocol.errors import (
    AlreadyExistsException,
    BadRequestException,
    LimitExceededException,
)
from sesame.store.base import ConfigurationSet, Duplicate, LimitReached, Store

#: SES's quota of configuration sets per account and region (not adjustable).
MAX_CONFIGURATION_SETS = 10_000
DEFAULT_PAGE_SIZE = 50
NAME_FILTER = "CONFIGURATION_SET_NAME_CONTAINS"

#: Blocks a configuration set can carry, in GetConfigurationSet's member order.
BLOCKS = (
    "TrackingOptions",
    "DeliveryOptions",
    "ReputationOptions",
    "SendingOptions",
    "SuppressionOptions",
    "VdmOptions",
    "ArchivingOptions",
    "MessageSecurityOptions",
)


def delivery_block(given: dict[str, Any]) -> dict[str, Any]:
    # TlsPolicy defaults to OPTIONAL (API reference, DeliveryOptions).
    block = {"TlsPolicy": "OPTIONAL"} | given
    pool = block.get("SendingPoolName")
    if pool is not None:
        # Dedicated IP pools are not implemented, so no pool exists to name.
        raise BadRequestException(f"SendingPool <{pool}> doesn't exist")
    return block


def reputation_block(given: dict[str, Any]) -> dict[str, Any]:
    return {"ReputationMetricsEnabled": bool(given.get("ReputationMetricsEnabled", False))}


def sending_block(given: dict[str, Any]) -> dict[str, Any]:
    return {"SendingEnabled": bool(given.get("SendingEnabled", False))}


def suppression_block(given: dict[str, Any]) -> dict[str, Any]:
    # No reasons means "suppress nothing for this set" (SES developer guide,
    # configuration-set-level suppression); SES itself answers a 500 for a
    # block without the list, a fault not worth copying.
    return {"SuppressedReasons": list(dict.fromkeys(given.get("SuppressedReasons", [])))} | {
        key: value for key, value in given.items() if key != "SuppressedReasons"
    }


class ConfigurationSetsProvider:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _require(self, name: str) -> ConfigurationSet:
        record = self.store.get_configuration_set(name)
        if record is None:
            raise configuration_set_missing(name)
        return record

    def _put(self, name: str, block: str, value: dict[str, Any] | None) -> dict[str, Any]:
        if not self.store.update_configuration_set(name, options={block: value}):
            raise configuration_set_missing(name)
        return {}

    def check_tracking(self, domain: str | None, policy: str | None) -> dict[str, Any] | None:
        """Validate tracking options (ses-spec.md §4.3); None means "no options"."""
        if domain is None and policy is None:
            return None
        if domain is None or not domain.strip():
            raise BadRequestException("CustomRedirectDomain must be specified.")
        if not is_host_name(domain):
            raise BadRequestException(
                f"Custom redirect domain <{domain}> is not a valid domain or subdomain."
            )
        if not self._verified_domain(domain):
            raise BadRequestException(f"Domain <{domain}> is not verified under this account.")
        block = {"CustomRedirectDomain": domain}
        if policy is not None:
            block["HttpsPolicy"] = policy
        return block

    def _verified_domain(self, domain: str) -> bool:
        # A verified domain identity covers its subdomains: proving control of a
        # domain's DNS proves control of every name under it, and the SES console
        # offers "a subdomain of a verified domain" for tracking (ses-spec.md §4.3).
        labels = domain_of(domain).split(".")
        for start in range(len(labels) - 1):
            identity = self.store.get_identity(".".join(labels[start:]))
            if (
                identity is not None
                and identity.kind == "DOMAIN"
                and identity.attributes.get("VerificationStatus") == "SUCCESS"
            ):
                return True
        return False

    @handles("CreateConfigurationSet")
    def create_configuration_set(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["ConfigurationSetName"]
        check_configuration_set_name(name)
        tags = request.get("Tags", [])
        check_tags(tags)
        options: dict[str, Any] = {
            "DeliveryOptions": delivery_block(request.get("DeliveryOptions", {})),
            "ReputationOptions": {"ReputationMetricsEnabled": True},
            "SendingOptions": {"SendingEnabled": True},
        }
        if "ReputationOptions" in request:
            options["ReputationOptions"] = reputation_block(request["ReputationOptions"])
        if "SendingOptions" in request:
            options["SendingOptions"] = sending_block(request["SendingOptions"])
        if "SuppressionOptions" in request:
            options["SuppressionOptions"] = suppression_block(request["SuppressionOptions"])
        tracking = request.get("TrackingOptions")
        if tracking is not None:
            options["TrackingOptions"] = self.check_tracking(
                tracking.get("CustomRedirectDomain"), tracking.get("HttpsPolicy")
            )
        for block in ("VdmOptions", "ArchivingOptions", "MessageSecurityOptions"):
            if block in request:
                options[block] = request[block]
        record = ConfigurationSet(name, options, tags, time.time())
        try:
            self.store.create_configuration_set(record, limit=MAX_CONFIGURATION_SETS)
        except Duplicate:
            raise AlreadyExistsException(f"Configuration set <{name}> already exists.") from None
        except LimitReached:
            raise LimitExceededException(
                f"Maximum number of configuration sets ({MAX_CONFIGURATION_SETS}) reached."
            ) from None
        return {}

    @handles("GetConfigurationSet")
    def get_configuration_set(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        record = self._require(request["ConfigurationSetName"])
        answer: dict[str, Any] = {"ConfigurationSetName": record.name}
        for block in BLOCKS:
            if block in record.options:
                answer[block] = record.options[block]
        answer["Tags"] = record.tags
        return answer

    @handles("ListConfigurationSets")
    def list_configuration_sets(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        contains = request.get("Filter", {}).get(NAME_FILTER)
        if contains is not None and not 3 <= len(contains) <= 64:
            raise BadRequestException(f"{NAME_FILTER} must be between 3 and 64 characters")
        limit = page_size(request.get("PageSize"), DEFAULT_PAGE_SIZE)
        scope = contains or ""
        after = decode_token(request.get("NextToken"), scope)
        names = self.store.list_configuration_sets(
            after=after, limit=limit + 1, name_contains=contains
        )
        answer: dict[str, Any] = {"ConfigurationSets": names[:limit]}
        if len(names) > limit:
            answer["NextToken"] = encode_token(names[limit - 1], scope)
        return answer

    @handles("UpdateConfigurationSet")
    def update_configuration_set(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        # A partial update: only the members present change.
        name = request["ConfigurationSetName"]
        changes = {k: v for k, v in request.items() if k in BLOCKS}
        if not self.store.update_configuration_set(name, options=changes):
            raise configuration_set_missing(name)
        return {}

    @handles("DeleteConfigurationSet")
    def delete_configuration_set(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["ConfigurationSetName"]
        if not self.store.delete_configuration_set(name):
            raise configuration_set_missing(name)
        return {}

    @handles("PutConfigurationSetTrackingOptions")
    def put_tracking_options(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ConfigurationSetName"]
        # The set is looked up first: a missing set is a 404 whatever the body says.
        self._require(name)
        block = self.check_tracking(request.get("CustomRedirectDomain"), request.get("HttpsPolicy"))
        return self._put(name, "TrackingOptions", block)

    @handles("PutConfigurationSetDeliveryOptions")
    def put_delivery_options(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.pop("ConfigurationSetName")
        self._require(name)
        return self._put(name, "DeliveryOptions", delivery_block(request))

    @handles("PutConfigurationSetReputationOptions")
    def put_reputation_options(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._put(
            request["ConfigurationSetName"], "ReputationOptions", reputation_block(request)
        )

    @handles("PutConfigurationSetSendingOptions")
    def put_sending_options(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._put(request["ConfigurationSetName"], "SendingOptions", sending_block(request))

    @handles("PutConfigurationSetSuppressionOptions")
    def put_suppression_options(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request.pop("ConfigurationSetName")
        return self._put(name, "SuppressionOptions", suppression_block(request))

    @handles("PutConfigurationSetVdmOptions")
    def put_vdm_options(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._put(request["ConfigurationSetName"], "VdmOptions", request.get("VdmOptions"))

    @handles("PutConfigurationSetArchivingOptions")
    def put_archiving_options(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request.get("ArchiveArn")
        block = None if arn is None else {"ArchiveArn": arn}
        return self._put(request["ConfigurationSetName"], "ArchivingOptions", block)
