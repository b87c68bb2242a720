"""The parser: template text → the parse tree, in one pass without recursion.

It finds the tags in the text (content, escaped mustaches, comments), tells their
kinds apart, and keeps the stack of open blocks, `{{else}}` chains and their
closing tags. Separate from `expressions` (the inside of one tag) because this is
the structure of the whole template and the place its syntax errors are found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from sesame.mail.handlebars.errors import TemplateSyntaxError, line_col, show, syntax_error
from sesame.mail.handlebars.expressions import Exprs
from sesame.mail.handlebars.lexer import lex
from sesame.mail.handlebars.nodes import (
    Block,
    Call,
    Comment,
    Content,
    Expr,
    Literal,
    Mustache,
    Node,
    Partial,
    Path,
    Program,
    Strip,
    SubExpr,
)

MAX_NESTING: Final = 100  # blocks (and `{{else if}}`s) open at once in the text

# Handlebars' lexer rules (handlebars.l) for whole tags; those inside a tag are in `lexer`.
_BARE_ELSE = re.compile(r"(?:\^|\s*else)\s*(~?)}}")
_ELSE_CHAIN = re.compile(r"\s*else(?=\s)")
_LONG_COMMENT_END = re.compile(r"--~?}}")


@dataclass(slots=True, eq=False)
class _Segment:
    call: Call | None  # None for the opening tag's own body and for a bare {{else}}
    strip: Strip
    body: list[Node]
    pos: int
    tag: str


@dataclass(slots=True, eq=False)
class _OpenBlock:
    kind: str
    call: Call
    inverted: bool
    strip: Strip
    pos: int
    tag: str
    segments: list[_Segment] = field(default_factory=list)


class Parser:
    """Template text → a tree shaped like Handlebars' AST (one pass, no recursion)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.root: list[Node] = []
        self.body = self.root
        self.stack: list[_OpenBlock] = []
        self.nesting = 0

    def error(self, pos: int, problem: str) -> TemplateSyntaxError:
        return syntax_error(self.text, pos, problem)

    def where(self, pos: int) -> str:
        line, column = line_col(self.text, pos)
        return f"line {line}, column {column}"

    def parse(self) -> Program:
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
            raise self.error(block.pos, f"'{show(block.tag)}' is never closed")
        return Program(self.root)

    def content(self, value: str) -> None:
        if value:
            self.body.append(Content(value, value))

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
            self.else_(i, m.end(), Strip(strip_open, m.group(1) == "~"), None)
            return m.end()
        m = _ELSE_CHAIN.match(text, p)
        if m:
            tokens, end, strip_close = lex(self.text, i, m.end(), triple=False)
            exprs = Exprs(self.text, tokens, i)
            call = exprs.block_call()
            self.else_(i, end, Strip(strip_open, strip_close), call)
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
        self.body.append(Comment(Strip(strip_open, text[end - 3] == "~")))
        return end

    def mustache(self, i: int, p: int, strip_open: bool, *, escaped: bool, triple: bool) -> int:
        tokens, end, strip_close = lex(self.text, i, p, triple=triple)
        exprs = Exprs(self.text, tokens, i)
        path = exprs.name()
        params, hash_ = exprs.params_and_hash()
        exprs.done()
        call = Call(path, params, hash_)
        strip = Strip(strip_open, strip_close)
        self.body.append(Mustache(call, escaped, strip, i, self.text[i:end]))
        return end

    def open_block(self, i: int, p: int, strip_open: bool, kind: str, *, inverted: bool) -> int:
        tokens, end, strip_close = lex(self.text, i, p, triple=False)
        exprs = Exprs(self.text, tokens, i)
        tag = self.text[i:end]
        call = exprs.partial_call() if kind == "partial" else exprs.block_call()
        if kind == "inline":
            name = call.path
            if not (isinstance(name, Path) and name.original == "inline"):
                raise self.error(
                    i, f"'{show(tag)}': the only decorator block is '{{{{#*inline}}}}'"
                )
            if len(call.params) != 1 or not isinstance(call.params[0], Literal):
                raise self.error(i, f"'{show(tag)}': an inline partial needs a quoted name")
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(i, f"blocks are nested more than {MAX_NESTING} deep")
        strip = Strip(strip_open, strip_close)
        block = _OpenBlock(kind, call, inverted, strip, i, tag)
        block.segments.append(_Segment(None, strip, [], i, tag))
        self.stack.append(block)
        self.body = block.segments[-1].body
        return end

    def else_(self, i: int, end: int, strip: Strip, call: Call | None) -> None:
        tag = self.text[i:end]
        if not self.stack:
            raise self.error(i, f"'{show(tag)}' is outside any block")
        block = self.stack[-1]
        if block.kind != "block":
            raise self.error(i, f"'{show(tag)}' cannot be used inside '{show(block.tag)}'")
        last = block.segments[-1]
        if len(block.segments) > 1 and last.call is None:
            raise self.error(
                i, f"'{show(tag)}' comes after the final '{show(last.tag)}' of '{block.tag}'"
            )
        if call is not None:
            self.nesting += 1
            if self.nesting > MAX_NESTING:
                raise self.error(i, f"blocks are nested more than {MAX_NESTING} deep")
        block.segments.append(_Segment(call, strip, [], i, tag))
        self.body = block.segments[-1].body

    def close(self, i: int, p: int, strip_open: bool) -> int:
        tokens, end, strip_close = lex(self.text, i, p, triple=False)
        exprs = Exprs(self.text, tokens, i)
        name = exprs.name()
        exprs.done()
        tag = self.text[i:end]
        if not self.stack:
            raise self.error(i, f"'{show(tag)}' closes no open block")
        block = self.stack.pop()
        if _original(block.call.path) != _original(name):
            raise self.error(
                i,
                f"'{show(tag)}' does not close '{show(block.tag)}', "
                f"opened at {self.where(block.pos)}",
            )
        self.nesting -= sum(1 for s in block.segments if s.call is not None) + 1
        node = self.build(block, Strip(strip_open, strip_close))
        self.body = self.stack[-1].segments[-1].body if self.stack else self.root
        self.body.append(node)
        return end

    def build(self, block: _OpenBlock, close_strip: Strip) -> Block:
        # As Handlebars' prepareBlock: `{{else if b}}` becomes an inverse program
        # holding one chained block, which ends at the same closing tag.
        first, chain = block.segments[0], block.segments[1:]
        inverse: Program | None = None
        inverse_strip = Strip()
        if chain and chain[-1].call is None:
            last = chain.pop()
            inverse, inverse_strip = Program(last.body), last.strip
        for index in reversed(range(len(chain))):
            seg = chain[index]
            assert seg.call is not None
            program = Program(seg.body, seg.call.block_params)
            # Handlebars gives the first `else if` the real closing strip flags and each
            # later one the flags of its own tag; kept, so `~` strips the same text.
            strip = close_strip if index == 0 else seg.strip
            chained = Block(
                "block", seg.call, program, inverse, seg.strip, inverse_strip, strip,
                seg.pos, seg.tag,
            )  # fmt: skip
            inverse, inverse_strip = Program([chained], chained=True), seg.strip
        program_: Program | None = Program(first.body, block.call.block_params)
        if block.inverted:
            program_, inverse = inverse, program_
        return Block(
            block.kind, block.call, program_, inverse, block.strip, inverse_strip, close_strip,
            block.pos, block.tag,
        )  # fmt: skip

    def partial(self, i: int, p: int, strip_open: bool) -> int:
        tokens, end, strip_close = lex(self.text, i, p, triple=False)
        call = Exprs(self.text, tokens, i).partial_call()
        tag = self.text[i:end]
        self.body.append(Partial(call, Strip(strip_open, strip_close), i, tag))
        return end


def _original(expr: Expr) -> str | None:
    if isinstance(expr, SubExpr):
        return None
    return expr.original
