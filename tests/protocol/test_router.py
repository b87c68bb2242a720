"""Routing from the model's http bindings, plus the two older list routes."""

from __future__ import annotations

import pytest

from sesame.protocol.errors import UnknownOperationException
from sesame.protocol.model import operation, operation_names
from sesame.protocol.router import match


@pytest.mark.parametrize("name", operation_names())
def test_every_operation_routes_to_itself(name: str) -> None:
    http = operation(name).http
    path = http["requestUri"].split("?")[0]
    # Fill every label with a value that needs percent-encoding.
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + "a%20b%2Fc" + path[end + 1 :]
    found = match(http["method"], path)
    assert found.operation.name == name
    assert all(value == "a b/c" for value in found.labels.values())


@pytest.mark.parametrize(
    ("method", "path", "name", "labels"),
    [
        ("GET", "/v2/email/configuration-sets", "ListConfigurationSets", {}),
        ("POST", "/v2/email/list-configuration-sets", "ListConfigurationSets", {}),
        ("GET", "/v2/email/identities", "ListEmailIdentities", {}),
        ("POST", "/v2/email/list-identities", "ListEmailIdentities", {}),
        (
            "GET",
            "/v2/email/configuration-sets/%C3%BC",
            "GetConfigurationSet",
            {"ConfigurationSetName": "ü"},
        ),
        (
            "GET",
            "/v2/email/configuration-sets/",
            "GetConfigurationSet",
            {"ConfigurationSetName": ""},
        ),
        (
            "PUT",
            "/v2/email/configuration-sets/s/event-destinations/d",
            "UpdateConfigurationSetEventDestination",
            {"ConfigurationSetName": "s", "EventDestinationName": "d"},
        ),
    ],
)
def test_routes(method: str, path: str, name: str, labels: dict[str, str]) -> None:
    found = match(method, path)
    assert (found.operation.name, found.labels) == (name, labels)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("PATCH", "/v2/email/configuration-sets"), ("GET", "/v2/email/nothing")],
)
def test_unknown_routes(method: str, path: str) -> None:
    with pytest.raises(UnknownOperationException):
        match(method, path)
