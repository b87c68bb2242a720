"""Example values for any sesv2 operation, built from the botocore model alone.

`example_input(op, variant=0)` sets every member of the input shape at every depth;
`variant=1` sets only the required ones (containers at their model minimum). Values
honour the model's constraints (enum, length, range, pattern, list size, union) and
are chosen to stress the wire:

- URI labels carry a space, "/", "ü", "+" and a literal "%2F", so a router that does
  not percent-decode, decodes twice or splits on an encoded "/" is caught;
- query-string values carry a space, "+", "&", "=", "/", "ü" and "%";
- body strings carry JSON escapes, non-ASCII and an astral-plane character;
- every scalar differs from its neighbours (a counter), so swapped members show;
- timestamps are aware UTC datetimes with whole milliseconds (variant 1: whole
  seconds, which botocore writes as JSON integers).

Everything is deterministic: no randomness, the traversal order is the model's.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

#: Characters a URI label needs percent-encoded; "%2F" stays literal after decoding.
LABEL_SPECIALS = " a/b+ü%2F"
#: Characters a query-string value needs percent-encoded.
QUERY_SPECIALS = " a+b&c=d/ü%"
#: JSON escapes, a non-BMP character (a surrogate pair in ASCII JSON), a newline.
BODY_SPECIALS = ' "ü" \\ 😀\n'
SPECIALS = {"uri": LABEL_SPECIALS, "querystring": QUERY_SPECIALS, "body": BODY_SPECIALS}

_BASE_TIME = dt.datetime(2024, 2, 29, 23, 59, 58, tzinfo=dt.UTC)

Context = str  # "uri", "querystring" or "body"
PatternExample = Callable[[str, int, int], str]


def _b64(hint: str, variant: int, index: int) -> str:
    # b"\xfb\xef\xff" encodes to "++//": the value needs percent-encoding in a query.
    return base64.b64encode(b"\xfb\xef\xff" + f"{hint}{variant}{index}".encode()).decode()


#: One example per `pattern` of the sesv2 model: f(hint, variant, serial) -> str.
#: A pattern missing here fails loudly, so a model update cannot slip through.
PATTERN_EXAMPLES: dict[str, PatternExample] = {
    "^(.+)@(.+)$": lambda h, v, i: f"{h.lower()}{v}.{i}+tag@example.com",
    (
        "arn:(aws|aws-[a-z-]+):ses:[a-z]{2,4}-[a-z-]+-[0-9]:[0-9]{1,20}"
        ":mailmanager-archive/a-[a-z0-9]{24,62}"
    ): lambda h, v, i: (
        f"arn:aws:ses:eu-west-1:123456789012:mailmanager-archive/a-{v}{i}abcdefghijklmnopqrstuvwxyz"
    ),
    "arn:[\\w+=/,.@-]+:[\\w+=/,.@-]+:[\\w+=/,.@-]*:[0-9]+:certificate/[\\w+=,.@-]+": (
        lambda h, v, i: f"arn:aws:acm:us-east-1:123456789012:certificate/{h}-{v}{i}-0a1b2c3d"
    ),
    "^[\\w\\-_]+$": lambda h, v, i: f"{h}-{v}_{i}",
    "^[!-9;-@A-~]+$": lambda h, v, i: f"X-{h}-{v}{i}",
    "[ -~]*": lambda h, v, i: f"{h} value {v}{i} !~",
    "^^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$": _b64,
    "^[a-zA-Z0-9+\\/]+={0,2}$": _b64,
    "^s3:\\/\\/([^\\/]+)\\/(.*?([^\\/]+)\\/?)$": (
        lambda h, v, i: f"s3://sesame-bucket/exports/{h}-{v}{i}.csv"
    ),
    "^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\\-]*[a-zA-Z0-9]))$": lambda h, v, i: f"sel-{v}{i}",
    "^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\\?([^#]*))?(#(.*))?": (
        lambda h, v, i: f"https://example.com/{h}?v={v}{i}#top"
    ),
}


class _Recursive(Exception):
    """A structure refers back to itself; optional members that do so are left out."""


class _Builder:
    def __init__(self, variant: int) -> None:
        if variant not in (0, 1):
            raise ValueError(f"variant must be 0 (full) or 1 (minimal), not {variant}")
        self.variant = variant
        self.counter = 0  # makes every scalar differ from its neighbours
        self.stack: list[str] = []

    @property
    def full(self) -> bool:
        return self.variant == 0

    def _tick(self) -> int:
        self.counter += 1
        return self.counter

    def value(self, shape: Shape, hint: str, context: Context, index: int = 0) -> Any:
        kind = shape.type_name
        if kind == "structure":
            assert isinstance(shape, StructureShape)
            return self.structure(shape)
        if kind == "list":
            assert isinstance(shape, ListShape)
            return self.list(shape, hint, context)
        if kind == "map":
            assert isinstance(shape, MapShape)
            return self.map(shape, hint)
        if kind == "string":
            return self.string(shape, hint, context, index)
        if kind in ("integer", "long"):
            base = 10 if kind == "integer" else 2**33  # a long that needs 64 bits
            return int(_clamp(base + self._tick(), shape))
        if kind == "double":
            # Exact in binary; every other one integral, which must still come back a float.
            n = self._tick()
            return float(_clamp(n + (0.25 if n % 2 else 0.0), shape))
        if kind == "boolean":
            return (self._tick() + self.variant) % 2 == 1
        if kind == "timestamp":
            n = self._tick()
            millis = 0 if self.variant else 1 + 37 * n
            return _BASE_TIME + dt.timedelta(days=n, seconds=n, milliseconds=millis)
        if kind == "blob":
            # Not UTF-8 on purpose: a blob is bytes, base64 on the wire.
            tag = f"{hint}-{self.variant}.{self._tick()}".encode()
            return b"\x00\xff\xfe raw " + tag + b"\r\n\x80"
        raise NotImplementedError(f"no example for shape type {kind!r} ({shape.name})")

    def structure(self, shape: StructureShape) -> dict[str, Any]:
        if shape.name in self.stack:
            raise _Recursive(shape.name)
        self.stack.append(shape.name)
        try:
            if shape.is_tagged_union:
                # Exactly one member; the variant picks which.
                names = list(shape.members)
                chosen = names[self.variant % len(names)]
                return {chosen: self.value(shape.members[chosen], chosen, "body")}
            required = set(shape.required_members)
            result: dict[str, Any] = {}
            for name, member in shape.members.items():
                if not self.full and name not in required:
                    continue
                try:
                    result[name] = self.value(member, name, "body")
                except _Recursive:
                    if name in required:
                        raise
            return result
        finally:
            self.stack.pop()

    def list(self, shape: ListShape, hint: str, context: Context) -> list[Any]:
        lo, hi = shape.metadata.get("min", 0), shape.metadata.get("max")
        # Query lists always repeat the key (2+ items); body lists shrink to the
        # model minimum in the minimal variant, so empty lists cross the wire too.
        wanted = 2 if self.full or context == "querystring" else lo
        count = max(lo, wanted) if hi is None else min(max(lo, wanted), hi)
        member = shape.member
        return [self.value(member, hint, context, index=i) for i in range(count)]

    def map(self, shape: MapShape, hint: str) -> dict[str, Any]:
        lo, hi = shape.metadata.get("min", 0), shape.metadata.get("max")
        wanted = 2 if self.full else lo
        enum = shape.key.enum
        if enum:
            wanted = min(wanted, len(enum))
        count = max(lo, wanted) if hi is None else min(max(lo, wanted), hi)
        result: dict[str, Any] = {}
        for i in range(count):
            key = self.string(shape.key, f"{hint}Key", "body", i)
            result[key] = self.value(shape.value, f"{hint}Value", "body", index=i)
        return result

    def string(self, shape: Shape, hint: str, context: Context, index: int) -> str:
        if shape.enum:
            return str(shape.enum[(index + self.variant) % len(shape.enum)])
        lo, hi = shape.metadata.get("min", 0), shape.metadata.get("max")
        pattern = shape.metadata.get("pattern")
        if pattern is not None:
            try:
                make = PATTERN_EXAMPLES[pattern]
            except KeyError:
                raise NotImplementedError(
                    f"add an example for pattern {pattern!r} ({shape.name}) to PATTERN_EXAMPLES"
                ) from None
            text = make(hint, self.variant, self._tick())
            if len(text) < lo or (hi is not None and len(text) > hi):
                raise ValueError(
                    f"pattern example {text!r} does not fit {shape.name}: [{lo}, {hi}]"
                )
            return text
        if "contextParam" in shape.metadata:
            # It feeds the endpoint rules (SendEmail's EndpointId becomes part of the
            # host name), where botocore accepts only a valid host label.
            return f"{hint.lower()}-{self.variant}-{self._tick()}"
        specials = SPECIALS.get(context, BODY_SPECIALS)
        # The specials come first so that a short maximum keeps some of them.
        text = f"{hint[:1]}{specials}{hint}-{self.variant}.{self._tick()}"
        if hi is not None:
            text = text[:hi]
        return text.ljust(max(lo, 1), "x")


def _clamp(value: float, shape: Shape) -> float:
    lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
    if lo is not None:
        value = max(value, lo)
    if hi is not None:
        value = min(value, hi)
    return value


def example_input(op: OperationModel, *, variant: int = 0) -> dict[str, Any]:
    """Input parameters for `op`: every member (variant 0) or only required ones (1)."""
    shape = op.input_shape
    if shape is None:
        return {}
    builder = _Builder(variant)
    required = set(shape.required_members)
    params: dict[str, Any] = {}
    for name, member in shape.members.items():
        if variant and name not in required:
            continue
        context = member.serialization.get("location", "body")
        params[name] = builder.value(member, name, context)
    return params


def example_output(op: OperationModel, *, variant: int = 0) -> dict[str, Any]:
    """Output members for `op`: every member (variant 0) or only required ones (1)."""
    shape = op.output_shape
    if shape is None:
        return {}
    assert isinstance(shape, StructureShape)
    return _Builder(variant).structure(shape)
