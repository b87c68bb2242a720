"""SES email-template rendering: Handlebars as SES uses it, compiled once, no eval.

Amazon SES renders the Subject, Text and Html parts of a stored or inline template
with Handlebars (developer guide, "Advanced email personalization": nested
attributes, `each`, `if`, inline partials, and Handlebars' built-in helpers).
This module is a small Handlebars engine of its own: a template is parsed into a
tree, the tree is given Handlebars' whitespace rules, and the result is turned into
Python closures, cached by template text. Template text is never handed to
`eval`/`exec`, and a template can reach only dict keys and list items of the data
(and the `length` of lists and strings, as in JavaScript), never an attribute of a
Python object.

Supported, with Handlebars.js 4.x semantics unless a line below says otherwise (the
parser, whitespace rules and output were compared with handlebars 4.7.10 on some
30,000 generated templates, well-formed and broken):

- `{{path}}`, `{{{path}}}`, `{{&path}}`; paths `a.b`, `a/b`, `a.[0]`, `[odd key]`,
  `this`, `.`, `this.a`, `./a`, `../a`, `@root.a`, `@index`, `@key`, `@first`,
  `@last`, `@../index`; string, number, `true`/`false`/`null`/`undefined` literals.
- Blocks `{{#if}}`, `{{#unless}}` (both take `includeZero=true`), `{{#each}}` over
  lists and objects (`@index`, `@key`, `@first`, `@last`), `{{#with}}`; block params
  `{{#each xs as |x i|}}`, `{{#with a as |b|}}`; `{{else}}`, `{{^}}`, and chains
  `{{else if c}}` / `{{else each x}}` …; Mustache sections `{{#name}}…{{/name}}` and
  inverted sections `{{^name}}…{{/name}}`.
- `{{lookup obj key}}` and `(lookup obj key)` subexpressions; `{{log …}}` (writes
  nothing).
- Inline partials `{{#*inline "name"}}…{{/inline}}` called with `{{> name}}`,
  `{{> name context}}`, `{{> name key=value}}`, `{{> (lookup . "n")}}`; partial
  blocks `{{#> name}}fallback{{/name}}` with `{{> @partial-block}}`.
- Comments `{{! … }}` and `{{!-- … --}}`; escaped mustaches `\\{{not a tag}}`;
  whitespace control `{{~ … ~}}` and Handlebars' standalone-line rule (a line that
  holds only a block tag, `{{else}}`, a comment or a partial disappears; a
  standalone partial is indented like its tag).

Not supported: helpers other than the built-ins (SES does not let you register
any), raw blocks `{{{{raw}}}}`, decorators other than `inline`. Raw blocks and
decorators are syntax errors; an unknown helper (`{{#IF x}}`, `{{upper name}}`,
`(concat a b)`) fails at render time with SES's missing-attribute message naming the
helper, which is what SES answers (a template written `{{#IF firstName}}` failed to
send with "Attribute 'IF' is not present in the rendering data.").

Choices where SES says nothing precise (each covered by a test):

- Escaping: SES does not escape HTML ("SES doesn't escape HTML content when
  rendering the HTML template for a message", developer guide), so `render_template`
  renders all three parts with `escape_html=False`: `{{x}}` and `{{{x}}}` write the
  same text. `render(..., escape_html=True)` escapes `& < > " ' \\` =` the way
  Handlebars does, for callers that want it.
- Missing data: an output tag (`{{x}}`, `{{a.b}}`, `{{../x}}`, `{{@index}}`, …) whose
  value is absent or JSON `null` fails with SES's text, `Attribute 'a.b' is not
  present in the rendering data.`, naming the path as written. `null` counts as
  missing (SES did not send mail whose data had `"website": null`, aws-sdk-js#2239).
  Conditions and iterators (`#if`, `#unless`, `#each`, `#with`, sections, `lookup`)
  treat a missing value as empty instead, as Handlebars does: the guide presents
  `{{#if}}` as the way to test whether an attribute is present. `{{this}}` and
  `{{.}}` never fail (they name no attribute) and write nothing for `null`.
- `{{ses:openTracker}}` and `{{amazonSESUnsubscribeUrl}}` are SES placeholders that
  later steps replace (open tracking, list management); the renderer writes them
  out as exactly that text, whatever the data holds.
- Values are written as JavaScript would: `true`/`false`, `1.0` as `1`, `1e21` as
  `1e+21`, lists joined with commas, objects as `[object Object]`; integers are
  written exactly (JavaScript would round beyond 2**53).
- Scope is Handlebars.js's, not Mustache's: inside `{{#each}}`/`{{#with}}` a name is
  looked up in the current item only; use `../name` or `@root.name` for outer ones.
  A partial starts its own `..` chain (it sees `@root` and `@index`, not `../x`).
- Syntax is checked when a template is compiled: unbalanced or mismatched blocks,
  bad tags, unclosed comments, and built-in helpers called with the wrong number of
  arguments (`{{#if a b}}`, `{{#each}}`, `{{if x}}`). `check_template` reports them
  for CreateEmailTemplate; `render_template` raises the same errors. A partial that
  does not exist fails only when rendering reaches it, as in Handlebars. As in
  Handlebars.js, `{{x}}}` is an error (`}}}` closes only `{{{`: write `{{x}} }`); one
  leniency: `{{items.0}}` is read as `{{items.[0]}}` instead of failing.
- `TemplateData` must be JSON text whose top level is an object; anything else is
  a `TemplateDataError` ("TemplateData is not valid JSON: …" or "TemplateData must
  be a JSON object, not an array.").

Limits that keep one request from hurting the server: at most 100 nested blocks in
a template, 200 blocks and partials active at once while rendering (recursive
partials), 1,000,000 loop iterations and partial calls per render, and 40 MiB of
output per part; going past one is a `RenderingError`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final, TypeAlias

__all__ = [
    "MissingAttributeError",
    "RenderingError",
    "TemplateDataError",
    "TemplateSyntaxError",
    "check_template",
    "parse_template_data",
    "render",
    "render_template",
]

MAX_NESTING: Final = 100
MAX_RENDER_DEPTH: Final = 200
MAX_STEPS: Final = 1_000_000
MAX_OUTPUT: Final = 40 * 1024 * 1024

# Placeholders SES fills in after rendering; written out as this exact text.
_PASSTHROUGH: Final = {
    "ses:openTracker": "{{ses:openTracker}}",
    "amazonSESUnsubscribeUrl": "{{amazonSESUnsubscribeUrl}}",
}
_BLOCK_HELPERS: Final = frozenset({"if", "unless", "each", "with"})


# --- Errors ------------------------------------------------------------------------


class RenderingError(Exception):
    """A template could not be rendered; `message` is the text for the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TemplateSyntaxError(RenderingError):
    """The template text is not a valid template (found when it is compiled)."""

    def __init__(self, problem: str, *, line: int, column: int, part: str | None = None) -> None:
        where = f"{part} part, line" if part else "Line"
        super().__init__(f"{where} {line}, column {column}: {problem}")
        self.problem = problem
        self.line = line
        self.column = column
        self.part = part


