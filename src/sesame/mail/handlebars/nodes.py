"""The parse tree: dataclasses shaped like Handlebars' AST.

Separate because three stages share it and none owns it: `parser` builds it,
`whitespace` trims its text in place, `compiler` turns it into closures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(slots=True)
class Strip:
    open: bool = False
    close: bool = False


@dataclass(slots=True, eq=False)
class Path:
    data: bool
    depth: int
    parts: tuple[str, ...]
    original: str
    scoped: bool


@dataclass(slots=True, eq=False)
class Literal:
    value: object  # str, int, float, bool, None, or MISSING for `undefined`
    original: str


@dataclass(slots=True, eq=False)
class SubExpr:
    call: Call
    pos: int


Expr: TypeAlias = "Path | Literal | SubExpr"


@dataclass(slots=True, eq=False)
class Call:
    path: Expr
    params: list[Expr]
    hash: dict[str, Expr]
    block_params: tuple[str, ...] = ()


@dataclass(slots=True, eq=False)
class Content:
    value: str
    original: str
    left_stripped: bool = False
    right_stripped: bool = False


@dataclass(slots=True, eq=False)
class Mustache:
    call: Call
    escaped: bool
    strip: Strip
    pos: int
    tag: str


@dataclass(slots=True, eq=False)
class Comment:
    strip: Strip


@dataclass(slots=True, eq=False)
class Partial:
    call: Call
    strip: Strip
    pos: int
    tag: str
    indent: str = ""


@dataclass(slots=True, eq=False)
class Program:
    body: list[Node]
    block_params: tuple[str, ...] = ()
    chained: bool = False


@dataclass(slots=True, eq=False)
class Block:
    kind: str  # "block", "inline" ({{#*inline}}) or "partial" ({{#> name}})
    call: Call
    program: Program | None
    inverse: Program | None
    open_strip: Strip
    inverse_strip: Strip
    close_strip: Strip
    pos: int
    tag: str


Node: TypeAlias = "Content | Mustache | Comment | Partial | Block"
