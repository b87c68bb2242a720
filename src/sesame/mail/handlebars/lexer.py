"""The lexer of a tag's inside: Handlebars' token rules (handlebars.l) as regexes.

Separate from the parser because it is the one place that knows what a token looks
like; `parser` finds where a tag starts, `lex` reads it to its closing braces, and
`expressions` reads the tokens.
"""

from __future__ import annotations

import re
from typing import TypeAlias

from sesame.mail.handlebars.errors import show, syntax_error

# The token rules of the Handlebars lexer (handlebars.l), in its order of preference.
_ID_CHARS = re.compile(r'[^\s!"#%-,./;->@\[-\^`{-~]+')
_ID = re.compile(_ID_CHARS.pattern + r"(?=[=~}\s/.)|])")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?=[~}\s)])")
_WORD = re.compile(r"(?:true|false|null|undefined)(?=[~}\s)])")
_STRING = {"'": re.compile(r"'((?:\\'|[^'])*)'"), '"': re.compile(r'"((?:\\"|[^"])*)"')}
_SEGMENT = re.compile(r"\[((?:\\\]|[^\]])*)\]")
_SEGMENT_ESCAPE = re.compile(r"\\([\\\]])")
_BLOCK_PARAMS = re.compile(r"as\s+\|")
_DOT_LOOKAHEAD = frozenset("=~}/.)|")

Token: TypeAlias = tuple[str, str, int]  # kind, text, position


def lex(text: str, i: int, p: int, *, triple: bool) -> tuple[list[Token], int, bool]:
    """Tokens of a tag's inside, from `p` to its closing braces."""
    tokens: list[Token] = []
    n = len(text)
    while p < n:
        c = text[p]
        if c.isspace():
            p += 1
            continue
        if c == "}" or c == "~":
            if triple:
                if text.startswith("}}}}", p):
                    raise syntax_error(
                        text,
                        i,
                        f"'{show(text[i : p + 4])}': write '}}}}}} }}' to follow a value "
                        "with a brace",
                    )
                if text.startswith("}}}", p):
                    return tokens, p + 3, False
                if text.startswith("}~}}", p):
                    return tokens, p + 4, True
                if text.startswith("}}", p) or text.startswith("~}}", p):
                    raise syntax_error(text, i, f"'{show(text[i : p + 2])}' must end with '}}}}}}'")
            else:
                if text.startswith("}}}", p):
                    # Handlebars.js lexes `}}}` as a triple-stash close: a parse error.
                    raise syntax_error(
                        text,
                        i,
                        f"'{show(text[i : p + 3])}': '}}}}}}' ends only a '{{{{{{' tag; "
                        "write '}} }' to follow a value with a brace",
                    )
                if text.startswith("}}", p):
                    return tokens, p + 2, False
                if text.startswith("~}}", p):
                    return tokens, p + 3, True
            raise syntax_error(text, p, f"unexpected '{c}' in '{show(text[i : p + 1])}'")
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
                raise syntax_error(text, p, f"string in '{show(text[i : p + 1])}' is never closed")
            tokens.append(("STRING", m.group(1).replace("\\" + c, c), p))
            p = m.end()
            continue
        if c == "[":
            m = _SEGMENT.match(text, p)
            if m is None:
                raise syntax_error(text, p, f"'[' in '{show(text[i : p + 1])}' is never closed")
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
        raise syntax_error(text, p, f"unexpected '{text[p]}' in '{show(text[i : p + 1])}'")
    closing = "}}}" if triple else "}}"
    raise syntax_error(text, i, f"'{show(text[i:])}' is never closed with '{closing}'")
