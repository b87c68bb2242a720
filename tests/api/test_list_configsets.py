"""ListConfigurationSets on both routes: the current POST and the older GET (ses-spec.md §3.5).

boto3 1.44.8 sends `POST /v2/email/list-configuration-sets`; SDKs built before
botocore 1.43.105 send `GET /v2/email/configuration-sets?NextToken=&PageSize=`,
signed the same way, so the older route is exercised with raw signed requests.
Exact listings use a server of their own, so that no other test's sets show up.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness import RunningSesame, start_sesame
from wire import CONFIGURATION_SETS, error, send, walk_pages

PAGE_SIZE_MESSAGE = "The page size must be between 1 and 1000"
# Created out of order on purpose: listings come back in name order.
NAMES = ["set-c", "set-b", "set-a", "other-1", "set-e", "set_d", "zz-Set-last"]


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSesame]:
    """A Sesame holding exactly NAMES."""
    running = start_sesame(tmp_path_factory.mktemp("list-configsets"))
    client = running.client()
    for name in NAMES:
        client.create_configuration_set(ConfigurationSetName=name)
    yield running
    running.stop()


def names_of(pages: list[dict[str, Any]]) -> list[str]:
    return [name for page in pages for name in page["ConfigurationSets"]]


def get_route(sesame: RunningSesame, **query: str | int) -> Any:
    reply = send(sesame.url, "GET", CONFIGURATION_SETS, query=query)
    assert reply.status == 200, reply.body
    return reply.json()


# --- the current POST route -------------------------------------------------------------------


def test_list_without_paging_gives_every_set_in_name_order(own: RunningSesame) -> None:
    answer = own.client().list_configuration_sets()
    assert answer["ConfigurationSets"] == sorted(NAMES)
    assert "NextToken" not in answer


@pytest.mark.parametrize("size", [1, 2, 3, 6, 7, 1000])
def test_paging_walks_every_set_exactly_once_in_order(own: RunningSesame, size: int) -> None:
    pages = walk_pages(own.client().list_configuration_sets, PageSize=size)
    assert names_of(pages) == sorted(NAMES)
    assert [len(page["ConfigurationSets"]) for page in pages[:-1]] == [size] * (len(pages) - 1)
    assert 1 <= len(pages[-1]["ConfigurationSets"]) <= size


def test_the_same_token_gives_the_same_page_again(own: RunningSesame) -> None:
    client = own.client()
    token = client.list_configuration_sets(PageSize=2)["NextToken"]
    first = client.list_configuration_sets(PageSize=2, NextToken=token)
    again = client.list_configuration_sets(PageSize=2, NextToken=token)
    assert first["ConfigurationSets"] == again["ConfigurationSets"] == sorted(NAMES)[2:4]


@pytest.mark.parametrize("size", [0, 1001, -1])
def test_a_page_size_outside_1_to_1000_is_bad_request(own: RunningSesame, size: int) -> None:
    with pytest.raises(ClientError) as caught:
        own.client().list_configuration_sets(PageSize=size)
    assert error(caught) == ("BadRequestException", PAGE_SIZE_MESSAGE, 400)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        base64.b64encode(b"not a token").decode(),
        base64.b64encode(json.dumps({"a": 1}).encode()).decode(),
        "!!!",
    ],
)
def test_a_garbage_token_is_bad_request(own: RunningSesame, token: str) -> None:
    with pytest.raises(ClientError) as caught:
        own.client().list_configuration_sets(NextToken=token)
    code, _, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)


def test_the_name_filter_is_a_case_insensitive_substring(own: RunningSesame) -> None:
    client = own.client()
    found = client.list_configuration_sets(Filter={"CONFIGURATION_SET_NAME_CONTAINS": "SET-"})
    assert found["ConfigurationSets"] == ["set-a", "set-b", "set-c", "set-e", "zz-Set-last"]
    found = client.list_configuration_sets(Filter={"CONFIGURATION_SET_NAME_CONTAINS": "t_d"})
    assert found["ConfigurationSets"] == ["set_d"]
    found = client.list_configuration_sets(Filter={"CONFIGURATION_SET_NAME_CONTAINS": "nothing"})
    assert found["ConfigurationSets"] == []
    assert "NextToken" not in found


def test_paging_a_filtered_list_walks_only_the_matches(own: RunningSesame) -> None:
    pages = walk_pages(
        own.client().list_configuration_sets,
        Filter={"CONFIGURATION_SET_NAME_CONTAINS": "set-"},
        PageSize=2,
    )
    assert names_of(pages) == ["set-a", "set-b", "set-c", "set-e", "zz-Set-last"]
    assert len(pages) == 3


@pytest.mark.parametrize("value", ["a", "se", "x" * 65])
def test_a_filter_outside_3_to_64_characters_is_bad_request(own: RunningSesame, value: str) -> None:
    with pytest.raises(ClientError) as caught:
        own.client().list_configuration_sets(Filter={"CONFIGURATION_SET_NAME_CONTAINS": value})
    code, _, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)


def test_an_unknown_filter_key_is_bad_request(own: RunningSesame) -> None:
    with pytest.raises(ClientError) as caught:
        own.client().list_configuration_sets(Filter={"NAME_STARTS_WITH": "set"})
    code, _, status = error(caught)
    assert (code, status) == ("BadRequestException", 400)


def test_a_token_is_bound_to_its_filter(own: RunningSesame) -> None:
    client = own.client()
    token = client.list_configuration_sets(
        Filter={"CONFIGURATION_SET_NAME_CONTAINS": "set-"}, PageSize=1
    )["NextToken"]

    for other in ({"CONFIGURATION_SET_NAME_CONTAINS": "other"}, None):
        request: dict[str, Any] = {"NextToken": token, "PageSize": 1}
        if other is not None:
            request["Filter"] = other
        with pytest.raises(ClientError) as caught:
            client.list_configuration_sets(**request)
        code, _, status = error(caught)
        assert (code, status) == ("BadRequestException", 400), other

    unfiltered = client.list_configuration_sets(PageSize=1)["NextToken"]
    with pytest.raises(ClientError) as caught:
        client.list_configuration_sets(
            Filter={"CONFIGURATION_SET_NAME_CONTAINS": "set-"}, NextToken=unfiltered
        )
    assert error(caught)[0] == "BadRequestException"


def test_a_set_deleted_between_pages_is_skipped_without_repeats(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    running = start_sesame(tmp_path_factory.mktemp("list-delete"))
    try:
        client = running.client()
        for name in ("a-1", "a-2", "a-3", "a-4"):
            client.create_configuration_set(ConfigurationSetName=name)
        first = client.list_configuration_sets(PageSize=2)
        assert first["ConfigurationSets"] == ["a-1", "a-2"]
        client.delete_configuration_set(ConfigurationSetName="a-2")
        client.delete_configuration_set(ConfigurationSetName="a-3")
        rest = client.list_configuration_sets(PageSize=2, NextToken=first["NextToken"])
        assert rest["ConfigurationSets"] == ["a-4"]
        assert "NextToken" not in rest
    finally:
        running.stop()


def test_the_shared_server_lists_every_set_once_in_order(ses: Any, unique: str) -> None:
    mine = [f"{unique}-{suffix}" for suffix in ("b", "a", "c")]
    for name in mine:
        ses.create_configuration_set(ConfigurationSetName=name)
    listed = names_of(walk_pages(ses.list_configuration_sets, PageSize=7))
    assert listed == sorted(listed)
    assert len(listed) == len(set(listed))
    assert set(mine) <= set(listed)


# --- the older GET route ----------------------------------------------------------------------


def test_the_get_route_lists_every_set_in_name_order(own: RunningSesame) -> None:
    answer = get_route(own)
    assert answer == {"ConfigurationSets": sorted(NAMES)}


@pytest.mark.parametrize("size", [1, 3, 7])
def test_the_get_route_pages_with_an_opaque_token(own: RunningSesame, size: int) -> None:
    listed: list[str] = []
    pages = 0
    query: dict[str, str | int] = {"PageSize": size}
    while True:
        answer = get_route(own, **query)
        pages += 1
        assert len(answer["ConfigurationSets"]) <= size
        listed += answer["ConfigurationSets"]
        if "NextToken" not in answer:
            break
        query = {"PageSize": size, "NextToken": answer["NextToken"]}
    assert listed == sorted(NAMES)
    assert pages == -(-len(NAMES) // size)


def test_the_get_route_and_the_post_route_agree(own: RunningSesame) -> None:
    post = own.client().list_configuration_sets(PageSize=3)
    get = get_route(own, PageSize=3)
    assert get["ConfigurationSets"] == post["ConfigurationSets"]
    following = get_route(own, PageSize=3, NextToken=post["NextToken"])
    assert following["ConfigurationSets"] == sorted(NAMES)[3:6]


@pytest.mark.parametrize("size", [0, 1001])
def test_the_get_route_checks_the_page_size(own: RunningSesame, size: int) -> None:
    reply = send(own.url, "GET", CONFIGURATION_SETS, query={"PageSize": size})
    assert reply.status == 400
    assert reply.error_type == "BadRequestException"
    assert reply.json()["message"] == PAGE_SIZE_MESSAGE
    assert reply.headers.get("x-amzn-RequestId")


def test_the_get_route_rejects_a_garbage_token(own: RunningSesame) -> None:
    reply = send(own.url, "GET", CONFIGURATION_SETS, query={"NextToken": "garbage"})
    assert reply.status == 400
    assert reply.error_type == "BadRequestException"


def test_the_get_route_rejects_a_page_size_that_is_not_a_number(own: RunningSesame) -> None:
    reply = send(own.url, "GET", CONFIGURATION_SETS, query={"PageSize": "ten"})
    assert reply.status == 400
    assert reply.error_type in ("SerializationException", "BadRequestException")