class MissingAttributeError(RenderingError):
    """The template names data that is absent: SES's Rendering Failure message."""

    def __init__(self, attribute: str) -> None:
        super().__init__(f"Attribute '{attribute}' is not present in the rendering data.")
        self.attribute = attribute


class TemplateDataError(RenderingError):
    """`TemplateData` is not JSON text holding an object."""


# --- Public API --------------------------------------------------------------------


def render(template: str, data: Mapping[str, Any], *, escape_html: bool) -> str:
    """Render one template part against `data` (JSON-shaped: dicts, lists, scalars)."""
    runner = _compile(template)
    out = _Out(escape_html)
    try:
        runner(_Frame(data, (data,), {"root": data}, (), (), None), out)
    except RecursionError:
        raise RenderingError("The template data is nested too deeply to render.") from None
    return "".join(out.parts)


def render_template(
    subject: str | None, text: str | None, html: str | None, data_json: str
) -> tuple[str | None, str | None, str | None]:
    """Render the three parts of an SES template with `TemplateData` JSON text.

    No part is HTML-escaped (SES does not escape). Syntax errors are reported first,
    for any part, then data errors, then the first missing attribute.
    """
    runners = [_compile_part(name, part) for name, part in _parts(subject, text, html)]
    data = parse_template_data(data_json)
    rendered: list[str | None] = []
    for runner in runners:
        if runner is None:
            rendered.append(None)
            continue
        out = _Out(False)
        try:
            runner(_Frame(data, (data,), {"root": data}, (), (), None), out)
        except RecursionError:
            raise RenderingError("The template data is nested too deeply to render.") from None
        rendered.append("".join(out.parts))
    return rendered[0], rendered[1], rendered[2]


def check_template(subject: str | None, text: str | None, html: str | None) -> None:
    """Raise `TemplateSyntaxError` if a part is not a valid template (CreateEmailTemplate)."""
    for name, part in _parts(subject, text, html):
        _compile_part(name, part)


def parse_template_data(data_json: str) -> dict[str, Any]:
    """`TemplateData` text → the object it holds, or `TemplateDataError`."""
    try:
        value = json.loads(data_json, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise TemplateDataError(
            f"TemplateData is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    except ValueError as exc:  # NaN / Infinity, or an integer with too many digits
        raise TemplateDataError(f"TemplateData is not valid JSON: {exc}.") from None
    except RecursionError:
        raise TemplateDataError("TemplateData is nested too deeply.") from None
    if not isinstance(value, dict):
        raise TemplateDataError(f"TemplateData must be a JSON object, not {_json_kind(value)}.")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _parts(subject: str | None, text: str | None, html: str | None) -> list[tuple[str, str | None]]:
    # Part names are the members of SES v2's EmailTemplateContent.
    return [("Subject", subject), ("Text", text), ("Html", html)]


def _compile_part(name: str, template: str | None) -> _Runner | None:
    if template is None:
        return None
    try:
        return _compile(template)
    except TemplateSyntaxError as exc:
        raise TemplateSyntaxError(
            exc.problem, line=exc.line, column=exc.column, part=name
        ) from None


@lru_cache(maxsize=128)  # templates are up to 500 KB each (SES quota)
def _compile(template: str) -> _Runner:
    try:
        root = _Parser(template).parse()
        _ws_program(root, is_root=True)
        return _Compiler(template).program(root, frozenset())
    except RecursionError:
        raise TemplateSyntaxError("the template is nested too deeply", line=1, column=1) from None


# --- Parse tree --------------------------------------------------------------------


class _Missing:
    """An absent value (JavaScript's `undefined`), distinct from JSON `null`."""

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final = _Missing()


@dataclass(slots=True)
class _Strip:
    open: bool = False
    close: bool = False


@dataclass(slots=True, eq=False)
class _Path:
    data: bool
    depth: int
    parts: tuple[str, ...]
    original: str
    scoped: bool


@dataclass(slots=True, eq=False)
class _Literal:
    value: object  # str, int, float, bool, None, or _MISSING for `undefined`
    original: str


@dataclass(slots=True, eq=False)
class _SubExpr:
    call: _Call
    pos: int


_Expr: TypeAlias = "_Path | _Literal | _SubExpr"


@dataclass(slots=True, eq=False)
class _Call:
    path: _Expr
    params: list[_Expr]
    hash: dict[str, _Expr]
    block_params: tuple[str, ...] = ()


@dataclass(slots=True, eq=False)
class _Content:
    value: str
    original: str
    left_stripped: bool = False
    right_stripped: bool = False


@dataclass(slots=True, eq=False)
class _Mustache:
    call: _Call
    escaped: bool
    strip: _Strip
    pos: int
    tag: str


@dataclass(slots=True, eq=False)
class _Comment:
    strip: _Strip


@dataclass(slots=True, eq=False)
class _Partial:
    call: _Call
    strip: _Strip
    pos: int
    tag: str
    indent: str = ""


@dataclass(slots=True, eq=False)
class _Program:
    body: list[_Node]
    block_params: tuple[str, ...] = ()
    chained: bool = False


@dataclass(slots=True, eq=False)
class _Block:
    kind: str  # "block", "inline" ({{#*inline}}) or "partial" ({{#> name}})
    call: _Call
    program: _Program | None
    inverse: _Program | None
    open_strip: _Strip
    inverse_strip: _Strip
    close_strip: _Strip
    pos: int
    tag: str


_Node: TypeAlias = "_Content | _Mustache | _Comment | _Partial | _Block"


# --- Parser ------------------------------------------------------------------------

# The token rules of the Handlebars lexer (handlebars.l), in its order of preference.
_ID_CHARS = re.compile(r'[^\s!"#%-,./;->@\[-\^`{-~]+')
_ID = re.compile(_ID_CHARS.pattern + r"(?=[=~}\s/.)|])")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?=[~}\s)])")
_WORD = re.compile(r"(?:true|false|null|undefined)(?=[~}\s)])")
_STRING = {"'": re.compile(r"'((?:\\'|[^'])*)'"), '"': re.compile(r'"((?:\\"|[^"])*)"')}
_SEGMENT = re.compile(r"\[((?:\\\]|[^\]])*)\]")
_SEGMENT_ESCAPE = re.compile(r"\\([\\\]])")
_BLOCK_PARAMS = re.compile(r"as\s+\|")
_BARE_ELSE = re.compile(r"(?:\^|\s*else)\s*(~?)}}")
_ELSE_CHAIN = re.compile(r"\s*else(?=\s)")
_LONG_COMMENT_END = re.compile(r"--~?}}")
_DOT_LOOKAHEAD = frozenset("=~}/.)|")

_Token: TypeAlias = tuple[str, str, int]  # kind, text, position


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _show(tag: str) -> str:
    return tag if len(tag) <= 60 else tag[:57] + "..."


@dataclass(slots=True, eq=False)
class _Segment:
    call: _Call | None  # None for the opening tag's own body and for a bare {{else}}
    strip: _Strip
    body: list[_Node]
    pos: int
    tag: str


