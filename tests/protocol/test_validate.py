"""Constraint checks in AWS's wording, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from sesame.protocol.errors import BadRequestException
from sesame.protocol.model import operation
from sesame.protocol.validate import validate

CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "PutConfigurationSetTrackingOptions",
        {"ConfigurationSetName": "a", "HttpsPolicy": "BOGUS"},
        "1 validation error detected: Value at 'httpsPolicy' failed to satisfy constraint: "
        "Member must satisfy enum value set: [OPTIONAL, REQUIRE, REQUIRE_OPEN_ONLY]",
    ),
    (
        "PutConfigurationSetDeliveryOptions",
        {"ConfigurationSetName": "a", "MaxDeliverySeconds": 299},
        "1 validation error detected: Value at 'maxDeliverySeconds' failed to satisfy "
        "constraint: Member must have value greater than or equal to 300",
    ),
    (
        "PutConfigurationSetDeliveryOptions",
        {"ConfigurationSetName": "a", "MaxDeliverySeconds": 50401, "TlsPolicy": "NEVER"},
        "2 validation errors detected: Value at 'tlsPolicy' failed to satisfy constraint: "
        "Member must satisfy enum value set: [OPTIONAL, REQUIRE]; Value at "
        "'maxDeliverySeconds' failed to satisfy constraint: Member must have value less than "
        "or equal to 50400",
    ),
    (
        "CreateConfigurationSet",
        {"ConfigurationSetName": "a", "SuppressionOptions": {"SuppressedReasons": ["SPAM"]}},
        "1 validation error detected: Value at 'suppressionOptions.suppressedReasons' failed "
        "to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum "
        "value set: [BOUNCE, COMPLAINT]]",
    ),
    (
        "CreateConfigurationSet",
        {"ConfigurationSetName": "a", "TrackingOptions": {"HttpsPolicy": "REQUIRE"}},
        "1 validation error detected: Value null at 'trackingOptions.customRedirectDomain' "
        "failed to satisfy constraint: Member must not be null",
    ),
    (
        "CreateConfigurationSet",
        {"ConfigurationSetName": "a", "Tags": [{"Key": "k"}]},
        "1 validation error detected: Value null at 'tags.1.member.value' failed to satisfy "
        "constraint: Member must not be null",
    ),
    (
        "GetConfigurationSet",
        {"ConfigurationSetName": ""},
        "1 validation error detected: Value at 'configurationSetName' failed to satisfy "
        "constraint: Member must have length greater than or equal to 1",
    ),
    (
        "ListConfigurationSets",
        {"Filter": {"NAME": "abc"}},
        "1 validation error detected: Value at 'filter' failed to satisfy constraint: Map keys "
        "must satisfy constraint: [Member must satisfy enum value set: "
        "[CONFIGURATION_SET_NAME_CONTAINS]]",
    ),
    (
        "PutConfigurationSetArchivingOptions",
        {"ConfigurationSetName": "a", "ArchiveArn": "arn:aws:ses:us-east-1:1:not-an-archive"},
        "1 validation error detected: Value at 'archiveArn' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: "
        "arn:(aws|aws-[a-z-]+):ses:[a-z]{2,4}-[a-z-]+-[0-9]:[0-9]{1,20}:mailmanager-archive/"
        "a-[a-z0-9]{24,62}",
    ),
]


@pytest.mark.parametrize(("name", "params", "message"), CASES)
def test_constraint_messages(name: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequestException) as caught:
        validate(operation(name).input_shape, params)
    assert caught.value.message == message
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("PutConfigurationSetTrackingOptions", {"ConfigurationSetName": "a"}),
        (
            "PutConfigurationSetTrackingOptions",
            {"ConfigurationSetName": "a", "CustomRedirectDomain": "t.example.com"},
        ),
        (
            "CreateConfigurationSet",
            {
                "ConfigurationSetName": "a",
                "DeliveryOptions": {"MaxDeliverySeconds": 300, "TlsPolicy": "REQUIRE"},
                "SuppressionOptions": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
            },
        ),
    ],
)
def test_valid_input_passes(name: str, params: dict[str, Any]) -> None:
    validate(operation(name).input_shape, params)
