"""(method, path) → operation, from the `http` bindings of the sesv2 model.

Every operation's `requestUri` is compiled once into literal and label
segments. A label matches one whole path segment, percent-decoded
after splitting, so `my%20set%2Fx` is the single label value `my set/x`. When
two templates match, the one with more literal segments wins.

Two older bindings are kept beside the model's: before botocore 1.43.105 the
list operations for configuration sets and identities were `GET` routes with
`NextToken` and `PageSize` in the query string, and SDKs built before that
change still send them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from urllib.parse import unquote

from botocore.model import OperationModel

from sesame.protocol.errors import BadRequestException, UnknownOperationException
from sesame.protocol.model import operation, service_model

_NO_QUERY_MEMBERS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Match:
    """The operation a request is for, with its URI label values."""

    operation: OperationModel
    #: URI label name → percent-decoded value.
    labels: dict[str, str]
    #: Legacy routes only: body member name → query-string key it arrives under.
    query_members: Mapping[str, str] = field(default_factory=lambda: _NO_QUERY_MEMBERS)


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    segments: tuple[str | None, ...]  # None marks a label position
    labels: tuple[str, ...]
    operation: OperationModel
    query_members: Mapping[str, str]
    literal_count: int


_LEGACY_PAGING = MappingProxyType({"NextToken": "NextToken", "PageSize": "PageSize"})
#: (method, requestUri, operation, body members that arrive in the query string)
LEGACY_ROUTES: tuple[tuple[str, str, str, Mapping[str, str]], ...] = (
    ("GET", "/v2/email/configuration-sets", "ListConfigurationSets", _LEGACY_PAGING),
    ("GET", "/v2/email/identities", "ListEmailIdentities", _LEGACY_PAGING),
)


def _compile(method: str, uri: str, op: OperationModel, query_members: Mapping[str, str]) -> _Route:
    path = uri.split("?", 1)[0]
    segments: list[str | None] = []
    labels: list[str] = []
    # Split exactly as match() splits a request path: some templates end in "/".
    for part in path[1:].split("/"):
        if part.startswith("{") and part.endswith("}"):
            segments.append(None)
            labels.append(part[1:-1].rstrip("+"))
        else:
            segments.append(part)
    literal_count = sum(1 for s in segments if s is not None)
    return _Route(method, tuple(segments), tuple(labels), op, query_members, literal_count)


@cache
def _table() -> dict[tuple[str, int], list[_Route]]:
    routes = [
        _compile(op.http["method"], op.http["requestUri"], op, _NO_QUERY_MEMBERS)
        for op in (operation(n) for n in service_model().operation_names)
    ]
    routes += [_compile(m, uri, operation(name), q) for m, uri, name, q in LEGACY_ROUTES]
    table: dict[tuple[str, int], list[_Route]] = {}
    for route in routes:
        table.setdefault((route.method, len(route.segments)), []).append(route)
    for candidates in table.values():
        candidates.sort(key=lambda r: -r.literal_count)
    return table


@cache
def _exact() -> dict[tuple[str, str], _Route]:
    """Templates without labels, by (method, path): one dict lookup for them."""
    exact: dict[tuple[str, str], _Route] = {}
    for routes in _table().values():
        for route in routes:
            if not route.labels:
                exact.setdefault((route.method, "/" + "/".join(map(str, route.segments))), route)
    return exact


def match(method: str, path: str) -> Match:
    """Find the operation for `method` and the raw (percent-encoded) `path`."""
    method = method.upper()
    route = _exact().get((method, path))
    if route is not None:
        return Match(route.operation, {}, route.query_members)
    # A trailing slash leaves an empty last segment: an empty label, which the
    # validator rejects, rather than a different operation.
    parts = path[1:].split("/") if path.startswith("/") else path.split("/")
    for route in _table().get((method, len(parts)), ()):
        labels: dict[str, str] = {}
        label_index = 0
        for expected, actual in zip(route.segments, parts, strict=True):
            if expected is None:
                try:
                    labels[route.labels[label_index]] = unquote(actual, errors="strict")
                except UnicodeDecodeError:
                    raise BadRequestException(
                        f"The path label {route.labels[label_index]} is not valid UTF-8."
                    ) from None
                label_index += 1
            elif actual != expected and ("%" not in actual or unquote(actual) != expected):
                break
        else:
            return Match(route.operation, labels, route.query_members)
    raise UnknownOperationException(f"No operation matches {method} {path}")