@dataclass(slots=True, eq=False)
class _OpenBlock:
    kind: str
    call: _Call
    inverted: bool
    strip: _Strip
    pos: int
    tag: str
    segments: list[_Segment] = field(default_factory=list)


class _Parser:
    """Template text → a tree shaped like Handlebars' AST (one pass, no recursion)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.root: list[_Node] = []
        self.body = self.root
        self.stack: list[_OpenBlock] = []
        self.nesting = 0

    def error(self, pos: int, problem: str) -> TemplateSyntaxError:
        line, column = _line_col(self.text, pos)
        return TemplateSyntaxError(problem, line=line, column=column)

    def where(self, pos: int) -> str:
        line, column = _line_col(self.text, pos)
        return f"line {line}, column {column}"

    def parse(self) -> _Program:
        text = self.text
        pos = 0
        while pos < len(text):
            i = text.find("{{", pos)
            if i < 0:
                self.content(text[pos:])
                break
            if i > pos and text[i - 1] == "\\":
                # `\{{x}}` writes `{{x}}` as text; `\\{{x}}` writes `\` then renders x.
                self.content(text[pos : i - 1])
                if not (i - 1 > pos and text[i - 2] == "\\"):
                    end = self.escaped_end(i)
                    self.content(text[i:end])
                    pos = end
                    continue
            else:
                self.content(text[pos:i])
            pos = self.tag(i)
        if self.stack:
            block = self.stack[-1]
            raise self.error(block.pos, f"'{_show(block.tag)}' is never closed")
        return _Program(self.root)

    def content(self, value: str) -> None:
        if value:
            self.body.append(_Content(value, value))

    def escaped_end(self, i: int) -> int:
        # Handlebars' `emu` state: at least two characters, up to the next `{{`,
        # `\{{` or `\\{{`.
        text = self.text
        k = text.find("{{", i + 2)
        if k < 0:
            return len(text)
        if k - 1 >= i + 2 and text[k - 1] == "\\":
            k -= 1
            if k - 1 >= i + 2 and text[k - 1] == "\\":
                k -= 1
        return k

    def tag(self, i: int) -> int:
        text = self.text
        if text.startswith("{{{{", i):
            raise self.error(i, "raw blocks ('{{{{' … '}}}}') are not supported")
        p = i + 2
        strip_open = text.startswith("~", p)
        if strip_open:
            p += 1
        if text.startswith("!", p):
            return self.comment(i, p, strip_open)
        m = _BARE_ELSE.match(text, p)
        if m:
            self.else_(i, m.end(), _Strip(strip_open, m.group(1) == "~"), None)
            return m.end()
        m = _ELSE_CHAIN.match(text, p)
        if m:
            tokens, end, strip_close = self.lex(i, m.end(), triple=False)
            exprs = _Exprs(self, tokens, i)
            call = exprs.block_call()
            self.else_(i, end, _Strip(strip_open, strip_close), call)
            return end
        sigil = text[p : p + 1]
        if sigil == "{":
            return self.mustache(i, p + 1, strip_open, escaped=False, triple=True)
        if sigil == "&":
            return self.mustache(i, p + 1, strip_open, escaped=False, triple=False)
        if sigil == "#":
            after = text[p + 1 : p + 2]
            if after == ">":
                return self.open_block(i, p + 2, strip_open, "partial", inverted=False)
            if after == "*":
                return self.open_block(i, p + 2, strip_open, "inline", inverted=False)
            return self.open_block(i, p + 1, strip_open, "block", inverted=False)
        if sigil == "^":
            return self.open_block(i, p + 1, strip_open, "block", inverted=True)
        if sigil == "/":
            return self.close(i, p + 1, strip_open)
        if sigil == ">":
            return self.partial(i, p + 1, strip_open)
        if sigil == "*":
            raise self.error(i, "decorators ('{{*') are not supported")
        return self.mustache(i, p, strip_open, escaped=True, triple=False)

    def comment(self, i: int, p: int, strip_open: bool) -> int:
        text = self.text
        if text.startswith("!--", p):
            m = _LONG_COMMENT_END.search(text, p + 1)
            if m is None:
                raise self.error(i, "comment '{{!--' is never closed with '--}}'")
            end = m.end()
        else:
            end = text.find("}}", p + 1)
            if end < 0:
                raise self.error(i, "comment '{{!' is never closed with '}}'")
            end += 2
        self.body.append(_Comment(_Strip(strip_open, text[end - 3] == "~")))
        return end

    def mustache(self, i: int, p: int, strip_open: bool, *, escaped: bool, triple: bool) -> int:
        tokens, end, strip_close = self.lex(i, p, triple=triple)
        exprs = _Exprs(self, tokens, i)
        path = exprs.name()
        params, hash_ = exprs.params_and_hash()
        exprs.done()
        call = _Call(path, params, hash_)
        strip = _Strip(strip_open, strip_close)
        self.body.append(_Mustache(call, escaped, strip, i, self.text[i:end]))
        return end

    def open_block(self, i: int, p: int, strip_open: bool, kind: str, *, inverted: bool) -> int:
        tokens, end, strip_close = self.lex(i, p, triple=False)
        exprs = _Exprs(self, tokens, i)
        tag = self.text[i:end]
        call = exprs.partial_call() if kind == "partial" else exprs.block_call()
        if kind == "inline":
            name = call.path
            if not (isinstance(name, _Path) and name.original == "inline"):
                raise self.error(
                    i, f"'{_show(tag)}': the only decorator block is '{{{{#*inline}}}}'"
                )
            if len(call.params) != 1 or not isinstance(call.params[0], _Literal):
                raise self.error(i, f"'{_show(tag)}': an inline partial needs a quoted name")
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(i, f"blocks are nested more than {MAX_NESTING} deep")
        strip = _Strip(strip_open, strip_close)
        block = _OpenBlock(kind, call, inverted, strip, i, tag)
        block.segments.append(_Segment(None, strip, [], i, tag))
        self.stack.append(block)
        self.body = block.segments[-1].body
        return end

    def else_(self, i: int, end: int, strip: _Strip, call: _Call | None) -> None:
        tag = self.text[i:end]
        if not self.stack:
            raise self.error(i, f"'{_show(tag)}' is outside any block")
        block = self.stack[-1]
        if block.kind != "block":
            raise self.error(i, f"'{_show(tag)}' cannot be used inside '{_show(block.tag)}'")
        last = block.segments[-1]
        if len(block.segments) > 1 and last.call is None:
            raise self.error(
                i, f"'{_show(tag)}' comes after the final '{_show(last.tag)}' of '{block.tag}'"
            )
        if call is not None:
            self.nesting += 1
            if self.nesting > MAX_NESTING:
                raise self.error(i, f"blocks are nested more than {MAX_NESTING} deep")
        block.segments.append(_Segment(call, strip, [], i, tag))
        self.body = block.segments[-1].body

    def close(self, i: int, p: int, strip_open: bool) -> int:
        tokens, end, strip_close = self.lex(i, p, triple=False)
        exprs = _Exprs(self, tokens, i)
        name = exprs.name()
        exprs.done()
        tag = self.text[i:end]
        if not self.stack:
            raise self.error(i, f"'{_show(tag)}' closes no open block")
        block = self.stack.pop()
        if _original(block.call.path) != _original(name):
            raise self.error(
                i,
                f"'{_show(tag)}' does not close '{_show(block.tag)}', "
                f"opened at {self.where(block.pos)}",
            )
        self.nesting -= sum(1 for s in block.segments if s.call is not None) + 1
        node = self.build(block, _Strip(strip_open, strip_close))
        self.body = self.stack[-1].segments[-1].body if self.stack else self.root
        self.body.append(node)
        return end

    def build(self, block: _OpenBlock, close_strip: _Strip) -> _Block:
        # As Handlebars' prepareBlock: `{{else if b}}` becomes an inverse program
        # holding one chained block, which ends at the same closing tag.
        first, chain = block.segments[0], block.segments[1:]
        inverse: _Program | None = None
        inverse_strip = _Strip()
        if chain and chain[-1].call is None:
            last = chain.pop()
            inverse, inverse_strip = _Program(last.body), last.strip
        for index in reversed(range(len(chain))):
            seg = chain[index]
            assert seg.call is not None
            program = _Program(seg.body, seg.call.block_params)
            # Handlebars gives the first `else if` the real closing strip flags and each
            # later one the flags of its own tag; kept, so `~` strips the same text.
            strip = close_strip if index == 0 else seg.strip
            chained = _Block(
                "block", seg.call, program, inverse, seg.strip, inverse_strip, strip,
                seg.pos, seg.tag,
            )  # fmt: skip
            inverse, inverse_strip = _Program([chained], chained=True), seg.strip
        program_: _Program | None = _Program(first.body, block.call.block_params)
        if block.inverted:
            program_, inverse = inverse, program_
        return _Block(
            block.kind, block.call, program_, inverse, block.strip, inverse_strip, close_strip,
            block.pos, block.tag,
        )  # fmt: skip

    def partial(self, i: int, p: int, strip_open: bool) -> int:
        tokens, end, strip_close = self.lex(i, p, triple=False)
        call = _Exprs(self, tokens, i).partial_call()
        tag = self.text[i:end]
        self.body.append(_Partial(call, _Strip(strip_open, strip_close), i, tag))
        return end

    def lex(self, i: int, p: int, *, triple: bool) -> tuple[list[_Token], int, bool]:
        """Tokens of a tag's inside, from `p` to its closing braces."""
        text = self.text
        tokens: list[_Token] = []
        n = len(text)
        while p < n:
            c = text[p]
            if c.isspace():
                p += 1
                continue
            if c == "}" or c == "~":
                if triple:
                    if text.startswith("}}}}", p):
                        raise self.error(
                            i,
                            f"'{_show(text[i : p + 4])}': write '}}}}}} }}' to follow a value "
                            "with a brace",
                        )
                    if text.startswith("}}}", p):
                        return tokens, p + 3, False
                    if text.startswith("}~}}", p):
                        return tokens, p + 4, True
                    if text.startswith("}}", p) or text.startswith("~}}", p):
                        raise self.error(i, f"'{_show(text[i : p + 2])}' must end with '}}}}}}'")
                else:
                    if text.startswith("}}}", p):
                        # Handlebars.js lexes `}}}` as a triple-stash close: a parse error.
                        raise self.error(
                            i,
                            f"'{_show(text[i : p + 3])}': '}}}}}}' ends only a '{{{{{{' tag; "
                            "write '}} }' to follow a value with a brace",
                        )
                    if text.startswith("}}", p):
                        return tokens, p + 2, False
                    if text.startswith("~}}", p):
                        return tokens, p + 3, True
                raise self.error(p, f"unexpected '{c}' in '{_show(text[i : p + 1])}'")
            if c in "()=@|/":
                tokens.append(("SEP" if c == "/" else c, c, p))
                p += 1
                continue
            if c == ".":
                if text.startswith("..", p):
                    tokens.append(("ID", "..", p))
                    p += 2
                elif p + 1 < n and (text[p + 1] in _DOT_LOOKAHEAD or text[p + 1].isspace()):
                    tokens.append(("ID", ".", p))
                    p += 1
                else:
                    tokens.append(("SEP", ".", p))
                    p += 1
                continue
            if c == '"' or c == "'":
                m = _STRING[c].match(text, p)
                if m is None:
                    raise self.error(p, f"string in '{_show(text[i : p + 1])}' is never closed")
                tokens.append(("STRING", m.group(1).replace("\\" + c, c), p))
                p = m.end()
                continue
            if c == "[":
                m = _SEGMENT.match(text, p)
                if m is None:
                    raise self.error(p, f"'[' in '{_show(text[i : p + 1])}' is never closed")
                tokens.append(("LITERAL_ID", _SEGMENT_ESCAPE.sub(r"\1", m.group(1)), p))
                p = m.end()
                continue
            m = _WORD.match(text, p)
            if m:
                tokens.append((m.group(0).upper(), m.group(0), p))
                p = m.end()
                continue
            m = _NUMBER.match(text, p)
            if m:
                tokens.append(("NUMBER", m.group(0), p))
                p = m.end()
                continue
            m = _BLOCK_PARAMS.match(text, p)
            if m:
                tokens.append(("AS", m.group(0), p))
                p = m.end()
                continue
            m = _ID.match(text, p)
            if m:
                tokens.append(("ID", m.group(0), p))
                p = m.end()
                continue
            m = _ID_CHARS.match(text, p)
            if m:  # a name followed by a character no name may be followed by
                p = m.end()
                if p >= n:
                    break
            raise self.error(p, f"unexpected '{text[p]}' in '{_show(text[i : p + 1])}'")
        closing = "}}}" if triple else "}}"
        raise self.error(i, f"'{_show(text[i:])}' is never closed with '{closing}'")


