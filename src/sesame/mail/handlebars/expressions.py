"""The expression grammar inside one tag (Handlebars' handlebars.yy): names, paths,
literals, subexpressions, hash arguments and block params, read from `lexer` tokens.

Separate from `parser` because it knows nothing of blocks or template text around
the tag: it turns one tag's tokens into a `Call`.
"""

from __future__ import annotations

from sesame.mail.handlebars.errors import TemplateSyntaxError, show, syntax_error
from sesame.mail.handlebars.lexer import Token
from sesame.mail.handlebars.nodes import Call, Expr, Literal, Path, SubExpr
from sesame.mail.handlebars.values import MISSING


class Exprs:
    """The expression grammar inside one tag (Handlebars' handlebars.yy)."""

    MAX_SUBEXPRESSIONS = 20

    def __init__(self, text: str, tokens: list[Token], tag_pos: int) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.tag_pos = tag_pos

    def kind(self, ahead: int = 0) -> str | None:
        k = self.i + ahead
        return self.tokens[k][0] if k < len(self.tokens) else None

    def error(self, problem: str) -> TemplateSyntaxError:
        pos = self.tokens[self.i][2] if self.i < len(self.tokens) else self.tag_pos
        return syntax_error(self.text, pos, problem)

    def tag(self) -> str:
        end = self.tokens[-1][2] + len(self.tokens[-1][1]) if self.tokens else self.tag_pos + 2
        return show(self.text[self.tag_pos : end] + " …")

    def unexpected(self) -> TemplateSyntaxError:
        if self.i >= len(self.tokens):
            return syntax_error(self.text, self.tag_pos, "a tag needs a name")
        text = self.tokens[self.i][1]
        return self.error(f"unexpected '{text}' in '{self.tag()}'")

    def done(self) -> None:
        if self.i < len(self.tokens):
            raise self.unexpected()

    def name(self) -> Expr:
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
            value = MISSING
        else:
            raise self.unexpected()
        self.i += 1
        return Literal(value, text)

    def path(self, *, data: bool) -> Path:
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
                    raise syntax_error(self.text, pos, problem)
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
                raise syntax_error(self.text, pos, problem)
        scoped = not data and (
            original.startswith(".")
            or original == "this"
            or original.startswith(("this.", "this/"))
        )
        return Path(data, depth, tuple(parts), original, scoped)

    def param(self, depth: int) -> Expr:
        if self.kind() != "(":
            return self.name()
        if depth >= self.MAX_SUBEXPRESSIONS:
            raise self.error(f"subexpressions are nested too deeply in '{self.tag()}'")
        pos = self.tokens[self.i][2]
        self.i += 1
        path = self.name()
        params, hash_ = self.params_and_hash(depth + 1)
        if self.kind() is None:
            raise syntax_error(self.text, pos, f"'(' is never closed in '{self.tag()}'")
        if self.kind() != ")":
            raise self.unexpected()
        self.i += 1
        return SubExpr(Call(path, params, hash_), pos)

    def params_and_hash(self, depth: int = 0) -> tuple[list[Expr], dict[str, Expr]]:
        params: list[Expr] = []
        hash_: dict[str, Expr] = {}
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

    def block_call(self) -> Call:
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
        return Call(path, params, hash_, block_params)

    def partial_call(self) -> Call:
        path = self.param(0)
        params, hash_ = self.params_and_hash()
        self.done()
        if len(params) > 1:
            raise syntax_error(
                self.text,
                self.tag_pos,
                f"'{self.tag()}': a partial takes at most one context argument",
            )
        return Call(path, params, hash_)
