"""The runners of block tags: the built-in block helpers `if`/`unless`, `each` and
`with`, and Mustache sections (`{{#name}}` where name is no helper).

Separate from the compiler because these run at render time, once per block entered;
the compiler only decides which of them a block becomes and hands it its parts.
"""

from __future__ import annotations

from collections.abc import Mapping

from sesame.mail.handlebars.runtime import PARENT, Eval, Frame, Out, Runner
from sesame.mail.handlebars.values import MISSING, falsy, is_empty


def _push(depths: tuple[object, ...], ctx: object) -> tuple[object, ...]:
    return depths if ctx is depths[0] else (ctx, *depths)


def _run_each(
    value: object, program: Runner, names: tuple[str, ...], frame: Frame, out: Out
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
            PARENT: parent,
        }  # fmt: skip
        bparams = frame.bparams
        if names:
            scope: dict[str, object] = {names[0]: item}
            if len(names) > 1:
                scope[names[1]] = key
            bparams = (scope, *bparams)
        depths = _push(frame.depths, item)
        program(Frame(item, depths, data, bparams, frame.partials, frame.block), out)
    return bool(pairs)


def if_block(
    condition: Eval,
    include_zero: Eval | None,
    program: Runner | None,
    inverse: Runner | None,
    *,
    negate: bool,
) -> Runner:
    def run(frame: Frame, out: Out) -> None:
        value = condition(frame)
        zero_ok = include_zero is not None and not falsy(include_zero(frame))
        # Handlebars' `if`: (!includeZero && !value) || isEmpty(value) is false.
        false = (not zero_ok and falsy(value)) or is_empty(value)
        chosen = program if false == negate else inverse
        if chosen is not None:
            out.enter()
            chosen(frame, out)
            out.depth -= 1

    return run


def each_block(
    items: Eval, program: Runner, inverse: Runner | None, names: tuple[str, ...]
) -> Runner:
    def run(frame: Frame, out: Out) -> None:
        out.enter()
        if not _run_each(items(frame), program, names, frame, out) and inverse is not None:
            inverse(frame, out)
        out.depth -= 1

    return run


def with_block(
    value_of: Eval, program: Runner | None, inverse: Runner | None, names: tuple[str, ...]
) -> Runner:
    def run(frame: Frame, out: Out) -> None:
        value = value_of(frame)
        out.enter()
        if not is_empty(value):
            if program is not None:
                bparams = ({names[0]: value}, *frame.bparams) if names else frame.bparams
                depths = _push(frame.depths, value)
                inner = Frame(value, depths, frame.data, bparams, frame.partials, frame.block)
                program(inner, out)
        elif inverse is not None:
            inverse(frame, out)
        out.depth -= 1

    return run


def section_block(
    value_of: Eval, program: Runner, inverse: Runner | None, names: tuple[str, ...]
) -> Runner:
    """`{{#name}}` where name is no helper: Handlebars' blockHelperMissing."""

    def run(frame: Frame, out: Out) -> None:
        value = value_of(frame)
        out.enter()
        if value is True:
            program(frame, out)
        elif value is False or value is None or value is MISSING:
            if inverse is not None:
                inverse(frame, out)
        elif isinstance(value, (list, tuple)):
            if not _run_each(value, program, names, frame, out) and inverse is not None:
                inverse(frame, out)
        else:
            inner = Frame(
                value, _push(frame.depths, value), frame.data, frame.bparams, frame.partials,
                frame.block,
            )  # fmt: skip
            program(inner, out)
        out.depth -= 1

    return run