def _original(expr: _Expr) -> str | None:
    if isinstance(expr, _SubExpr):
        return None
    return expr.original


class _Exprs:
    """The expression grammar inside one tag (Handlebars' handlebars.yy)."""

    MAX_SUBEXPRESSIONS = 20

    def __init__(self, parser: _Parser, tokens: list[_Token], tag_pos: int) -> None:
        self.parser = parser
        self.tokens = tokens
        self.i = 0
        self.tag_pos = tag_pos

    def kind(self, ahead: int = 0) -> str | None:
        k = self.i + ahead
        return self.tokens[k][0] if k < len(self.tokens) else None

    def error(self, problem: str) -> TemplateSyntaxError:
        pos = self.tokens[self.i][2] if self.i < len(self.tokens) else self.tag_pos
        return self.parser.error(pos, problem)

    def tag(self) -> str:
        end = self.tokens[-1][2] + len(self.tokens[-1][1]) if self.tokens else self.tag_pos + 2
        return _show(self.parser.text[self.tag_pos : end] + " …")

    def unexpected(self) -> TemplateSyntaxError:
        if self.i >= len(self.tokens):
            return self.parser.error(self.tag_pos, "a tag needs a name")
        text = self.tokens[self.i][1]
        return self.error(f"unexpected '{text}' in '{self.tag()}'")

    def done(self) -> None:
        if self.i < len(self.tokens):
            raise self.unexpected()

    def name(self) -> _Expr:
        kind = self.kind()
        if kind in ("ID", "LITERAL_ID"):
            return self.path(data=False)
        if kind == "@":
            self.i += 1
            if self.kind() not in ("ID", "LITERAL_ID"):
                raise self.unexpected()
            return self.path(data=True)
        if kind is None:
            raise self.unexpected()
        _, text, _ = self.tokens[self.i]
        value: object
        if kind == "STRING":
            value = text
        elif kind == "NUMBER":
            value = float(text) if "." in text else int(text)
        elif kind in ("TRUE", "FALSE"):
            value = kind == "TRUE"
        elif kind == "NULL":
            value = None
        elif kind == "UNDEFINED":
            value = _MISSING
        else:
            raise self.unexpected()
        self.i += 1
        return _Literal(value, text)

    def path(self, *, data: bool) -> _Path:
        # Handlebars' preparePath: `this`, `.` and `..` only at the start.
        original = "@" if data else ""
        parts: list[str] = []
        depth = 0
        separator = ""
        while True:
            kind, text, pos = self.tokens[self.i]
            self.i += 1
            original += separator + text
            if kind == "ID" and text in ("..", ".", "this"):
                if parts:
                    problem = f"invalid path '{original}' in '{self.tag()}'"
                    raise self.parser.error(pos, problem)
                if text == "..":
                    depth += 1
            else:
                parts.append(text)
            if self.kind() != "SEP":
                break
            _, separator, pos = self.tokens[self.i]
            self.i += 1
            # `items.0` (Handlebars.js wants `items.[0]`): a number is a key here.
            if self.kind() not in ("ID", "LITERAL_ID", "NUMBER"):
                problem = f"invalid path '{original}{separator}' in '{self.tag()}'"
                raise self.parser.error(pos, problem)
        scoped = not data and (
            original.startswith(".")
            or original == "this"
            or original.startswith(("this.", "this/"))
        )
        return _Path(data, depth, tuple(parts), original, scoped)

    def param(self, depth: int) -> _Expr:
        if self.kind() != "(":
            return self.name()
        if depth >= self.MAX_SUBEXPRESSIONS:
            raise self.error(f"subexpressions are nested too deeply in '{self.tag()}'")
        pos = self.tokens[self.i][2]
        self.i += 1
        path = self.name()
        params, hash_ = self.params_and_hash(depth + 1)
        if self.kind() is None:
            raise self.parser.error(pos, f"'(' is never closed in '{self.tag()}'")
        if self.kind() != ")":
            raise self.unexpected()
        self.i += 1
        return _SubExpr(_Call(path, params, hash_), pos)

    def params_and_hash(self, depth: int = 0) -> tuple[list[_Expr], dict[str, _Expr]]:
        params: list[_Expr] = []
        hash_: dict[str, _Expr] = {}
        while True:
            kind = self.kind()
            if kind in ("ID", "LITERAL_ID") and self.kind(1) == "=":
                break
            if kind in (None, ")", "AS", "|"):
                return params, hash_
            params.append(self.param(depth))
        while self.kind() in ("ID", "LITERAL_ID") and self.kind(1) == "=":
            key = self.tokens[self.i][1]
            self.i += 2
            hash_[key] = self.param(depth)
        return params, hash_

    def block_call(self) -> _Call:
        path = self.name()
        params, hash_ = self.params_and_hash()
        block_params: tuple[str, ...] = ()
        if self.kind() == "AS":
            self.i += 1
            names: list[str] = []
            while self.kind() == "ID":
                names.append(self.tokens[self.i][1])
                self.i += 1
            if not names or self.kind() != "|":
                raise self.error(f"block parameters must look like 'as |a b|' in '{self.tag()}'")
            self.i += 1
            block_params = tuple(names)
        self.done()
        return _Call(path, params, hash_, block_params)

    def partial_call(self) -> _Call:
        path = self.param(0)
        params, hash_ = self.params_and_hash()
        self.done()
        if len(params) > 1:
            raise self.parser.error(
                self.tag_pos, f"'{self.tag()}': a partial takes at most one context argument"
            )
        return _Call(path, params, hash_)


