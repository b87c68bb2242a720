"""TagResource, UntagResource and ListTagsForResource on configuration sets and identities.

A resource is named by its ARN, `arn:aws:ses:<region>:<account>:configuration-set/<name>`
or `.../identity/<name>`; an ARN of another account or region names nothing here.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness import ACCOUNT_ID, REGION
from wire import error, without_metadata


def set_arn(name: str, region: str = REGION, account: str = ACCOUNT_ID) -> str:
    return f"arn:aws:ses:{region}:{account}:configuration-set/{name}"


def identity_arn(name: str) -> str:
    return f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/{name}"


def tags_of(ses: Any, arn: str) -> dict[str, str]:
    listed = ses.list_tags_for_resource(ResourceArn=arn)["Tags"]
    as_dict = {tag["Key"]: tag["Value"] for tag in listed}
    assert len(as_dict) == len(listed), "a key is listed twice"
    return as_dict


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def not_found(caught: pytest.ExceptionInfo[ClientError]) -> None:
    code, _, status = error(caught)
    assert (code, status) == ("NotFoundException", 404)


def bad_request(caught: pytest.ExceptionInfo[ClientError]) -> None:
    code, _, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)


@pytest.fixture
def configuration_set(ses: Any, unique: str) -> str:
    """A set created with two tags (overrides the plain one in conftest)."""
    ses.create_configuration_set(
        ConfigurationSetName=unique, Tags=tag_list({"team": "mail", "env": "dev"})
    )
    return unique


def test_tags_given_on_create_are_listed(ses: Any, configuration_set: str) -> None:
    assert tags_of(ses, set_arn(configuration_set)) == {"team": "mail", "env": "dev"}


def test_tag_resource_merges(ses: Any, configuration_set: str) -> None:
    arn = set_arn(configuration_set)
    answer = ses.tag_resource(ResourceArn=arn, Tags=tag_list({"env": "prod", "cost": ""}))
    assert without_metadata(answer) == {}
    expected = {"team": "mail", "env": "prod", "cost": ""}
    assert tags_of(ses, arn) == expected
    got = ses.get_configuration_set(ConfigurationSetName=configuration_set)["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in got} == expected


def test_untag_resource_removes_only_the_named_keys(ses: Any, configuration_set: str) -> None:
    arn = set_arn(configuration_set)
    ses.tag_resource(ResourceArn=arn, Tags=tag_list({"with space": "x", "a:b/c": "y"}))
    answer = ses.untag_resource(ResourceArn=arn, TagKeys=["env", "with space", "never-there"])
    assert without_metadata(answer) == {}
    assert tags_of(ses, arn) == {"team": "mail", "a:b/c": "y"}

    ses.untag_resource(ResourceArn=arn, TagKeys=["a:b/c", "team"])
    assert tags_of(ses, arn) == {}
    assert ses.get_configuration_set(ConfigurationSetName=configuration_set)["Tags"] == []


def test_identity_tags(ses: Any, unique: str) -> None:
    domain = f"{unique}.example.com"
    ses.create_email_identity(EmailIdentity=domain, Tags=tag_list({"owner": "ops"}))
    arn = identity_arn(domain)
    assert tags_of(ses, arn) == {"owner": "ops"}

    ses.tag_resource(ResourceArn=arn, Tags=tag_list({"owner": "sales", "tier": "1"}))
    assert tags_of(ses, arn) == {"owner": "sales", "tier": "1"}
    got = ses.get_email_identity(EmailIdentity=domain)["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in got} == {"owner": "sales", "tier": "1"}

    ses.untag_resource(ResourceArn=arn, TagKeys=["owner"])
    assert tags_of(ses, arn) == {"tier": "1"}


def test_address_identity_tags(ses: Any, unique: str) -> None:
    address = f"me@{unique}.example.com"
    ses.create_email_identity(EmailIdentity=address)
    ses.tag_resource(ResourceArn=identity_arn(address), Tags=tag_list({"k": "v"}))
    assert tags_of(ses, identity_arn(address)) == {"k": "v"}


@pytest.mark.parametrize(
    "arn_for",
    [
        pytest.param(lambda name: set_arn(name, account="210987654321"), id="other-account"),
        pytest.param(lambda name: set_arn(name, region="eu-west-1"), id="other-region"),
        pytest.param(lambda name: set_arn(name + "-missing"), id="missing-set"),
        pytest.param(
            lambda name: f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:template/{name}", id="other-type"
        ),
        pytest.param(
            lambda name: f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/{name}.example.com",
            id="missing-identity",
        ),
        pytest.param(lambda name: "not-an-arn", id="not-an-arn"),
    ],
)
def test_an_arn_that_names_nothing_here_is_not_found(
    ses: Any, configuration_set: str, arn_for: Any
) -> None:
    arn = arn_for(configuration_set)
    for call in (
        lambda: ses.list_tags_for_resource(ResourceArn=arn),
        lambda: ses.tag_resource(ResourceArn=arn, Tags=tag_list({"k": "v"})),
        lambda: ses.untag_resource(ResourceArn=arn, TagKeys=["team"]),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        not_found(caught)
    # The set that does exist is untouched.
    assert tags_of(ses, set_arn(configuration_set)) == {"team": "mail", "env": "dev"}


def test_a_deleted_set_has_no_tags_to_list(ses: Any, configuration_set: str) -> None:
    ses.delete_configuration_set(ConfigurationSetName=configuration_set)
    with pytest.raises(ClientError) as caught:
        ses.list_tags_for_resource(ResourceArn=set_arn(configuration_set))
    not_found(caught)


def test_fifty_tags_are_fine_and_fifty_one_are_bad_request(ses: Any, unique: str) -> None:
    ses.create_configuration_set(ConfigurationSetName=unique)
    arn = set_arn(unique)
    ses.tag_resource(ResourceArn=arn, Tags=tag_list({f"k{i}": "v" for i in range(30)}))
    with pytest.raises(ClientError) as caught:
        ses.tag_resource(ResourceArn=arn, Tags=tag_list({f"n{i}": "v" for i in range(21)}))
    bad_request(caught)
    assert len(tags_of(ses, arn)) == 30

    ses.tag_resource(ResourceArn=arn, Tags=tag_list({f"n{i}": "v" for i in range(20)}))
    assert len(tags_of(ses, arn)) == 50
    # Overwriting an existing key stays within the limit.
    ses.tag_resource(ResourceArn=arn, Tags=tag_list({"k0": "changed"}))
    assert tags_of(ses, arn)["k0"] == "changed"
    with pytest.raises(ClientError) as caught:
        ses.tag_resource(ResourceArn=arn, Tags=tag_list({"one-more": "v"}))
    bad_request(caught)


def test_fifty_one_tags_in_one_request_are_bad_request(ses: Any, configuration_set: str) -> None:
    arn = set_arn(configuration_set)
    with pytest.raises(ClientError) as caught:
        ses.tag_resource(ResourceArn=arn, Tags=tag_list({f"k{i}": "v" for i in range(51)}))
    bad_request(caught)
    assert tags_of(ses, arn) == {"team": "mail", "env": "dev"}


def test_create_with_fifty_one_tags_is_bad_request(ses: Any, unique: str) -> None:
    with pytest.raises(ClientError) as caught:
        ses.create_configuration_set(
            ConfigurationSetName=unique, Tags=tag_list({f"k{i}": "v" for i in range(51)})
        )
    bad_request(caught)


def test_templates_are_taggable(ses: Any, unique: str) -> None:
    ses.create_email_template(
        TemplateName=unique,
        TemplateContent={"Subject": "s", "Text": "t"},
        Tags=[{"Key": "team", "Value": "mail"}],
    )
    arn = f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:template/{unique}"
    ses.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
    assert tags_of(ses, arn) == {"team": "mail", "env": "dev"}
    ses.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert tags_of(ses, arn) == {"env": "dev"}
    # Tagging does not touch the content.
    assert ses.get_email_template(TemplateName=unique)["TemplateContent"]["Text"] == "t"
