"""The errors of template rendering, and how a syntax error says where it is.

Separate so that every stage (parser, compiler, runtime) raises the same public
classes without importing one another; `sesame.mail.render` re-exports them.
"""

from __future__ import annotations


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


def syntax_error(text: str, pos: int, problem: str) -> TemplateSyntaxError:
    """A `TemplateSyntaxError` at offset `pos` of the template `text`."""
    line, column = line_col(text, pos)
    return TemplateSyntaxError(problem, line=line, column=column)


def line_col(text: str, pos: int) -> tuple[int, int]:
    """The 1-based line and column of offset `pos`."""
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def show(tag: str) -> str:
    """A tag as an error message quotes it: cut to 60 characters."""
    return tag if len(tag) <= 60 else tag[:57] + "..."