# --- Whitespace control (Handlebars' WhitespaceControl visitor) ---------------------


@dataclass(slots=True)
class _StripInfo:
    open: bool = False
    close: bool = False
    open_standalone: bool = False
    close_standalone: bool = False
    inline_standalone: bool = False


def _leading_ws(s: str) -> str:
    return s[: len(s) - len(s.lstrip())]


def _trailing_ws(s: str) -> str:
    return s[len(s.rstrip()) :]


def _is_prev_ws(body: list[_Node], i: int | None = None, is_root: bool = False) -> bool:
    if i is None:
        i = len(body)
    if i < 1:
        return is_root
    prev = body[i - 1]
    if not isinstance(prev, _Content):
        return False
    tail = _trailing_ws(prev.original)
    if i >= 2 or not is_root:
        return "\n" in tail
    return "\n" in tail or len(tail) == len(prev.original)


def _is_next_ws(body: list[_Node], i: int | None = None, is_root: bool = False) -> bool:
    if i is None:
        i = -1
    if i + 1 >= len(body):
        return is_root
    nxt = body[i + 1]
    if not isinstance(nxt, _Content):
        return False
    head = _leading_ws(nxt.original)
    if i + 2 < len(body) or not is_root:
        return "\n" in head
    return "\n" in head or len(head) == len(nxt.original)


def _omit_right(body: list[_Node], i: int | None = None, multiple: bool = False) -> None:
    k = 0 if i is None else i + 1
    current = body[k] if k < len(body) else None
    if not isinstance(current, _Content) or (not multiple and current.right_stripped):
        return
    value = current.value
    if multiple:
        stripped = value.lstrip()
    else:  # /^[ \t]*\r?\n?/
        j = len(value) - len(value.lstrip(" \t"))
        if value.startswith("\r", j):
            j += 1
        if value.startswith("\n", j):
            j += 1
        stripped = value[j:]
    current.value = stripped
    current.right_stripped = stripped != value


def _omit_left(body: list[_Node], i: int | None = None, multiple: bool = False) -> bool:
    k = len(body) - 1 if i is None else i - 1
    current = body[k] if k >= 0 else None
    if not isinstance(current, _Content) or (not multiple and current.left_stripped):
        return False
    value = current.value
    stripped = value.rstrip() if multiple else value.rstrip(" \t")
    current.value = stripped
    current.left_stripped = stripped != value
    return current.left_stripped


