"""PutConfigurationSetTrackingOptions, exactly (ses-spec.md §4), and the same rules on create.

Also through the AWS CLI, which other people's scripts use.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, RunningSesame
from wire import CONFIGURATION_SETS, error, send, without_metadata

POLICY_MESSAGE = (
    "1 validation error detected: Value at 'httpsPolicy' failed to satisfy constraint: "
    "Member must satisfy enum value set: [OPTIONAL, REQUIRE, REQUIRE_OPEN_ONLY]"
)
MUST_BE_SPECIFIED = ("BadRequestException", "CustomRedirectDomain must be specified.", 400)
INVALID_HOSTS = [
    pytest.param("has space.example.com", id="space"),
    pytest.param("http://track.example.com", id="url"),
    pytest.param("a..b.example.com", id="empty-label"),
    pytest.param("-track.example.com", id="leading-hyphen"),
    pytest.param("track_1.example.com", id="underscore"),
    pytest.param("tr\u00e4ck.example.com", id="non-ascii"),
    pytest.param("x" * 64 + ".example.com", id="label-too-long"),
    pytest.param("track.example.com/path", id="path"),
]


def not_verified(domain: str) -> tuple[str, str, int]:
    return ("BadRequestException", f"Domain <{domain}> is not verified under this account.", 400)


def tracking(ses: Any, name: str) -> dict[str, Any] | None:
    answer = ses.get_configuration_set(ConfigurationSetName=name)
    return answer.get("TrackingOptions")


def put(ses: Any, name: str, **members: Any) -> dict[str, Any]:
    answer = ses.put_configuration_set_tracking_options(ConfigurationSetName=name, **members)
    return without_metadata(answer)


# --- the wire contract ------------------------------------------------------------------------


def test_success_is_200_with_an_empty_body(
    sesame: RunningSesame, ses: Any, configuration_set: str, domain: str
) -> None:
    reply = send(
        sesame.url,
        "PUT",
        f"{CONFIGURATION_SETS}/{configuration_set}/tracking-options",
        body={"CustomRedirectDomain": f"track.{domain}", "HttpsPolicy": "REQUIRE"},
    )
    assert reply.status == 200
    assert reply.body in (b"", b"{}")
    assert reply.headers.get("x-amzn-RequestId")
    assert tracking(ses, configuration_set) == {
        "CustomRedirectDomain": f"track.{domain}",
        "HttpsPolicy": "REQUIRE",
    }


def test_an_empty_body_clears_over_raw_http(
    sesame: RunningSesame, ses: Any, configuration_set: str, domain: str
) -> None:
    put(ses, configuration_set, CustomRedirectDomain=domain)
    reply = send(
        sesame.url, "PUT", f"{CONFIGURATION_SETS}/{configuration_set}/tracking-options", body={}
    )
    assert (reply.status, reply.body in (b"", b"{}")) == (200, True)
    assert tracking(ses, configuration_set) is None


@pytest.mark.parametrize("policy", ["REQUIRE", "REQUIRE_OPEN_ONLY", "OPTIONAL"])
def test_each_policy_round_trips(
    ses: Any, configuration_set: str, domain: str, policy: str
) -> None:
    assert put(ses, configuration_set, CustomRedirectDomain=domain, HttpsPolicy=policy) == {}
    assert tracking(ses, configuration_set) == {
        "CustomRedirectDomain": domain,
        "HttpsPolicy": policy,
    }


def test_a_domain_without_a_policy_is_stored_without_one(
    ses: Any, configuration_set: str, domain: str
) -> None:
    put(ses, configuration_set, CustomRedirectDomain=f"click.{domain}")
    assert tracking(ses, configuration_set) == {"CustomRedirectDomain": f"click.{domain}"}


def test_a_put_replaces_the_whole_block(ses: Any, configuration_set: str, domain: str) -> None:
    put(ses, configuration_set, CustomRedirectDomain=f"a.{domain}", HttpsPolicy="REQUIRE")
    put(ses, configuration_set, CustomRedirectDomain=f"b.{domain}")
    assert tracking(ses, configuration_set) == {"CustomRedirectDomain": f"b.{domain}"}


def test_an_empty_put_clears_the_tracking_options(
    ses: Any, configuration_set: str, domain: str
) -> None:
    put(ses, configuration_set, CustomRedirectDomain=domain, HttpsPolicy="REQUIRE")
    assert put(ses, configuration_set) == {}
    answer = ses.get_configuration_set(ConfigurationSetName=configuration_set)
    assert "TrackingOptions" not in answer
    # Clearing what is already clear is fine too.
    assert put(ses, configuration_set) == {}


def test_tracking_options_leave_the_other_blocks_alone(ses: Any, unique: str, domain: str) -> None:
    ses.create_configuration_set(
        ConfigurationSetName=unique,
        SendingOptions={"SendingEnabled": False},
        DeliveryOptions={"TlsPolicy": "REQUIRE"},
        Tags=[{"Key": "k", "Value": "v"}],
    )
    before = without_metadata(ses.get_configuration_set(ConfigurationSetName=unique))
    put(ses, unique, CustomRedirectDomain=domain)
    after = without_metadata(ses.get_configuration_set(ConfigurationSetName=unique))
    assert after == before | {"TrackingOptions": {"CustomRedirectDomain": domain}}


# --- validation -------------------------------------------------------------------------------


def test_a_policy_without_a_domain_is_bad_request(
    ses: Any, configuration_set: str, domain: str
) -> None:
    put(ses, configuration_set, CustomRedirectDomain=domain)
    with pytest.raises(ClientError) as caught:
        put(ses, configuration_set, HttpsPolicy="REQUIRE")
    assert error(caught) == MUST_BE_SPECIFIED
    assert tracking(ses, configuration_set) == {"CustomRedirectDomain": domain}


@pytest.mark.parametrize("blank", ["", "   "])
@pytest.mark.parametrize("policy", [None, "REQUIRE"])
def test_a_blank_domain_is_bad_request(
    ses: Any, configuration_set: str, blank: str, policy: str | None
) -> None:
    members: dict[str, str] = {"CustomRedirectDomain": blank}
    if policy:
        members["HttpsPolicy"] = policy
    with pytest.raises(ClientError) as caught:
        put(ses, configuration_set, **members)
    assert error(caught) == MUST_BE_SPECIFIED


@pytest.mark.parametrize("policy", ["BOGUS", "require", ""])
def test_a_policy_outside_the_enum_is_bad_request(
    ses: Any, configuration_set: str, domain: str, policy: str
) -> None:
    # boto3 does not check enums (ses-spec.md §2.6); the server must.
    with pytest.raises(ClientError) as caught:
        put(ses, configuration_set, CustomRedirectDomain=domain, HttpsPolicy=policy)
    assert error(caught) == ("BadRequestException", POLICY_MESSAGE, 400)
    assert tracking(ses, configuration_set) is None


@pytest.mark.parametrize("host", INVALID_HOSTS)
def test_a_domain_that_is_not_a_host_name_is_bad_request(
    ses: Any, configuration_set: str, host: str
) -> None:
    with pytest.raises(ClientError) as caught:
        put(ses, configuration_set, CustomRedirectDomain=host)
    code, _, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert tracking(ses, configuration_set) is None


def test_an_unverified_domain_is_bad_request(ses: Any, configuration_set: str, unique: str) -> None:
    host = f"track.{unique}-nobody.example.com"
    with pytest.raises(ClientError) as caught:
        put(ses, configuration_set, CustomRedirectDomain=host, HttpsPolicy="OPTIONAL")
    assert error(caught) == not_verified(host)
    assert tracking(ses, configuration_set) is None


def test_an_unverified_domain_is_refused_even_without_a_policy(
    ses: Any, configuration_set: str, unique: str
) -> None:
    host = f"{unique}-nobody.example.com"
    with pytest.raises(ClientError) as caught:
        put(ses, configuration_set, CustomRedirectDomain=host)
    assert error(caught) == not_verified(host)


def test_a_failed_put_keeps_the_previous_options(
    ses: Any, configuration_set: str, domain: str, unique: str
) -> None:
    put(ses, configuration_set, CustomRedirectDomain=domain, HttpsPolicy="REQUIRE")
    with pytest.raises(ClientError):
        put(ses, configuration_set, CustomRedirectDomain=f"{unique}-nobody.example.com")
    assert tracking(ses, configuration_set) == {
        "CustomRedirectDomain": domain,
        "HttpsPolicy": "REQUIRE",
    }


@pytest.mark.parametrize("prefix", ["", "track.", "a.b.c."])
def test_the_verified_domain_and_its_subdomains_are_accepted(
    ses: Any, configuration_set: str, domain: str, prefix: str
) -> None:
    # Our documented choice (ses-spec.md §4.3): a verified domain covers its subdomains.
    put(ses, configuration_set, CustomRedirectDomain=prefix + domain, HttpsPolicy="REQUIRE")
    assert tracking(ses, configuration_set) == {
        "CustomRedirectDomain": prefix + domain,
        "HttpsPolicy": "REQUIRE",
    }


def test_a_parent_of_a_verified_domain_is_not_covered(
    ses: Any, configuration_set: str, unique: str
) -> None:
    ses.create_email_identity(EmailIdentity=f"mail.{unique}.example.com")
    parent = f"{unique}.example.com"
    with pytest.raises(ClientError) as caught:
        put(ses, configuration_set, CustomRedirectDomain=parent)
    assert error(caught) == not_verified(parent)


def test_a_lookalike_suffix_is_not_a_subdomain(
    ses: Any, configuration_set: str, domain: str
) -> None:
    lookalike = f"track-{domain}"  # ends with the verified name, but is not under it
    with pytest.raises(ClientError) as caught:
        put(ses, configuration_set, CustomRedirectDomain=lookalike)
    assert error(caught) == not_verified(lookalike)


def test_an_email_address_identity_does_not_verify_its_domain(
    ses: Any, configuration_set: str, unique: str
) -> None:
    mail_domain = f"{unique}-mail.example.com"
    ses.create_email_identity(EmailIdentity=f"sender@{mail_domain}")
    for host in (mail_domain, f"track.{mail_domain}"):
        with pytest.raises(ClientError) as caught:
            put(ses, configuration_set, CustomRedirectDomain=host)
        assert error(caught) == not_verified(host)


def test_a_deleted_domain_identity_no_longer_verifies(
    ses: Any, configuration_set: str, domain: str
) -> None:
    ses.delete_email_identity(EmailIdentity=domain)
    with pytest.raises(ClientError) as caught:
        put(ses, configuration_set, CustomRedirectDomain=f"track.{domain}")
    assert error(caught) == not_verified(f"track.{domain}")


def test_an_unknown_set_is_404_not_found(ses: Any, unique: str, domain: str) -> None:
    with pytest.raises(ClientError) as caught:
        put(ses, unique, CustomRedirectDomain=domain, HttpsPolicy="REQUIRE")
    assert error(caught) == (
        "NotFoundException",
        f"Configuration set <{unique}> does not exist.",
        404,
    )


def test_an_unknown_set_is_404_even_with_a_bad_body(ses: Any, unique: str) -> None:
    # The set is looked up first (ses-spec.md §4.3, step 1).
    with pytest.raises(ClientError) as caught:
        put(ses, unique, HttpsPolicy="REQUIRE")
    assert error(caught)[0::2] == ("NotFoundException", 404)


# --- the same rules inside CreateConfigurationSet ---------------------------------------------


@pytest.mark.parametrize("policy", ["REQUIRE", "REQUIRE_OPEN_ONLY", "OPTIONAL", None])
def test_create_with_tracking_options_round_trips(
    ses: Any, unique: str, domain: str, policy: str | None
) -> None:
    block = {"CustomRedirectDomain": f"click.{domain}"}
    if policy:
        block["HttpsPolicy"] = policy
    ses.create_configuration_set(ConfigurationSetName=unique, TrackingOptions=block)
    assert tracking(ses, unique) == block


def create_fails(ses: Any, name: str, block: dict[str, str]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        ses.create_configuration_set(ConfigurationSetName=name, TrackingOptions=block)
    with pytest.raises(ClientError) as gone:
        ses.get_configuration_set(ConfigurationSetName=name)
    assert error(gone)[0] == "NotFoundException"
    return error(caught)


def test_create_with_an_unverified_domain_fails_and_leaves_nothing(ses: Any, unique: str) -> None:
    host = f"track.{unique}-nobody.example.com"
    assert create_fails(ses, unique, {"CustomRedirectDomain": host}) == not_verified(host)


def test_create_with_a_bogus_policy_fails_with_the_constraint_message(
    ses: Any, unique: str, domain: str
) -> None:
    block = {"CustomRedirectDomain": domain, "HttpsPolicy": "BOGUS"}
    message = POLICY_MESSAGE.replace("'httpsPolicy'", "'trackingOptions.httpsPolicy'")
    assert create_fails(ses, unique, block) == ("BadRequestException", message, 400)


@pytest.mark.parametrize("blank", ["", "  "])
def test_create_with_a_blank_domain_fails(ses: Any, unique: str, blank: str) -> None:
    assert create_fails(ses, unique, {"CustomRedirectDomain": blank}) == MUST_BE_SPECIFIED


@pytest.mark.parametrize("host", INVALID_HOSTS)
def test_create_with_an_invalid_host_fails(ses: Any, unique: str, host: str) -> None:
    assert create_fails(ses, unique, {"CustomRedirectDomain": host})[0::2] == (
        "BadRequestException",
        400,
    )


def test_create_with_an_address_identitys_domain_fails(ses: Any, unique: str) -> None:
    mail_domain = f"{unique}-mail.example.com"
    ses.create_email_identity(EmailIdentity=f"sender@{mail_domain}")
    block = {"CustomRedirectDomain": mail_domain}
    assert create_fails(ses, unique, block) == not_verified(mail_domain)


# --- the AWS CLI ------------------------------------------------------------------------------


def aws(sesame: RunningSesame, tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the AWS CLI of this virtualenv against Sesame, blind to the machine's AWS config."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment |= {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_CONFIG_FILE": str(tmp_path / "no-such-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-such-credentials"),
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
    }
    command = [
        str(Path(sys.executable).parent / "aws"),
        "sesv2",
        *arguments,
        "--endpoint-url",
        sesame.url,
        "--region",
        REGION,
    ]
    return subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_aws_cli_sets_tracking_options(
    sesame: RunningSesame, ses: Any, configuration_set: str, domain: str, tmp_path: Path
) -> None:
    done = aws(
        sesame,
        tmp_path,
        "put-configuration-set-tracking-options",
        "--configuration-set-name",
        configuration_set,
        "--custom-redirect-domain",
        f"track.{domain}",
        "--https-policy",
        "REQUIRE",
    )
    assert done.returncode == 0, done.stderr
    assert tracking(ses, configuration_set) == {
        "CustomRedirectDomain": f"track.{domain}",
        "HttpsPolicy": "REQUIRE",
    }


def test_the_aws_cli_reports_a_bogus_policy(
    sesame: RunningSesame, ses: Any, configuration_set: str, domain: str, tmp_path: Path
) -> None:
    done = aws(
        sesame,
        tmp_path,
        "put-configuration-set-tracking-options",
        "--configuration-set-name",
        configuration_set,
        "--custom-redirect-domain",
        domain,
        "--https-policy",
        "BOGUS",
    )
    assert done.returncode != 0
    assert "BadRequestException" in done.stderr
    assert POLICY_MESSAGE in done.stderr
    assert tracking(ses, configuration_set) is None
