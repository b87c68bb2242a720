"""Event destinations of a configuration set: create, get, update, delete (ses-spec.md §3.9).

Destinations are stored and answered back exactly as defined; `Enabled`
defaults to False when left out (our documented choice).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from wire import (
    ALL_EVENT_TYPES,
    CLOUDWATCH,
    EVENTBRIDGE,
    FIREHOSE,
    KINDS,
    SNS,
    error,
    without_metadata,
)


def missing_set(name: str) -> tuple[str, str, int]:
    return ("NotFoundException", f"Configuration set <{name}> does not exist.", 404)


def destinations(ses: Any, name: str) -> list[dict[str, Any]]:
    answer = ses.get_configuration_set_event_destinations(ConfigurationSetName=name)
    return list(answer["EventDestinations"])


def create(ses: Any, set_name: str, name: str, definition: dict[str, Any]) -> dict[str, Any]:
    answer = ses.create_configuration_set_event_destination(
        ConfigurationSetName=set_name, EventDestinationName=name, EventDestination=definition
    )
    return without_metadata(answer)


def bad_request(caught: pytest.ExceptionInfo[ClientError]) -> None:
    code, _, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)


# --- the whole life of each kind --------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_create_get_update_delete_each_kind(ses: Any, configuration_set: str, kind: str) -> None:
    definition = {"Enabled": True, "MatchingEventTypes": ["SEND", "OPEN", "CLICK"]} | KINDS[kind]

    assert create(ses, configuration_set, "dest-1", definition) == {}
    assert destinations(ses, configuration_set) == [{"Name": "dest-1"} | definition]

    changed = {"Enabled": False, "MatchingEventTypes": ["BOUNCE", "COMPLAINT"]} | KINDS[kind]
    answer = ses.update_configuration_set_event_destination(
        ConfigurationSetName=configuration_set,
        EventDestinationName="dest-1",
        EventDestination=changed,
    )
    assert without_metadata(answer) == {}
    assert destinations(ses, configuration_set) == [{"Name": "dest-1"} | changed]

    answer = ses.delete_configuration_set_event_destination(
        ConfigurationSetName=configuration_set, EventDestinationName="dest-1"
    )
    assert without_metadata(answer) == {}
    assert destinations(ses, configuration_set) == []


def test_a_fresh_set_has_no_destinations(ses: Any, configuration_set: str) -> None:
    assert destinations(ses, configuration_set) == []


def test_enabled_defaults_to_false(ses: Any, configuration_set: str) -> None:
    create(ses, configuration_set, "quiet", {"MatchingEventTypes": ["DELIVERY"]} | SNS)
    assert destinations(ses, configuration_set) == [
        {"Name": "quiet", "Enabled": False, "MatchingEventTypes": ["DELIVERY"]} | SNS
    ]


def test_every_event_type_is_accepted(ses: Any, configuration_set: str) -> None:
    definition = {"Enabled": True, "MatchingEventTypes": ALL_EVENT_TYPES} | EVENTBRIDGE
    create(ses, configuration_set, "everything", definition)
    assert destinations(ses, configuration_set) == [{"Name": "everything"} | definition]


def test_update_replaces_the_whole_definition_even_the_kind(
    ses: Any, configuration_set: str
) -> None:
    create(ses, configuration_set, "d", {"Enabled": True, "MatchingEventTypes": ["SEND"]} | SNS)
    replacement = {"Enabled": True, "MatchingEventTypes": ["OPEN"]} | CLOUDWATCH
    ses.update_configuration_set_event_destination(
        ConfigurationSetName=configuration_set,
        EventDestinationName="d",
        EventDestination=replacement,
    )
    assert destinations(ses, configuration_set) == [{"Name": "d"} | replacement]


def test_update_keeps_the_list_order(ses: Any, configuration_set: str) -> None:
    for name in ("first", "second", "third"):
        create(ses, configuration_set, name, {"MatchingEventTypes": ["SEND"]} | SNS)
    changed = {"Enabled": True, "MatchingEventTypes": ["CLICK"]} | FIREHOSE
    ses.update_configuration_set_event_destination(
        ConfigurationSetName=configuration_set,
        EventDestinationName="second",
        EventDestination=changed,
    )
    listed = destinations(ses, configuration_set)
    assert [d["Name"] for d in listed] == ["first", "second", "third"]
    assert listed[1] == {"Name": "second"} | changed


def test_delete_removes_only_the_named_destination(ses: Any, configuration_set: str) -> None:
    for name in ("a", "b", "c"):
        create(ses, configuration_set, name, {"MatchingEventTypes": ["SEND"]} | SNS)
    ses.delete_configuration_set_event_destination(
        ConfigurationSetName=configuration_set, EventDestinationName="b"
    )
    assert [d["Name"] for d in destinations(ses, configuration_set)] == ["a", "c"]


# --- definition rules -------------------------------------------------------------------------


def test_a_definition_without_a_destination_is_bad_request(
    ses: Any, configuration_set: str
) -> None:
    with pytest.raises(ClientError) as caught:
        create(ses, configuration_set, "none", {"Enabled": True, "MatchingEventTypes": ["SEND"]})
    bad_request(caught)
    assert destinations(ses, configuration_set) == []


@pytest.mark.parametrize(
    ("one", "two"), [("sns", "eventbridge"), ("firehose", "cloudwatch"), ("sns", "cloudwatch")]
)
def test_a_definition_with_two_destinations_is_bad_request(
    ses: Any, configuration_set: str, one: str, two: str
) -> None:
    definition = {"MatchingEventTypes": ["SEND"]} | KINDS[one] | KINDS[two]
    with pytest.raises(ClientError) as caught:
        create(ses, configuration_set, "two", definition)
    bad_request(caught)
    assert destinations(ses, configuration_set) == []


@pytest.mark.parametrize(
    "definition",
    [pytest.param({"MatchingEventTypes": []} | SNS, id="empty"), pytest.param(SNS, id="absent")],
)
def test_a_definition_without_event_types_is_bad_request(
    ses: Any, configuration_set: str, definition: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as caught:
        create(ses, configuration_set, "no-types", definition)
    bad_request(caught)
    assert destinations(ses, configuration_set) == []


@pytest.mark.parametrize("event_type", ["OPENED", "send", "", "BOUNCE "])
def test_an_unknown_event_type_is_bad_request(
    ses: Any, configuration_set: str, event_type: str
) -> None:
    definition = {"MatchingEventTypes": ["SEND", event_type]} | SNS
    with pytest.raises(ClientError) as caught:
        create(ses, configuration_set, "bad-type", definition)
    code, message, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "Member must satisfy enum value set" in message
    assert destinations(ses, configuration_set) == []


def test_update_checks_the_definition_too(ses: Any, configuration_set: str) -> None:
    original = {"Enabled": True, "MatchingEventTypes": ["SEND"]} | SNS
    create(ses, configuration_set, "d", original)
    for broken in (
        {"MatchingEventTypes": ["SEND"]},
        {"MatchingEventTypes": []} | SNS,
        {"MatchingEventTypes": ["SEND"]} | SNS | EVENTBRIDGE,
        {"MatchingEventTypes": ["NOPE"]} | SNS,
    ):
        with pytest.raises(ClientError) as caught:
            ses.update_configuration_set_event_destination(
                ConfigurationSetName=configuration_set,
                EventDestinationName="d",
                EventDestination=broken,
            )
        bad_request(caught)
    assert destinations(ses, configuration_set) == [{"Name": "d"} | original]


def test_an_event_bus_other_than_the_default_is_bad_request(
    ses: Any, configuration_set: str
) -> None:
    custom = {
        "EventBridgeDestination": {
            "EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/custom"
        }
    }
    with pytest.raises(ClientError) as caught:
        create(ses, configuration_set, "bus", {"MatchingEventTypes": ["SEND"]} | custom)
    bad_request(caught)


@pytest.mark.parametrize("name", ["has space", "dot.name", "a" * 65, "caf\u00e9"])
def test_an_invalid_destination_name_is_bad_request(
    ses: Any, configuration_set: str, name: str
) -> None:
    with pytest.raises(ClientError) as caught:
        create(ses, configuration_set, name, {"MatchingEventTypes": ["SEND"]} | SNS)
    bad_request(caught)
    assert destinations(ses, configuration_set) == []


# --- limits and names -------------------------------------------------------------------------


def test_the_eleventh_destination_is_limit_exceeded(ses: Any, configuration_set: str) -> None:
    for index in range(10):
        create(ses, configuration_set, f"d{index}", {"MatchingEventTypes": ["SEND"]} | SNS)
    with pytest.raises(ClientError) as caught:
        create(ses, configuration_set, "d10", {"MatchingEventTypes": ["SEND"]} | SNS)
    code, _, status = error(caught)
    assert (code, status) == ("LimitExceededException", 400)
    assert [d["Name"] for d in destinations(ses, configuration_set)] == [
        f"d{index}" for index in range(10)
    ]
    # Room again after a delete.
    ses.delete_configuration_set_event_destination(
        ConfigurationSetName=configuration_set, EventDestinationName="d3"
    )
    create(ses, configuration_set, "d10", {"MatchingEventTypes": ["SEND"]} | SNS)
    assert len(destinations(ses, configuration_set)) == 10


def test_a_duplicate_name_is_already_exists(ses: Any, configuration_set: str) -> None:
    create(ses, configuration_set, "dup", {"MatchingEventTypes": ["SEND"]} | SNS)
    with pytest.raises(ClientError) as caught:
        create(ses, configuration_set, "dup", {"MatchingEventTypes": ["OPEN"]} | EVENTBRIDGE)
    code, _, status = error(caught)
    assert (code, status) == ("AlreadyExistsException", 400)
    assert destinations(ses, configuration_set) == [
        {"Name": "dup", "Enabled": False, "MatchingEventTypes": ["SEND"]} | SNS
    ]


def test_the_same_destination_name_in_two_sets_is_fine(ses: Any, unique: str) -> None:
    for set_name in (f"{unique}-a", f"{unique}-b"):
        ses.create_configuration_set(ConfigurationSetName=set_name)
        create(ses, set_name, "shared", {"MatchingEventTypes": ["SEND"]} | SNS)
        assert [d["Name"] for d in destinations(ses, set_name)] == ["shared"]


def test_update_of_a_missing_destination_is_not_found(ses: Any, configuration_set: str) -> None:
    with pytest.raises(ClientError) as caught:
        ses.update_configuration_set_event_destination(
            ConfigurationSetName=configuration_set,
            EventDestinationName="ghost",
            EventDestination={"MatchingEventTypes": ["SEND"]} | SNS,
        )
    code, _, status = error(caught)
    assert (code, status) == ("NotFoundException", 404)
    assert destinations(ses, configuration_set) == []


def test_delete_of_a_missing_destination_is_not_found(ses: Any, configuration_set: str) -> None:
    with pytest.raises(ClientError) as caught:
        ses.delete_configuration_set_event_destination(
            ConfigurationSetName=configuration_set, EventDestinationName="ghost"
        )
    code, _, status = error(caught)
    assert (code, status) == ("NotFoundException", 404)


def test_every_operation_on_a_missing_set_is_not_found(ses: Any, unique: str) -> None:
    calls = [
        lambda: ses.get_configuration_set_event_destinations(ConfigurationSetName=unique),
        lambda: create(ses, unique, "d", {"MatchingEventTypes": ["SEND"]} | SNS),
        lambda: ses.update_configuration_set_event_destination(
            ConfigurationSetName=unique,
            EventDestinationName="d",
            EventDestination={"MatchingEventTypes": ["SEND"]} | SNS,
        ),
        lambda: ses.delete_configuration_set_event_destination(
            ConfigurationSetName=unique, EventDestinationName="d"
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        assert error(caught) == missing_set(unique)


def test_deleting_the_set_removes_its_destinations(ses: Any, configuration_set: str) -> None:
    create(ses, configuration_set, "d", {"MatchingEventTypes": ["SEND"]} | SNS)
    ses.delete_configuration_set(ConfigurationSetName=configuration_set)
    ses.create_configuration_set(ConfigurationSetName=configuration_set)
    assert destinations(ses, configuration_set) == []
    # And the old name is free again.
    create(ses, configuration_set, "d", {"MatchingEventTypes": ["OPEN"]} | EVENTBRIDGE)