def _ws_program(program: _Program, is_root: bool = False) -> None:
    body = program.body
    for i, current in enumerate(body):
        strip = _ws_accept(current)
        if strip is None:
            continue
        prev_ws = _is_prev_ws(body, i, is_root)
        next_ws = _is_next_ws(body, i, is_root)
        if strip.close:
            _omit_right(body, i, True)
        if strip.open:
            _omit_left(body, i, True)
        if strip.inline_standalone and prev_ws and next_ws:
            _omit_right(body, i)
            if _omit_left(body, i) and isinstance(current, _Partial):
                before = body[i - 1]
                assert isinstance(before, _Content)
                current.indent = before.original[len(before.original.rstrip(" \t")) :]
        if isinstance(current, _Block):
            if strip.open_standalone and prev_ws:
                inner = current.program or current.inverse
                assert inner is not None
                _omit_right(inner.body)
                _omit_left(body, i)
            if strip.close_standalone and next_ws:
                _omit_right(body, i)
                inner = current.inverse or current.program
                assert inner is not None
                _omit_left(inner.body)


def _ws_accept(node: _Node) -> _StripInfo | None:
    if isinstance(node, _Content):
        return None
    if isinstance(node, _Mustache):
        return _StripInfo(node.strip.open, node.strip.close)
    if isinstance(node, (_Comment, _Partial)):
        return _StripInfo(node.strip.open, node.strip.close, inline_standalone=True)
    return _ws_block(node)


def _ws_block(block: _Block) -> _StripInfo:
    if block.program is not None:
        _ws_program(block.program)
    if block.inverse is not None:
        _ws_program(block.inverse)
    program = block.program or block.inverse
    assert program is not None
    inverse = block.inverse if block.program is not None else None
    first_inverse = last_inverse = inverse
    if inverse is not None and inverse.chained:
        chained = inverse.body[0]
        assert isinstance(chained, _Block) and chained.program is not None
        first_inverse = chained.program
        # Where `{{~/if}}` strips: Handlebars walks `.program`, so for a chain this is
        # the first `else if` body (the chained blocks strip their own ends). Kept.
        while last_inverse is not None and last_inverse.chained:
            chained = last_inverse.body[-1]
            assert isinstance(chained, _Block)
            last_inverse = chained.program
    strip = _StripInfo(
        open=block.open_strip.open,
        close=block.close_strip.close,
        open_standalone=_is_next_ws(program.body),
        close_standalone=_is_prev_ws((first_inverse or program).body),
    )
    if block.open_strip.close:
        _omit_right(program.body, None, True)
    if inverse is not None:
        assert first_inverse is not None and last_inverse is not None
        if block.inverse_strip.open:
            _omit_left(program.body, None, True)
        if block.inverse_strip.close:
            _omit_right(first_inverse.body, None, True)
        if block.close_strip.open:
            _omit_left(last_inverse.body, None, True)
        # A standalone {{else}}.
        if _is_prev_ws(program.body) and _is_next_ws(first_inverse.body):
            _omit_left(program.body)
            _omit_right(first_inverse.body)
    elif block.close_strip.open:
        _omit_left(program.body, None, True)
    return strip


# --- Runtime -----------------------------------------------------------------------

_PARENT: Final = object()  # key of a data frame's parent frame (`@../index`)


class _Frame:
    """Where a template is while rendering: context, `..` chain, @data, scopes."""

    __slots__ = ("block", "bparams", "ctx", "data", "depths", "partials")

    def __init__(
        self,
        ctx: object,
        depths: tuple[object, ...],
        data: dict[object, object],
        bparams: tuple[dict[str, object], ...],
        partials: tuple[dict[str, _Runner], ...],
        block: _PartialBlock | None,
    ) -> None:
        self.ctx = ctx
        self.depths = depths  # depths[0] is ctx, depths[1] what `..` names, …
        self.data = data
        self.bparams = bparams
        self.partials = partials
        self.block = block


class _Out:
    __slots__ = ("depth", "escape", "parts", "size", "steps")

    def __init__(self, escape: bool) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.steps = 0
        self.depth = 0
        self.escape = escape

    def write(self, s: str) -> None:
        self.parts.append(s)
        self.size += len(s)
        if self.size > MAX_OUTPUT:
            raise _too_big()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_RENDER_DEPTH:
            raise RenderingError(
                f"Blocks and partials are nested more than {MAX_RENDER_DEPTH} deep while "
                "rendering (a partial that calls itself?)."
            )

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise RenderingError(
                f"Rendering takes more than {MAX_STEPS} loop iterations and partial calls."
            )


def _too_big() -> RenderingError:
    return RenderingError(f"The rendered template is longer than {MAX_OUTPUT} characters.")


_Runner: TypeAlias = Callable[[_Frame, _Out], None]
_Eval: TypeAlias = Callable[[_Frame], object]


@dataclass(slots=True, frozen=True)
class _PartialBlock:
    runner: _Runner
    outer: _PartialBlock | None


def _noop(frame: _Frame, out: _Out) -> None:
    return None


def _child(value: object, key: str) -> object:
    """value[key] for JSON-shaped data, as JavaScript's own-property lookup."""
    if isinstance(value, Mapping):
        try:
            return value[key]
        except KeyError:
            return _MISSING
    if isinstance(value, (list, tuple, str)):
        if key == "length":
            return len(value)
        if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
            index = int(key)
            return value[index] if index < len(value) else _MISSING
    return _MISSING


def _dig(value: object, parts: tuple[str, ...]) -> object:
    for part in parts:
        value = _child(value, part)
        if value is _MISSING:
            break
    return value


def _falsy(value: object) -> bool:
    """JavaScript's `!value`."""
    if value is None or value is _MISSING or value is False:
        return True
    if value is True:
        return False
    if isinstance(value, str):
        return not value
    if isinstance(value, (int, float)):
        return value == 0 or value != value
    return False


def _is_empty(value: object) -> bool:
    """Handlebars' `Utils.isEmpty`: falsy but not 0, or an empty list."""
    if isinstance(value, (list, tuple)):
        return not value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return False
    return _falsy(value)


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


def _to_str(value: object) -> str:
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
    if value is None or value is _MISSING:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(_to_str(item) for item in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


def _key(value: object) -> str:
    """A value used as a property name (`lookup`, dynamic partial names)."""
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    return _to_str(value)


_HTML_ESCAPES: Final = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;",
     "=": "&#x3D;"}
)  # fmt: skip
_NEEDS_ESCAPE: Final = re.compile(r"[&<>\"'`=]")


def _escape(s: str) -> str:
    return s.translate(_HTML_ESCAPES) if _NEEDS_ESCAPE.search(s) else s


def _lookup(obj: object, field_: object) -> object:
    if _falsy(obj):
        return obj
    return _child(obj, _key(field_))


def _push(depths: tuple[object, ...], ctx: object) -> tuple[object, ...]:
    return depths if ctx is depths[0] else (ctx, *depths)


