"""Every sesv2 operation, both ways, with botocore's own client code as the oracle.

- request: botocore's client serializer builds the HTTP request for a generated
  input; Sesame's router must name the operation and its parser must give the
  input back, value for value and type for type;
- response: Sesame serialises a generated output; botocore's response parser must
  read back exactly that output (and the request id);
- errors: every modelled error (and SerializationException) reads back through
  botocore's parser and through a real boto3 client's exception mapping;
- legacy routes: the pre-1.43.105 GET bindings of ListConfigurationSets and
  ListEmailIdentities, serialised by botocore from a model carrying those bindings.

The examples come from `examples.py` (every member, or only the required ones).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator
from functools import cache
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
import botocore.session
import pytest
from botocore import UNSIGNED, xform_name
from botocore.awsrequest import (
    AWSPreparedRequest,
    AWSResponse,
    HeadersDict,
    create_request_object,
    prepare_request_dict,
)
from botocore.config import Config
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from botocore.validate import ParamValidator

from sesame.protocol import errors
from sesame.protocol.http import HttpRequest, HttpResponse
from sesame.protocol.parser import parse
from sesame.protocol.router import match
from sesame.protocol.serializer import serialize, serialize_error

from examples import LABEL_SPECIALS, PATTERN_EXAMPLES, example_input, example_output

SERVICE: ServiceModel = botocore.session.Session().get_service_model("sesv2")
OPERATIONS = sorted(SERVICE.operation_names)
VARIANTS = (0, 1)
ENDPOINT = "https://email.us-east-1.amazonaws.com"

CASES = [pytest.param(name, v, id=f"{name}-v{v}") for name in OPERATIONS for v in VARIANTS]


# --- helpers ---------------------------------------------------------------------------------


def wire_request(params: dict[str, Any], op: OperationModel) -> HttpRequest:
    """The request botocore's client would send for `params`, as Sesame receives it.

    The serializer (with botocore's validation) makes the request dict; botocore's
    own `prepare_request_dict` joins the endpoint and percent-encodes the query
    (`percent_encode_sequence`), and `AWSRequest.prepare()` makes the final URL and
    body, so path and query are the raw bytes that go on the wire.
    """
    serializer = create_serializer("rest-json", include_validation=True)
    request_dict = serializer.serialize_to_request(params, op)
    prepare_request_dict(request_dict, endpoint_url=ENDPOINT)
    return _as_http_request(create_request_object(request_dict).prepare())


def _as_http_request(prepared: AWSPreparedRequest) -> HttpRequest:
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    headers = {
        k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in prepared.headers.items()
    }
    return HttpRequest(prepared.method, path=url.path, query=url.query, headers=headers, body=body)


def botocore_parse(resp: HttpResponse, op: OperationModel) -> dict[str, Any]:
    response_dict = {
        "status_code": resp.status,
        "headers": HeadersDict(resp.headers),
        "body": resp.body,
    }
    parsed: dict[str, Any] = create_parser("rest-json").parse(response_dict, op.output_shape)
    return parsed


def differences(expected: Any, got: Any, path: str = "") -> list[str]:
    """Every place where `got` differs from `expected`, types included (True is not 1)."""
    where = path or "<top>"
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return [f"{where}: expected {expected!r}, got {got!r}"]
        found: list[str] = []
        for key in sorted(expected.keys() | got.keys(), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in got:
                found.append(f"{sub}: missing, expected {expected[key]!r}")
            elif key not in expected:
                found.append(f"{sub}: not expected, got {got[key]!r}")
            else:
                found += differences(expected[key], got[key], sub)
        return found
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            return [f"{where}: expected {expected!r}, got {got!r}"]
        return [
            d
            for i, (e, g) in enumerate(zip(expected, got, strict=True))
            for d in differences(e, g, f"{path}[{i}]")
        ]
    if isinstance(expected, dt.datetime):
        if not isinstance(got, dt.datetime) or got.tzinfo is None or got != expected:
            return [f"{where}: expected {expected!r}, got {got!r}"]
        return []
    if type(got) is not type(expected) or got != expected:
        return [
            f"{where}: expected {expected!r} ({type(expected).__name__}), "
            f"got {got!r} ({type(got).__name__})"
        ]
    return []


def assert_same(expected: Any, got: Any) -> None:
    found = differences(expected, got)
    assert not found, "\n".join(found)


# --- the example generator on its own ----------------------------------------------------------


def violations(value: Any, shape: Shape, path: str) -> Iterator[str]:
    """Constraint breaches botocore's validator does not look for (max, enum, pattern)."""
    meta = shape.metadata
    lo, hi = meta.get("min"), meta.get("max")
    kind = shape.type_name
    if kind in ("string", "list", "map"):
        size = len(value)
        if (lo is not None and size < lo) or (hi is not None and size > hi):
            yield f"{path}: length {size} outside [{lo}, {hi}]"
    if kind in ("integer", "long", "double") and (
        (lo is not None and value < lo) or (hi is not None and value > hi)
    ):
        yield f"{path}: {value} outside [{lo}, {hi}]"
    if kind == "string":
        if shape.enum and value not in shape.enum:
            yield f"{path}: {value!r} not in the enum"
        # Smithy patterns are not implicitly anchored; \w is ASCII as in Java.
        if "pattern" in meta and not re.search(meta["pattern"], value, re.ASCII):
            yield f"{path}: {value!r} does not match {meta['pattern']!r}"
    if kind == "timestamp" and (value.tzinfo is None or value.microsecond % 1000):
        yield f"{path}: {value!r} is not an aware datetime with whole milliseconds"
    if kind == "structure":
        for name in value:
            yield from violations(value[name], shape.members[name], f"{path}.{name}")
    if kind == "list":
        for i, item in enumerate(value):
            yield from violations(item, shape.member, f"{path}[{i}]")
    if kind == "map":
        for key, item in value.items():
            yield from violations(key, shape.key, f"{path} key {key!r}")
            yield from violations(item, shape.value, f"{path}[{key!r}]")


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_examples_satisfy_the_model(name: str, variant: int) -> None:
    op = SERVICE.operation_model(name)
    for shape, value in (
        (op.input_shape, example_input(op, variant=variant)),
        (op.output_shape, example_output(op, variant=variant)),
    ):
        if shape is None:
            assert value == {}
            continue
        report = ParamValidator().validate(value, shape)
        assert not report.has_errors(), report.generate_report()
        found = list(violations(value, shape, shape.name))
        assert not found, "\n".join(found)


def test_examples_are_deterministic() -> None:
    for name in OPERATIONS:
        op = SERVICE.operation_model(name)
        for variant in VARIANTS:
            assert example_input(op, variant=variant) == example_input(op, variant=variant)
            assert example_output(op, variant=variant) == example_output(op, variant=variant)


def test_every_model_pattern_has_an_example() -> None:
    patterns = {
        shape["pattern"]
        for shape in botocore.session.Session().get_service_data("sesv2")["shapes"].values()
        if "pattern" in shape
    }
    assert patterns <= PATTERN_EXAMPLES.keys()


@pytest.mark.parametrize("name", OPERATIONS)
def test_examples_stress_uri_and_query(name: str) -> None:
    """Full inputs set every member; labels and query values need percent-encoding."""
    op = SERVICE.operation_model(name)
    shape = op.input_shape
    params = example_input(op)
    if shape is None:
        return
    assert params.keys() == shape.members.keys()
    for member_name, member in shape.members.items():
        location = member.serialization.get("location")
        value = params[member_name]
        if location == "uri":
            assert isinstance(value, str) and value
            if not member.enum and "pattern" not in member.metadata:
                assert LABEL_SPECIALS in value
        elif location == "querystring" and member.type_name == "list":
            assert len(value) >= 2
            if member.member.type_name == "string" and not member.member.enum:
                assert any(" " in item for item in value)
        elif location == "querystring" and member.type_name == "string":
            if not member.enum and "pattern" not in member.metadata:
                assert " " in value and "+" in value
            elif "pattern" in member.metadata:  # e.g. a base64 NextToken: "+" and "/"
                assert value != quote(value, safe="")


# --- request direction --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_request_round_trip(name: str, variant: int) -> None:
    op = SERVICE.operation_model(name)
    params = example_input(op, variant=variant)
    request = wire_request(params, op)
    m = match(request.method, request.path)
    assert m.operation.name == name
    assert_same(params, parse(m, request))


# --- response direction -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_response_round_trip(name: str, variant: int) -> None:
    op = SERVICE.operation_model(name)
    output = example_output(op, variant=variant)
    resp = serialize(op, output, request_id="req-1")
    parsed = botocore_parse(resp, op)
    metadata = parsed.pop("ResponseMetadata")
    assert metadata["RequestId"] == "req-1"
    assert metadata["HTTPStatusCode"] == resp.status == 200
    assert_same(output, parsed)


# --- through a real boto3 client ----------------------------------------------------------------


class _Raw:
    """The `raw` of an AWSResponse: botocore only calls stream()."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


@cache
def _client() -> Any:
    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region_name="us-east-1",
    )
    config = Config(
        # Unsigned: signing is sigv4.py's business, and a SendEmail with an EndpointId
        # would otherwise need SigV4a, i.e. awscrt, which is not a dependency.
        signature_version=UNSIGNED,
        # One attempt: the 429 and 5xx errors must not be retried (with backoff).
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    return session.client("sesv2", endpoint_url=ENDPOINT, config=config)


def _answer_with(client: Any, respond: Any) -> Any:
    """Make `client` hand its wire request to `respond` instead of the network."""

    def before_send(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        resp: HttpResponse = respond(_as_http_request(request))
        return AWSResponse(request.url, resp.status, resp.headers, _Raw(resp.body))

    client.meta.events.register("before-send.sesv2", before_send, unique_id="roundtrip")
    return lambda: client.meta.events.unregister("before-send.sesv2", unique_id="roundtrip")


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_boto3_client_end_to_end(name: str, variant: int) -> None:
    """A real client's request through router and parser; Sesame's answer back to it."""
    op = SERVICE.operation_model(name)
    params = example_input(op, variant=variant)
    output = example_output(op, variant=variant)
    seen: list[dict[str, Any]] = []

    def respond(request: HttpRequest) -> HttpResponse:
        # The helper above must build what the client really sends.
        expected = wire_request(params, op)
        assert (request.method, request.path, request.query, request.body) == (
            expected.method,
            expected.path,
            expected.query,
            expected.body,
        )
        m = match(request.method, request.path)
        assert m.operation.name == name
        seen.append(parse(m, request))
        return serialize(op, output, request_id="req-3")

    client = _client()
    done = _answer_with(client, respond)
    try:
        result = getattr(client, xform_name(name))(**params)
    finally:
        done()
    assert len(seen) == 1
    assert_same(params, seen[0])
    assert result.pop("ResponseMetadata")["RequestId"] == "req-3"
    assert_same(output, result)


# --- errors -------------------------------------------------------------------------------------

MODELLED_ERROR_CODES = sorted(shape.name for shape in SERVICE.error_shapes)
ERROR_CODES = [*MODELLED_ERROR_CODES, "SerializationException"]
MESSAGE = "1 validation error detected: Value at 'emailIdentity' \"ü\" failed"


def test_errors_module_covers_the_model() -> None:
    assert sorted(cls.code for cls in errors.MODELLED_ERRORS) == MODELLED_ERROR_CODES
    for shape in SERVICE.error_shapes:
        status = shape.metadata.get("error", {}).get("httpStatusCode", 400)
        assert getattr(errors, shape.name).status == status


@pytest.mark.parametrize("code", ERROR_CODES)
def test_error_round_trip(code: str) -> None:
    cls: type[errors.ServiceError] = getattr(errors, code)
    assert cls.code == code
    resp = serialize_error(cls(MESSAGE), request_id="req-2")
    assert resp.status == cls.status
    parsed = botocore_parse(resp, SERVICE.operation_model("GetAccount"))
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == MESSAGE
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == cls.status
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"


@pytest.mark.parametrize("code", ERROR_CODES)
def test_error_through_boto3_exceptions(code: str) -> None:
    cls: type[errors.ServiceError] = getattr(errors, code)
    client = _client()
    expected = client.exceptions.from_code(code)
    if code in MODELLED_ERROR_CODES:
        assert expected is not client.exceptions.ClientError
        assert expected.__name__ == code
    done = _answer_with(client, lambda _request: serialize_error(cls(MESSAGE), request_id="req-2"))
    try:
        with pytest.raises(expected) as raised:
            client.get_account()
    finally:
        done()
    response = raised.value.response
    assert response["Error"]["Code"] == code
    assert response["Error"]["Message"] == MESSAGE
    assert response["ResponseMetadata"]["HTTPStatusCode"] == cls.status
    assert response["ResponseMetadata"]["RequestId"] == "req-2"


# --- legacy routes ------------------------------------------------------------------------------


@cache
def legacy_operation(name: str, uri: str) -> OperationModel:
    """`name` as SDKs before botocore 1.43.105 modelled it: GET, paging in the query."""
    data = copy.deepcopy(botocore.session.Session().get_service_data("sesv2"))
    operation = data["operations"][name]
    operation["http"] = {"method": "GET", "requestUri": uri}
    shape = data["shapes"][operation["input"]["shape"]]
    # The old input had no Filter; NextToken and PageSize were query parameters.
    shape["members"] = {
        member: {**shape["members"][member], "location": "querystring", "locationName": member}
        for member in ("NextToken", "PageSize")
    }
    return ServiceModel(data, "sesv2").operation_model(name)


@pytest.mark.parametrize(
    ("name", "uri", "params", "query"),
    [
        (
            "ListConfigurationSets",
            "/v2/email/configuration-sets",
            {"NextToken": "a b", "PageSize": 5},
            "NextToken=a%20b&PageSize=5",
        ),
        ("ListEmailIdentities", "/v2/email/identities", {"PageSize": 3}, "PageSize=3"),
    ],
)
def test_legacy_route(name: str, uri: str, params: dict[str, Any], query: str) -> None:
    request = wire_request(params, legacy_operation(name, uri))
    assert (request.method, request.path, request.query) == ("GET", uri, query)
    m = match(request.method, request.path)
    assert m.operation.name == name
    assert_same(params, parse(m, request))
