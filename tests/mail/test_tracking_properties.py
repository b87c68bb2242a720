"""Properties of the tracking rewrite over generated HTML.

1. Structured documents: the generator composes realistic fragments (links with any
   case, quoting, entities and ses: attributes; other tags hiding `<a href>` in their
   values; comments; Outlook conditional comments; raw-text elements; CDATA;
   placeholders; `</body>`; junk text; an unterminated tail) and knows, from how it
   built each one, which links are eligible, what their targets are and which
   bytes may change. The expected output is the input with exactly those spans
   replaced — the marker URL for each tracked href, nothing for each removed
   `ses:` attribute and extra placeholder, the pixel at its place — so the test
   checks both "no other byte changes" and "the tracked targets are exactly the
   eligible links".
2. Tag soup: random concatenations of HTML-ish tokens, compared with a slow
   character-by-character reference tokenizer written from the WHATWG states.
   Eligibility of a target is not re-derived there (test 1 does that); the soup
   test checks the tokenization: which tags are links, where attributes, values,
   comments and raw-text elements begin and end.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sesame.mail.tracking import Link, _tags, _target, pixel_tag, rewrite

PROFILE = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
WS = "\t\n\f\r "
Tags = dict[str, list[str]]


def plain(link: Link) -> str:
    return f"https://t.test/c/{link.index}"


def awkward(link: Link) -> str:
    return f"https://t.test/c?i={link.index}&q='\"x"


CLICKS: dict[str, Callable[[Link], str] | None] = {"plain": plain, "awkward": awkward, "off": None}
OPENS = [None, "https://t.test/I0/m/k1.sig", "http://t.test/o?a=1&b='2'"]


def in_value(url: str, quote: str) -> str:
    """What an attribute value holding `url` must look like (the HTML escaping rules)."""
    url = url.replace("&", "&amp;")
    if quote == '"':
        return url.replace('"', "&quot;")
    if quote == "'":
        return url.replace("'", "&#39;")
    if re.fullmatch(r"[^\t\n\f\r \"'<=`>&]+", url):
        return url
    return '"' + url.replace('"', "&quot;") + '"'


# --- the oracle ---------------------------------------------------------------------


class Mark:
    def __init__(self, name: str) -> None:
        self.name = name


HOLDER, BODY, TAIL = Mark("holder"), Mark("body"), Mark("tail")


@dataclass
class Oracle:
    click: Callable[[Link], str] | None
    max_links: int
    links: list[tuple[str, Tags]] = field(default_factory=list)
    out: list[str | Mark] = field(default_factory=list)

    def render(self, open_url: str | None) -> str:
        pixel = pixel_tag(open_url) if open_url is not None else ""
        holders = [i for i, part in enumerate(self.out) if part is HOLDER]
        bodies = [i for i, part in enumerate(self.out) if part is BODY]
        slot = holders[0] if holders else bodies[-1] if bodies else self.out.index(TAIL)
        return "".join(
            pixel if i == slot else part if isinstance(part, str) else ""
            for i, part in enumerate(self.out)
        )


class Piece:
    src: str

    def emit(self, oracle: Oracle) -> None:
        oracle.out.append(self.src)


@dataclass
class Opaque(Piece):
    """Anything that must come out exactly as it went in."""

    src: str


@dataclass
class Holder(Piece):
    src: str = "{{ses:openTracker}}"

    def emit(self, oracle: Oracle) -> None:
        oracle.out.append(HOLDER)


@dataclass
class BodyEnd(Piece):
    src: str

    def emit(self, oracle: Oracle) -> None:
        oracle.out += [BODY, self.src]


@dataclass
class Conditional(Piece):
    opening: str
    inner: list[Piece]
    closing: str

    @property
    def src(self) -> str:  # type: ignore[override]
        return self.opening + "".join(piece.src for piece in self.inner) + self.closing

    def emit(self, oracle: Oracle) -> None:
        oracle.out.append(self.opening)
        for piece in self.inner:
            piece.emit(oracle)
        oracle.out.append(self.closing)


@dataclass
class Tail(Piece):
    src: str
    unterminated: bool  # the pixel goes before it (else after)

    def emit(self, oracle: Oracle) -> None:
        oracle.out += [TAIL, self.src] if self.unterminated else [self.src, TAIL]


@dataclass
class Attr:
    sep: str  # what separates it from what comes before
    kind: str  # "href", "notrack", "tags" or "other"
    head: str  # name, `=` and opening quote, or the whole attribute
    raw: str = ""  # href: the value as written
    quote: str | None = None  # href: '"', "'", "" (unquoted) or None (no value)
    url: str | None = None  # href: the target when eligible
    tags: Tags = field(default_factory=dict)  # tags: what they mean

    @property
    def text(self) -> str:
        if self.kind != "href" or self.quote is None:
            return self.head
        return self.head + self.raw + self.quote


@dataclass
class LinkTag(Piece):
    opening: str  # "<a", "<AREA" …
    attrs: list[Attr]
    end: str  # ">", " />" …
    after: str  # text and `</a>`

    @property
    def src(self) -> str:  # type: ignore[override]
        return self.opening + "".join(a.sep + a.text for a in self.attrs) + self.end + self.after

    def emit(self, oracle: Oracle) -> None:
        hrefs = [a for a in self.attrs if a.kind == "href"]
        first = hrefs[0] if hrefs else None
        tag_attrs = [a for a in self.attrs if a.kind == "tags"]
        tracked = (
            oracle.click is not None
            and first is not None
            and first.url is not None
            and not any(a.kind == "notrack" for a in self.attrs)
            and len(oracle.links) < oracle.max_links
        )
        parts = [self.opening]
        for i, attr in enumerate(self.attrs):
            following = (
                self.attrs[i + 1].sep + self.attrs[i + 1].text
                if i + 1 < len(self.attrs)
                else self.end
            )
            if attr.kind in ("notrack", "tags"):
                # removed with the whitespace before it, unless that would glue tokens
                parts.append(attr.sep.rstrip(WS) if following[0] in WS + ">" else attr.sep)
            elif attr is first and tracked:
                assert oracle.click is not None and attr.url is not None and attr.quote is not None
                tags = tag_attrs[0].tags if tag_attrs else {}
                link = Link(len(oracle.links), attr.url, tags)
                oracle.links.append((attr.url, tags))
                new = in_value(oracle.click(link), attr.quote)
                parts.append(attr.sep + attr.head + new + attr.quote)
            else:
                parts.append(attr.sep + attr.text)
        oracle.out.append("".join(parts) + self.end + self.after)


# --- strategies ----------------------------------------------------------------------


def cases(word: str) -> st.SearchStrategy[str]:
    """`word` in some ASCII case: lower, upper, capitalised, alternating."""
    alternating = "".join(c.upper() if i % 2 else c for i, c in enumerate(word))
    return st.sampled_from([word, word.upper(), word.capitalize(), alternating])


SPACE = st.sampled_from([" ", "  ", "\n", "\t", "\r\n  ", "\f"])
TEXT_TOKENS = [
    "Hello", "world", " ", "\n", "\r\n", "Grüße", "日本語", "😀", "\u00a0", "&amp;", "&copy;",
    "&nbsp;", "&region=", "&", ";", "< ", "<3", "<=", "a > b", "\"", "'", "=", "{", "}", "-->",
    "--", "]]>", "ses:no-track", 'href="https://x.test/"', "{{ses", "openTracker}}", "/",
]  # fmt: skip
TEXT = st.lists(st.sampled_from(TEXT_TOKENS), max_size=8).map("".join)

# Characters a URL may hold unescaped (RFC 3986 pchar and the query/fragment extras),
# except `&` (written as a reference here) and `'` (needs escaping in single quotes).
PCHARS = "abcXYZ019-._~!$()*+,;=:@"
HOSTS = [
    "x.test", "sub.example.test", "192.0.2.7", "[::1]", "[2001:db8::42]", "u:p@x.test",
    "xn--bcher-kva.test", "a-b.test", "X.TEST",
]  # fmt: skip
QUERY_KEYS = ["a", "b1", "region", "copy", "amp", "lt", "not", "notin", "reg", "x"]


@st.composite
def valid_url(draw: st.DrawFn) -> tuple[str, str]:
    """(url, raw): an eligible http(s) URL and one way of writing it in an attribute."""
    url = draw(st.sampled_from(["http", "https", "HTTP", "Https"])) + "://"
    url += draw(st.sampled_from(HOSTS)) + draw(st.sampled_from(["", ":80", ":8443", ":"]))
    segment = st.lists(
        st.one_of(
            st.sampled_from(list(PCHARS) + ["'", "&"]),
            st.sampled_from(["%20", "%25", "%C3%BC", "%2f"]),
        ),
        max_size=6,
    ).map("".join)
    for part in draw(st.lists(segment, max_size=3)):
        url += "/" + part
    if draw(st.integers(0, 3)):
        url += "?"
        keys = draw(
            st.lists(st.sampled_from(QUERY_KEYS + ["utm_source", "not_x"]), min_size=1, max_size=4)
        )
        for n, key in enumerate(keys):
            value = draw(st.text(PCHARS + "/?", max_size=5))
            url += ("&" if n else "") + key + "=" + value
    if draw(st.booleans()):
        url += "#" + draw(st.text(PCHARS + "/?", max_size=5))
    # Write it: `&` as some reference (raw only where it cannot start one: before an
    # alphanumeric key and `=`, both written as they are), `'` as a reference, other
    # characters sometimes as numeric references.
    raw = ""
    literal = 0  # characters that must stay as they are
    encode = draw(st.sets(st.integers(0, len(url) - 1), max_size=3))
    for i, char in enumerate(url):
        if literal:
            literal -= 1
            raw += char
        elif char == "&":
            following = re.match(r"[A-Za-z0-9_]*=?", url[i + 1 :])
            plain_key = following is not None and re.fullmatch(r"[A-Za-z0-9]+=", following.group())
            choices = ["&amp;", "&#38;", "&#x26;", "&AMP;"] + (["&"] * 4 if plain_key else [])
            raw += draw(st.sampled_from(choices))
            if raw.endswith("&") and following is not None:
                literal = len(following.group())
        elif char == "'":
            raw += draw(st.sampled_from(["&#39;", "&apos;", "&#x27;"]))
        elif i in encode:
            raw += f"&#{ord(char)};" if i % 2 else f"&#x{ord(char):X};"
        else:
            raw += char
    return url, raw


VALID_URL = valid_url()
INVALID_TARGETS = [
    "mailto:a@x.test", "tel:+15551234", "#top", "/rel/path", "page.html", "//x.test/",
    "javascript:void(0)", "ftp://x.test/", "https://x.test/a b", "https://x.test/café",
    "https://bücher.test/", "https://x.test/100%", "https://x.test/%zz", "https://x.test/a|b",
    "https://x.test/{x}", "https:///nohost", "http:x.test", "https://x.test/#a#b",
    "https://[zz::1]/", "", "https://x.test/&lt;", "https://x.test/?a&not_b",
    "https://x.test/&quot;", "https://x.test/\u00a0", "https://x.test/a&#32;b", "&#x68;ttp:/x",
]  # fmt: skip
BAD_CHARS = [" ", "é", "|", "{", "}", "^", "`", "\\", "<", ">", '"', "\u00a0", "\t", "日"]


@st.composite
def href(draw: st.DrawFn, styles: tuple[str, ...] = ()) -> Attr:
    name = draw(cases("href"))
    styles = styles or ("valid",) * 5 + ("invalid", "broken", "none")
    style = draw(st.sampled_from(styles))
    if style == "none":
        return Attr("", "href", name)
    url: str | None
    if style == "valid":
        url, raw = draw(VALID_URL)
    elif style == "invalid":
        url, raw = None, draw(st.sampled_from(INVALID_TARGETS))
    else:  # an eligible URL with one character that RFC 3986 does not allow, inside
        good, _ = draw(VALID_URL)
        at = draw(st.integers(1, len(good) - 1))
        url, raw = None, good[:at] + draw(st.sampled_from(BAD_CHARS)) + good[at:]
    raw = raw.replace('"', "&quot;")
    quoted = bool(re.search(r"[\t\n\f\r >]", raw)) or not raw or raw[0] in "\"'"
    quote = draw(st.sampled_from(['"', "'"] if quoted else ['"', "'", ""]))
    if quote == "'":
        raw = raw.replace("'", "&#39;")
    if quote and url is not None:  # browsers trim the ends; so does the rewrite
        raw = (
            draw(st.sampled_from(["", " ", "\n  "])) + raw + draw(st.sampled_from(["", " ", "\n"]))
        )
    equals = draw(st.sampled_from(["=", " = ", "=\n"]))
    return Attr("", "href", name + equals + quote, raw, quote, url)


TAG_PART = st.text("abcXYZ019_-", min_size=1, max_size=6)
BAD_PAIRS = ["bad key:x", "k:v!", "nocolon", ":v", "k:", "é:x", "k:a:b", "k:v w", ""]


@st.composite
def ses_tags(draw: st.DrawFn) -> Attr:
    name = draw(cases("ses:tags"))
    if draw(st.integers(0, 7)) == 0:
        return Attr("", "tags", name)  # no value, no tags
    tags: Tags = {}
    pairs = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            key, value = draw(TAG_PART), draw(TAG_PART)
            tags.setdefault(key, []).append(value)
            pad = draw(st.sampled_from(["", " "]))
            pairs.append(f"{pad}{key}{pad}:{pad}{value}{pad}")
        else:
            pairs.append(draw(st.sampled_from(BAD_PAIRS)))
    value = ";".join(pairs) + draw(st.sampled_from(["", ";"]))
    quotable = value and not re.search(r"[\t\n\f\r >\"']", value)
    quote = draw(st.sampled_from(['"', "'", ""] if quotable else ['"', "'"]))
    return Attr("", "tags", f"{name}={quote}{value}{quote}", tags=tags)


@st.composite
def ses_no_track(draw: st.DrawFn) -> Attr:
    name = draw(cases("ses:no-track"))
    return Attr("", "notrack", name + draw(st.sampled_from(["", '="true"', "=yes", "=''"])))


OTHER_NAMES = [
    "class", "style", "title", "target", "data-x", "alt", "hreflang", "xhref", "ses:other",
    "ses:no-trackx", "ses:tag", "x\"y", "hrefx",
]  # fmt: skip
DQ_VALUES = [
    "btn", "a > b", "<a href='https://q.test/'>", "line\nbreak", "{{ses:openTracker}}",
    "&amp;", "Grüße", "", "'", "</a>", "-->",
]  # fmt: skip
SQ_VALUES = ['<a href="https://q.test/">', 'say "hi"', "x>y", "", "é"]
UQ_VALUES = ["_blank", "x.test", "a=b", "100%", "é", "https://q.test/", "a'b"]


@st.composite
def other_attr(draw: st.DrawFn) -> Attr:
    name = draw(st.sampled_from(OTHER_NAMES))
    form = draw(st.sampled_from(["dq", "sq", "uq", "none"]))
    if form == "dq":
        return Attr("", "other", f'{name}="{draw(st.sampled_from(DQ_VALUES))}"')
    if form == "sq":
        return Attr("", "other", f"{name}='{draw(st.sampled_from(SQ_VALUES))}'")
    if form == "uq":
        return Attr("", "other", f"{name}={draw(st.sampled_from(UQ_VALUES))}")
    return Attr("", "other", name)


# Strategies built once: building one per draw costs Hypothesis more than drawing.
ATTRIBUTES: dict[str, st.SearchStrategy[Attr]] = {
    "href": href(),
    "dead-href": href(("none", "invalid")),  # a first href that is not trackable
    "notrack": ses_no_track(),
    "tags": ses_tags(),
    "other": other_attr(),
}


def _ends_quoted(attr: Attr) -> bool:
    return attr.text.endswith(('"', "'")) and "=" in attr.text


def _ends_unquoted_value(attr: Attr) -> bool:
    return "=" in attr.text and not _ends_quoted(attr)


@st.composite
def attributes(draw: st.DrawFn, kinds: list[str]) -> list[Attr]:
    attrs: list[Attr] = []
    for kind in kinds:
        previous = attrs[-1] if attrs else None
        if previous is None:
            sep = draw(st.one_of(SPACE, st.sampled_from(["/", " / "])))
        elif _ends_quoted(previous):
            sep = draw(st.one_of(SPACE, st.sampled_from(["", "/", " /"])))
        elif _ends_unquoted_value(previous):
            sep = draw(SPACE)  # a `/` would join the unquoted value
        else:
            sep = draw(st.one_of(SPACE, st.sampled_from(["/", " / "])))
        attr = draw(ATTRIBUTES[kind])
        attr.sep = sep
        attrs.append(attr)
    return attrs


def _tag_end(draw: st.DrawFn, attrs: list[Attr]) -> str:
    if attrs and _ends_unquoted_value(attrs[-1]):
        return draw(st.sampled_from([">", " >", " />", "\n>"]))
    return draw(st.sampled_from([">", "/>", " >", " />", "\n\t>"]))


@st.composite
def link_tag(draw: st.DrawFn) -> LinkTag:
    opening = "<" + draw(st.one_of(cases("a"), cases("area")))
    kinds = draw(
        st.lists(
            st.sampled_from(["href", "tags", "tags", "other", "other", "other", "notrack"]),
            max_size=5,
        )
    )
    if draw(st.integers(0, 3)) and "href" not in kinds:
        kinds.insert(draw(st.integers(0, len(kinds))), "href")
    if draw(st.integers(0, 4)) == 0:  # duplicate hrefs: the first one wins
        kinds = ["dead-href", *kinds, "href"]
    attrs = draw(attributes(kinds))
    end = _tag_end(draw, attrs)
    after = draw(TEXT) + draw(st.sampled_from(["</a>", "</A>", "", "</a >"]))
    return LinkTag(opening, attrs, end, after)


@st.composite
def other_tag(draw: st.DrawFn) -> Opaque:
    names = ["div", "td", "TABLE", "img", "p", "span", "abbr", "base", "link", "v:roundrect", "a1"]
    name = draw(st.sampled_from(names))
    kinds = draw(st.lists(st.sampled_from(["href", "other", "notrack", "tags"]), max_size=4))
    attrs = draw(attributes(kinds))
    return Opaque("<" + name + "".join(a.sep + a.text for a in attrs) + _tag_end(draw, attrs))


END_TAGS = ["</a>", "</TD>", '</p title=">">', "</table >", "</ x>", "</>", "</div\n>"]
COMMENT_TOKENS = [
    " ", "text", '<a href="https://c.test/">', "{{ses:openTracker}}", "</body>", "-", " - ",
    "<!--", "<!--[if mso]>", "<style>", ">", "é",
]  # fmt: skip


@st.composite
def comment(draw: st.DrawFn) -> Opaque:
    body = "".join(draw(st.lists(st.sampled_from(COMMENT_TOKENS), max_size=6)))
    while "-->" in body or "--!>" in body:  # it would end the comment early
        body = body.replace("-->", "- ->").replace("--!>", "- -!>")
    if body.startswith((">", "->", "-", "[")):  # `<!-->`, `<!--->`, `<!--[if`
        body = " " + body
    return Opaque("<!--" + body + draw(st.sampled_from(["-->", "--!>"])))


RAW = ["style", "script", "textarea", "title", "xmp", "iframe", "noembed", "noframes"]


@st.composite
def raw_text(draw: st.DrawFn) -> Opaque:
    name = draw(st.sampled_from(RAW))
    tokens = [
        "x", " ", '<a href="https://r.test/">', "{{ses:openTracker}}", "</body>", "<!--", "-->",
        f"</{name}x>", "<b>", "</", "a { color: red }",
    ]  # fmt: skip
    content = "".join(draw(st.lists(st.sampled_from(tokens), max_size=6)))
    attrs = draw(st.sampled_from(["", ' type="text/css"', " a='>'"]))
    return Opaque(
        f"<{draw(cases(name))}{attrs}>{content}</{draw(cases(name))}"
        + draw(st.sampled_from([">", " >", "\n>"]))
    )


@st.composite
def cdata(draw: st.DrawFn) -> Opaque:
    tokens = ["x", '<a href="https://d.test/">', "]", "]]", "> ", "{{ses:openTracker}}"]
    content = "".join(draw(st.lists(st.sampled_from(tokens), max_size=5))).replace("]]>", "]] >")
    if content.endswith("]"):
        content += " "
    return Opaque(f"<![CDATA[{content}]]>")


MISC = [
    "<!DOCTYPE html>",
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/x">',
    '<?xml version="1.0"?>',
    "<![if !mso]>",
    "<![endif]>",
    "<!-->",
    "<!--->",
    '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">',
]


def pieces(depth: int) -> st.SearchStrategy[Piece]:
    simple: list[st.SearchStrategy[Piece]] = [
        TEXT.map(Opaque),
        link_tag(),
        link_tag(),
        link_tag(),
        link_tag(),
        link_tag(),
        other_tag(),
        st.sampled_from(END_TAGS).map(Opaque),
        comment(),
        raw_text(),
        cdata(),
        st.just(Holder()),
        st.sampled_from(["</body>", "</BODY >", "</Body\n>"]).map(BodyEnd),
        st.sampled_from(MISC).map(Opaque),
    ]
    if depth > 0:
        simple.append(conditional(PIECES[depth - 1]))
    return st.one_of(simple)


@st.composite
def conditional(draw: st.DrawFn, inner: st.SearchStrategy[Piece]) -> Conditional:
    opening, closing = draw(
        st.sampled_from(
            [
                ("<!--[if mso]>", "<![endif]-->"),
                ("<!--[if gte mso 9]>", "<![endif]-->"),
                ("<!--[if (gte mso 9)|(IE)]>", "<![endif]-->"),
                ("<!--[if !mso]><!-->", "<!--<![endif]-->"),
            ]
        )
    )
    return Conditional(opening, draw(st.lists(inner, max_size=4)), closing)


PIECES: list[st.SearchStrategy[Piece]] = []
for _depth in range(3):  # markup, in up to two levels of conditional comments
    PIECES.append(pieces(_depth))

TAILS = [
    ("<div title=\"x <a href='https://u.test/'>", True),
    ('<a href="https://u.test/', True),
    ("<a", True),
    ('<!-- <a href="https://u.test/">', True),
    ("<!--[if mso", True),
    ('<style><a href="https://u.test/">', True),
    ('<title><a href="https://u.test/">', True),
    ('<![CDATA[<a href="https://u.test/">', True),
    ('<plaintext><a href="https://u.test/">', True),
    ("<!x", True),
    ("<?x", True),
    ("</", True),
    ("</p", True),
    ("<", False),
    ("{{ses:open", False),
    ("&amp", False),
]


@dataclass
class Document:
    pieces: list[Piece]
    tail: Tail | None

    @property
    def html(self) -> str:
        return "".join(p.src for p in self.pieces) + (self.tail.src if self.tail else "")


@st.composite
def documents(draw: st.DrawFn) -> Document:
    body = draw(st.lists(PIECES[2], min_size=3, max_size=16))
    tail = draw(st.one_of(st.none(), st.sampled_from(TAILS).map(lambda t: Tail(*t))))
    return Document(body, tail)


@settings(PROFILE, max_examples=200)
@given(
    doc=documents(),
    click=st.sampled_from(["plain", "plain", "awkward", "off"]),
    open_url=st.sampled_from(OPENS),
    max_links=st.sampled_from([250, 250, 250, 0, 1, 3]),
)
def test_only_the_tracked_spans_change(
    doc: Document, click: str, open_url: str | None, max_links: int
) -> None:
    oracle = Oracle(CLICKS[click], max_links)
    for piece in doc.pieces:
        piece.emit(oracle)
    if doc.tail is not None:
        doc.tail.emit(oracle)
    else:
        oracle.out.append(TAIL)
    done = rewrite(doc.html, click_url=CLICKS[click], open_url=open_url, max_links=max_links)
    assert done.html == oracle.render(open_url)
    assert [(link.url, link.tags) for link in done.links] == oracle.links
    assert [link.index for link in done.links] == list(range(len(done.links)))
    assert done.pixel == (open_url is not None)


# --- the reference tokenizer ----------------------------------------------------------


@dataclass
class RefAttr:
    name: str
    start: int  # of the name
    end: int  # after the value (or the name)
    value: tuple[str, int, int] | None  # quote, start, end


def _ref_tag(html: str, at: int) -> tuple[str, list[RefAttr], int] | None:
    """Tokenize the tag whose name starts at `at`: (name, attributes, end) or None at EOF."""
    n = len(html)
    k = at
    while k < n and html[k] not in WS + "/>":
        k += 1
    name = html[at:k]
    attrs: list[RefAttr] = []
    while True:
        if k >= n:
            return None
        c = html[k]
        if c in WS or c == "/":  # before attribute name / self-closing start tag
            k += 1
            continue
        if c == ">":
            return name, attrs, k + 1
        start = k  # attribute name state (anything else starts a name, even `=`)
        k += 1
        while k < n and html[k] not in WS + "/>=":
            k += 1
        name_end = k
        m = k  # after attribute name
        while m < n and html[m] in WS:
            m += 1
        value = None
        if m < n and html[m] == "=":
            m += 1  # before attribute value
            while m < n and html[m] in WS:
                m += 1
            if m >= n:
                return None
            if html[m] in "\"'":
                close = html.find(html[m], m + 1)
                if close < 0:
                    return None
                value, k = (html[m], m + 1, close), close + 1
            else:
                e = m
                while e < n and html[e] not in WS + ">":
                    e += 1
                value, k = ("", m, e), e
        else:
            k = name_end
        attrs.append(RefAttr(html[start:name_end].lower(), start, k, value))


def _is_conditional(html: str, i: int) -> int:
    """The end of an `<!--[if …]>` at i, or -1."""
    if not html.startswith("<!--[", i) or html[i + 5 : i + 7].lower() != "if":
        return -1
    after = html[i + 7 : i + 8]
    if after.isascii() and after.isalnum():
        return -1
    k = i + 7
    while k < len(html) and html[k] not in "]<>":
        k += 1
    return k + 2 if html.startswith("]>", k) else -1


def reference(
    html: str, click_url: Callable[[Link], str] | None, open_url: str | None
) -> tuple[str, list[Link]]:
    """A slow, direct rewrite: tokenizes character by character."""
    edits: list[tuple[int, int, str]] = []
    links: list[Link] = []
    holders: list[int] = []
    bodies: list[int] = []
    n = len(html)
    i = 0
    stop = n
    while i < n:
        if html.startswith("{{ses:openTracker}}", i):
            holders.append(i)
            i += 19
            continue
        if html[i] != "<":
            i += 1
            continue
        nxt = html[i + 1 : i + 2]
        if nxt.isascii() and nxt.isalpha():
            tag = _ref_tag(html, i + 1)
            if tag is None:
                stop = i
                break
            name, attrs, end = tag
            name = name.lower() if name.isascii() else name
            if name in ("a", "area"):
                edits += _ref_link(html, attrs, click_url, links)
            if name == "plaintext":
                stop = i
                break
            if name in RAW:
                k = end
                while True:
                    k = html.find("</", k)
                    after = k + 2 + len(name)
                    if k < 0 or after >= n:
                        k = -1
                        break
                    if html[k + 2 : after].lower() == name and html[after] in WS + "/>":
                        break
                    k += 1
                if k < 0:
                    stop = i
                    break
                i = k
                continue
            i = end
        elif nxt == "/":
            nn = html[i + 2 : i + 3]
            if nn.isascii() and nn.isalpha():
                tag = _ref_tag(html, i + 2)
                if tag is None:
                    stop = i
                    break
                if tag[0].lower() == "body":
                    bodies.append(i)
                i = tag[2]
            else:
                k = html.find(">", i + 2)
                if k < 0:
                    stop = i
                    break
                i = k + 1
        elif nxt == "!":
            if html.startswith("<!--", i):
                conditional_end = _is_conditional(html, i)
                if conditional_end >= 0:
                    i = conditional_end
                    continue
                j = i + 4
                if html.startswith(">", j) or html.startswith("->", j):
                    i = html.index(">", j) + 1
                    continue
                ends = [(k, len(s)) for s in ("-->", "--!>") if (k := html.find(s, j)) >= 0]
                if not ends:
                    stop = i
                    break
                k, size = min(ends)
                i = k + size
            elif html.startswith("<![CDATA[", i):
                k = html.find("]]>", i + 9)
                if k < 0:
                    stop = i
                    break
                i = k + 3
            else:
                k = html.find(">", i + 2)
                if k < 0:
                    stop = i
                    break
                i = k + 1
        elif nxt == "?":
            k = html.find(">", i + 2)
            if k < 0:
                stop = i
                break
            i = k + 1
        else:
            i += 1
    pixel = pixel_tag(open_url) if open_url is not None else ""
    for k, at in enumerate(holders):
        edits.append((at, at + 19, pixel if k == 0 else ""))
    if not holders and pixel:
        at = bodies[-1] if bodies else stop
        edits.append((at, at, pixel))
    edits.sort(key=lambda edit: edit[0])
    out, last = [], 0
    for start, end, text in edits:
        out += [html[last:start], text]
        last = end
    return "".join(out) + html[last:], links


def _ref_link(
    html: str, attrs: list[RefAttr], click_url: Callable[[Link], str] | None, links: list[Link]
) -> list[tuple[int, int, str]]:
    edits = []
    hrefs = [a for a in attrs if a.name == "href"]
    no_track = any(a.name == "ses:no-track" for a in attrs)
    tag_values = [a.value for a in attrs if a.name == "ses:tags"]
    for a in attrs:
        if a.name in ("ses:no-track", "ses:tags"):
            start = a.start
            if html[a.end] in WS + ">":
                while html[start - 1] in WS:
                    start -= 1
            edits.append((start, a.end, ""))
    if hrefs and hrefs[0].value is not None and click_url is not None and not no_track:
        quote, start, end = hrefs[0].value
        url = _target(html[start:end])
        if url is not None and len(links) < 250:
            raw_tags = tag_values[0] if tag_values else None
            tags = _tags(html[raw_tags[1] : raw_tags[2]] if raw_tags else "")
            link = Link(len(links), url, tags)
            links.append(link)
            edits.append((start, end, in_value(click_url(link), quote)))
    return sorted(edits)


SOUP = [
    "<a", "<A", "<area", "<abbr", "<div", "<style>", "</style>", "<script>", "</script >",
    "<title>", "</title>", "<textarea>", "<!--", "-->", "--!>", "-", "<!--[if mso]>",
    "<![endif]-->", "<!--[if !mso]><!-->", "<!", "<?", "</", "</a>", "</body>", "</BODY",
    "<![CDATA[", "]]>", ">", "/", "/>", " ", "\n", "\t", "=", '"', "'", "href", "HREF",
    "href=", ' href="https://x.test/"', " href='http://y.test/?a=1&amp;b=2'",
    " href=https://z.test/", " ses:no-track", ' ses:tags="a:b;c:d"', "ses:tags=x:y",
    "{{ses:openTracker}}", "{", "}", "&amp;", "&region=", "text", "é", "日本", "x",
    "<plaintext>", "title=\"<a href='https://q.test/'>\"", "<![if !mso]>", "]",
    " href=>", " =x", "</style >", "<![CDATA[x]]>", "<a href='https://w.test/'>",
    "<a href=https://v.test/ ses:no-track>", "<!---->", "<!--->", " x=''", "</a title='>'>",
]  # fmt: skip


@settings(PROFILE, max_examples=1000)
@given(
    tokens=st.lists(st.sampled_from(SOUP), max_size=60),
    click=st.sampled_from(["plain", "awkward"]),
    open_url=st.sampled_from(OPENS),
)
def test_tag_soup_matches_the_reference_tokenizer(
    tokens: list[str], click: str, open_url: str | None
) -> None:
    html = "".join(tokens)
    done = rewrite(html, click_url=CLICKS[click], open_url=open_url)
    expected, links = reference(html, CLICKS[click], open_url)
    assert done.html == expected
    assert done.links == links


@settings(PROFILE, max_examples=500)
@given(st.text(alphabet=st.sampled_from("<>/!-=\"' a{}\n&[]?"), max_size=80))
def test_junk_never_raises_and_matches_the_reference(html: str) -> None:
    done = rewrite(html, click_url=plain, open_url=OPENS[1])
    expected, links = reference(html, plain, OPENS[1])
    assert done.html == expected
    assert done.links == links
