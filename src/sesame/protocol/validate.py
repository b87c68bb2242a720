"""Every constraint of the model, checked on the server, in AWS's words.

boto3 checks required members and minima before sending, but not enums,
maxima or empty URI labels (ses-spec.md §2.6), and other SDKs check less, so
the server checks all of them. Failures become one `BadRequestException` in
the wording of AWS's validator (Coral):

    1 validation error detected: Value at 'httpsPolicy' failed to satisfy
    constraint: Member must satisfy enum value set: [OPTIONAL, REQUIRE, REQUIRE_OPEN_ONLY]

Paths are the members' names with a lower-case first letter, joined by dots;
an element of a list of structures is `tags.1.member.key` (1-based), as Coral
writes it. Enum values are listed sorted, which is the order AWS's own
messages show for the enums quoted in ses-spec.md §3.8 and §4.3.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from botocore.model import Shape

from sesame.protocol.errors import BadRequestException


def validate(shape: Shape | None, params: dict[str, Any]) -> None:
    """Raise BadRequestException listing every constraint `params` breaks."""
    if shape is None:
        return
    problems: list[str] = []
    _check_structure(shape, params, "", problems)
    if problems:
        raise BadRequestException(describe(problems))


def describe(problems: list[str]) -> str:
    """Join problems into AWS's `N validation error(s) detected: ...` message."""
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(problems)


def constraint(path: str, rule: str, *, null: bool = False) -> str:
    """One problem in Coral's wording; `null` for a missing required member."""
    value = "Value null" if null else "Value"
    return f"{value} at '{path}' failed to satisfy constraint: {rule}"


def wire_path(parent: str, name: str) -> str:
    camel = name[:1].lower() + name[1:]
    return f"{parent}.{camel}" if parent else camel


@cache
def _pattern(expression: str) -> re.Pattern[str]:
    return re.compile(expression)


def _enum_rule(values: list[str]) -> str:
    return "Member must satisfy enum value set: [" + ", ".join(sorted(values)) + "]"


def _check_structure(shape: Shape, value: dict[str, Any], path: str, problems: list[str]) -> None:
    members = shape.members
    for name in shape.required_members:
        if value.get(name) is None:
            problems.append(constraint(wire_path(path, name), "Member must not be null", null=True))
    for name, member in members.items():
        item = value.get(name)
        if item is None:
            continue
        if item == "" and member.serialization.get("location") == "uri":
            # An HTTP label is never empty (Smithy @httpLabel); boto3 sends one anyway.
            rule = "Member must have length greater than or equal to 1"
            problems.append(constraint(wire_path(path, name), rule))
            continue
        _check(member, item, wire_path(path, name), problems)


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        _check_structure(shape, value, path, problems)
        return
    if kind == "list":
        _check_size(meta, len(value), path, problems)
        element = shape.member
        if element.type_name == "structure":
            for index, item in enumerate(value, start=1):
                _check(element, item, f"{path}.{index}.member", problems)
        else:
            inner: list[str] = []
            for item in value:
                _check_scalar(element, item, path, inner)
            # Coral reports a bad list element once, wrapped, at the list's path.
            for rule in dict.fromkeys(p.split("constraint: ", 1)[1] for p in inner):
                problems.append(constraint(path, f"Member must satisfy constraint: [{rule}]"))
        return
    if kind == "map":
        _check_size(meta, len(value), path, problems)
        key_problems: list[str] = []
        for key, item in value.items():
            _check_scalar(shape.key, key, path, key_problems)
            _check(shape.value, item, path, problems)
        for rule in dict.fromkeys(p.split("constraint: ", 1)[1] for p in key_problems):
            problems.append(constraint(path, f"Map keys must satisfy constraint: [{rule}]"))
        return
    _check_scalar(shape, value, path, problems)


def _check_size(meta: dict[str, Any], size: int, path: str, problems: list[str]) -> None:
    if "min" in meta and size < meta["min"]:
        rule = f"Member must have length greater than or equal to {meta['min']}"
        problems.append(constraint(path, rule))
    if "max" in meta and size > meta["max"]:
        rule = f"Member must have length less than or equal to {meta['max']}"
        problems.append(constraint(path, rule))


def _check_scalar(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    meta = shape.metadata
    kind = shape.type_name
    if kind == "string":
        enum = shape.enum
        if enum and value not in enum:
            problems.append(constraint(path, _enum_rule(list(enum))))
            return
        _check_size(meta, len(value), path, problems)
        pattern = meta.get("pattern")
        if pattern and not _pattern(pattern).fullmatch(value):
            rule = f"Member must satisfy regular expression pattern: {pattern}"
            problems.append(constraint(path, rule))
    elif kind in ("integer", "long", "double", "float"):
        if "min" in meta and value < meta["min"]:
            rule = f"Member must have value greater than or equal to {meta['min']}"
            problems.append(constraint(path, rule))
        if "max" in meta and value > meta["max"]:
            rule = f"Member must have value less than or equal to {meta['max']}"
            problems.append(constraint(path, rule))
    elif kind == "blob":
        _check_size(meta, len(value), path, problems)
