"""Open and click tracking: rewrite an HTML body without disturbing it (decision 4).

`rewrite` changes exactly three kinds of bytes and leaves every other byte as it was:

- the value of the first `href` of each tracked `<a>` / `<area>` start tag, replaced
  by `click_url(link)`, escaped for the value's quoting (an unquoted value gains
  double quotes when the new URL needs them);
- the `ses:no-track` and `ses:tags` attributes of every `<a>` / `<area>` start tag,
  removed with the whitespace just before them (SES strips `ses:no-track`; it does
  not say for `ses:tags`, we strip it too). The whitespace stays when the character
  after the attribute is neither whitespace nor `>`, so `href=x ses:tags="t"/>`
  cannot turn into `href=x/>`, which would change the href;
- the open pixel, inserted once, and every `{{ses:openTracker}}` in text content,
  removed (SES: the first one is replaced by the pixel, the others removed).

There is no parse-and-reserialise step. One compiled pattern (`_NEXT`) walks the
markup the way the WHATWG tokenizer splits it (tags with their attributes and
quoting, comments, bogus comments, doctype, CDATA, raw-text elements) and stops only
at the tokens that matter: a link start tag, a raw-text element, `</body>`, the
placeholder. All other tags and text are skipped inside the regex engine, so a
`<a href>` inside another tag's attribute value or inside a comment is never seen
as a link, and Python does work per link, not per tag (`bench/rewrite.py`: about
100 MB/s on newsletters with a link every 800 bytes, one core).

Choices where neither SES nor the issue decides (each also covered by a test):

- Tracked: `<a href>` and `<area href>` (both are hyperlinks in the HTML spec) whose
  target, after decoding character references by the attribute-value rule and
  trimming leading and trailing C0 controls and spaces (as the WHATWG URL parser
  does), is an absolute `http`/`https` URL made only of RFC 3986 characters with
  well-formed `%XX` escapes and a non-empty host. Anything else (`mailto:`, `tel:`,
  `#x`, relative, a raw space, non-ASCII characters, a bare `%`) is left untouched:
  SES leaves improperly encoded URLs untracked (DG-FAQ click-Q7).
- Not touched: `<base href>` (it is not a link; tracked URLs are absolute, so a base
  cannot change them), `<link href>`, VML `<v:roundrect href>`, links in comments,
  in CDATA sections, and in raw-text elements (`style`, `script`, `textarea`,
  `title`, `xmp`, `iframe`, `noembed`, `noframes`, and after `plaintext`).
- Outlook conditional comments (`<!--[if mso]>` … `<![endif]-->`) are markup, as
  Outlook reads them; a browser sees the same links, because the first inner `-->`
  ends the comment for it anyway.
- `<![CDATA[` runs to `]]>` (its meaning in SVG and MathML); nothing inside is
  touched in either reading.
- Duplicate attributes: the first `href` is the link (the HTML tokenizer drops later
  duplicates); the first `ses:tags` gives the tags; every `ses:` attribute goes.
- `ses:tags="k:v;k2:v2;"`: pairs split at `;`, key and value at the first `:`, each
  trimmed of whitespace (the docs call the syntax CSS-like); a pair whose key or
  value is empty or has a character outside `[A-Za-z0-9_-]` is dropped. A key given
  twice keeps both values, in order.
- The placeholder counts only in text content: inside attribute values, comments and
  raw-text elements it is left alone like everything else there.
- Pixel without placeholder: before the last `</body>`; without one, at the end of
  the document, or, when the document ends inside an unterminated tag, comment or
  raw-text element, just before that construct (appended, it would be swallowed).
- Unterminated constructs at the end are left exactly as they are; nothing raises.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.entities import html5
from typing import Final

__all__ = ["MAX_LINKS", "OPEN_TRACKER", "Link", "Rewritten", "pixel_tag", "rewrite"]

#: SES tracks at most 250 links per message (DG-FAQ click-Q3); later ones stay as they are.
MAX_LINKS: Final = 250
#: Where the sender wants the open pixel (DG-CUSTOM); only the first one gets it.
OPEN_TRACKER: Final = "{{ses:openTracker}}"


@dataclass(frozen=True, slots=True)
class Link:
    """One tracked link."""

    index: int  # 0-based position among the tracked links of the message
    url: str  # the target, character references decoded
    tags: dict[str, list[str]]  # from `ses:tags`


@dataclass(frozen=True, slots=True)
class Rewritten:
    """The rewritten HTML and what was done to it."""

    html: str
    links: list[Link]  # exactly the tracked links, in document order
    pixel: bool  # whether an open pixel was inserted


def pixel_tag(open_url: str) -> str:
    """The `<img>` inserted for open tracking: SES's observed markup, plus width/height
    attributes for clients that drop inline styles."""
    src = open_url.replace("&", "&amp;").replace('"', "&quot;")
    return (
        f'<img alt="" src="{src}" width="1" height="1" '
        'style="display: none; width: 1px; height: 1px;">'
    )


# --- the scanner ------------------------------------------------------------------
#
# Written from the WHATWG tokenizer states (HTML Living Standard §13.2.5). Whitespace
# is tab, LF, FF, CR (CR becomes LF in preprocessing) and space. Every quantifier is
# possessive and the link pattern atomic: each construct has one reading, so the
# engine never backtracks into another (wrong) one, and the scan is linear.

# Attributes of a start or end tag, up to (not including) the closing `>`:
# - whitespace and `/` separate attributes ("before attribute name" and "self-closing
#   start tag" states: a `/` not followed by `>` is reconsumed as a separator);
# - a name starts with any other character, even `=`, `"`, `'` or `<` (parse errors
#   that browsers accept), and ends at whitespace, `/`, `>` or `=`;
# - a name followed by optional whitespace and `=` must have a value: double- or
#   single-quoted (may hold `>`, newlines, `<a href=…>`), unquoted (up to whitespace
#   or `>`), or empty right before `>`. An unclosed quote means "EOF in tag", so
#   the tag fails to match instead of ending at some later `>`.
_SEP: Final = r"[\t\n\f\r /]"
_NAME: Final = r"[^\t\n\f\r />][^\t\n\f\r />=]*+"
_VALUE: Final = (
    r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+"
    r"(?:\"[^\"]*+\"|'[^']*+'|[^\t\n\f\r >\"'][^\t\n\f\r >]*+|(?=>))"
    r"|(?![\t\n\f\r ]*+=))"
)
_ATTRS: Final = r"(?:" + _SEP + r"++|" + _NAME + _VALUE + r")*+"
# Tag names are ASCII case-insensitive. Spelled out as a trie of character classes
# (not `(?i:…)`), which the engine rejects faster at each of the many other tags.
_LINK_NAME: Final = r"[Aa](?:[Rr][Ee][Aa])?"  # a, area
_RAW_NAME: Final = (  # style, script, textarea, title, xmp, iframe, noembed, noframes, plaintext
    r"(?:[Ss](?:[Tt][Yy][Ll][Ee]|[Cc][Rr][Ii][Pp][Tt])|[Tt](?:[Ee][Xx][Tt][Aa][Rr][Ee][Aa]"
    r"|[Ii][Tt][Ll][Ee])|[Xx][Mm][Pp]|[Ii][Ff][Rr][Aa][Mm][Ee]"
    r"|[Nn][Oo](?:[Ee][Mm][Bb][Ee][Dd]|[Ff][Rr][Aa][Mm][Ee][Ss])|[Pp][Ll][Aa][Ii][Nn][Tt][Ee][Xx][Tt])"
)
# Elements whose content is text up to the matching end tag: RAWTEXT and RCDATA
# elements, `script`, and `plaintext` (to the end). `noscript` is not among them:
# mail clients run no scripts, so its content is markup.
_RAW_NAMES: Final = (
    "style",
    "script",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "plaintext",
)
_END: Final = r"[\t\n\f\r />]"  # what may follow a tag name
# `<!--[if mso]>`, `<!--[if (gte mso 9)|(IE)]>`, `<!--[if !mso]><!-->` …: the opening
# of an Outlook conditional comment, after which the markup goes on.
_CONDITIONAL: Final = r"!--\[[Ii][Ff](?![A-Za-z0-9])[^\]<>]*+\]>"  # after the `<`

# Everything the scan steps over without stopping: text, and after each `<` one of
# the constructs below. (Factoring out the `<` and taking the text run after each
# construct in the same step saves the engine most of its alternation attempts.)
_NOT_STOP_NAME: Final = r"(?!(?:" + _LINK_NAME + "|" + _RAW_NAME + ")" + _END + ")"
_AFTER_LT: Final = "|".join(
    (
        # any other start tag
        _NOT_STOP_NAME + r"[A-Za-z][^\t\n\f\r />]*+" + _ATTRS + ">",
        # any end tag but </body> (end tags are tokenized with attributes too)
        r"/(?![Bb][Oo][Dd][Yy]" + _END + r")[A-Za-z][^\t\n\f\r />]*+" + _ATTRS + ">",
        _CONDITIONAL,
        # a comment: `<!-->` and `<!--->` end at once, otherwise the first `-->` or `--!>`
        r"!--(?:-?>|(?:[^-]++|-(?!-!?>))*+--!?>)",
        r"!\[CDATA\[(?:[^\]]++|\](?!\]>))*+\]\]>",
        # doctype, `<![endif]-->`, `<![if !mso]>` and other bogus comments: to the first `>`
        r"!(?!--|\[CDATA\[)[^>]*+>",
        r"\?[^>]*+>",
        r"/(?![A-Za-z])[^>]*+>",  # `</>` and `</ …>` (a bogus comment)
        r"(?![A-Za-z!/?])",  # a `<` that starts nothing is text
    )
)
_SKIP_ALL: Final = r"[^<{]*+(?:(?:<(?:" + _AFTER_LT + r")|\{(?!\{ses:openTracker\}\}))[^<{]*+)*+"
# A link start tag without `ses:` attributes (nearly all of them), capturing the
# value of its first `href`: later duplicates are dropped by the tokenizer, and a
# first `href` without a value still wins. A tag with a `ses:` attribute fails here
# and matches `seslink`, and Python reads its attributes one by one.
_HREF: Final = r"[Hh][Rr][Ee][Ff](?=[\t\n\f\r />=])"
_NOT_SES: Final = r"(?![Ss][Ee][Ss]:)"
_LINK: Final = (
    r"<" + _LINK_NAME + r"(?=" + _END + r")"
    r"(?:" + _SEP + r"*+(?!" + _HREF + r")" + _NOT_SES + _NAME + _VALUE + r")*+"
    r"(?:" + _SEP + r"*+" + _HREF + r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+"
    r"(?:(?P<href>\"[^\"]*+\"|'[^']*+'|[^\t\n\f\r >\"'][^\t\n\f\r >]*+)|(?=>))"
    r"|(?![\t\n\f\r ]*+=)))?+"
    r"(?:" + _SEP + r"++|" + _NOT_SES + _NAME + _VALUE + r")*+>"
)
# The tokens the scan stops at.
_STOP: Final = (
    r"(?P<link>(?>" + _LINK + "))"
    r"|(?P<seslink><" + _LINK_NAME + r"(?=" + _END + r")" + _ATTRS + ">)"
    r"|(?P<raw><(?P<rawname>" + _RAW_NAME + r")(?=" + _END + r")" + _ATTRS + ">)"
    r"|(?P<body></[Bb][Oo][Dd][Yy](?=" + _END + r")" + _ATTRS + ">)"
    r"|(?P<holder>\{\{ses:openTracker\}\})"
)
# re.ASCII: HTML's case-insensitivity is ASCII-only (no `ſ` for `s`, no Kelvin sign).
_NEXT: Final = re.compile(_SKIP_ALL + r"(?:" + _STOP + r")", re.ASCII).match
_SKIP: Final = re.compile(_SKIP_ALL, re.ASCII).match
_RAW_END: Final = {
    name: re.compile(r"</(?i:" + name + r")(?=" + _END + r")", re.ASCII).search
    for name in _RAW_NAMES
}
# One attribute inside a tag that `_STOP` already matched, with its source offsets.
_ATTR: Final = re.compile(
    r"(?P<sep>[\t\n\f\r /]*+)(?P<name>[^\t\n\f\r />][^\t\n\f\r />=]*+)"
    r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+"
    r"(?:\"(?P<dq>[^\"]*+)\"|'(?P<sq>[^']*+)'|(?P<uq>[^\t\n\f\r >\"'][^\t\n\f\r >]*+))?)?"
)
_WS: Final = "\t\n\f\r "
_END_CHARS: Final = _WS + "/>"

# --- character references in attribute values (HTML §13.2.5.72–80) ---------------

_CHARREF: Final = re.compile(r"&(?:#[xX]([0-9A-Fa-f]+);?|#([0-9]+);?|([A-Za-z0-9]+)(;?))")
#: Named references that may appear without `;` (the legacy ones); the longest is 6.
_LEGACY: Final = frozenset(name for name in html5 if not name.endswith(";"))
# Every `&` that can start a reference: numeric, a legacy name, or a name with `;`.
_MAYBE_REFERENCE: Final = re.compile(
    r"&(?:#|[A-Za-z0-9]++;|" + "|".join(sorted(_LEGACY, key=len, reverse=True)) + ")"
).search


def _c1(code: int) -> str:
    """Numeric references to 0x80–0x9F mean windows-1252 (the spec's replacement table)."""
    try:
        return bytes([code]).decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: not in the table, kept
        return chr(code)


_C1: Final = {code: _c1(code) for code in range(0x80, 0xA0)}


def _numeric(digits: str, base: int) -> str:
    # More than 8 significant digits is beyond U+10FFFF whatever they are; checking
    # first also keeps int() clear of its 4300-digit limit.
    digits = digits.lstrip("0") or "0"
    code = int(digits, base) if len(digits) <= 8 else 0x110000
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return _C1.get(code) or chr(code)


def _charref(match: re.Match[str]) -> str:
    hex_digits, dec_digits, name, semicolon = match.groups()
    if hex_digits is not None:
        return _numeric(hex_digits, 16)
    if dec_digits is not None:
        return _numeric(dec_digits, 10)
    if semicolon and name + ";" in html5:
        return html5[name + ";"]
    # The longest legacy name that prefixes the run. In an attribute value it is not
    # decoded when the next character is alphanumeric or `=` ("&region=" stays, where
    # html.unescape would give "®ion="): the spec's rule for historical reasons.
    for size in range(min(len(name), 6), 0, -1):
        if name[:size] in _LEGACY:
            if size < len(name):
                return match.group()  # followed by an alphanumeric
            after = match.string[match.end()] if match.end() < len(match.string) else ""
            if semicolon or after != "=":
                return html5[name] + semicolon
            return match.group()
    return match.group()  # not a reference: a literal ampersand


def _attribute_value(raw: str) -> str:
    """An attribute value as the browser sees it (references decoded)."""
    if "&" not in raw:
        return raw
    if raw.count("&") == raw.count("&amp;"):  # the usual case: only `&amp;`
        return raw.replace("&amp;", "&")
    if _MAYBE_REFERENCE(raw) is None:  # e.g. `?a=1&utm_source=x`: nothing can decode
        return raw
    # _CHARREF.sub sees the whole value, so `_charref` can look past its match.
    return _CHARREF.sub(_charref, raw)


# --- which targets are tracked -----------------------------------------------------

# RFC 3986 §3 for http(s): scheme "://" [userinfo "@"] host [":" port] path-abempty
# ["?" query] ["#" fragment]; every character from the URI grammar, `%` only in `%XX`.
_PCT: Final = r"%[0-9A-Fa-f]{2}"
_SUB: Final = r"A-Za-z0-9\-._~!$&'()*+,;="  # unreserved and sub-delims
_TRACKABLE: Final = re.compile(
    r"(?i:https?)://"
    r"(?:(?:[" + _SUB + r":]++|" + _PCT + r")*+@)?"
    r"(?:\[(?P<ip6>[0-9A-Fa-f:.]++)\]|(?:[" + _SUB + r"]++|" + _PCT + r")++)"
    r"(?::[0-9]*+)?"
    r"(?:/(?:[" + _SUB + r":@]++|" + _PCT + r")*+)*+"
    r"(?:\?(?:[" + _SUB + r":@/?]++|" + _PCT + r")*+)?"
    r"(?:\#(?:[" + _SUB + r":@/?]++|" + _PCT + r")*+)?",
    re.ASCII,
).fullmatch
_TRIM: Final = "".join(chr(c) for c in range(0x21))  # C0 controls and space


def _target(raw: str) -> str | None:
    """The URL to track for an href value, or None when SES would leave it alone."""
    url = (_attribute_value(raw) if "&" in raw else raw).strip(_TRIM)
    found = _TRACKABLE(url)
    if found is None:
        return None
    if "[" in url:  # an IP literal: the pattern only checked its characters
        ip6 = found.group("ip6")
        try:
            ipaddress.IPv6Address(ip6)
        except ValueError:
            return None
    return url


_TAG_PART: Final = re.compile(r"[A-Za-z0-9_-]+", re.ASCII).fullmatch


def _tags(raw: str | None) -> dict[str, list[str]]:
    """`ses:tags="k:v;k2:v2;"` → {"k": ["v"], "k2": ["v2"]}; invalid pairs dropped."""
    tags: dict[str, list[str]] = {}
    if raw is None:
        return tags
    for pair in _attribute_value(raw).split(";"):
        key, colon, value = pair.partition(":")
        key, value = key.strip(_WS), value.strip(_WS)
        if colon and _TAG_PART(key) and _TAG_PART(value):
            tags.setdefault(key, []).append(value)
    return tags


# --- rewriting ----------------------------------------------------------------------

_Edit = tuple[int, int, str]  # replace source[start:end] with text
_UNQUOTED_OK: Final = re.compile(r"[^\t\n\f\r \"'<=`>&]+", re.ASCII).fullmatch


def _quoted(url: str, quote: str) -> str:
    """`url` as the new content of an attribute value quoted with `quote`."""
    url = url.replace("&", "&amp;")
    if quote == '"':
        return url.replace('"', "&quot;")
    if quote == "'":
        return url.replace("'", "&#39;")
    # Unquoted: keep it so when the HTML spec allows it without a parse error.
    return url if _UNQUOTED_OK(url) else '"' + url.replace('"', "&quot;") + '"'


_Href = tuple[int, int, str]  # value start, value end, quote ('"', "'" or "")
_VALUE_GROUPS: Final = (("dq", '"'), ("sq", "'"), ("uq", ""))


def _anchor(html: str, start: int, gt: int) -> tuple[_Href | None, bool, str | None, list[_Edit]]:
    """Read every attribute of a link start tag that has a `ses:` attribute (`start`
    is after the tag name, `gt` the closing `>`): (first href value, ses:no-track?,
    first ses:tags value, removals)."""
    href: _Href | None = None
    seen_href = no_track = False
    tags: str | None = None
    removals: list[_Edit] = []
    for attr in _ATTR.finditer(html, start, gt):
        name = attr.group("name")
        if len(name) not in (4, 8, 12) or not name.isascii():
            continue
        name = name.lower()
        if name == "href":
            if not seen_href:  # later duplicates are dropped by the tokenizer
                seen_href = True
                for group, quote in _VALUE_GROUPS:
                    if attr.group(group) is not None:
                        href = (attr.start(group), attr.end(group), quote)
                        break
        elif name in ("ses:tags", "ses:no-track"):
            if name == "ses:no-track":
                no_track = True
            elif tags is None:
                tags = attr.group("dq") or attr.group("sq") or attr.group("uq") or ""
            begin = attr.start("name")
            if html[attr.end()] in "\t\n\f\r >":
                sep = attr.group("sep")
                begin -= len(sep) - len(sep.rstrip(_WS))
            removals.append((begin, attr.end(), ""))
    return href, no_track, tags, removals


def _start(edit: _Edit) -> int:
    return edit[0]


def rewrite(
    html: str,
    *,
    click_url: Callable[[Link], str] | None,
    open_url: str | None,
    max_links: int = MAX_LINKS,
    first_index: int = 0,
) -> Rewritten:
    """Track the links and insert the open pixel; see the module docstring for the rules.

    `click_url(link)` gives the replacement URL of each tracked link (None: click
    tracking off). `open_url` is the pixel's URL (None: no pixel). The `ses:`
    attributes and the extra placeholders go in every case. `first_index` is the
    number of links already tracked in earlier HTML parts of the same message: link
    indexes go on from it, and `max_links` counts them too.
    """
    edits: list[_Edit] = []
    links: list[Link] = []
    holders: list[tuple[int, int]] = []
    body = -1
    pos = 0
    while True:
        found = _NEXT(html, pos)
        if found is None:
            # len(html), or where an unterminated tag, comment or section starts
            skipped = _SKIP(html, pos)
            stop = skipped.end() if skipped is not None else pos  # it matches the empty string
            break
        kind = found.lastgroup or ""
        if kind == "link" or kind == "seslink":
            removals: list[_Edit] | None = None
            if kind == "link":  # the usual link: only its href matters
                no_track, tags = False, None
                value_start, value_end = found.span("href")
                if value_start >= 0:
                    quote = html[value_start]
                    if quote == '"' or quote == "'":
                        value_start += 1
                        value_end -= 1
                    else:
                        quote = ""
                    href: _Href | None = (value_start, value_end, quote)
                else:
                    href = None
            else:
                start, end = found.span(kind)
                name_end = start + 2 if html[start + 2] in _END_CHARS else start + 5  # a, area
                href, no_track, tags, removals = _anchor(html, name_end, end - 1)
            if href is not None and click_url is not None and not no_track:
                value_start, value_end, quote = href
                index = first_index + len(links)
                url = _target(html[value_start:value_end]) if index < max_links else None
                if url is not None:
                    link = Link(index, url, _tags(tags) if tags is not None else {})
                    links.append(link)
                    edits.append((value_start, value_end, _quoted(click_url(link), quote)))
            if removals:
                edits += removals
        elif kind == "holder":
            holders.append(found.span(kind))
        elif kind == "body":
            body = found.start(kind)
        else:  # a raw-text element: its content is text up to its end tag
            name = found.group("rawname").lower()
            close = _RAW_END[name](html, found.end()) if name != "plaintext" else None
            if close is None:
                stop = found.start(kind)
                break
            pos = close.start()  # the end tag itself is skipped like any other
            continue
        pos = found.end()

    pixel = pixel_tag(open_url) if open_url is not None else ""
    if holders:
        edits.extend((start, end, "") for start, end in holders[1:])
        first_start, first_end = holders[0]
        edits.append((first_start, first_end, pixel))
    elif pixel:
        at = body if body >= 0 else stop
        edits.append((at, at, pixel))
    if not edits:
        return Rewritten(html, links, False)
    edits.sort(key=_start)
    parts: list[str] = []
    last = 0
    for start, end, text in edits:
        parts.append(html[last:start])
        parts.append(text)
        last = end
    parts.append(html[last:])
    return Rewritten("".join(parts), links, bool(pixel))
