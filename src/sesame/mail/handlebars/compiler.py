"""The compiler: a parse tree (after whitespace control) → nested Python closures.

Separate because it is where a template's meaning is decided once, so that
rendering does no parsing and no dispatch on node kinds: which names are helpers,
block params, data or SES placeholders; which built-in arities are wrong (a syntax
error, found here); how a partial call finds its partial.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from sesame.mail.handlebars.blocks import each_block, if_block, section_block, with_block
from sesame.mail.handlebars.errors import (
    MissingAttributeError,
    RenderingError,
    TemplateSyntaxError,
    show,
    syntax_error,
)
from sesame.mail.handlebars.nodes import (
    Block,
    Call,
    Content,
    Expr,
    Literal,
    Mustache,
    Partial,
    Path,
    Program,
    SubExpr,
)
from sesame.mail.handlebars.runtime import (
    PARENT,
    Eval,
    Frame,
    Out,
    PartialBlock,
    Runner,
    noop,
    sequence,
    with_partials,
)
from sesame.mail.handlebars.values import MISSING, child, dig, escape, lookup, property_name, to_str

# Placeholders SES fills in after rendering; written out as this exact text.
_PASSTHROUGH: Final = {
    "ses:openTracker": "{{ses:openTracker}}",
    "amazonSESUnsubscribeUrl": "{{amazonSESUnsubscribeUrl}}",
}
_BLOCK_HELPERS: Final = frozenset({"if", "unless", "each", "with"})


def _as_path(expr: Expr) -> Path:
    """A tag's name as a path; `{{"a b"}}` and `{{12}}` name keys (transformLiteralToPath)."""
    if isinstance(expr, Literal):
        return Path(False, 0, (expr.original,), expr.original, False)
    assert isinstance(expr, Path)  # the grammar allows a subexpression only for partials
    return expr


def _simple_name(path: Path, bp: frozenset[str]) -> str | None:
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


