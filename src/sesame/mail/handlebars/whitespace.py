"""Whitespace control: Handlebars' WhitespaceControl visitor, applied to the tree.

`{{~ … ~}}` strips the whitespace beside a tag, and a line holding only a block tag,
`{{else}}`, a comment or a partial disappears (a standalone partial keeps its
indent, for the compiler to apply). Separate because it is a pass of its own over
the parse tree, between the parser and the compiler, with Handlebars' exact rules
(`strip_whitespace` is its entry point; `_omit_left` and the others are the
visitor's functions of the same names).
"""

from __future__ import annotations

from dataclasses import dataclass

from sesame.mail.handlebars.nodes import Block, Comment, Content, Mustache, Node, Partial, Program


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


def _is_prev_ws(body: list[Node], i: int | None = None, is_root: bool = False) -> bool:
    if i is None:
        i = len(body)
    if i < 1:
        return is_root
    prev = body[i - 1]
    if not isinstance(prev, Content):
        return False
    tail = _trailing_ws(prev.original)
    if i >= 2 or not is_root:
        return "\n" in tail
    return "\n" in tail or len(tail) == len(prev.original)


def _is_next_ws(body: list[Node], i: int | None = None, is_root: bool = False) -> bool:
    if i is None:
        i = -1
    if i + 1 >= len(body):
        return is_root
    nxt = body[i + 1]
    if not isinstance(nxt, Content):
        return False
    head = _leading_ws(nxt.original)
    if i + 2 < len(body) or not is_root:
        return "\n" in head
    return "\n" in head or len(head) == len(nxt.original)


def _omit_right(body: list[Node], i: int | None = None, multiple: bool = False) -> None:
    k = 0 if i is None else i + 1
    current = body[k] if k < len(body) else None
    if not isinstance(current, Content) or (not multiple and current.right_stripped):
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


def _omit_left(body: list[Node], i: int | None = None, multiple: bool = False) -> bool:
    k = len(body) - 1 if i is None else i - 1
    current = body[k] if k >= 0 else None
    if not isinstance(current, Content) or (not multiple and current.left_stripped):
        return False
    value = current.value
    stripped = value.rstrip() if multiple else value.rstrip(" \t")
    current.value = stripped
    current.left_stripped = stripped != value
    return current.left_stripped


def strip_whitespace(program: Program, is_root: bool = False) -> None:
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
            if _omit_left(body, i) and isinstance(current, Partial):
                before = body[i - 1]
                assert isinstance(before, Content)
                current.indent = before.original[len(before.original.rstrip(" \t")) :]
        if isinstance(current, Block):
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


def _ws_accept(node: Node) -> _StripInfo | None:
    if isinstance(node, Content):
        return None
    if isinstance(node, Mustache):
        return _StripInfo(node.strip.open, node.strip.close)
    if isinstance(node, (Comment, Partial)):
        return _StripInfo(node.strip.open, node.strip.close, inline_standalone=True)
    return _ws_block(node)


def _ws_block(block: Block) -> _StripInfo:
    if block.program is not None:
        strip_whitespace(block.program)
    if block.inverse is not None:
        strip_whitespace(block.inverse)
    program = block.program or block.inverse
    assert program is not None
    inverse = block.inverse if block.program is not None else None
    first_inverse = last_inverse = inverse
    if inverse is not None and inverse.chained:
        chained = inverse.body[0]
        assert isinstance(chained, Block) and chained.program is not None
        first_inverse = chained.program
        # Where `{{~/if}}` strips: Handlebars walks `.program`, so for a chain this is
        # the first `else if` body (the chained blocks strip their own ends). Kept.
        while last_inverse is not None and last_inverse.chained:
            chained = last_inverse.body[-1]
            assert isinstance(chained, Block)
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