def _run_each(
    value: object, program: _Runner, names: tuple[str, ...], frame: _Frame, out: _Out
) -> bool:
    """Run `program` once per item of a list or object; False when there are none."""
    pairs: list[tuple[object, object]]
    if isinstance(value, (list, tuple)):
        pairs = list(enumerate(value))
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        return False
    last = len(pairs) - 1
    parent = frame.data
    for index, (key, item) in enumerate(pairs):
        out.step()
        data: dict[object, object] = {
            **parent, "key": key, "index": index, "first": index == 0, "last": index == last,
            _PARENT: parent,
        }  # fmt: skip
        bparams = frame.bparams
        if names:
            scope: dict[str, object] = {names[0]: item}
            if len(names) > 1:
                scope[names[1]] = key
            bparams = (scope, *bparams)
        depths = _push(frame.depths, item)
        program(_Frame(item, depths, data, bparams, frame.partials, frame.block), out)
    return bool(pairs)


# --- Compiler: tree → closures -----------------------------------------------------


def _as_path(expr: _Expr) -> _Path:
    """A tag's name as a path; `{{"a b"}}` and `{{12}}` name keys (transformLiteralToPath)."""
    if isinstance(expr, _Literal):
        return _Path(False, 0, (expr.original,), expr.original, False)
    assert isinstance(expr, _Path)  # the grammar allows a subexpression only for partials
    return expr


def _simple_name(path: _Path, bp: frozenset[str]) -> str | None:
    """The name a helper would have: one plain segment that is not a block param."""
    if (
        not path.data
        and not path.depth
        and not path.scoped
        and len(path.parts) == 1
        and path.parts[0] not in bp
    ):
        return path.parts[0]
    return None


def _fail_missing(name: str) -> Callable[..., Any]:
    def fail(*_: object) -> Any:
        raise MissingAttributeError(name)

    return fail


class _Compiler:
    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, pos: int, problem: str) -> TemplateSyntaxError:
        line, column = _line_col(self.text, pos)
        return TemplateSyntaxError(problem, line=line, column=column)

    def program(self, program: _Program, bp: frozenset[str]) -> _Runner:
        runner, partials = self.program_parts(program, bp)
        return _with_partials(runner, partials) if partials else runner

    def program_parts(
        self, program: _Program, bp: frozenset[str]
    ) -> tuple[_Runner, dict[str, _Runner]]:
        items: list[str | _Runner] = []
        text: list[str] = []
        partials: dict[str, _Runner] = {}

        def add(item: str | _Runner | None) -> None:
            if item is None or item == "":
                return
            if isinstance(item, str):
                text.append(item)
                return
            if text:
                items.append("".join(text))
                text.clear()
            items.append(item)

        for node in program.body:
            if isinstance(node, _Content):
                add(node.value)
            elif isinstance(node, _Mustache):
                add(self.mustache(node, bp))
            elif isinstance(node, _Partial):
                add(self.partial(node.call, node.indent, None))
            elif isinstance(node, _Block):
                if node.kind == "inline":
                    name = node.call.params[0]
                    assert isinstance(name, _Literal)
                    partials[name.original] = self.program(
                        node.program or _Program([]), frozenset()
                    )
                else:
                    add(self.block(node, bp))
        if text:
            items.append("".join(text))
        return _sequence(items), partials

    def expr(self, expr: _Expr, bp: frozenset[str]) -> _Eval:
        if isinstance(expr, _Literal):
            value = expr.value
            return lambda frame: value
        if isinstance(expr, _SubExpr):
            return self.subexpr(expr, bp)
        return self.path(expr, bp)

    def subexpr(self, expr: _SubExpr, bp: frozenset[str]) -> _Eval:
        call = expr.call
        path = _as_path(call.path)
        name = _simple_name(path, bp)
        if name == "lookup":
            if len(call.params) != 2:
                raise self.error(expr.pos, "'(lookup …)' needs exactly two arguments")
            obj, key = (self.expr(p, bp) for p in call.params)
            return lambda frame: _lookup(obj(frame), key(frame))
        # An unknown helper: SES reports it as a missing attribute.
        return _fail_missing(path.original)

    def path(self, path: _Path, bp: frozenset[str]) -> _Eval:
        parts = path.parts
        depth = path.depth
        if path.data:
            if not parts:
                return lambda frame: _MISSING
            head, rest = parts[0], parts[1:]

            def data_value(frame: _Frame) -> object:
                data = frame.data
                for _ in range(depth):
                    up = data.get(_PARENT)
                    if not isinstance(up, dict):
                        return _MISSING
                    data = up
                value = data.get(head, _MISSING)
                return _dig(value, rest) if rest else value

            return data_value
        if not depth and parts and not path.scoped and parts[0] in bp:
            name, rest = parts[0], parts[1:]

            def block_param(frame: _Frame) -> object:
                for scope in frame.bparams:
                    if name in scope:
                        value = scope[name]
                        return _dig(value, rest) if rest else value
                return _MISSING

            return block_param
        if not depth:
            if not parts:
                return lambda frame: frame.ctx
            if len(parts) == 1:
                key = parts[0]
                return lambda frame: _child(frame.ctx, key)
            return lambda frame: _dig(frame.ctx, parts)

        def outer(frame: _Frame) -> object:
            depths = frame.depths
            if depth >= len(depths):
                return _MISSING
            return _dig(depths[depth], parts) if parts else depths[depth]

        return outer

    def mustache(self, node: _Mustache, bp: frozenset[str]) -> str | _Runner | None:
        call = node.call
        path = _as_path(call.path)
        name = _simple_name(path, bp)
        # A block param is never a helper: Handlebars ignores arguments after one.
        is_block_param = name is None and _simple_name(path, frozenset()) in bp
        helper = bool(call.params or call.hash) and not is_block_param
        if name in _PASSTHROUGH and not helper:
            return _PASSTHROUGH[name]
        if name in _BLOCK_HELPERS:
            raise self.error(
                node.pos,
                f"'{_show(node.tag)}': '{name}' is a block helper, write "
                f"'{{{{#{name} …}}}}…{{{{/{name}}}}}'",
            )
        if name == "log":
            return None
        escaped = node.escaped
        if name == "lookup":
            if len(call.params) != 2:
                raise self.error(node.pos, f"'{_show(node.tag)}': lookup needs two arguments")
            obj, key = (self.expr(p, bp) for p in call.params)

            def lookup(frame: _Frame, out: _Out) -> None:
                value = _lookup(obj(frame), key(frame))
                if value is None or value is _MISSING:
                    return
                s = _to_str(value)
                out.write(_escape(s) if escaped and out.escape else s)

            return lookup
        label = path.original
        if helper:
            # An unknown helper: SES reports it as a missing attribute.
            return _fail_missing(label)
        value_of = self.path(path, bp)
        if not path.parts:  # `this`, `.`, `..`: no attribute named, never missing

            def context(frame: _Frame, out: _Out) -> None:
                s = _to_str(value_of(frame))
                out.write(_escape(s) if escaped and out.escape else s)

            return context

        def variable(frame: _Frame, out: _Out) -> None:
            value = value_of(frame)
            if value is None or value is _MISSING:
                raise MissingAttributeError(label)
            s = value if isinstance(value, str) else _to_str(value)
            out.write(_escape(s) if escaped and out.escape else s)

        return variable

    def arity(self, block: _Block, name: str) -> None:
        if len(block.call.params) != 1:
            raise self.error(block.pos, f"'{_show(block.tag)}': #{name} needs exactly one argument")

    def block(self, block: _Block, bp: frozenset[str]) -> _Runner:
        call = block.call
        if block.kind == "partial":
            body, partials = self.program_parts(block.program or _Program([]), frozenset())
            return self.partial(call, "", (body, partials))
        path = _as_path(call.path)
        name = _simple_name(path, bp)
        names = block.program.block_params if block.program is not None else ()
        program = self.program(block.program, bp | set(names)) if block.program else None
        inverse = self.program(block.inverse, bp) if block.inverse else None
        if name in ("if", "unless"):
            self.arity(block, name)
            condition = self.expr(call.params[0], bp)
            zero = call.hash.get("includeZero")
            include_zero = self.expr(zero, bp) if zero is not None else None
            return _if(condition, include_zero, program, inverse, negate=name == "unless")
        if name == "each":
            self.arity(block, name)
            return _each(self.expr(call.params[0], bp), program or _noop, inverse, names)
        if name == "with":
            self.arity(block, name)
            return _with(self.expr(call.params[0], bp), program, inverse, names)
        if name in ("lookup", "log"):
            raise self.error(block.pos, f"'{_show(block.tag)}': {name} cannot open a block")
        if call.params or call.hash:
            return _fail_missing(path.original)
        return _section(self.path(path, bp), program or _noop, inverse, names)

    def partial(
        self, call: _Call, indent: str, fallback: tuple[_Runner, dict[str, _Runner]] | None
    ) -> _Runner:
        target = call.path
        static: str | None = None
        dynamic: _Eval | None = None
        is_block_slot = False
        if isinstance(target, _SubExpr):
            dynamic = self.subexpr(target, frozenset())
        elif isinstance(target, _Path) and target.data:
            is_block_slot = target.original == "@partial-block"
            static = target.original
        else:
            static = target.original
        context = self.expr(call.params[0], frozenset()) if call.params else None
        hash_ = {k: self.expr(v, frozenset()) for k, v in call.hash.items()}
        body = _with_partials(*fallback) if fallback is not None else None

        def invoke(frame: _Frame, out: _Out) -> None:
            block = frame.block
            runner: _Runner | None = None
            if is_block_slot:
                if block is not None:
                    runner, block = block.runner, block.outer
                name = "@partial-block"
            else:
                name = _key(dynamic(frame)) if dynamic is not None else static or ""
                for scope in frame.partials:
                    runner = scope.get(name)
                    if runner is not None:
                        break
                if fallback is not None:
                    if runner is None:
                        runner = body
                    else:
                        block = _PartialBlock(body or _noop, block)
                        if fallback[1]:  # a partial block's inline partials reach the partial
                            runner = _with_partials(runner, fallback[1])
            if runner is None:
                raise RenderingError(f"The partial {name} could not be found.")
            ctx = frame.ctx if context is None else context(frame)
            if hash_:
                merged = dict(ctx) if isinstance(ctx, Mapping) else {}
                for key, value_of in hash_.items():
                    merged[key] = value_of(frame)  # even when missing: it hides the context's
                ctx = merged
            if ctx is _MISSING:
                ctx = None
            # A partial starts its own `..` chain and sees no block params (Handlebars.js).
            inner = _Frame(ctx, (ctx,), frame.data, (), frame.partials, block)
            out.enter()
            out.step()
            if indent:
                start = len(out.parts)
                runner(inner, out)
                written = "".join(out.parts[start:])
                del out.parts[start:]
                out.size -= len(written)
                out.write(_indent(written, indent))
            else:
                runner(inner, out)
            out.depth -= 1

        return invoke


