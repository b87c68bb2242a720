"""Configuration sets through boto3: create, get, update, delete, and every Put*Options.

ses-spec.md §3.1–§3.8. Each Put*Options replaces its whole block: members left
out take their "off" value instead of keeping the old one.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from wire import error, without_metadata

ARCHIVE_ARN = "arn:aws:ses:us-east-1:123456789012:mailmanager-archive/a-0123456789abcdefghijklmn"
OTHER_ARCHIVE_ARN = (
    "arn:aws:ses:us-east-1:123456789012:mailmanager-archive/a-zyxwvutsrqponmlkjihgfedcba9876"
)


def missing(name: str) -> tuple[str, str, int]:
    return ("NotFoundException", f"Configuration set <{name}> does not exist.", 404)


def constraint(path: str, rule: str) -> tuple[str, str, int]:
    message = f"1 validation error detected: Value at '{path}' failed to satisfy constraint: {rule}"
    return ("BadRequestException", message, 400)


def get(ses: Any, name: str) -> dict[str, Any]:
    return without_metadata(ses.get_configuration_set(ConfigurationSetName=name))


# --- CreateConfigurationSet / GetConfigurationSet ---------------------------------------------


def test_create_with_every_member_reads_back_exactly(ses: Any, unique: str, domain: str) -> None:
    members: dict[str, Any] = {
        "TrackingOptions": {
            "CustomRedirectDomain": f"track.{domain}",
            "HttpsPolicy": "REQUIRE_OPEN_ONLY",
        },
        "DeliveryOptions": {
            "TlsPolicy": "REQUIRE",
            "MaxDeliverySeconds": 600,
            "SharedPoolDeliveryMode": "REGIONAL",
        },
        "ReputationOptions": {"ReputationMetricsEnabled": False},
        "SendingOptions": {"SendingEnabled": False},
        "Tags": [{"Key": "team", "Value": "mail"}, {"Key": "empty", "Value": ""}],
        "SuppressionOptions": {
            "SuppressedReasons": ["BOUNCE", "COMPLAINT"],
            "SuppressionScope": "ACCOUNT",
            "ValidationOptions": {
                "ConditionThreshold": {
                    "ConditionThresholdEnabled": "ENABLED",
                    "OverallConfidenceThreshold": {"ConfidenceVerdictThreshold": "HIGH"},
                }
            },
        },
        "VdmOptions": {
            "DashboardOptions": {"EngagementMetrics": "ENABLED"},
            "GuardianOptions": {"OptimizedSharedDelivery": "DISABLED"},
        },
        "ArchivingOptions": {"ArchiveArn": ARCHIVE_ARN},
    }

    answer = ses.create_configuration_set(ConfigurationSetName=unique, **members)

    assert without_metadata(answer) == {}
    assert get(ses, unique) == {"ConfigurationSetName": unique, **members}


def test_a_fresh_set_has_the_defaults_and_no_tracking_options(
    ses: Any, configuration_set: str
) -> None:
    assert get(ses, configuration_set) == {
        "ConfigurationSetName": configuration_set,
        "DeliveryOptions": {"TlsPolicy": "OPTIONAL"},
        "ReputationOptions": {"ReputationMetricsEnabled": True},
        "SendingOptions": {"SendingEnabled": True},
        "Tags": [],
    }


def test_create_with_message_security_options_reads_back(ses: Any, unique: str) -> None:
    scheme = {"SigningScheme": {"SmimeScheme": {"SignatureFormat": "DETACHED"}}}
    ses.create_configuration_set(ConfigurationSetName=unique, MessageSecurityOptions=scheme)
    assert get(ses, unique)["MessageSecurityOptions"] == scheme


def test_a_duplicate_name_is_already_exists(ses: Any, configuration_set: str) -> None:
    with pytest.raises(ClientError) as caught:
        ses.create_configuration_set(ConfigurationSetName=configuration_set)
    assert error(caught) == (
        "AlreadyExistsException",
        f"Configuration set <{configuration_set}> already exists.",
        400,
    )


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("has space", id="space"),
        pytest.param("caf\u00e9-set", id="accent"),
        pytest.param("a" * 65, id="65-chars"),
        pytest.param("", id="empty"),
        pytest.param("slash/name", id="slash"),
        pytest.param("dot.name", id="dot"),
    ],
)
def test_an_invalid_name_is_bad_request(ses: Any, name: str) -> None:
    with pytest.raises(ClientError) as caught:
        ses.create_configuration_set(ConfigurationSetName=name)
    code, _, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)


def test_a_64_character_name_of_every_allowed_kind_is_fine(ses: Any, unique: str) -> None:
    name = (unique + "-_AZaz09" + "x" * 64)[:64]
    ses.create_configuration_set(ConfigurationSetName=name)
    assert get(ses, name)["ConfigurationSetName"] == name


@pytest.mark.parametrize(
    "members",
    [
        pytest.param(
            {"TrackingOptions": {"CustomRedirectDomain": "track.{unique}-unverified.example.com"}},
            id="unverified-tracking-domain",
        ),
        pytest.param(
            {"TrackingOptions": {"CustomRedirectDomain": "not a host"}}, id="invalid-host"
        ),
        pytest.param({"SuppressionOptions": {"SuppressedReasons": ["SPAM"]}}, id="bad-reason"),
        pytest.param({"DeliveryOptions": {"MaxDeliverySeconds": 50401}}, id="delivery-too-long"),
        pytest.param({"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]}, id="51-tags"),
    ],
)
def test_a_failed_create_leaves_nothing_behind(
    ses: Any, unique: str, members: dict[str, Any]
) -> None:
    tracking = members.get("TrackingOptions", {})
    if "CustomRedirectDomain" in tracking:
        domain = tracking["CustomRedirectDomain"].replace("{unique}", unique)
        members = members | {"TrackingOptions": {"CustomRedirectDomain": domain}}
    with pytest.raises(ClientError) as caught:
        ses.create_configuration_set(ConfigurationSetName=unique, **members)
    assert error(caught)[0] == "BadRequestException"

    with pytest.raises(ClientError) as caught:
        ses.get_configuration_set(ConfigurationSetName=unique)
    assert error(caught) == missing(unique)
    # And the name is free: the same create without the bad member succeeds.
    ses.create_configuration_set(ConfigurationSetName=unique)


def test_get_of_a_missing_set_is_not_found(ses: Any, unique: str) -> None:
    with pytest.raises(ClientError) as caught:
        ses.get_configuration_set(ConfigurationSetName=unique)
    assert error(caught) == missing(unique)


# --- UpdateConfigurationSet -------------------------------------------------------------------


def test_update_changes_message_security_options_only(ses: Any, unique: str) -> None:
    ses.create_configuration_set(
        ConfigurationSetName=unique,
        DeliveryOptions={"TlsPolicy": "REQUIRE"},
        SendingOptions={"SendingEnabled": False},
        Tags=[{"Key": "k", "Value": "v"}],
    )
    before = get(ses, unique)
    smime = {"SigningScheme": {"SmimeScheme": {"SignatureFormat": "DETACHED"}}}

    ses.update_configuration_set(ConfigurationSetName=unique, MessageSecurityOptions=smime)

    assert get(ses, unique) == before | {"MessageSecurityOptions": smime}

    default = {"SigningScheme": {"DefaultScheme": {}}}
    ses.update_configuration_set(ConfigurationSetName=unique, MessageSecurityOptions=default)
    assert get(ses, unique) == before | {"MessageSecurityOptions": default}

    # A partial update: leaving the member out changes nothing.
    ses.update_configuration_set(ConfigurationSetName=unique)
    assert get(ses, unique) == before | {"MessageSecurityOptions": default}


def test_update_of_a_missing_set_is_not_found(ses: Any, unique: str) -> None:
    with pytest.raises(ClientError) as caught:
        ses.update_configuration_set(
            ConfigurationSetName=unique,
            MessageSecurityOptions={"SigningScheme": {"DefaultScheme": {}}},
        )
    assert error(caught) == missing(unique)


# --- DeleteConfigurationSet -------------------------------------------------------------------


def test_delete_then_get_and_delete_again_are_not_found(ses: Any, configuration_set: str) -> None:
    answer = ses.delete_configuration_set(ConfigurationSetName=configuration_set)
    assert without_metadata(answer) == {}

    with pytest.raises(ClientError) as caught:
        ses.get_configuration_set(ConfigurationSetName=configuration_set)
    assert error(caught) == missing(configuration_set)

    with pytest.raises(ClientError) as caught:
        ses.delete_configuration_set(ConfigurationSetName=configuration_set)
    assert error(caught) == missing(configuration_set)


def test_a_deleted_name_can_be_created_again_fresh(ses: Any, unique: str) -> None:
    ses.create_configuration_set(
        ConfigurationSetName=unique,
        SendingOptions={"SendingEnabled": False},
        Tags=[{"Key": "k", "Value": "v"}],
    )
    ses.delete_configuration_set(ConfigurationSetName=unique)
    ses.create_configuration_set(ConfigurationSetName=unique)
    assert get(ses, unique)["SendingOptions"] == {"SendingEnabled": True}
    assert get(ses, unique)["Tags"] == []


# --- PutConfigurationSetDeliveryOptions -------------------------------------------------------


def test_delivery_options_are_replaced_as_a_whole(ses: Any, configuration_set: str) -> None:
    name = configuration_set
    answer = ses.put_configuration_set_delivery_options(
        ConfigurationSetName=name,
        TlsPolicy="REQUIRE",
        MaxDeliverySeconds=300,
        SharedPoolDeliveryMode="GLOBAL",
    )
    assert without_metadata(answer) == {}
    assert get(ses, name)["DeliveryOptions"] == {
        "TlsPolicy": "REQUIRE",
        "MaxDeliverySeconds": 300,
        "SharedPoolDeliveryMode": "GLOBAL",
    }

    ses.put_configuration_set_delivery_options(ConfigurationSetName=name, MaxDeliverySeconds=50400)
    assert get(ses, name)["DeliveryOptions"] == {
        "TlsPolicy": "OPTIONAL",
        "MaxDeliverySeconds": 50400,
    }

    ses.put_configuration_set_delivery_options(ConfigurationSetName=name)
    assert get(ses, name)["DeliveryOptions"] == {"TlsPolicy": "OPTIONAL"}


@pytest.mark.parametrize(
    ("seconds", "rule"),
    [
        (299, "Member must have value greater than or equal to 300"),
        (50401, "Member must have value less than or equal to 50400"),
    ],
)
def test_max_delivery_seconds_outside_300_to_50400_is_bad_request(
    sesame: Any, configuration_set: str, seconds: int, rule: str
) -> None:
    # boto3 checks the minimum itself; switch that off so the server is asked.
    raw = sesame.client(
        config=Config(parameter_validation=False, retries={"max_attempts": 1, "mode": "standard"})
    )
    with pytest.raises(ClientError) as caught:
        raw.put_configuration_set_delivery_options(
            ConfigurationSetName=configuration_set, MaxDeliverySeconds=seconds
        )
    assert error(caught) == constraint("maxDeliverySeconds", rule)
    assert get(raw, configuration_set)["DeliveryOptions"] == {"TlsPolicy": "OPTIONAL"}


def test_an_unknown_tls_policy_is_bad_request(ses: Any, configuration_set: str) -> None:
    with pytest.raises(ClientError) as caught:
        ses.put_configuration_set_delivery_options(
            ConfigurationSetName=configuration_set, TlsPolicy="SOMETIMES"
        )
    assert error(caught) == constraint(
        "tlsPolicy", "Member must satisfy enum value set: [OPTIONAL, REQUIRE]"
    )


# --- Reputation, Sending ----------------------------------------------------------------------


def test_reputation_options_put_and_empty_turns_metrics_off(
    ses: Any, configuration_set: str
) -> None:
    name = configuration_set
    ses.put_configuration_set_reputation_options(
        ConfigurationSetName=name, ReputationMetricsEnabled=False
    )
    assert get(ses, name)["ReputationOptions"] == {"ReputationMetricsEnabled": False}

    ses.put_configuration_set_reputation_options(
        ConfigurationSetName=name, ReputationMetricsEnabled=True
    )
    assert get(ses, name)["ReputationOptions"] == {"ReputationMetricsEnabled": True}

    ses.put_configuration_set_reputation_options(ConfigurationSetName=name)
    assert get(ses, name)["ReputationOptions"] == {"ReputationMetricsEnabled": False}


def test_sending_options_put_and_empty_turns_sending_off(ses: Any, configuration_set: str) -> None:
    name = configuration_set
    ses.put_configuration_set_sending_options(ConfigurationSetName=name, SendingEnabled=False)
    assert get(ses, name)["SendingOptions"] == {"SendingEnabled": False}

    ses.put_configuration_set_sending_options(ConfigurationSetName=name, SendingEnabled=True)
    assert get(ses, name)["SendingOptions"] == {"SendingEnabled": True}

    ses.put_configuration_set_sending_options(ConfigurationSetName=name)
    assert get(ses, name)["SendingOptions"] == {"SendingEnabled": False}


# --- Suppression ------------------------------------------------------------------------------


def test_suppression_options_are_replaced_as_a_whole(ses: Any, configuration_set: str) -> None:
    name = configuration_set
    ses.put_configuration_set_suppression_options(
        ConfigurationSetName=name,
        SuppressedReasons=["COMPLAINT", "BOUNCE"],
        SuppressionScope="ACCOUNT",
    )
    assert get(ses, name)["SuppressionOptions"] == {
        "SuppressedReasons": ["COMPLAINT", "BOUNCE"],
        "SuppressionScope": "ACCOUNT",
    }

    ses.put_configuration_set_suppression_options(
        ConfigurationSetName=name, SuppressedReasons=["BOUNCE"]
    )
    assert get(ses, name)["SuppressionOptions"] == {"SuppressedReasons": ["BOUNCE"]}

    # An empty list is "this set suppresses nothing" (ses-spec.md §3.8).
    ses.put_configuration_set_suppression_options(ConfigurationSetName=name, SuppressedReasons=[])
    assert get(ses, name)["SuppressionOptions"] == {"SuppressedReasons": []}


def test_an_invalid_suppression_reason_is_bad_request(ses: Any, configuration_set: str) -> None:
    ses.put_configuration_set_suppression_options(
        ConfigurationSetName=configuration_set, SuppressedReasons=["BOUNCE"]
    )
    with pytest.raises(ClientError) as caught:
        ses.put_configuration_set_suppression_options(
            ConfigurationSetName=configuration_set, SuppressedReasons=["BOUNCE", "SPAM"]
        )
    code, message, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "SPAM" in message or "[BOUNCE, COMPLAINT]" in message
    assert get(ses, configuration_set)["SuppressionOptions"] == {"SuppressedReasons": ["BOUNCE"]}


# --- VDM, archiving ---------------------------------------------------------------------------


def test_vdm_options_are_replaced_as_a_whole(ses: Any, configuration_set: str) -> None:
    name = configuration_set
    both = {
        "DashboardOptions": {"EngagementMetrics": "ENABLED"},
        "GuardianOptions": {"OptimizedSharedDelivery": "ENABLED"},
    }
    ses.put_configuration_set_vdm_options(ConfigurationSetName=name, VdmOptions=both)
    assert get(ses, name)["VdmOptions"] == both

    guardian_only = {"GuardianOptions": {"OptimizedSharedDelivery": "DISABLED"}}
    ses.put_configuration_set_vdm_options(ConfigurationSetName=name, VdmOptions=guardian_only)
    assert get(ses, name)["VdmOptions"] == guardian_only

    ses.put_configuration_set_vdm_options(ConfigurationSetName=name)
    assert "VdmOptions" not in get(ses, name)


def test_an_unknown_vdm_value_is_bad_request(ses: Any, configuration_set: str) -> None:
    with pytest.raises(ClientError) as caught:
        ses.put_configuration_set_vdm_options(
            ConfigurationSetName=configuration_set,
            VdmOptions={"DashboardOptions": {"EngagementMetrics": "MAYBE"}},
        )
    assert error(caught) == constraint(
        "vdmOptions.dashboardOptions.engagementMetrics",
        "Member must satisfy enum value set: [DISABLED, ENABLED]",
    )


def test_archiving_options_are_replaced_and_cleared(ses: Any, configuration_set: str) -> None:
    name = configuration_set
    ses.put_configuration_set_archiving_options(ConfigurationSetName=name, ArchiveArn=ARCHIVE_ARN)
    assert get(ses, name)["ArchivingOptions"] == {"ArchiveArn": ARCHIVE_ARN}

    ses.put_configuration_set_archiving_options(
        ConfigurationSetName=name, ArchiveArn=OTHER_ARCHIVE_ARN
    )
    assert get(ses, name)["ArchivingOptions"] == {"ArchiveArn": OTHER_ARCHIVE_ARN}

    ses.put_configuration_set_archiving_options(ConfigurationSetName=name)
    assert "ArchivingOptions" not in get(ses, name)


def test_an_archive_arn_off_the_model_pattern_is_bad_request(
    ses: Any, configuration_set: str
) -> None:
    with pytest.raises(ClientError) as caught:
        ses.put_configuration_set_archiving_options(
            ConfigurationSetName=configuration_set,
            ArchiveArn="arn:aws:ses:us-east-1:123456789012:mailmanager-archive/b-short",
        )
    code, message, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "archiveArn" in message


# --- every Put*Options on a missing set -------------------------------------------------------

PUTS = {
    "put_configuration_set_delivery_options": {"TlsPolicy": "REQUIRE"},
    "put_configuration_set_reputation_options": {"ReputationMetricsEnabled": True},
    "put_configuration_set_sending_options": {"SendingEnabled": True},
    "put_configuration_set_suppression_options": {"SuppressedReasons": ["BOUNCE"]},
    "put_configuration_set_vdm_options": {
        "VdmOptions": {"DashboardOptions": {"EngagementMetrics": "ENABLED"}}
    },
    "put_configuration_set_archiving_options": {"ArchiveArn": ARCHIVE_ARN},
    "put_configuration_set_tracking_options": {},
}


@pytest.mark.parametrize("method", sorted(PUTS))
def test_every_put_on_a_missing_set_is_not_found(ses: Any, unique: str, method: str) -> None:
    with pytest.raises(ClientError) as caught:
        getattr(ses, method)(ConfigurationSetName=unique, **PUTS[method])
    assert error(caught) == missing(unique)


@pytest.mark.parametrize("method", sorted(PUTS))
def test_every_put_answers_an_empty_result_and_leaves_other_blocks_alone(
    ses: Any, unique: str, method: str
) -> None:
    ses.create_configuration_set(ConfigurationSetName=unique, Tags=[{"Key": "k", "Value": "v"}])
    before = get(ses, unique)
    answer = getattr(ses, method)(ConfigurationSetName=unique, **PUTS[method])
    assert without_metadata(answer) == {}
    after = get(ses, unique)
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert len(changed) <= 1
    assert after["Tags"] == [{"Key": "k", "Value": "v"}]


@pytest.mark.parametrize(
    "method",
    [
        "get_configuration_set",
        "delete_configuration_set",
        "put_configuration_set_sending_options",
        "get_configuration_set_event_destinations",
    ],
)
def test_an_empty_name_in_the_path_is_bad_request(ses: Any, method: str) -> None:
    # boto3 sends an empty URI label as is (ses-spec.md §2.6); the server must refuse it.
    with pytest.raises(ClientError) as caught:
        getattr(ses, method)(ConfigurationSetName="")
    code, _, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)
