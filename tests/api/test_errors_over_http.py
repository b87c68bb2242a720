"""What goes wrong on the wire is answered the AWS way: a 4xx with a code, never a 500.

Bodies that no SDK would send are built by hand and signed with botocore's
SigV4 signer (wire.send). Every error carries `x-amzn-ErrorType` (the code
boto3 reads), `x-amzn-RequestId` and a JSON body with a `message`.
"""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from harness import RunningSesame
from wire import CONFIGURATION_SETS, Reply, error, send


def assert_aws_error(reply: Reply, status: int, code: str | None = None) -> None:
    assert reply.status == status, reply.body
    assert reply.headers.get("x-amzn-RequestId")
    assert reply.headers.get("x-amzn-ErrorType")
    assert reply.headers.get("Content-Type", "").startswith("application/json")
    document = reply.json()
    assert isinstance(document.get("message"), str)
    if code is not None:
        assert reply.error_type == code


# --- bodies that are not what the model says --------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="broken"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b'"a string"', id="string"),
        pytest.param(b"42", id="number"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_serialization_exception(
    sesame: RunningSesame, body: bytes
) -> None:
    reply = send(sesame.url, "POST", CONFIGURATION_SETS, body=body)
    assert_aws_error(reply, 400, "SerializationException")


def test_a_wrong_body_creates_nothing(sesame: RunningSesame, ses: Any, unique: str) -> None:
    body = ('{"ConfigurationSetName": "' + unique + '", "TrackingOptions": ').encode()
    reply = send(sesame.url, "POST", CONFIGURATION_SETS, body=body)
    assert_aws_error(reply, 400, "SerializationException")
    with pytest.raises(ClientError) as caught:
        ses.get_configuration_set(ConfigurationSetName=unique)
    assert error(caught)[0] == "NotFoundException"


@pytest.mark.parametrize(
    ("suffix", "body"),
    [
        pytest.param("/sending", {"SendingEnabled": "yes"}, id="string-for-boolean"),
        pytest.param("/sending", {"SendingEnabled": 1}, id="number-for-boolean"),
        pytest.param("/reputation-options", {"ReputationMetricsEnabled": []}, id="list-for-bool"),
        pytest.param("/delivery-options", {"MaxDeliverySeconds": "600"}, id="string-for-long"),
        pytest.param("/delivery-options", {"MaxDeliverySeconds": 600.5}, id="fraction-for-long"),
        pytest.param("/delivery-options", {"TlsPolicy": 5}, id="number-for-string"),
        pytest.param("/suppression-options", {"SuppressedReasons": "BOUNCE"}, id="str-for-list"),
        pytest.param("/vdm-options", {"VdmOptions": "on"}, id="string-for-structure"),
        pytest.param("/vdm-options", {"VdmOptions": [1]}, id="list-for-structure"),
        pytest.param("/tracking-options", {"CustomRedirectDomain": 7}, id="number-for-domain"),
        pytest.param("/tracking-options", {"HttpsPolicy": True}, id="boolean-for-enum"),
    ],
)
def test_a_member_of_the_wrong_json_type_is_400_on_put(
    sesame: RunningSesame, ses: Any, configuration_set: str, suffix: str, body: dict[str, Any]
) -> None:
    before = ses.get_configuration_set(ConfigurationSetName=configuration_set)
    reply = send(sesame.url, "PUT", f"{CONFIGURATION_SETS}/{configuration_set}{suffix}", body=body)
    assert_aws_error(reply, 400)
    after = ses.get_configuration_set(ConfigurationSetName=configuration_set)
    assert {k: v for k, v in after.items() if k != "ResponseMetadata"} == {
        k: v for k, v in before.items() if k != "ResponseMetadata"
    }


@pytest.mark.parametrize(
    "members",
    [
        pytest.param({"TrackingOptions": 5}, id="number-for-structure"),
        pytest.param({"TrackingOptions": "track.example.com"}, id="string-for-structure"),
        pytest.param({"SendingOptions": {"SendingEnabled": "yes"}}, id="nested-string-for-bool"),
        pytest.param({"Tags": {"Key": "k", "Value": "v"}}, id="object-for-list"),
        pytest.param({"Tags": [["k", "v"]]}, id="list-for-structure-in-list"),
        pytest.param({"Tags": [{"Key": 1, "Value": "v"}]}, id="number-for-tag-key"),
    ],
)
def test_a_member_of_the_wrong_json_type_is_400_on_create(
    sesame: RunningSesame, ses: Any, unique: str, members: dict[str, Any]
) -> None:
    reply = send(
        sesame.url, "POST", CONFIGURATION_SETS, body={"ConfigurationSetName": unique, **members}
    )
    assert_aws_error(reply, 400)
    with pytest.raises(ClientError) as caught:
        ses.get_configuration_set(ConfigurationSetName=unique)
    assert error(caught)[0] == "NotFoundException"


@pytest.mark.parametrize("name", [5, True, ["a"], {"a": 1}])
def test_a_name_of_the_wrong_json_type_is_400(sesame: RunningSesame, name: Any) -> None:
    reply = send(sesame.url, "POST", CONFIGURATION_SETS, body={"ConfigurationSetName": name})
    assert_aws_error(reply, 400)


def test_a_missing_required_member_is_bad_request(sesame: RunningSesame) -> None:
    reply = send(sesame.url, "POST", CONFIGURATION_SETS, body={})
    assert_aws_error(reply, 400, "BadRequestException")


def test_an_empty_body_on_create_is_bad_request_not_500(sesame: RunningSesame) -> None:
    reply = send(sesame.url, "POST", CONFIGURATION_SETS, body=b"")
    assert reply.status == 400
    assert reply.headers.get("x-amzn-RequestId")


def test_list_with_a_page_size_of_the_wrong_type_is_400(sesame: RunningSesame) -> None:
    reply = send(sesame.url, "POST", "/v2/email/list-configuration-sets", body={"PageSize": "10"})
    assert_aws_error(reply, 400)


# --- operations Sesame does not implement -----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "arguments", "operation"),
    [
        ("get_deliverability_dashboard_options", {}, "GetDeliverabilityDashboardOptions"),
        ("create_dedicated_ip_pool", {"PoolName": "pool-1"}, "CreateDedicatedIpPool"),
        ("list_dedicated_ip_pools", {}, "ListDedicatedIpPools"),
    ],
)
def test_an_unimplemented_operation_is_501_not_implemented(
    ses: Any, method: str, arguments: dict[str, Any], operation: str
) -> None:
    with pytest.raises(ClientError) as caught:
        getattr(ses, method)(**arguments)
    code, message, status = error(caught)
    assert (code, status) == ("NotImplementedException", 501)
    assert operation in message
    assert caught.value.response["ResponseMetadata"]["RequestId"]


