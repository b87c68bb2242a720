"""AWS Signature Version 4 verification: the `Authorization` header and presigned URLs.

Pure: a function of the request, the key lookup and the clock. The canonical request
is rebuilt exactly the way botocore's `SigV4Auth` / `SigV4QueryAuth` build it for a
non-S3 service, because that is what every boto3 / AWS CLI client signs:

    METHOD
    quote(remove_dot_segments(raw path), safe="/~")     the raw path is quoted *again*:
                                                        `my%20set` → `my%2520set`
    key=value pairs, each side re-encoded with safe="-_.~", sorted by (key, value)
    name:trimmed value, one line per signed header, in SignedHeaders order
    (blank line)
    SignedHeaders
    x-amz-content-sha256 header if sent, else sha256(body)

The checks run in the order AWS runs them, and the messages copy AWS's wording, as
recorded from real AWS answers in dynalite's `index.js` (an AWS JSON-protocol emulator):
the parameters are present, the algorithm, the date and its skew, `host` is signed, the
credential scope, the access key, then the signature. A wrong signature is answered as
`SignatureDoesNotMatch` with AWS's standard sentence only; some AWS services append
the canonical request, which Sesame leaves out. Nothing here ever formats the secret
into a message.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from hashlib import sha256
from typing import Final
from urllib.parse import quote, unquote, unquote_to_bytes

from botocore.utils import normalize_url_path

from sesame.protocol.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    SignatureDoesNotMatch,
    UnrecognizedClientException,
)
from sesame.protocol.http import HttpRequest

__all__ = ["ALGORITHM", "MAX_PRESIGN_EXPIRES", "Principal", "verify"]

ALGORITHM: Final = "AWS4-HMAC-SHA256"
TERMINATOR: Final = "aws4_request"
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
#: SigV4 presigned URLs live at most seven days (AWS: "must be less than a week").
MAX_PRESIGN_EXPIRES: Final = 604_800
EMPTY_SHA256: Final = sha256(b"").hexdigest()

_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
#: A query key or value that is already canonical: unreserved characters, and %XY
#: escapes (upper-case hex) of exactly the bytes SigV4 encodes, i.e. every byte but
#: A-Z a-z 0-9 - . _ ~ (0x2D 0x2E 0x30-39 0x41-5A 0x5F 0x61-7A 0x7E). botocore and the
#: other SDKs send this form, so the usual request skips decoding and re-encoding.
_CANONICAL = re.compile(
    r"(?:[A-Za-z0-9\-_.~]+|%(?:[0189A-F][0-9A-F]|2[0-9A-CF]|3[A-F]|40|5[B-E]|60|7[B-DF]))*"
)
_ECHO_LIMIT: Final = 256

_MISMATCH: Final = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
_PAYLOAD_MISMATCH: Final = (
    "The provided 'x-amz-content-sha256' header does not match what was computed."
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who signed a request that verified."""

    access_key_id: str
    #: The credential scope's region (always the region the server answers for).
    region: str


@dataclass(frozen=True, slots=True)
class _Signed:
    """The signature parts of a request, from either form, not yet checked."""

    credential: str
    signed_headers: str
    signature: str
    amz_date: str  # the request time as it is put in the string to sign
    query: list[tuple[str, str]]  # canonical (key, value) pairs, X-Amz-Signature dropped