class Compiler:
    """One template's tree → its runner; `text` is kept to place syntax errors."""

    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, pos: int, problem: str) -> TemplateSyntaxError:
        return syntax_error(self.text, pos, problem)

    def program(self, program: Program, bp: frozenset[str]) -> Runner:
        runner, partials = self.program_parts(program, bp)
        return with_partials(runner, partials) if partials else runner

    def program_parts(
        self, program: Program, bp: frozenset[str]
    ) -> tuple[Runner, dict[str, Runner]]:
        items: list[str | Runner] = []
        text: list[str] = []
        partials: dict[str, Runner] = {}

        def add(item: str | Runner | None) -> None:
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
            if isinstance(node, Content):
                add(node.value)
            elif isinstance(node, Mustache):
                add(self.mustache(node, bp))
            elif isinstance(node, Partial):
                add(self.partial(node.call, node.indent, None, bp))
            elif isinstance(node, Block):
                if node.kind == "inline":
                    name = node.call.params[0]
                    assert isinstance(name, Literal)
                    partials[name.original] = self.program(node.program or Program([]), frozenset())
                else:
                    add(self.block(node, bp))
        if text:
            items.append("".join(text))
        return sequence(items), partials

    def expr(self, expr: Expr, bp: frozenset[str]) -> Eval:
        if isinstance(expr, Literal):
            value = expr.value
            return lambda frame: value
        if isinstance(expr, SubExpr):
            return self.subexpr(expr, bp)
        return self.path(expr, bp)

    def subexpr(self, expr: SubExpr, bp: frozenset[str]) -> Eval:
        call = expr.call
        path = _as_path(call.path)
        name = _simple_name(path, bp)
        if name == "lookup":
            if len(call.params) != 2:
                raise self.error(expr.pos, "'(lookup …)' needs exactly two arguments")
            obj, key = (self.expr(p, bp) for p in call.params)
            return lambda frame: lookup(obj(frame), key(frame))
        # An unknown helper: SES reports it as a missing attribute.
        return _fail_missing(path.original)

    def path(self, path: Path, bp: frozenset[str]) -> Eval:
        parts = path.parts
        depth = path.depth
        if path.data:
            if not parts:
                return lambda frame: MISSING
            head, rest = parts[0], parts[1:]

            def data_value(frame: Frame) -> object:
                data = frame.data
                for _ in range(depth):
                    up = data.get(PARENT)
                    if not isinstance(up, dict):
                        return MISSING
                    data = up
                value = data.get(head, MISSING)
                return dig(value, rest) if rest else value

            return data_value
        if not depth and parts and not path.scoped and parts[0] in bp:
            name, rest = parts[0], parts[1:]

            def block_param(frame: Frame) -> object:
                for scope in frame.bparams:
                    if name in scope:
                        value = scope[name]
                        return dig(value, rest) if rest else value
                return MISSING

            return block_param
        if not depth:
            if not parts:
                return lambda frame: frame.ctx
            if len(parts) == 1:
                key = parts[0]
                return lambda frame: child(frame.ctx, key)
            return lambda frame: dig(frame.ctx, parts)

        def outer(frame: Frame) -> object:
            depths = frame.depths
            if depth >= len(depths):
                return MISSING
            return dig(depths[depth], parts) if parts else depths[depth]

        return outer

    def mustache(self, node: Mustache, bp: frozenset[str]) -> str | Runner | None:
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
                f"'{show(node.tag)}': '{name}' is a block helper, write "
                f"'{{{{#{name} …}}}}…{{{{/{name}}}}}'",
            )
        if name == "log":
            return None
        escaped = node.escaped
        if name == "lookup":
            if len(call.params) != 2:
                raise self.error(node.pos, f"'{show(node.tag)}': lookup needs two arguments")
            obj, key = (self.expr(p, bp) for p in call.params)

            def write_lookup(frame: Frame, out: Out) -> None:
                value = lookup(obj(frame), key(frame))
                if value is None or value is MISSING:
                    return
                s = to_str(value)
                out.write(escape(s) if escaped and out.escape else s)

            return write_lookup
        label = path.original
        if helper:
            # An unknown helper: SES reports it as a missing attribute.
            return _fail_missing(label)
        value_of = self.path(path, bp)
        if not path.parts:  # `this`, `.`, `..`: no attribute named, never missing

            def context(frame: Frame, out: Out) -> None:
                s = to_str(value_of(frame))
                out.write(escape(s) if escaped and out.escape else s)

            return context

        def variable(frame: Frame, out: Out) -> None:
            value = value_of(frame)
            if value is None or value is MISSING:
                raise MissingAttributeError(label)
            s = value if isinstance(value, str) else to_str(value)
            out.write(escape(s) if escaped and out.escape else s)

        return variable

    def arity(self, block: Block, name: str) -> None:
        if len(block.call.params) != 1:
            raise self.error(block.pos, f"'{show(block.tag)}': #{name} needs exactly one argument")

    def block(self, block: Block, bp: frozenset[str]) -> Runner:
        call = block.call
        if block.kind == "partial":
            body, partials = self.program_parts(block.program or Program([]), frozenset())
            return self.partial(call, "", (body, partials), bp)
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
            return if_block(condition, include_zero, program, inverse, negate=name == "unless")
        if name == "each":
            self.arity(block, name)
            return each_block(self.expr(call.params[0], bp), program or noop, inverse, names)
        if name == "with":
            self.arity(block, name)
            return with_block(self.expr(call.params[0], bp), program, inverse, names)
        if name in ("lookup", "log"):
            raise self.error(block.pos, f"'{show(block.tag)}': {name} cannot open a block")
        if call.params or call.hash:
            return _fail_missing(path.original)
        return section_block(self.path(path, bp), program or noop, inverse, names)

    def partial(
        self,
        call: Call,
        indent: str,
        fallback: tuple[Runner, dict[str, Runner]] | None,
        bp: frozenset[str],
    ) -> Runner:
        # The target, context and hash are evaluated where the partial is called, so
        # the caller's block params are in scope there (`{{> p k=x}}` inside
        # `{{#each xs as |x|}}`), as in Handlebars.js.
        target = call.path
        static: str | None = None
        dynamic: Eval | None = None
        is_block_slot = False
        if isinstance(target, SubExpr):
            dynamic = self.subexpr(target, bp)
        elif isinstance(target, Path) and target.data:
            is_block_slot = target.original == "@partial-block"
            static = target.original
        else:
            static = target.original
        context = self.expr(call.params[0], bp) if call.params else None
        hash_ = {k: self.expr(v, bp) for k, v in call.hash.items()}
        body = with_partials(*fallback) if fallback is not None else None

        def invoke(frame: Frame, out: Out) -> None:
            block = frame.block
            runner: Runner | None = None
            if is_block_slot:
                if block is not None:
                    runner, block = block.runner, block.outer
                name = "@partial-block"
            else:
                name = property_name(dynamic(frame)) if dynamic is not None else static or ""
                for scope in frame.partials:
                    runner = scope.get(name)
                    if runner is not None:
                        break
                if fallback is not None:
                    if runner is None:
                        runner = body
                    else:
                        block = PartialBlock(body or noop, block)
                        if fallback[1]:  # a partial block's inline partials reach the partial
                            runner = with_partials(runner, fallback[1])
            if runner is None:
                raise RenderingError(f"The partial {name} could not be found.")
            ctx = frame.ctx if context is None else context(frame)
            if hash_:
                merged = dict(ctx) if isinstance(ctx, Mapping) else {}
                for key, value_of in hash_.items():
                    merged[key] = value_of(frame)  # even when missing: it hides the context's
                ctx = merged
            if ctx is MISSING:
                ctx = None
            # A partial starts its own `..` chain and sees no block params (Handlebars.js).
            inner = Frame(ctx, (ctx,), frame.data, (), frame.partials, block)
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
