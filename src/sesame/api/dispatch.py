"""The dispatch table: operation name → provider method, built once.

A provider marks each method with `@handles("OperationName")`. Building the
table fails loudly on a name the model does not have or on two providers
claiming one operation, so the table can only hold real operations. Every
operation of the model that is not in the table is answered with
`NotImplementedOperation`, and `sesame coverage` lists it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sesame.api.context import RequestContext
from sesame.protocol.model import operation_names

Handler = Callable[[RequestContext, dict[str, Any]], dict[str, Any]]
F = TypeVar("F", bound=Callable[..., dict[str, Any]])

_MARK = "__sesame_operation__"


def handles(name: str) -> Callable[[F], F]:
    """Mark a provider method as the implementation of operation `name`."""

    def mark(method: F) -> F:
        setattr(method, _MARK, name)
        return method

    return mark


def is_read_only(name: str) -> bool:
    """Get* and List* operations of SES v2 read and never write."""
    return name.startswith(("Get", "List"))


def handled(provider_class: type) -> dict[str, str]:
    """Operation name → method name, for every `@handles` method of a provider class."""
    found: dict[str, str] = {}
    for attribute in dir(provider_class):
        name = getattr(getattr(provider_class, attribute), _MARK, None)
        if name is not None:
            found[name] = attribute
    return found


def build_table(providers: Iterable[object]) -> dict[str, Handler]:
    known = set(operation_names())
    table: dict[str, Handler] = {}
    for provider in providers:
        for name, attribute in handled(type(provider)).items():
            if name not in known:
                raise LookupError(f"{type(provider).__name__}.{attribute}: no operation {name}")
            if name in table:
                raise LookupError(f"operation {name} is implemented twice")
            table[name] = getattr(provider, attribute)
    return table
