"""Data values as JavaScript sees them: `undefined`, truthiness, property lookup,
`String(value)`, and Handlebars' HTML escaping.

Separate because this is where Handlebars.js semantics meet Python data: what
`{{x}}` writes, what `{{#if}}` counts as false, and `child`, the one way a path
reads data (dict keys, list items and `length`, never a Python attribute).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Final


class _Missing:
    """An absent value (JavaScript's `undefined`), distinct from JSON `null`."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Final = _Missing()


def child(value: object, key: str) -> object:
    """value[key] for JSON-shaped data, as JavaScript's own-property lookup."""
    if isinstance(value, Mapping):
        try:
            return value[key]
        except KeyError:
            return MISSING
    if isinstance(value, (list, tuple, str)):
        if key == "length":
            return len(value)
        if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
            index = int(key)
            return value[index] if index < len(value) else MISSING
    return MISSING


def dig(value: object, parts: tuple[str, ...]) -> object:
    for part in parts:
        value = child(value, part)
        if value is MISSING:
            break
    return value


def falsy(value: object) -> bool:
    """JavaScript's `!value`."""
    if value is None or value is MISSING or value is False:
        return True
    if value is True:
        return False
    if isinstance(value, str):
        return not value
    if isinstance(value, (int, float)):
        return value == 0 or value != value
    return False


def is_empty(value: object) -> bool:
    """Handlebars' `Utils.isEmpty`: falsy but not 0, or an empty list."""
    if isinstance(value, (list, tuple)):
        return not value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return False
    return falsy(value)


def _js_number(x: float) -> str:
    """A float written as JavaScript's Number#toString writes it."""
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e21:
        return str(int(x))
    sign = "-" if x < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(x))).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = exponent + k  # x = 0.digits × 10**n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def to_str(value: object) -> str:
    """A value written as Handlebars.js writes it."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _js_number(value)
    if value is None or value is MISSING:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(to_str(item) for item in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


def property_name(value: object) -> str:
    """A value used as a property name (`lookup`, dynamic partial names)."""
    if value is MISSING:
        return "undefined"
    if value is None:
        return "null"
    return to_str(value)


_HTML_ESCAPES: Final = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;",
     "=": "&#x3D;"}
)  # fmt: skip
_NEEDS_ESCAPE: Final = re.compile(r"[&<>\"'`=]")


def escape(s: str) -> str:
    return s.translate(_HTML_ESCAPES) if _NEEDS_ESCAPE.search(s) else s


def lookup(obj: object, field_: object) -> object:
    if falsy(obj):
        return obj
    return child(obj, property_name(field_))
