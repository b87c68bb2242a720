"""Email identities, as far as configuration sets and tracking need them.

CreateEmailIdentity, GetEmailIdentity, ListEmailIdentities (both routes),
DeleteEmailIdentity and PutEmailIdentityConfigurationSetAttributes. The shared
server runs with `--identity-verification auto`: an identity is verified the
moment it is created. A server of its own runs with `dns`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness import RunningSesame, start_sesame
from wire import IDENTITIES, error, send, walk_pages, without_metadata

# Created out of order; listings come back in name order.
OWN_IDENTITIES = [
    "zeta.example.com",
    "alpha.example.com",
    "carol@alpha.example.com",
    "bob@example.org",
    "mid.example.net",
]


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSesame]:
    """A Sesame holding exactly OWN_IDENTITIES."""
    running = start_sesame(tmp_path_factory.mktemp("list-identities"))
    client = running.client()
    for identity in OWN_IDENTITIES:
        client.create_email_identity(EmailIdentity=identity)
    yield running
    running.stop()


@pytest.fixture
def dns_sesame(tmp_path: Path) -> Iterator[RunningSesame]:
    running = start_sesame(tmp_path, identity_verification="dns")
    yield running
    running.stop()


def not_found(caught: pytest.ExceptionInfo[ClientError]) -> None:
    code, _, status = error(caught)
    assert (code, status) == ("NotFoundException", 404)


def names_of(pages: list[dict[str, Any]]) -> list[str]:
    return [item["IdentityName"] for page in pages for item in page["EmailIdentities"]]


# --- create and get ---------------------------------------------------------------------------


def test_a_domain_identity_is_verified_on_creation(ses: Any, unique: str) -> None:
    domain = f"{unique}.example.com"
    created = ses.create_email_identity(EmailIdentity=domain)
    assert created["IdentityType"] == "DOMAIN"
    assert created["VerifiedForSendingStatus"] is True
    assert created["DkimAttributes"]["SigningEnabled"] is True
    assert created["DkimAttributes"]["Tokens"]

    got = ses.get_email_identity(EmailIdentity=domain)
    assert got["IdentityType"] == "DOMAIN"
    assert got["VerifiedForSendingStatus"] is True
    assert got["VerificationStatus"] == "SUCCESS"
    assert got["DkimAttributes"] == created["DkimAttributes"]
    assert got["Tags"] == []
    assert "ConfigurationSetName" not in got


def test_an_address_identity_is_verified_on_creation(ses: Any, unique: str) -> None:
    address = f"sender@{unique}.example.com"
    created = ses.create_email_identity(EmailIdentity=address)
    assert created["IdentityType"] == "EMAIL_ADDRESS"
    assert created["VerifiedForSendingStatus"] is True

    got = ses.get_email_identity(EmailIdentity=address)
    assert got["IdentityType"] == "EMAIL_ADDRESS"
    assert got["VerifiedForSendingStatus"] is True
    assert got["VerificationStatus"] == "SUCCESS"


def test_create_with_tags_and_a_configuration_set(ses: Any, unique: str) -> None:
    ses.create_configuration_set(ConfigurationSetName=unique)
    domain = f"{unique}.example.com"
    tags = [{"Key": "owner", "Value": "marketing"}]
    ses.create_email_identity(EmailIdentity=domain, Tags=tags, ConfigurationSetName=unique)
    got = ses.get_email_identity(EmailIdentity=domain)
    assert got["Tags"] == tags
    assert got["ConfigurationSetName"] == unique


def test_create_naming_a_missing_set_is_not_found_and_creates_nothing(
    ses: Any, unique: str
) -> None:
    domain = f"{unique}.example.com"
    with pytest.raises(ClientError) as caught:
        ses.create_email_identity(EmailIdentity=domain, ConfigurationSetName=unique)
    assert error(caught) == (
        "NotFoundException",
        f"Configuration set <{unique}> does not exist.",
        404,
    )
    with pytest.raises(ClientError) as caught:
        ses.get_email_identity(EmailIdentity=domain)
    not_found(caught)


@pytest.mark.parametrize(
    "identity",
    [
        pytest.param("not a domain", id="space"),
        pytest.param("localhost", id="single-label"),
        pytest.param("-bad.example.com", id="leading-hyphen"),
        pytest.param("a..b.example.com", id="empty-label"),
        pytest.param("@example.com", id="no-local-part"),
        pytest.param("user@", id="no-domain"),
        pytest.param("a@@example.com", id="two-ats"),
        pytest.param("user@bad_domain.example.com", id="underscore-domain"),
        pytest.param("us er@example.com", id="space-in-local-part"),
        pytest.param(".user@example.com", id="leading-dot"),
        pytest.param("x" * 64 + ".example.com", id="label-too-long"),
    ],
)
def test_an_invalid_identity_is_bad_request(ses: Any, identity: str) -> None:
    with pytest.raises(ClientError) as caught:
        ses.create_email_identity(EmailIdentity=identity)
    code, _, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)


@pytest.mark.parametrize("kind", ["domain", "address"])
def test_a_duplicate_identity_is_already_exists(ses: Any, unique: str, kind: str) -> None:
    identity = f"{unique}.example.com" if kind == "domain" else f"me@{unique}.example.com"
    ses.create_email_identity(EmailIdentity=identity)
    with pytest.raises(ClientError) as caught:
        ses.create_email_identity(EmailIdentity=identity)
    code, _, status = error(caught)
    assert (code, status) == ("AlreadyExistsException", 400)


def test_get_of_a_missing_identity_is_not_found(ses: Any, unique: str) -> None:
    with pytest.raises(ClientError) as caught:
        ses.get_email_identity(EmailIdentity=f"{unique}.example.com")
    not_found(caught)


# --- delete -----------------------------------------------------------------------------------


def test_delete_then_get_and_delete_again_are_not_found(ses: Any, unique: str) -> None:
    domain = f"{unique}.example.com"
    ses.create_email_identity(EmailIdentity=domain)
    assert without_metadata(ses.delete_email_identity(EmailIdentity=domain)) == {}
    with pytest.raises(ClientError) as caught:
        ses.get_email_identity(EmailIdentity=domain)
    not_found(caught)
    with pytest.raises(ClientError) as caught:
        ses.delete_email_identity(EmailIdentity=domain)
    not_found(caught)


def test_deleting_an_address_keeps_its_domain(ses: Any, unique: str) -> None:
    domain = f"{unique}.example.com"
    ses.create_email_identity(EmailIdentity=domain)
    ses.create_email_identity(EmailIdentity=f"me@{domain}")
    ses.delete_email_identity(EmailIdentity=f"me@{domain}")
    assert ses.get_email_identity(EmailIdentity=domain)["IdentityType"] == "DOMAIN"


# --- PutEmailIdentityConfigurationSetAttributes -----------------------------------------------


def test_default_configuration_set_is_set_replaced_and_removed(ses: Any, unique: str) -> None:
    identity = f"news@{unique}.example.com"
    ses.create_email_identity(EmailIdentity=identity)
    for name in (f"{unique}-a", f"{unique}-b"):
        ses.create_configuration_set(ConfigurationSetName=name)

    answer = ses.put_email_identity_configuration_set_attributes(
        EmailIdentity=identity, ConfigurationSetName=f"{unique}-a"
    )
    assert without_metadata(answer) == {}
    assert ses.get_email_identity(EmailIdentity=identity)["ConfigurationSetName"] == f"{unique}-a"

    ses.put_email_identity_configuration_set_attributes(
        EmailIdentity=identity, ConfigurationSetName=f"{unique}-b"
    )
    assert ses.get_email_identity(EmailIdentity=identity)["ConfigurationSetName"] == f"{unique}-b"

    ses.put_email_identity_configuration_set_attributes(EmailIdentity=identity)
    assert "ConfigurationSetName" not in ses.get_email_identity(EmailIdentity=identity)


def test_default_configuration_set_must_exist(ses: Any, unique: str) -> None:
    domain = f"{unique}.example.com"
    ses.create_email_identity(EmailIdentity=domain)
    with pytest.raises(ClientError) as caught:
        ses.put_email_identity_configuration_set_attributes(
            EmailIdentity=domain, ConfigurationSetName=unique
        )
    assert error(caught) == (
        "NotFoundException",
        f"Configuration set <{unique}> does not exist.",
        404,
    )
    assert "ConfigurationSetName" not in ses.get_email_identity(EmailIdentity=domain)


def test_default_configuration_set_of_a_missing_identity_is_not_found(
    ses: Any, unique: str
) -> None:
    ses.create_configuration_set(ConfigurationSetName=unique)
    with pytest.raises(ClientError) as caught:
        ses.put_email_identity_configuration_set_attributes(
            EmailIdentity=f"{unique}.example.com", ConfigurationSetName=unique
        )
    not_found(caught)


# --- ListEmailIdentities: the current POST route ----------------------------------------------


def test_list_gives_every_identity_in_name_order(own: RunningSesame) -> None:
    answer = own.client().list_email_identities()
    assert answer["EmailIdentities"] == [
        {
            "IdentityType": "EMAIL_ADDRESS" if "@" in name else "DOMAIN",
            "IdentityName": name,
            "SendingEnabled": True,
            "VerificationStatus": "SUCCESS",
        }
        for name in sorted(OWN_IDENTITIES)
    ]
    assert "NextToken" not in answer


@pytest.mark.parametrize("size", [1, 2, 4, 5, 1000])
def test_list_pages_walk_every_identity_once(own: RunningSesame, size: int) -> None:
    pages = walk_pages(own.client().list_email_identities, PageSize=size)
    assert names_of(pages) == sorted(OWN_IDENTITIES)
    assert all(len(page["EmailIdentities"]) == size for page in pages[:-1])


@pytest.mark.parametrize("size", [0, 1001])
def test_list_checks_the_page_size(own: RunningSesame, size: int) -> None:
    with pytest.raises(ClientError) as caught:
        own.client().list_email_identities(PageSize=size)
    assert error(caught) == ("BadRequestException", "The page size must be between 1 and 1000", 400)


def test_list_rejects_a_garbage_token(own: RunningSesame) -> None:
    with pytest.raises(ClientError) as caught:
        own.client().list_email_identities(NextToken="garbage")
    code, _, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)


def test_the_shared_server_lists_new_identities(ses: Any, unique: str) -> None:
    mine = [f"{unique}.example.com", f"a@{unique}.example.com"]
    for identity in mine:
        ses.create_email_identity(EmailIdentity=identity)
    listed = names_of(walk_pages(ses.list_email_identities, PageSize=50))
    assert listed == sorted(listed)
    assert len(listed) == len(set(listed))
    assert set(mine) <= set(listed)


# --- ListEmailIdentities: the older GET route -------------------------------------------------


def test_the_get_route_lists_every_identity(own: RunningSesame) -> None:
    reply = send(own.url, "GET", IDENTITIES)
    assert reply.status == 200
    listed = reply.json()
    assert [item["IdentityName"] for item in listed["EmailIdentities"]] == sorted(OWN_IDENTITIES)
    assert "NextToken" not in listed


@pytest.mark.parametrize("size", [1, 2, 5])
def test_the_get_route_pages(own: RunningSesame, size: int) -> None:
    listed: list[str] = []
    query: dict[str, str | int] = {"PageSize": size}
    while True:
        reply = send(own.url, "GET", IDENTITIES, query=query)
        assert reply.status == 200, reply.body
        page = reply.json()
        assert len(page["EmailIdentities"]) <= size
        listed += [item["IdentityName"] for item in page["EmailIdentities"]]
        if "NextToken" not in page:
            break
        query = {"PageSize": size, "NextToken": page["NextToken"]}
    assert listed == sorted(OWN_IDENTITIES)


@pytest.mark.parametrize("query", [{"PageSize": 0}, {"PageSize": 1001}, {"NextToken": "garbage"}])
def test_the_get_route_rejects_bad_paging(own: RunningSesame, query: dict[str, Any]) -> None:
    reply = send(own.url, "GET", IDENTITIES, query=query)
    assert reply.status == 400
    assert reply.error_type == "BadRequestException"
    assert reply.headers.get("x-amzn-RequestId")


# --- --identity-verification dns --------------------------------------------------------------


def test_with_dns_verification_a_new_identity_is_pending(dns_sesame: RunningSesame) -> None:
    client = dns_sesame.client()
    created = client.create_email_identity(EmailIdentity="pending.example.com")
    assert created["VerifiedForSendingStatus"] is False
    got = client.get_email_identity(EmailIdentity="pending.example.com")
    assert got["VerificationStatus"] == "PENDING"
    assert got["VerifiedForSendingStatus"] is False
    listed = client.list_email_identities()["EmailIdentities"]
    assert listed[0]["VerificationStatus"] == "PENDING"


def test_with_dns_verification_a_pending_domain_is_no_tracking_domain(
    dns_sesame: RunningSesame,
) -> None:
    client = dns_sesame.client()
    client.create_email_identity(EmailIdentity="pending.example.com")
    client.create_configuration_set(ConfigurationSetName="tracked")
    for host in ("pending.example.com", "track.pending.example.com"):
        with pytest.raises(ClientError) as caught:
            client.put_configuration_set_tracking_options(
                ConfigurationSetName="tracked", CustomRedirectDomain=host, HttpsPolicy="REQUIRE"
            )
        assert error(caught) == (
            "BadRequestException",
            f"Domain <{host}> is not verified under this account.",
            400,
        )
    with pytest.raises(ClientError) as caught:
        client.create_configuration_set(
            ConfigurationSetName="tracked-on-create",
            TrackingOptions={"CustomRedirectDomain": "track.pending.example.com"},
        )
    assert error(caught)[0] == "BadRequestException"
    assert "TrackingOptions" not in client.get_configuration_set(ConfigurationSetName="tracked")