def _indent(text: str, indent: str) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line and i + 1 == len(lines):
            break
        lines[i] = indent + line
    return "\n".join(lines)


def _sequence(items: list[str | _Runner]) -> _Runner:
    if not items:
        return _noop
    static = sum(len(item) for item in items if isinstance(item, str))
    if len(items) == 1 and not isinstance(items[0], str):
        return items[0]
    steps = tuple(items)

    def run(frame: _Frame, out: _Out) -> None:
        out.size += static
        if out.size > MAX_OUTPUT:
            raise _too_big()
        append = out.parts.append
        for item in steps:
            if isinstance(item, str):
                append(item)
            else:
                item(frame, out)

    return run


def _with_partials(runner: _Runner, partials: dict[str, _Runner]) -> _Runner:
    if not partials:
        return runner

    def run(frame: _Frame, out: _Out) -> None:
        scopes = (partials, *frame.partials)
        runner(_Frame(frame.ctx, frame.depths, frame.data, frame.bparams, scopes, frame.block), out)

    return run


def _if(
    condition: _Eval,
    include_zero: _Eval | None,
    program: _Runner | None,
    inverse: _Runner | None,
    *,
    negate: bool,
) -> _Runner:
    def run(frame: _Frame, out: _Out) -> None:
        value = condition(frame)
        zero_ok = include_zero is not None and not _falsy(include_zero(frame))
        # Handlebars' `if`: (!includeZero && !value) || isEmpty(value) is false.
        false = (not zero_ok and _falsy(value)) or _is_empty(value)
        chosen = program if false == negate else inverse
        if chosen is not None:
            out.enter()
            chosen(frame, out)
            out.depth -= 1

    return run


def _each(
    items: _Eval, program: _Runner, inverse: _Runner | None, names: tuple[str, ...]
) -> _Runner:
    def run(frame: _Frame, out: _Out) -> None:
        out.enter()
        if not _run_each(items(frame), program, names, frame, out) and inverse is not None:
            inverse(frame, out)
        out.depth -= 1

    return run


def _with(
    value_of: _Eval, program: _Runner | None, inverse: _Runner | None, names: tuple[str, ...]
) -> _Runner:
    def run(frame: _Frame, out: _Out) -> None:
        value = value_of(frame)
        out.enter()
        if not _is_empty(value):
            if program is not None:
                bparams = ({names[0]: value}, *frame.bparams) if names else frame.bparams
                depths = _push(frame.depths, value)
                inner = _Frame(value, depths, frame.data, bparams, frame.partials, frame.block)
                program(inner, out)
        elif inverse is not None:
            inverse(frame, out)
        out.depth -= 1

    return run


def _section(
    value_of: _Eval, program: _Runner, inverse: _Runner | None, names: tuple[str, ...]
) -> _Runner:
    """`{{#name}}` where name is no helper: Handlebars' blockHelperMissing."""

    def run(frame: _Frame, out: _Out) -> None:
        value = value_of(frame)
        out.enter()
        if value is True:
            program(frame, out)
        elif value is False or value is None or value is _MISSING:
            if inverse is not None:
                inverse(frame, out)
        elif isinstance(value, (list, tuple)):
            if not _run_each(value, program, names, frame, out) and inverse is not None:
                inverse(frame, out)
        else:
            inner = _Frame(
                value, _push(frame.depths, value), frame.data, frame.bparams, frame.partials,
                frame.block,
            )  # fmt: skip
            program(inner, out)
        out.depth -= 1

    return run
