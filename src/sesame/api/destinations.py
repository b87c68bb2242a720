"""Event destinations of a configuration set: create, list, update, delete.

Stored exactly as sent and answered back in the same shape. Publishing comes
with the events issue; these rules are SES's (ses-spec.md §3.9): exactly one
destination kind per definition, at least one event type, at most ten
destinations per set, names of letters, digits, `_` and `-`.
"""

from __future__ import annotations

import re
from typing import Any

from sesame.api.context import RequestContext
from sesame.api.dispatch import handles
from sesame.api.names import check_event_destination_name, configuration_set_missing
from sesame.protocol.errors import (
    AlreadyExistsException,
    BadRequestException,
    LimitExceededException,
    NotFoundException,
)
from sesame.store.base import Duplicate, EventDestination, LimitReached, Missing, Store

MAX_DESTINATIONS = 10
MAX_DIMENSIONS = 10
KINDS = (
    "KinesisFirehoseDestination",
    "CloudWatchDestination",
    "SnsDestination",
    "EventBridgeDestination",
    "PinpointDestination",
)
_DIMENSION_NAME = re.compile(r"[A-Za-z0-9_:-]{1,255}")
_DIMENSION_VALUE = re.compile(r"[A-Za-z0-9_.@:-]{1,255}")
# Headers SES refuses as EMAIL_HEADER dimensions (developer guide, CloudWatch destinations).
_RESERVED_HEADERS = {"received", "to", "from", "dkim-signature", "cc", "message-id", "return-path"}
_SNS_TOPIC = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}")


def check_definition(ctx: RequestContext, definition: dict[str, Any]) -> dict[str, Any]:
    """Validate an EventDestinationDefinition; return it as it will be stored."""
    kinds = [kind for kind in KINDS if kind in definition]
    if not kinds:
        raise BadRequestException("Event destination is not provided.")
    if len(kinds) > 1:
        raise BadRequestException(
            "Please provide only one destination with each request. Either a Firehose "
            "Destination or a Cloudwatch Destination or an SNS Destination or an EventBridge "
            "Destination."
        )
    if not definition.get("MatchingEventTypes"):
        raise BadRequestException("At least one event type must be specified.")
    kind = kinds[0]
    if kind == "SnsDestination":
        topic = definition[kind]["TopicArn"]
        if not _SNS_TOPIC.fullmatch(topic):
            raise BadRequestException(f"Invalid SNS topic ARN <{topic}>.")
    elif kind == "EventBridgeDestination":
        default_bus = f"arn:aws:events:{ctx.region}:{ctx.account_id}:event-bus/default"
        if definition[kind]["EventBusArn"] != default_bus:
            # SES publishes only to the account's default bus in its own region.
            raise BadRequestException(
                f"Only the default event bus is supported as a destination: {default_bus}"
            )
    elif kind == "CloudWatchDestination":
        _check_dimensions(definition[kind]["DimensionConfigurations"])
    return {
        "Enabled": bool(definition.get("Enabled", False)),
        "MatchingEventTypes": list(dict.fromkeys(definition["MatchingEventTypes"])),
        kind: definition[kind],
    }


def _check_dimensions(dimensions: list[dict[str, str]]) -> None:
    if not dimensions or len(dimensions) > MAX_DIMENSIONS:
        raise BadRequestException(
            f"A CloudWatch destination needs between 1 and {MAX_DIMENSIONS} dimensions."
        )
    for dimension in dimensions:
        name, default = dimension["DimensionName"], dimension["DefaultDimensionValue"]
        if not _DIMENSION_NAME.fullmatch(name):
            raise BadRequestException(f"Invalid dimension name <{name}>.")
        if not _DIMENSION_VALUE.fullmatch(default):
            raise BadRequestException(f"Invalid default dimension value <{default}>.")
        if (
            dimension["DimensionValueSource"] == "EMAIL_HEADER"
            and name.lower() in _RESERVED_HEADERS
        ):
            raise BadRequestException(f"Header <{name}> cannot be used as a dimension.")


def _missing(set_name: str, name: str) -> NotFoundException:
    return NotFoundException(
        f"An event destination with name <{name}> does not exist for configuration set "
        f"<{set_name}>."
    )


class EventDestinationsProvider:
    def __init__(self, store: Store) -> None:
        self.store = store

    @handles("CreateConfigurationSetEventDestination")
    def create(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        set_name, name = request["ConfigurationSetName"], request["EventDestinationName"]
        if self.store.get_configuration_set(set_name) is None:
            raise configuration_set_missing(set_name)
        check_event_destination_name(name)
        definition = check_definition(ctx, request["EventDestination"])
        try:
            self.store.add_event_destination(
                set_name, EventDestination(name, definition), limit=MAX_DESTINATIONS
            )
        except Missing:
            raise configuration_set_missing(set_name) from None
        except Duplicate:
            raise AlreadyExistsException(
                f"An event destination with name <{name}> already exists for configuration set "
                f"<{set_name}>."
            ) from None
        except LimitReached:
            raise LimitExceededException(
                f"Configuration set <{set_name}> already has the maximum of {MAX_DESTINATIONS} "
                "event destinations."
            ) from None
        return {}

    @handles("GetConfigurationSetEventDestinations")
    def get(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        set_name = request["ConfigurationSetName"]
        destinations = self.store.list_event_destinations(set_name)
        if destinations is None:
            raise configuration_set_missing(set_name)
        return {"EventDestinations": [{"Name": d.name} | d.definition for d in destinations]}

    @handles("UpdateConfigurationSetEventDestination")
    def update(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        set_name, name = request["ConfigurationSetName"], request["EventDestinationName"]
        if self.store.get_configuration_set(set_name) is None:
            raise configuration_set_missing(set_name)
        definition = check_definition(ctx, request["EventDestination"])
        if not self.store.replace_event_destination(set_name, EventDestination(name, definition)):
            raise _missing(set_name, name)
        return {}

    @handles("DeleteConfigurationSetEventDestination")
    def delete(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        set_name, name = request["ConfigurationSetName"], request["EventDestinationName"]
        if self.store.get_configuration_set(set_name) is None:
            raise configuration_set_missing(set_name)
        if not self.store.delete_event_destination(set_name, name):
            raise _missing(set_name, name)
        return {}