def verify(
    request: HttpRequest,
    *,
    secret_for: Callable[[str], str | None],
    region: str,
    service: str = "ses",
    now: datetime | None = None,
    max_skew: timedelta = timedelta(minutes=15),
) -> Principal:
    """Verify the request's SigV4 signature and return who signed it.

    `secret_for` maps an access key id to its secret access key, or None when the key
    is unknown. `now` defaults to the current UTC time (a naive value is taken as UTC).
    Raises an `AuthError` subclass with AWS's code and wording on every failure.
    """
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)

    signed = _signed_parts(request, now, max_skew)

    # AWS: `host` (or HTTP/2 `:authority`) must be covered, or the request could be
    # replayed against another endpoint.
    header_names = signed.signed_headers.lower().split(";")
    if "host" not in header_names:
        raise InvalidSignatureException(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )

    access_key_id, scope = _check_scope(signed, region, service)

    secret = secret_for(access_key_id)
    if secret is None:
        raise UnrecognizedClientException("The security token included in the request is invalid.")

    canonical = "\n".join(
        (
            request.method.upper(),
            _canonical_path(request.path),
            "&".join([f"{key}={value}" for key, value in sorted(signed.query)]),
            _canonical_headers(request.headers, header_names),
            ";".join(header_names),
            _payload_hash(request),
        )
    )
    # surrogatepass: a header the web layer decoded with surrogateescape must fail the
    # signature check, not the encoder (which would surface as a 500).
    canonical_hash = sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{signed.amz_date}\n{scope}\n{canonical_hash}"
    signer = _signer(secret, signed.amz_date[:8], region, service).copy()
    signer.update(string_to_sign.encode("utf-8", "surrogatepass"))
    expected = signer.hexdigest()
    # Bytes, not str: compare_digest raises TypeError on non-ASCII text, and the
    # provided signature is attacker-controlled.
    if not hmac.compare_digest(expected.encode(), signed.signature.encode("utf-8", "replace")):
        raise SignatureDoesNotMatch(_MISMATCH)
    return Principal(access_key_id=access_key_id, region=region)


# -- the two forms --------------------------------------------------------------------


def _signed_parts(request: HttpRequest, now: datetime, max_skew: timedelta) -> _Signed:
    authorization = request.headers.get("authorization")
    pairs = _query_pairs(request.query)
    presigned = any(key == "X-Amz-Algorithm" for key, _ in pairs)
    if authorization is None:
        if not presigned:
            raise MissingAuthenticationTokenException("Request is missing Authentication Token")
        return _from_query(pairs, now, max_skew)
    if presigned:
        raise InvalidSignatureException(
            "Found both 'X-Amz-Algorithm' as a query-string param "
            "and 'Authorization' as HTTP header."
        )
    return _from_header(request, authorization, pairs, now, max_skew)


def _from_header(
    request: HttpRequest,
    authorization: str,
    pairs: list[tuple[str, str]],
    now: datetime,
    max_skew: timedelta,
) -> _Signed:
    algorithm, _, rest = authorization.strip().partition(" ")
    # AWS answers a header that is not SigV4 at all (`Bearer …`, SigV2's `AWS …`) as if
    # there were no credentials; an unknown `AWS4-…` algorithm is an incomplete one.
    if not algorithm.startswith("AWS4-"):
        raise MissingAuthenticationTokenException("Request is missing Authentication Token")

    params: dict[str, str] = {}
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        name, equals, value = part.partition("=")
        if not equals:
            raise IncompleteSignatureException(
                f"'{_echo(part)}' not a valid key=value pair (missing equal-sign) "
                f"in Authorization header: '{_echo(authorization)}'."
            )
        params[name.strip()] = value.strip()

    amz_date = request.headers.get("x-amz-date")
    http_date = request.headers.get("date")
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not params.get(name)
    ]
    if amz_date is None and http_date is None:
        missing.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if missing:
        raise IncompleteSignatureException(
            " ".join(missing) + f" Authorization={_echo(authorization)}"
        )
    _check_algorithm(algorithm)

    # SigV4: X-Amz-Date wins over Date; Date (RFC 7231) is put in the string to sign
    # in the basic ISO 8601 form, as botocore does when it signs with a Date header.
    if amz_date is None:
        time = _parse_http_date(http_date or "")
        amz_date = f"{time:%Y%m%dT%H%M%SZ}"
    else:
        time = _parse_amz_date(amz_date)
    _check_skew(amz_date, time, now, max_skew)

    return _Signed(
        credential=params["Credential"],
        signed_headers=params["SignedHeaders"],
        signature=params["Signature"],
        amz_date=amz_date,
        query=pairs,
    )


_QUERY_AUTH: Final = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
    "X-Amz-Expires",
)


