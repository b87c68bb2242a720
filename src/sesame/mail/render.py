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
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sesame.mail.handlebars.compiler import Compiler
from sesame.mail.handlebars.errors import (
    MissingAttributeError,
    RenderingError,
    TemplateDataError,
    TemplateSyntaxError,
)
from sesame.mail.handlebars.parser import Parser
from sesame.mail.handlebars.runtime import Frame, Out, Runner
from sesame.mail.handlebars.whitespace import strip_whitespace

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


def render(template: str, data: Mapping[str, Any], *, escape_html: bool) -> str:
    """Render one template part against `data` (JSON-shaped: dicts, lists, scalars)."""
    return _run(_compile(template), data, escape_html=escape_html)


def render_template(
    subject: str | None, text: str | None, html: str | None, data_json: str
) -> tuple[str | None, str | None, str | None]:
    """Render the three parts of an SES template with `TemplateData` JSON text.

    No part is HTML-escaped (SES does not escape). Syntax errors are reported first,
    for any part, then data errors, then the first missing attribute.
    """
    runners = [_compile_part(name, part) for name, part in _parts(subject, text, html)]
    data = parse_template_data(data_json)
    rendered = [None if r is None else _run(r, data, escape_html=False) for r in runners]
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


def _run(runner: Runner, data: Mapping[str, Any], *, escape_html: bool) -> str:
    out = Out(escape_html)
    try:
        runner(Frame(data, (data,), {"root": data}, (), (), None), out)
    except RecursionError:
        raise RenderingError("The template data is nested too deeply to render.") from None
    return "".join(out.parts)


def _compile_part(name: str, template: str | None) -> Runner | None:
    if template is None:
        return None
    try:
        return _compile(template)
    except TemplateSyntaxError as exc:
        raise TemplateSyntaxError(
            exc.problem, line=exc.line, column=exc.column, part=name
        ) from None


@lru_cache(maxsize=128)  # templates are up to 500 KB each (SES quota)
def _compile(template: str) -> Runner:
    try:
        root = Parser(template).parse()
        strip_whitespace(root, is_root=True)
        return Compiler(template).program(root, frozenset())
    except RecursionError:
        raise TemplateSyntaxError("the template is nested too deeply", line=1, column=1) from None
