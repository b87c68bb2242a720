"""Everything survives a restart: a second Sesame on the same data dir sees the first one's work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness import ACCOUNT_ID, REGION, start_sesame
from wire import CLOUDWATCH, SNS, error, without_metadata


def snapshot(client: Any) -> dict[str, Any]:
    """Everything the API tells about the resources made below."""
    return {
        "set": without_metadata(client.get_configuration_set(ConfigurationSetName="persisted")),
        "other": without_metadata(client.get_configuration_set(ConfigurationSetName="cleared")),
        "destinations": client.get_configuration_set_event_destinations(
            ConfigurationSetName="persisted"
        )["EventDestinations"],
        "domain": without_metadata(client.get_email_identity(EmailIdentity="persist.example.com")),
        "address": without_metadata(
            client.get_email_identity(EmailIdentity="me@persist.example.com")
        ),
        "sets": client.list_configuration_sets()["ConfigurationSets"],
        "identities": client.list_email_identities()["EmailIdentities"],
        "tags": client.list_tags_for_resource(
            ResourceArn=f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:configuration-set/persisted"
        )["Tags"],
    }


def test_everything_survives_a_restart(tmp_path: Path) -> None:
    first = start_sesame(tmp_path)
    try:
        client = first.client()
        client.create_email_identity(
            EmailIdentity="persist.example.com", Tags=[{"Key": "owner", "Value": "ops"}]
        )
        client.create_configuration_set(
            ConfigurationSetName="persisted",
            TrackingOptions={
                "CustomRedirectDomain": "track.persist.example.com",
                "HttpsPolicy": "REQUIRE_OPEN_ONLY",
            },
            DeliveryOptions={"TlsPolicy": "REQUIRE", "MaxDeliverySeconds": 900},
            SendingOptions={"SendingEnabled": False},
            SuppressionOptions={"SuppressedReasons": ["COMPLAINT"]},
            Tags=[{"Key": "team", "Value": "mail"}],
        )
        client.create_configuration_set_event_destination(
            ConfigurationSetName="persisted",
            EventDestinationName="to-sns",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["OPEN", "CLICK"]} | SNS,
        )
        client.create_configuration_set_event_destination(
            ConfigurationSetName="persisted",
            EventDestinationName="to-cloudwatch",
            EventDestination={"MatchingEventTypes": ["SEND"]} | CLOUDWATCH,
        )
        client.create_configuration_set(ConfigurationSetName="cleared")
        client.put_configuration_set_tracking_options(
            ConfigurationSetName="cleared", CustomRedirectDomain="persist.example.com"
        )
        client.put_configuration_set_tracking_options(ConfigurationSetName="cleared")
        client.put_configuration_set_reputation_options(ConfigurationSetName="cleared")
        client.create_email_identity(EmailIdentity="me@persist.example.com")
        client.put_email_identity_configuration_set_attributes(
            EmailIdentity="me@persist.example.com", ConfigurationSetName="persisted"
        )
        client.tag_resource(
            ResourceArn=f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:configuration-set/persisted",
            Tags=[{"Key": "env", "Value": "prod"}],
        )
        client.create_configuration_set(ConfigurationSetName="deleted")
        client.delete_configuration_set(ConfigurationSetName="deleted")
        before = snapshot(client)
    finally:
        first.stop()

    second = start_sesame(tmp_path)
    try:
        client = second.client()
        after = snapshot(client)
    finally:
        second.stop()

    assert after == before
    # And what was made is what the snapshot says, not merely the same twice.
    assert after["set"]["TrackingOptions"] == {
        "CustomRedirectDomain": "track.persist.example.com",
        "HttpsPolicy": "REQUIRE_OPEN_ONLY",
    }
    assert after["set"]["SendingOptions"] == {"SendingEnabled": False}
    assert after["set"]["DeliveryOptions"] == {"TlsPolicy": "REQUIRE", "MaxDeliverySeconds": 900}
    assert "TrackingOptions" not in after["other"]
    assert after["other"]["ReputationOptions"] == {"ReputationMetricsEnabled": False}
    assert [d["Name"] for d in after["destinations"]] == ["to-sns", "to-cloudwatch"]
    assert (
        after["destinations"][0]
        == {
            "Name": "to-sns",
            "Enabled": True,
            "MatchingEventTypes": ["OPEN", "CLICK"],
        }
        | SNS
    )
    assert after["domain"]["VerificationStatus"] == "SUCCESS"
    assert after["domain"]["Tags"] == [{"Key": "owner", "Value": "ops"}]
    assert after["address"]["ConfigurationSetName"] == "persisted"
    assert after["sets"] == ["cleared", "persisted"]
    assert {(t["Key"], t["Value"]) for t in after["tags"]} == {("team", "mail"), ("env", "prod")}


def test_a_restarted_server_keeps_enforcing_the_rules(tmp_path: Path) -> None:
    first = start_sesame(tmp_path)
    try:
        client = first.client()
        client.create_configuration_set(ConfigurationSetName="once")
        client.create_email_identity(EmailIdentity="kept.example.com")
        for index in range(10):
            client.create_configuration_set_event_destination(
                ConfigurationSetName="once",
                EventDestinationName=f"d{index}",
                EventDestination={"MatchingEventTypes": ["SEND"]} | SNS,
            )
    finally:
        first.stop()

    second = start_sesame(tmp_path)
    try:
        client = second.client()
        for call, code in (
            (lambda: client.create_configuration_set(ConfigurationSetName="once"), "AlreadyExists"),
            (
                lambda: client.create_email_identity(EmailIdentity="kept.example.com"),
                "AlreadyExists",
            ),
            (
                lambda: client.create_configuration_set_event_destination(
                    ConfigurationSetName="once",
                    EventDestinationName="d10",
                    EventDestination={"MatchingEventTypes": ["SEND"]} | SNS,
                ),
                "LimitExceeded",
            ),
        ):
            with pytest.raises(ClientError) as caught:
                call()
            assert error(caught)[0] == f"{code}Exception"
        # The restored verified domain still counts for tracking.
        client.put_configuration_set_tracking_options(
            ConfigurationSetName="once", CustomRedirectDomain="t.kept.example.com"
        )
    finally:
        second.stop()