def _from_query(pairs: list[tuple[str, str]], now: datetime, max_skew: timedelta) -> _Signed:
    auth: dict[str, str] = {}
    for key, value in pairs:
        if key in _QUERY_AUTH and key not in auth:
            auth[key] = unquote(value)
    missing = [
        f"AWS query-string parameters must include '{name}'."
        for name in _QUERY_AUTH
        if not auth.get(name)
    ]
    if missing:
        raise IncompleteSignatureException(
            " ".join(missing) + " Re-examine the query-string parameters."
        )
    _check_algorithm(auth["X-Amz-Algorithm"])
    amz_date = auth["X-Amz-Date"]
    time = _parse_amz_date(amz_date)
    expires = _parse_expires(auth["X-Amz-Expires"])

    # A presigned URL is good for X-Amz-Expires seconds after X-Amz-Date (instead of the
    # header form's skew window into the past), but may not be dated in the future.
    valid_for = timedelta(seconds=expires)
    if time + valid_for < now:
        raise InvalidSignatureException(_expired(amz_date, now, valid_for))
    _check_skew(amz_date, time, now, max_skew, past=False)

    return _Signed(
        credential=auth["X-Amz-Credential"],
        signed_headers=auth["X-Amz-SignedHeaders"],
        signature=auth["X-Amz-Signature"],
        amz_date=amz_date,
        # SigV4: the canonical query is every parameter except the signature itself.
        query=[(key, value) for key, value in pairs if key != "X-Amz-Signature"],
    )


# -- checks ---------------------------------------------------------------------------


def _check_algorithm(algorithm: str) -> None:
    if algorithm != ALGORITHM:
        raise IncompleteSignatureException(
            f"Unsupported AWS 'algorithm': '{_echo(algorithm)}' (only {ALGORITHM} for now)."
        )


def _check_skew(
    amz_date: str, time: datetime, now: datetime, max_skew: timedelta, *, past: bool = True
) -> None:
    if past and time < now - max_skew:
        raise InvalidSignatureException(_expired(amz_date, now, max_skew))
    if time > now + max_skew:
        raise InvalidSignatureException(
            f"Signature not yet current: {amz_date} is still later than "
            f"{now + max_skew:%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} + {_span(max_skew)}.)"
        )


def _expired(amz_date: str, now: datetime, window: timedelta) -> str:
    return (
        f"Signature expired: {amz_date} is now earlier than "
        f"{now - window:%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} - {_span(window)}.)"
    )


def _check_scope(signed: _Signed, region: str, service: str) -> tuple[str, str]:
    """Check `keyid/date/region/service/aws4_request`; return (key id, scope)."""
    parts = signed.credential.split("/")
    if len(parts) != 5:
        raise IncompleteSignatureException(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{_echo(signed.credential)}'"
        )
    access_key_id, date, scope_region, scope_service, terminator = parts
    # AWS reports every wrong element of the scope at once, in this order.
    problems: list[str] = []
    if scope_region != region:
        problems.append(
            f"Credential should be scoped to a valid region, not '{_echo(scope_region)}'."
        )
    if scope_service != service:
        problems.append(f"Credential should be scoped to correct service: '{service}'.")
    if terminator != TERMINATOR:
        problems.append(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', "
            f"not '{_echo(terminator)}'."
        )
    if date != signed.amz_date[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{_echo(date)}' != '{signed.amz_date[:8]}', from '{signed.amz_date}'."
        )
    if problems:
        raise InvalidSignatureException(" ".join(problems))
    return access_key_id, f"{date}/{region}/{service}/{TERMINATOR}"


