"""What a compiled template runs on: the frame, the output buffer and its limits,
and the two runners every program is built from (a sequence, a partials scope).

Separate from the compiler because this is the render-time half: the limits below
are read here, on every write, step and block entered (tests patch them here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias

from sesame.mail.handlebars.errors import RenderingError

# The limits of one render (documented in sesame.mail.render); MAX_NESTING, a limit
# on the template text, is the parser's.
MAX_RENDER_DEPTH: Final = 200
MAX_STEPS: Final = 1_000_000
MAX_OUTPUT: Final = 40 * 1024 * 1024

PARENT: Final = object()  # key of a data frame's parent frame (`@../index`)


class Frame:
    """Where a template is while rendering: context, `..` chain, @data, scopes."""

    __slots__ = ("block", "bparams", "ctx", "data", "depths", "partials")

    def __init__(
        self,
        ctx: object,
        depths: tuple[object, ...],
        data: dict[object, object],
        bparams: tuple[dict[str, object], ...],
        partials: tuple[dict[str, Runner], ...],
        block: PartialBlock | None,
    ) -> None:
        self.ctx = ctx
        self.depths = depths  # depths[0] is ctx, depths[1] what `..` names, …
        self.data = data
        self.bparams = bparams
        self.partials = partials
        self.block = block


class Out:
    """The rendered text so far, and the counts the limits are checked against."""

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


Runner: TypeAlias = Callable[[Frame, Out], None]
Eval: TypeAlias = Callable[[Frame], object]


@dataclass(slots=True, frozen=True)
class PartialBlock:
    runner: Runner
    outer: PartialBlock | None


def noop(frame: Frame, out: Out) -> None:
    return None


def sequence(items: list[str | Runner]) -> Runner:
    if not items:
        return noop
    static = sum(len(item) for item in items if isinstance(item, str))
    if len(items) == 1 and not isinstance(items[0], str):
        return items[0]
    steps = tuple(items)

    def run(frame: Frame, out: Out) -> None:
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


def with_partials(runner: Runner, partials: dict[str, Runner]) -> Runner:
    if not partials:
        return runner

    def run(frame: Frame, out: Out) -> None:
        scopes = (partials, *frame.partials)
        runner(Frame(frame.ctx, frame.depths, frame.data, frame.bparams, scopes, frame.block), out)

    return run
