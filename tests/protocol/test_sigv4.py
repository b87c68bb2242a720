"""SigV4 verification, with botocore's own signer as the oracle.

Every accepted request here is signed by botocore (`SigV4Auth`, `SigV4QueryAuth`, or a
real `sesv2` client) and handed to `verify` exactly as it would arrive on the wire:
raw percent-encoded path, raw query string, lower-cased headers, body bytes. Every
rejected one is a botocore-signed request with one part changed, and the test pins
the AWS error class and the exact message.

botocore reads the clock through `botocore.auth.get_current_datetime` (naive UTC);
patching that one name freezes its signing time, so nothing here sleeps.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit

import botocore.auth
import botocore.session
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials

from sesame.protocol.errors import (
    AuthError,
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    SignatureDoesNotMatch,
    UnrecognizedClientException,
)
from sesame.protocol.http import HttpRequest
from sesame.protocol.sigv4 import Principal, _canonical_component, verify

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEBYaDHhZb2tlbi1leGFtcGxlIiwic2Vzc2lvbiI6InRlc3QifQ=="
REGION = "us-east-1"
HOST = f"email.{REGION}.amazonaws.com"
ENDPOINT = f"https://{HOST}"
#: The server's clock in every test, and botocore's unless a test says otherwise.
NOW = datetime(2026, 12, 3, 17, 22, 44, tzinfo=UTC)

MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
SDK_HEADERS = {
    # What boto3 sends besides the signature (ses-spec §2.1); User-Agent is never signed.
    "User-Agent": "Boto3/1.44.8 md/Botocore#1.44.8 ua/2.1 os/linux#6.1 lang/python#3.11.7",
    "amz-sdk-invocation-id": "5c9d7e3c-1f4e-4b8b-9a3e-0f5c2b6d7e8f",
    "amz-sdk-request": "attempt=1; max=3",
}


# -- botocore as the signer -----------------------------------------------------------


def wire(request: AWSRequest | AWSPreparedRequest) -> HttpRequest:
    """The request as the server receives it: raw path and query, lower-cased headers."""
    prepared = request.prepare() if isinstance(request, AWSRequest) else request
    url = urlsplit(prepared.url)
    # A real client's prepared headers are bytes, as they go on the wire.
    headers = {
        name.lower(): value.decode("utf-8") if isinstance(value, bytes) else value
        for name, value in prepared.headers.items()
    }
    # The HTTP client adds Host from the URL, as botocore assumed when it signed.
    headers.setdefault("host", url.netloc)
    body = prepared.body or b""
    return HttpRequest(
        method=prepared.method,
        path=url.path,
        query=url.query,
        headers=headers,
        body=body.encode("utf-8") if isinstance(body, str) else body,
    )


def sign(
    method: str,
    target: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    at: datetime = NOW,
    key_id: str = KEY_ID,
    secret: str = SECRET,
    token: str | None = None,
    region: str = REGION,
    service: str = "ses",
    presign: int | None = None,
    params: dict[str, str] | None = None,
) -> HttpRequest:
    """Sign `method ENDPOINT+target` with botocore at `at`; presign if `presign` seconds."""
    request = AWSRequest(
        method=method,
        url=ENDPOINT + target,
        data=body,
        headers=dict(SDK_HEADERS) | (headers or {}),
        params=params or {},
    )
    credentials = Credentials(key_id, secret, token)
    signer: SigV4Auth = (
        SigV4Auth(credentials, service, region)
        if presign is None
        else SigV4QueryAuth(credentials, service, region, expires=presign)
    )
    with mock.patch.object(
        botocore.auth, "get_current_datetime", return_value=at.replace(tzinfo=None)
    ):
        signer.add_auth(request)
    return wire(request)


def check(request: HttpRequest, **options: Any) -> Principal:
    arguments: dict[str, Any] = {"secret_for": {KEY_ID: SECRET}.get, "region": REGION, "now": NOW}
    return verify(request, **(arguments | options))


def rejected(request: HttpRequest, error: type[AuthError], **options: Any) -> str:
    """Assert `verify` raises exactly `error`; return its message (never the secret)."""
    with pytest.raises(AuthError) as caught:
        check(request, **options)
    assert type(caught.value) is error, caught.value.message
    assert caught.value.status == 403
    assert SECRET not in caught.value.message
    assert SECRET not in str(caught.value)
    return caught.value.message


def with_headers(request: HttpRequest, **changes: str | None) -> HttpRequest:
    headers = dict(request.headers)
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return replace(request, headers=headers)


def authorization(request: HttpRequest) -> str:
    return request.headers["authorization"]


# -- realistic SES v2 requests --------------------------------------------------------

CONFIG_SET_ARN = "arn%3Aaws%3Ases%3Aus-east-1%3A123456789012%3Aconfiguration-set%2Fmy-set"
SEND_BODY = json.dumps(
    {
        "FromEmailAddress": "sender@example.com",
        "Destination": {"ToAddresses": ["recipient@example.com"]},
        "Content": {"Simple": {"Subject": {"Data": "Grüße"}, "Body": {"Text": {"Data": "hé"}}}},
    },
    ensure_ascii=False,
).encode("utf-8")

# (id, method, path-and-query as on the wire, body)
REQUESTS: list[tuple[str, str, str, bytes]] = [
    ("get-account", "GET", "/v2/email/account", b""),
    ("label-space-slash", "GET", "/v2/email/configuration-sets/my%20set%2Fx", b""),
    ("label-unicode", "GET", "/v2/email/identities/%C3%BCber.example", b""),
    ("label-reserved", "GET", "/v2/email/configuration-sets/a%2Bb%3Dc%40d~e", b""),
    (
        "put-json",
        "PUT",
        "/v2/email/configuration-sets/my-set/sending",
        b'{"SendingEnabled": false}',
    ),
    ("post-unicode-json", "POST", "/v2/email/outbound-emails", SEND_BODY),
    (
        "delete-repeated-query",
        "DELETE",
        f"/v2/email/tags?ResourceArn={CONFIG_SET_ARN}&TagKeys=a&TagKeys=b%20c",
        b"",
    ),
    (
        "query-unsorted-reserved",
        "GET",
        "/v2/email/configuration-sets?PageSize=10&NextToken=abc%2B%2F%3D%C3%BC",
        b"",
    ),
    ("query-empty-value", "GET", "/v2/email/suppression/addresses?NextToken=&PageSize=5", b""),
    # botocore removes dot segments and repeated slashes before it signs (RFC 3986
    # §5.2.4, "AWS services require consecutive slashes to be removed").
    ("dot-segments", "GET", "/v2/email/./account/../account", b""),
    ("double-slash", "GET", "/v2//email/account/", b""),
]


def content_headers(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json"} if body else {}


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [case[1:] for case in REQUESTS],
    ids=[case[0] for case in REQUESTS],
)
def test_header_form_signed_by_botocore_is_accepted(method: str, target: str, body: bytes) -> None:
    request = sign(method, target, body=body, headers=content_headers(body))
    assert authorization(request).startswith(
        f"AWS4-HMAC-SHA256 Credential={KEY_ID}/20261203/{REGION}/ses/aws4_request, "
    )
    assert check(request) == Principal(access_key_id=KEY_ID, region=REGION)


@pytest.mark.parametrize(
    ("method", "target"),
    # A presigned URL carries no body (SigV4QueryAuth would move one into the query), and
    # botocore keeps only the first of repeated query keys: TagKeys=b%20c is dropped.
    [(case[1], case[2]) for case in REQUESTS if not case[3]],
    ids=[case[0] for case in REQUESTS if not case[3]],
)
def test_presigned_url_signed_by_botocore_is_accepted(method: str, target: str) -> None:
    request = sign(method, target, presign=3600)
    assert "X-Amz-Signature=" in request.query
    assert "authorization" not in request.headers
    assert check(request) == Principal(access_key_id=KEY_ID, region=REGION)


def test_path_label_is_quoted_again_in_the_canonical_request() -> None:
    # botocore's canonical path for the wire path `/…/my%20set%2Fx` is `/…/my%2520set%252Fx`:
    # the server must not decode the path before canonicalising it.
    request = AWSRequest(method="GET", url=f"{ENDPOINT}/v2/email/configuration-sets/my%20set%2Fx")
    request.context["timestamp"] = "20261203T172244Z"
    signer = SigV4Auth(Credentials(KEY_ID, SECRET), "ses", REGION)
    assert signer.canonical_request(request).split("\n")[1] == (
        "/v2/email/configuration-sets/my%2520set%252Fx"
    )
    signed = sign("GET", "/v2/email/configuration-sets/my%20set%2Fx")
    assert check(signed).access_key_id == KEY_ID
    decoded = replace(signed, path="/v2/email/configuration-sets/my set/x")
    assert rejected(decoded, SignatureDoesNotMatch) == MISMATCH


def test_query_signed_from_params_is_accepted() -> None:
    # botocore canonicalises `params` itself (quote with safe="-_.~") and puts them on the
    # wire with urlencode; both agree on values without spaces.
    request = sign(
        "GET",
        "/v2/email/tags",
        params={"ResourceArn": "arn:aws:ses:us-east-1:123456789012:identity/über.example"},
    )
    assert "ResourceArn=arn%3Aaws%3Ases%3A" in request.query
    assert check(request).access_key_id == KEY_ID


def test_every_byte_in_a_query_value_is_canonicalised_like_botocore() -> None:
    for byte in range(256):
        encoded = quote(bytes([byte]), safe="-_.~")
        request = sign("GET", f"/v2/email/configuration-sets?NextToken=x{encoded}y")
        assert check(request).access_key_id == KEY_ID, encoded


@pytest.mark.parametrize("byte", range(256))
def test_query_component_is_decoded_then_reencoded(byte: int) -> None:
    canonical = quote(bytes([byte]), safe="-_.~")
    # Whatever escape (upper or lower hex) or raw character a client used, the canonical
    # query holds SigV4's one encoding of the byte, as AWS computes it.
    assert _canonical_component(f"%{byte:02X}") == canonical
    assert _canonical_component(f"%{byte:02x}") == canonical
    if byte < 0x80:
        assert _canonical_component(chr(byte)) == canonical


def test_date_header_instead_of_x_amz_date_is_accepted() -> None:
    # With a Date header botocore signs that (RFC 5322 form) and sends no X-Amz-Date.
    request = sign("GET", "/v2/email/account", headers={"Date": "placeholder"})
    assert "x-amz-date" not in request.headers
    assert request.headers["date"] == "Thu, 03 Dec 2026 17:22:44 -0000"
    assert check(request).access_key_id == KEY_ID
    stale = sign("GET", "/v2/email/account", headers={"Date": "x"}, at=NOW - timedelta(hours=1))
    assert rejected(stale, InvalidSignatureException).startswith(
        "Signature expired: 20261203T162244Z is now earlier than"
    )


def test_security_token_is_accepted_when_signed() -> None:
    request = sign("GET", "/v2/email/account", token=TOKEN)
    assert request.headers["x-amz-security-token"] == TOKEN
    assert "x-amz-security-token" in authorization(request).split("SignedHeaders=")[1]
    assert check(request).access_key_id == KEY_ID
    # It is signed, so swapping the token breaks the signature.
    swapped = with_headers(request, x_amz_security_token=TOKEN[::-1])
    assert rejected(swapped, SignatureDoesNotMatch) == MISMATCH

    presigned = sign("GET", "/v2/email/account", token=TOKEN, presign=900)
    assert "X-Amz-Security-Token=" in presigned.query
    assert check(presigned).access_key_id == KEY_ID


def test_unsigned_headers_may_change() -> None:
    request = sign("GET", "/v2/email/account")
    changed = with_headers(request, user_agent="curl/8", x_forwarded_for="10.0.0.1")
    assert check(changed).access_key_id == KEY_ID


def test_naive_now_is_utc_and_key_rotation_is_not_hidden_by_the_key_cache() -> None:
    request = sign("GET", "/v2/email/account")
    assert check(request, now=NOW.replace(tzinfo=None)).access_key_id == KEY_ID
    # The derived signing key is cached per (secret, date, region, service): a new
    # secret for the same key id must not be served the old secret's key.
    rotated = {KEY_ID: "rotated"}.get
    assert rejected(request, SignatureDoesNotMatch, secret_for=rotated) == MISMATCH
    resigned = sign("GET", "/v2/email/account", secret="rotated")
    assert check(resigned, secret_for=rotated).access_key_id == KEY_ID


# -- x-amz-content-sha256 -------------------------------------------------------------

BODY = b'{"SendingEnabled": false}'


def test_content_sha256_header_matching_the_body_is_accepted() -> None:
    digest = hashlib.sha256(BODY).hexdigest()
    request = sign(
        "PUT",
        "/v2/email/configuration-sets/s/sending",
        body=BODY,
        headers={"X-Amz-Content-SHA256": digest},
    )
    assert check(request).access_key_id == KEY_ID


def test_unsigned_payload_leaves_the_body_out_of_the_signature() -> None:
    request = sign(
        "PUT",
        "/v2/email/configuration-sets/s/sending",
        body=BODY,
        headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
    )
    assert check(request).access_key_id == KEY_ID
    assert check(replace(request, body=b'{"SendingEnabled": true}')).access_key_id == KEY_ID


def test_content_sha256_header_not_matching_the_body_is_rejected() -> None:
    request = sign(
        "PUT",
        "/v2/email/configuration-sets/s/sending",
        body=BODY,
        headers={"X-Amz-Content-SHA256": hashlib.sha256(b"another body").hexdigest()},
    )
    assert rejected(request, SignatureDoesNotMatch) == (
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    )


def test_botocore_presigns_non_s3_requests_with_the_body_hash() -> None:
    # Not UNSIGNED-PAYLOAD: that is S3SigV4QueryAuth. SigV4QueryAuth keeps SigV4Auth's
    # payload, the SHA-256 of the (empty) body, so verify must use the same.
    request = AWSRequest(method="GET", url=f"{ENDPOINT}/v2/email/account")
    request.context["timestamp"] = "20261203T172244Z"
    signer = SigV4QueryAuth(Credentials(KEY_ID, SECRET), "ses", REGION)
    signer._modify_request_before_signing(request)
    assert signer.canonical_request(request).endswith(
        "\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


# -- tampering: every signed part -----------------------------------------------------

PUT_TARGET = "/v2/email/configuration-sets/my%20set%2Fx/sending"
DELETE_TARGET = f"/v2/email/tags?ResourceArn={CONFIG_SET_ARN}&TagKeys=a&TagKeys=b%20c"
JSON = {"Content-Type": "application/json"}


def _put() -> HttpRequest:
    return sign("PUT", PUT_TARGET, body=BODY, headers=JSON)


def _delete() -> HttpRequest:
    return sign("DELETE", DELETE_TARGET)


def _presigned() -> HttpRequest:
    return sign("GET", "/v2/email/configuration-sets?PageSize=10", presign=3600)


def _flip_last(header: str) -> str:
    return header[:-1] + ("1" if header.endswith("0") else "0")


def _upper_signature(header: str) -> str:
    # botocore writes lower-case hex; the comparison is exact, as AWS's is.
    return header[:-64] + header[-64:].upper()


TAMPERED: list[tuple[str, Callable[[], HttpRequest]]] = [
    ("method", lambda: replace(_put(), method="POST")),
    ("method-delete-as-get", lambda: replace(_delete(), method="GET")),
    ("path-label", lambda: replace(_put(), path=_put().path.replace("%2Fx", "%2Fy"))),
    ("path-escape-decoded", lambda: replace(_put(), path=_put().path.replace("%2F", "/"))),
    ("path-escape-case", lambda: replace(_put(), path=_put().path.replace("%2F", "%2f"))),
    ("query-value", lambda: replace(_delete(), query=_delete().query.replace("b%20c", "b%20d"))),
    ("query-dropped", lambda: replace(_delete(), query=_delete().query.replace("&TagKeys=a", ""))),
    ("query-added", lambda: replace(_delete(), query=_delete().query + "&TagKeys=z")),
    ("query-added-to-empty", lambda: replace(_put(), query="x=1")),
    ("signed-header", lambda: with_headers(_put(), amz_sdk_request="attempt=2; max=3")),
    ("signed-header-removed", lambda: with_headers(_put(), content_type=None)),
    ("host", lambda: with_headers(_put(), host="email.eu-west-1.amazonaws.com")),
    ("body", lambda: replace(_put(), body=b'{"SendingEnabled": true}')),
    ("body-dropped", lambda: replace(_put(), body=b"")),
    (
        "signature",
        lambda: with_headers(_put(), authorization=_flip_last(authorization(_put()))),
    ),
    (
        "signature-upper-case",
        lambda: with_headers(_put(), authorization=_upper_signature(authorization(_put()))),
    ),
    (
        "signature-not-ascii",
        lambda: with_headers(_put(), authorization=authorization(_put())[:-1] + "é"),
    ),
    ("secret", lambda: sign("PUT", PUT_TARGET, body=BODY, headers=JSON, secret=SECRET + "x")),
    (
        "x-amz-date-moved",
        lambda: with_headers(_put(), x_amz_date="20261203T172245Z"),
    ),
    (
        "presigned-query",
        lambda: replace(
            _presigned(), query=_presigned().query.replace("PageSize=10", "PageSize=11")
        ),
    ),
    (
        "presigned-expires",
        lambda: replace(
            _presigned(),
            query=_presigned().query.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200"),
        ),
    ),
    (
        "presigned-signature",
        lambda: replace(_presigned(), query=_presigned().query[:-1] + "x"),
    ),
]


@pytest.mark.parametrize("tamper", [case[1] for case in TAMPERED], ids=[c[0] for c in TAMPERED])
def test_tampered_request_does_not_match(tamper: Callable[[], HttpRequest]) -> None:
    assert rejected(tamper(), SignatureDoesNotMatch) == MISMATCH


# -- tampering: credential scope, key, time -------------------------------------------

GET = "/v2/email/configuration-sets/my%20set%2Fx"
SCOPE_ERRORS: list[tuple[str, dict[str, Any], type[AuthError], str]] = [
    (
        "unknown-key-id",
        {"key_id": "AKIAUNKNOWNKEY000000"},
        UnrecognizedClientException,
        "The security token included in the request is invalid.",
    ),
    (
        "region",
        {"region": "eu-west-1"},
        InvalidSignatureException,
        "Credential should be scoped to a valid region, not 'eu-west-1'.",
    ),
    (
        "service-sesv2",
        {"service": "sesv2"},
        InvalidSignatureException,
        "Credential should be scoped to correct service: 'ses'.",
    ),
    (
        "service-email",
        {"service": "email"},
        InvalidSignatureException,
        "Credential should be scoped to correct service: 'ses'.",
    ),
    (
        "region-and-service",
        {"region": "eu-west-1", "service": "sqs"},
        InvalidSignatureException,
        "Credential should be scoped to a valid region, not 'eu-west-1'. "
        "Credential should be scoped to correct service: 'ses'.",
    ),
]


@pytest.mark.parametrize("presign", [None, 600], ids=["header", "presigned"])
@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [case[1:] for case in SCOPE_ERRORS],
    ids=[case[0] for case in SCOPE_ERRORS],
)
def test_credential_scope_and_key(
    changes: dict[str, Any], error: type[AuthError], message: str, presign: int | None
) -> None:
    assert rejected(sign("GET", GET, presign=presign, **changes), error) == message


def test_scope_checks_use_the_servers_region_and_service() -> None:
    request = sign("GET", GET, region="eu-west-1", service="email")
    assert check(request, region="eu-west-1", service="email") == Principal(KEY_ID, "eu-west-1")
    assert rejected(request, InvalidSignatureException) == (
        "Credential should be scoped to a valid region, not 'eu-west-1'. "
        "Credential should be scoped to correct service: 'ses'."
    )


def _scope_edit(old: str, new: str) -> HttpRequest:
    request = sign("GET", GET)
    return with_headers(request, authorization=authorization(request).replace(old, new))


@pytest.mark.parametrize(
    ("old", "new", "error", "message"),
    [
        (
            "/aws4_request,",
            "/aws4_request2,",
            InvalidSignatureException,
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            "not 'aws4_request2'.",
        ),
        (
            "/20261203/",
            "/20261202/",
            InvalidSignatureException,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            "from HTTP: '20261202' != '20261203', from '20261203T172244Z'.",
        ),
        (
            "/ses/aws4_request,",
            "/ses,",
            IncompleteSignatureException,
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{KEY_ID}/20261203/us-east-1/ses'",
        ),
        (
            "SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;host;x-amz-date",
            "SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;x-amz-date",
            InvalidSignatureException,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ),
        (
            "AWS4-HMAC-SHA256 ",
            "AWS4-HMAC-SHA512 ",
            IncompleteSignatureException,
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now).",
        ),
    ],
    ids=["terminator", "scope-date", "four-parts", "host-not-signed", "algorithm"],
)
def test_malformed_authorization(old: str, new: str, error: type[AuthError], message: str) -> None:
    request = _scope_edit(old, new)
    assert old not in authorization(request)
    assert rejected(request, error) == message


SIGNED_AT_10 = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "max_skew", "message"),
    [
        (
            SIGNED_AT_10,
            timedelta(minutes=15),
            "Signature expired: 20261203T100000Z is now earlier than "
            "20261203T170744Z (20261203T172244Z - 15 min.)",
        ),
        (
            NOW - timedelta(minutes=15, seconds=1),
            timedelta(minutes=15),
            "Signature expired: 20261203T170743Z is now earlier than "
            "20261203T170744Z (20261203T172244Z - 15 min.)",
        ),
        (
            NOW + timedelta(minutes=15, seconds=1),
            timedelta(minutes=15),
            "Signature not yet current: 20261203T173745Z is still later than "
            "20261203T173744Z (20261203T172244Z + 15 min.)",
        ),
        (
            NOW + timedelta(days=1),
            timedelta(minutes=15),
            "Signature not yet current: 20261204T172244Z is still later than "
            "20261203T173744Z (20261203T172244Z + 15 min.)",
        ),
        (
            NOW - timedelta(minutes=6),
            timedelta(minutes=5),
            "Signature expired: 20261203T171644Z is now earlier than "
            "20261203T171744Z (20261203T172244Z - 5 min.)",
        ),
    ],
    ids=["hours-old", "one-second-too-old", "one-second-too-new", "tomorrow", "custom-skew"],
)
def test_request_time_outside_the_skew_window(
    at: datetime, max_skew: timedelta, message: str
) -> None:
    request = sign("GET", GET, at=at)
    assert rejected(request, InvalidSignatureException, max_skew=max_skew) == message


@pytest.mark.parametrize("offset", [timedelta(minutes=-15), timedelta(0), timedelta(minutes=15)])
def test_request_time_at_the_edges_of_the_window_is_accepted(offset: timedelta) -> None:
    assert check(sign("GET", GET, at=NOW + offset)).access_key_id == KEY_ID


def test_now_defaults_to_the_clock() -> None:
    request = sign("GET", GET, at=datetime.now(UTC))
    assert verify(request, secret_for={KEY_ID: SECRET}.get, region=REGION).access_key_id == KEY_ID


# -- presigned URL lifetime -----------------------------------------------------------


def test_presigned_url_outlives_the_skew_window_until_it_expires() -> None:
    request = sign("GET", GET, at=NOW - timedelta(minutes=59), presign=3600)
    assert check(request).access_key_id == KEY_ID
    week = sign("GET", GET, at=NOW - timedelta(days=6), presign=604800)
    assert check(week).access_key_id == KEY_ID


@pytest.mark.parametrize(
    ("at", "expires", "message"),
    [
        (
            SIGNED_AT_10,
            3600,
            "Signature expired: 20261203T100000Z is now earlier than "
            "20261203T162244Z (20261203T172244Z - 60 min.)",
        ),
        (
            NOW - timedelta(seconds=31),
            30,
            "Signature expired: 20261203T172213Z is now earlier than "
            "20261203T172214Z (20261203T172244Z - 30 sec.)",
        ),
        (
            NOW + timedelta(minutes=16),
            3600,
            "Signature not yet current: 20261203T173844Z is still later than "
            "20261203T173744Z (20261203T172244Z + 15 min.)",
        ),
    ],
    ids=["expired", "expired-seconds", "future"],
)
def test_presigned_url_outside_its_lifetime(at: datetime, expires: int, message: str) -> None:
    request = sign("GET", GET, at=at, presign=expires)
    assert rejected(request, InvalidSignatureException) == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("604801", "X-Amz-Expires must be less than a week (in seconds) that is 604800"),
        ("0", "X-Amz-Expires must be at least 1 second"),
        ("-5", "X-Amz-Expires must be at least 1 second"),
        ("soon", "X-Amz-Expires should be a number"),
    ],
)
def test_presigned_expires_out_of_range(value: str, message: str) -> None:
    request = sign("GET", GET, presign=3600)
    query = request.query.replace("X-Amz-Expires=3600", f"X-Amz-Expires={value}")
    assert rejected(replace(request, query=query), IncompleteSignatureException) == message


# -- missing and malformed pieces -----------------------------------------------------


def test_unsigned_request_is_missing_the_token() -> None:
    request = HttpRequest("GET", "/v2/email/account", "", {"host": HOST})
    assert rejected(request, MissingAuthenticationTokenException) == (
        "Request is missing Authentication Token"
    )


@pytest.mark.parametrize("value", ["Bearer abc", f"AWS {KEY_ID}:c2lnbmF0dXJl", "", "   "], ids=repr)
def test_authorization_that_is_not_sigv4_is_missing_the_token(value: str) -> None:
    # AWS answers a non-`AWS4-` Authorization (SigV2, Bearer …) as "no credentials".
    request = with_headers(sign("GET", GET), authorization=value)
    assert rejected(request, MissingAuthenticationTokenException) == (
        "Request is missing Authentication Token"
    )


def _drop(part: str) -> Callable[[str], str]:
    def edit(header: str) -> str:
        return re.sub(rf"{part}=[^,]*(, )?", "", header).rstrip(", ")

    return edit


@pytest.mark.parametrize(
    ("edit", "drop_date", "message"),
    [
        (_drop("Signature"), False, "Authorization header requires 'Signature' parameter."),
        (
            _drop("Credential"),
            False,
            "Authorization header requires 'Credential' parameter.",
        ),
        (
            _drop("SignedHeaders"),
            False,
            "Authorization header requires 'SignedHeaders' parameter.",
        ),
        (
            lambda header: header,
            True,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ),
        (
            lambda header: header[: header.index("Signature=") + len("Signature=")],
            False,
            "Authorization header requires 'Signature' parameter.",
        ),
        (
            lambda header: "AWS4-HMAC-SHA256",
            True,
            "Authorization header requires 'Credential' parameter. "
            "Authorization header requires 'Signature' parameter. "
            "Authorization header requires 'SignedHeaders' parameter. "
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ),
    ],
    ids=["signature", "credential", "signed-headers", "date", "empty-signature", "everything"],
)
def test_incomplete_authorization(
    edit: Callable[[str], str], drop_date: bool, message: str
) -> None:
    request = sign("GET", GET)
    header = edit(authorization(request))
    request = with_headers(
        request,
        authorization=header,
        x_amz_date=None if drop_date else request.headers["x-amz-date"],
    )
    assert rejected(request, IncompleteSignatureException) == f"{message} Authorization={header}"


def test_authorization_part_without_equal_sign() -> None:
    request = sign("GET", GET)
    header = authorization(request).replace("Credential=", "Credential ")
    message = rejected(with_headers(request, authorization=header), IncompleteSignatureException)
    assert message == (
        f"'Credential {KEY_ID}/20261203/us-east-1/ses/aws4_request' not a valid key=value pair "
        f"(missing equal-sign) in Authorization header: '{header}'."
    )


def test_echoed_values_are_truncated() -> None:
    request = sign("GET", GET)
    header = authorization(request).replace("Signature=", "Junk=" + "x" * 5000 + ", Sig=")
    message = rejected(with_headers(request, authorization=header), IncompleteSignatureException)
    assert message.startswith("Authorization header requires 'Signature' parameter.")
    assert message.endswith("...")
    assert len(message) < 400


@pytest.mark.parametrize(
    "value", ["2026-12-03T17:22:44Z", "20261203T172244", "20261332T172244Z", "２0261203T172244Z"]
)
def test_malformed_x_amz_date(value: str) -> None:
    request = with_headers(sign("GET", GET), x_amz_date=value)
    assert rejected(request, IncompleteSignatureException) == (
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def test_malformed_date_header() -> None:
    request = with_headers(sign("GET", GET), x_amz_date=None, date="yesterday")
    assert rejected(request, IncompleteSignatureException) == (
        "Date must be in ISO-8601 'basic format'. Got 'yesterday'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


@pytest.mark.parametrize(
    "names",
    [
        ["X-Amz-Signature"],
        ["X-Amz-Credential", "X-Amz-Date"],
        ["X-Amz-SignedHeaders", "X-Amz-Expires"],
    ],
)
def test_presigned_url_missing_parameters(names: list[str]) -> None:
    request = sign("GET", GET, presign=3600)
    query = "&".join(
        pair for pair in request.query.split("&") if pair.partition("=")[0] not in names
    )
    message = " ".join(f"AWS query-string parameters must include '{name}'." for name in names)
    assert rejected(replace(request, query=query), IncompleteSignatureException) == (
        f"{message} Re-examine the query-string parameters."
    )


def test_presigned_url_with_another_algorithm() -> None:
    request = sign("GET", GET, presign=3600)
    query = request.query.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=HMAC")
    assert rejected(replace(request, query=query), IncompleteSignatureException) == (
        "Unsupported AWS 'algorithm': 'HMAC' (only AWS4-HMAC-SHA256 for now)."
    )


def test_presigned_url_and_authorization_header_together() -> None:
    request = sign("GET", GET, presign=3600)
    both = with_headers(request, authorization=authorization(sign("GET", GET)))
    assert rejected(both, InvalidSignatureException) == (
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
    )


# -- a real sesv2 client --------------------------------------------------------------


class _EmptyBody:
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b"{}"


@pytest.fixture(scope="module")
def captured() -> Iterator[tuple[Any, list[HttpRequest]]]:
    """A botocore sesv2 client whose requests are captured instead of sent."""
    sent: list[HttpRequest] = []

    def capture(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        sent.append(wire(request))
        return AWSResponse(request.url, 200, {"x-amzn-RequestId": "r"}, _EmptyBody())

    client = botocore.session.get_session().create_client(
        "sesv2",
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1}),
    )
    client.meta.events.register("before-send", capture)
    with mock.patch.object(
        botocore.auth, "get_current_datetime", return_value=NOW.replace(tzinfo=None)
    ):
        yield client, sent


CLIENT_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("get_account", {}, "/v2/email/account"),
    (
        "get_configuration_set",
        {"ConfigurationSetName": "my set/x"},
        "/v2/email/configuration-sets/my%20set%2Fx",
    ),
    (
        "get_email_identity",
        {"EmailIdentity": "über.example"},
        "/v2/email/identities/%C3%BCber.example",
    ),
    (
        "put_configuration_set_sending_options",
        {"ConfigurationSetName": "my-set", "SendingEnabled": False},
        "/v2/email/configuration-sets/my-set/sending",
    ),
    (
        "send_email",
        {
            "FromEmailAddress": "sender@example.com",
            "Destination": {"ToAddresses": ["recipient@example.com"]},
            "Content": {"Simple": {"Subject": {"Data": "Grüße"}, "Body": {"Text": {"Data": "x"}}}},
        },
        "/v2/email/outbound-emails",
    ),
    (
        "untag_resource",
        {
            "ResourceArn": "arn:aws:ses:us-east-1:123456789012:configuration-set/my-set",
            "TagKeys": ["a", "b c"],
        },
        "/v2/email/tags",
    ),
    (
        "list_configuration_sets",
        {"PageSize": 10, "NextToken": "abc+/=ü"},
        "/v2/email/list-configuration-sets",  # botocore 1.44 uses the newer POST route
    ),
    (
        "list_tags_for_resource",
        {"ResourceArn": "arn:aws:ses:us-east-1:123456789012:identity/über.example"},
        "/v2/email/tags",
    ),
]


@pytest.mark.parametrize(
    ("operation", "arguments", "path"), CLIENT_CALLS, ids=[c[0] for c in CLIENT_CALLS]
)
def test_requests_of_a_real_sesv2_client_are_accepted(
    captured: tuple[Any, list[HttpRequest]], operation: str, arguments: dict[str, Any], path: str
) -> None:
    client, sent = captured
    getattr(client, operation)(**arguments)
    request = sent[-1]
    assert request.path == path
    assert check(request).access_key_id == KEY_ID
    assert rejected(replace(request, path=request.path + "x"), SignatureDoesNotMatch) == MISMATCH