@lru_cache(maxsize=64)  # at 10k requests/s most requests share their second
def _parse_amz_date(value: str) -> datetime:
    if _AMZ_DATE.fullmatch(value):
        try:
            return datetime(
                int(value[0:4]),
                int(value[4:6]),
                int(value[6:8]),
                int(value[9:11]),
                int(value[11:13]),
                int(value[13:15]),
                tzinfo=UTC,
            )
        except ValueError:
            pass  # month 13, second 61 …: same answer as a malformed date
    raise IncompleteSignatureException(
        f"Date must be in ISO-8601 'basic format'. Got '{_echo(value)}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _parse_http_date(value: str) -> datetime:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise IncompleteSignatureException(
            f"Date must be in ISO-8601 'basic format'. Got '{_echo(value)}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601"
        ) from None
    # RFC 5322 `-0000` (what botocore's formatdate writes) parses as naive: it is UTC.
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_expires(value: str) -> int:
    # Wording of S3's query-authentication errors, the only AWS text for these cases.
    try:
        expires = int(value)
    except ValueError:
        raise IncompleteSignatureException("X-Amz-Expires should be a number") from None
    if expires < 1:
        raise IncompleteSignatureException("X-Amz-Expires must be at least 1 second")
    if expires > MAX_PRESIGN_EXPIRES:
        raise IncompleteSignatureException(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGN_EXPIRES}"
        )
    return expires


# -- the canonical request ------------------------------------------------------------


def _query_pairs(raw: str) -> list[tuple[str, str]]:
    """The raw query as canonical (key, value) pairs, in arrival order."""
    if not raw:
        return []
    pairs: list[tuple[str, str]] = []
    for item in raw.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((_canonical_component(key), _canonical_component(value)))
    return pairs


def _canonical_component(raw: str) -> str:
    # SigV4 encodes every byte but A-Z a-z 0-9 - _ . ~ as %XY (upper-case hex). Decode to
    # bytes first so that `%2f` and `%2F` agree and non-UTF-8 escapes survive unchanged.
    if _CANONICAL.fullmatch(raw):
        return raw
    return quote(unquote_to_bytes(raw), safe="-_.~")


@lru_cache(maxsize=512)  # bounded: paths are client-chosen
def _canonical_path(raw: str) -> str:
    # botocore (non-S3) removes dot segments and empty segments, then percent-encodes the
    # path it already percent-encoded once more: `/a/my%20set` → `/a/my%2520set`.
    # Cached: a server sees the same few paths over and over.
    if raw.startswith("/") and "//" not in raw and "/." not in raw:
        normalized = raw
    else:
        normalized = str(normalize_url_path(raw))
    return quote(normalized, safe="/~", errors="surrogatepass")


def _canonical_headers(headers: dict[str, str], names: list[str]) -> str:
    # SigV4 Trimall: strip the value and collapse inner runs of whitespace to one space.
    # An absent signed header becomes `name:` and so fails the signature check.
    return "".join([f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in names])


def _payload_hash(request: HttpRequest) -> str:
    declared = request.headers.get("x-amz-content-sha256")
    if declared is None:
        return sha256(request.body).hexdigest() if request.body else EMPTY_SHA256
    # botocore signs the header's value verbatim; checking it against the body keeps a
    # signed request from carrying a body it did not sign (as S3 does).
    if declared != UNSIGNED_PAYLOAD and declared != sha256(request.body).hexdigest():
        raise SignatureDoesNotMatch(_PAYLOAD_MISMATCH)
    return declared


@lru_cache(maxsize=1024)
def _signer(secret: str, date: str, region: str, service: str) -> hmac.HMAC:
    """An HMAC keyed with kSigning, to be copied (never updated) for each request.

    kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
    "aws4_request") changes once a day per key: derive it once, not four HMACs per
    request; copying a keyed HMAC also skips re-keying for the fifth.
    """
    key = hmac.digest(f"AWS4{secret}".encode(), date.encode("utf-8"), "sha256")
    for part in (region, service, TERMINATOR):
        key = hmac.digest(key, part.encode("utf-8"), "sha256")
    return hmac.new(key, digestmod=sha256)


# -- message helpers ------------------------------------------------------------------


def _span(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} sec"


def _echo(value: str) -> str:
    """A client-supplied value, cut short enough to put in an error message."""
    return value if len(value) <= _ECHO_LIMIT else value[:_ECHO_LIMIT] + "..."
