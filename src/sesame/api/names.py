"""The naming rules SES enforces beyond the model, with SES's messages.

The model gives configuration-set and event-destination names no pattern, but
SES allows only ASCII letters, digits, `_` and `-`, up to 64 characters
(ses-spec.md §3.1). Host names follow RFC 1123 (labels of letters, digits and
inner hyphens, 63 characters each, 253 in all).
"""

from __future__ import annotations

import re

from sesame.protocol.errors import BadRequestException, NotFoundException

_RESOURCE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")


def is_resource_name(name: str) -> bool:
    return bool(_RESOURCE_NAME.fullmatch(name))


def check_configuration_set_name(name: str) -> None:
    if not is_resource_name(name):
        raise BadRequestException(
            f"Invalid configuration set name <{name}>: only alphanumeric ASCII characters, "
            "'_', and '-' are allowed, up to 64 characters."
        )


def check_event_destination_name(name: str) -> None:
    if not is_resource_name(name):
        raise BadRequestException(
            f"Invalid event destination name <{name}>: only alphanumeric ASCII characters, "
            "'_', and '-' are allowed, up to 64 characters."
        )


def configuration_set_missing(name: str) -> NotFoundException:
    """AWS's text for a missing set (ses-spec.md §3.4)."""
    return NotFoundException(f"Configuration set <{name}> does not exist.")


def is_host_name(name: str) -> bool:
    """True for a fully qualified host name such as `track.example.com`."""
    host = name[:-1] if name.endswith(".") else name
    if not host or len(host) > 253:
        return False
    labels = host.split(".")
    if len(labels) < 2 or labels[-1].isdigit():
        return False
    return all(_HOST_LABEL.fullmatch(label) for label in labels)


def is_email_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    if not at or not _LOCAL_PART.fullmatch(local):
        return False
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return False
    return is_host_name(domain)


def domain_of(identity: str) -> str:
    """The domain part of an address identity, or the domain identity itself."""
    return identity.rpartition("@")[2].lower().rstrip(".")