# --- paths no operation has -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/email/no-such-thing"),
        ("POST", "/v2/email/configuration-sets/x/y/z/w"),
        ("GET", "/"),
        ("GET", "/v3/email/configuration-sets"),
        ("PATCH", CONFIGURATION_SETS),
    ],
)
def test_a_path_no_operation_has_is_an_aws_shaped_404(
    sesame: RunningSesame, method: str, path: str
) -> None:
    reply = send(sesame.url, method, path)
    assert_aws_error(reply, 404)


# --- every error carries a request id ---------------------------------------------------------


def test_modelled_errors_carry_a_request_id_through_boto3(ses: Any, unique: str) -> None:
    calls = [
        lambda: ses.get_configuration_set(ConfigurationSetName=unique),
        lambda: ses.create_configuration_set(ConfigurationSetName="bad name"),
        lambda: ses.list_configuration_sets(PageSize=0),
        lambda: ses.delete_email_identity(EmailIdentity=f"{unique}.example.com"),
    ]
    seen: set[str] = set()
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        metadata = caught.value.response["ResponseMetadata"]
        request_id = metadata["RequestId"]
        assert request_id
        assert metadata["HTTPHeaders"]["x-amzn-requestid"] == request_id
        assert "x-amzn-errortype" in metadata["HTTPHeaders"]
        seen.add(request_id)
    assert len(seen) == len(calls), "request ids are not unique"


def test_a_missing_set_over_raw_http_is_the_modelled_404(
    sesame: RunningSesame, unique: str
) -> None:
    reply = send(sesame.url, "GET", f"{CONFIGURATION_SETS}/{unique}")
    assert_aws_error(reply, 404, "NotFoundException")
    assert reply.json()["message"] == f"Configuration set <{unique}> does not exist."


def test_an_unsigned_request_is_refused_with_a_request_id(sesame: RunningSesame) -> None:
    parts = urlsplit(sesame.url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request("GET", CONFIGURATION_SETS)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert 400 <= response.status < 500, body
    assert response.headers.get("x-amzn-RequestId")
    assert response.headers.get("x-amzn-ErrorType")
