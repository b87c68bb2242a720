"""The search box and the page cursors of the message list.

A query is words, and words with a field prefix: `to:ann@example.org`,
`from:billing`, `subject:"spring sale"`, `set:newsletters`, `id:0100…`. Words
without a prefix are searched in all five fields together, as one phrase.
"""

from __future__ import annotations

import shlex

from sesame.store.base import Cursor, MessageFilter

PREFIXES = {
    "to": "recipient",
    "from": "sender",
    "subject": "subject",
    "set": "configuration_set",
    "id": "message_id",
}


def parse(query: str) -> MessageFilter:
    try:
        words = shlex.split(query)
    except ValueError:  # an unbalanced quote: take the words as they are
        words = query.split()
    fields: dict[str, str] = {}
    plain: list[str] = []
    for word in words:
        prefix, colon, rest = word.partition(":")
        if colon and prefix.lower() in PREFIXES and rest:
            fields[PREFIXES[prefix.lower()]] = rest
        else:
            plain.append(word)
    return MessageFilter(text=" ".join(plain) or None, **fields)


def cursor_text(created: float, message_id: str) -> str:
    return f"{created!r}~{message_id}"


def cursor_of(text: str | None) -> Cursor | None:
    """A cursor from its text; None for anything that is not one."""
    if not text:
        return None
    created, tilde, message_id = text.partition("~")
    try:
        moment = float(created)
    except ValueError:
        return None
    if not tilde or not message_id or moment != moment:  # NaN
        return None
    return moment, message_id
