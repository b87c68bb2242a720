"""The tracking rewrite, rule by rule: input HTML, exact output HTML, tracked links."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from sesame.mail.tracking import MAX_LINKS, Link, Rewritten, pixel_tag, rewrite

OPEN = "https://t.test/I0/m/k.sig"
PIXEL = pixel_tag(OPEN)
Tags = dict[str, list[str]]


def plain(link: Link) -> str:
    return f"https://t.test/c/{link.index}"


def awkward(link: Link) -> str:
    """A replacement that needs escaping in every quoting style."""
    return f"https://t.test/c?i={link.index}&q='\"x"


def T(index: int) -> str:  # noqa: N802 - reads like a constant in the tables
    return f"https://t.test/c/{index}"


@dataclass(frozen=True)
class Case:
    html: str
    expected: str
    links: list[tuple[str, Tags]] = field(default_factory=list)
    open_url: str | None = None
    click: str = "plain"  # "plain", "awkward" or "off"
    max_links: int = MAX_LINKS


def _run(case: Case) -> Rewritten:
    click = {"plain": plain, "awkward": awkward, "off": None}[case.click]
    return rewrite(case.html, click_url=click, open_url=case.open_url, max_links=case.max_links)


def _check(case: Case) -> None:
    done = _run(case)
    assert done.html == case.expected
    assert [(link.url, link.tags) for link in done.links] == case.links
    assert [link.index for link in done.links] == list(range(len(case.links)))
    assert done.pixel == (case.open_url is not None)


X = "https://x.test/"

# --- which tags and attributes ------------------------------------------------------

TAGS = {
    "double quotes": Case(f'<a href="{X}">x</a>', f'<a href="{T(0)}">x</a>', [(X, {})]),
    "single quotes": Case(f"<a href='{X}'>x</a>", f"<a href='{T(0)}'>x</a>", [(X, {})]),
    "unquoted": Case(f"<a href={X}>x</a>", f"<a href={T(0)}>x</a>", [(X, {})]),
    "uppercase": Case(f'<A HREF="{X}">x</A>', f'<A HREF="{T(0)}">x</A>', [(X, {})]),
    "mixed case": Case(f'<a HrEf="{X}">', f'<a HrEf="{T(0)}">', [(X, {})]),
    "newlines in the tag": Case(
        f'<a\r\n  class="btn"\n\thref="{X}"\n>',
        f'<a\r\n  class="btn"\n\thref="{T(0)}"\n>',
        [(X, {})],
    ),
    "spaces around =": Case(f'<a href = "{X}">', f'<a href = "{T(0)}">', [(X, {})]),
    "> in a quoted value": Case(
        f'<a title="a > b" href="{X}">', f'<a title="a > b" href="{T(0)}">', [(X, {})]
    ),
    "<a in another tag's value": Case(
        f"<img alt='<a href=\"{X}\">'>", f"<img alt='<a href=\"{X}\">'>"
    ),
    "<a in a link's other value": Case(
        f'<a title=\'<a href="{X}">\' href="https://y.test/">',
        f'<a title=\'<a href="{X}">\' href="{T(0)}">',
        [("https://y.test/", {})],
    ),
    "no href": Case('<a name="top">top</a>', '<a name="top">top</a>'),
    "href without value": Case("<a href>x</a>", "<a href>x</a>"),
    "empty href": Case('<a href="">x</a>', '<a href="">x</a>'),
    "first href wins": Case(
        f'<a href="{X}" href="https://second.test/">',
        f'<a href="{T(0)}" href="https://second.test/">',
        [(X, {})],
    ),
    "first href wins even without a value": Case(f'<a href href="{X}">', f'<a href href="{X}">'),
    "first href wins even without a value, with ses: attributes": Case(
        f'<a href ses:tags="a:1" href="{X}">', '<a href href="https://x.test/">'
    ),
    "first href wins with ses: attributes": Case(
        f'<a ses:tags="a:1" href="{X}" href="https://y.test/">',
        f'<a href="{T(0)}" href="https://y.test/">',
        [(X, {"a": ["1"]})],
    ),
    "first href wins even when it is not trackable": Case(
        '<a href="mailto:a@b.test" href="https://second.test/">',
        '<a href="mailto:a@b.test" href="https://second.test/">',
    ),
    "area is a link": Case(f'<area href="{X}" alt="">', f'<area href="{T(0)}" alt="">', [(X, {})]),
    "AREA uppercase": Case(f"<AREA HREF={X}>", f"<AREA HREF={T(0)}>", [(X, {})]),
    "base is not a link": Case(f'<base href="{X}">', f'<base href="{X}">'),
    "link is not a link": Case(f'<link href="{X}">', f'<link href="{X}">'),
    "other tags starting with a": Case(
        f'<abbr href="{X}"><a:b href="{X}"><aside href={X}>',
        f'<abbr href="{X}"><a:b href="{X}"><aside href={X}>',
    ),
    "VML button is left alone": Case(
        f'<v:roundrect href="{X}" arcsize="10%"><w:anchorlock/></v:roundrect>',
        f'<v:roundrect href="{X}" arcsize="10%"><w:anchorlock/></v:roundrect>',
    ),
    "self-closing": Case(f'<a href="{X}"/>', f'<a href="{T(0)}"/>', [(X, {})]),
    "slash as separator": Case(f'<a/href="{X}">', f'<a/href="{T(0)}">', [(X, {})]),
    "no space after a quoted value": Case(
        f'<a class="c"href="{X}">', f'<a class="c"href="{T(0)}">', [(X, {})]
    ),
    "unquoted value keeps its slash": Case(
        "<a href=https://x.test/a/>", f"<a href={T(0)}>", [("https://x.test/a/", {})]
    ),
    "empty unquoted value before >": Case(
        f'<a href=>x</a><div title=><a href="{X}">',
        f'<a href=>x</a><div title=><a href="{T(0)}">',
        [(X, {})],
    ),
    "attribute name starting with =": Case(
        f'<div ="<a href=\'{X}\'>"><a =x href="{X}">',
        f'<div ="<a href=\'{X}\'>"><a =x href="{T(0)}">',
        [(X, {})],
    ),
    "attribute named with a quote": Case(
        f'<a x"y=1 href="{X}">', f'<a x"y=1 href="{T(0)}">', [(X, {})]
    ),
    "end tag with a > in a value": Case(
        f'</a title=">"><a href="{X}">', f'</a title=">"><a href="{T(0)}">', [(X, {})]
    ),
    "</ starts a bogus comment": Case(f'</ <a href="{X}">', f'</ <a href="{X}">'),
    "text <": Case(f'1 < 2 <3 <= <a href="{X}">', f'1 < 2 <3 <= <a href="{T(0)}">', [(X, {})]),
    "non-ASCII around": Case(
        f'<p>Grüße 日本 😀</p><a href="{X}">Ünïcödé</a>',
        f'<p>Grüße 日本 😀</p><a href="{T(0)}">Ünïcödé</a>',
        [(X, {})],
    ),
    "documents without links are returned as they are": Case(
        "<p>plain</p>\r\n", "<p>plain</p>\r\n"
    ),
    "empty document": Case("", ""),
}

# --- which targets ------------------------------------------------------------------


def _target_case(target: str, tracked: str | None) -> Case:
    source = f'<a href="{target}">x</a>'
    if tracked is None:
        return Case(source, source)
    return Case(source, f'<a href="{T(0)}">x</a>', [(tracked, {})])


TARGETS = {
    "http": ("http://x.test", "http://x.test"),
    "https with path, query, fragment": (
        "https://x.test/a/b?c=d&amp;e=f#g",
        "https://x.test/a/b?c=d&e=f#g",
    ),
    "uppercase scheme": ("HTTPS://X.TEST/A", "HTTPS://X.TEST/A"),
    "port": ("https://x.test:8443/p", "https://x.test:8443/p"),
    "empty port": ("http://x.test:/", "http://x.test:/"),
    "IPv6 host": ("http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
    "IPv4 host": ("http://192.0.2.1/", "http://192.0.2.1/"),
    "userinfo": ("https://u:p@x.test/", "https://u:p@x.test/"),
    "%20 is fine": ("https://x.test/?name=John%20Doe", "https://x.test/?name=John%20Doe"),
    "plus and sub-delims": (
        "https://x.test/a+b;c,d!e$f'g(h)*i=j",
        "https://x.test/a+b;c,d!e$f'g(h)*i=j",
    ),
    "percent-encoded UTF-8": ("https://x.test/%C3%BC", "https://x.test/%C3%BC"),
    "query with ? and / ": ("https://x.test/?a=/b?c", "https://x.test/?a=/b?c"),
    "mailto": ("mailto:someone@x.test", None),
    "tel": ("tel:+15551234", None),
    "fragment only": ("#top", None),
    "relative path": ("/path/page.html", None),
    "relative file": ("page.html", None),
    "scheme-relative": ("//x.test/a", None),
    "javascript": ("javascript:alert(1)", None),
    "ftp": ("ftp://x.test/", None),
    "data": ("data:text/html,hi", None),
    "no //": ("http:x.test", None),
    "no host": ("https:///path", None),
    "raw space": ("https://x.test/?name=John Doe", None),
    "raw space in host": ("https://exa mple.test/", None),
    "tab inside": ("https://x.test/a\tb", None),
    "non-ASCII": ("https://x.test/café", None),
    "IDN in Unicode": ("https://bücher.test/", None),
    "bare %": ("https://x.test/100%", None),
    "bad escape": ("https://x.test/%zz", None),
    "backslash": ("https:\\\\x.test\\", None),
    "pipe": ("https://x.test/a|b", None),
    "braces": ("https://x.test/{{name}}", None),
    "second #": ("https://x.test/#a#b", None),
    "bad IPv6": ("https://[zz::1]/", None),
    "unclosed IPv6": ("https://[::1/", None),
    "leading and trailing whitespace trimmed": ("  https://x.test/ \n", "https://x.test/"),
    "leading newline trimmed": ("\nhttps://x.test/", "https://x.test/"),
}

# --- character references (HTML's attribute-value rule) ------------------------------

ENTITIES = {
    "&amp;": ("https://x.test/?a=1&amp;b=2", "https://x.test/?a=1&b=2"),
    "&AMP;": ("https://x.test/?a=1&AMP;b=2", "https://x.test/?a=1&b=2"),
    "&#38; and &#x26;": ("https://x.test/?a=1&#38;b=2&#x26;c=3", "https://x.test/?a=1&b=2&c=3"),
    "&region= is not &reg;": (
        "https://x.test/?a=1&region=eu",
        "https://x.test/?a=1&region=eu",
    ),
    "&copy= is not decoded": ("https://x.test/?x&copy=1", "https://x.test/?x&copy=1"),
    "&amp= without ; before = is not decoded": (
        "https://x.test/?x&amp=1",
        "https://x.test/?x&amp=1",
    ),
    "&ampx is not decoded": ("https://x.test/?x&ampx", "https://x.test/?x&ampx"),
    "&lang without ; is not legacy": ("https://x.test/?x&lang=1", "https://x.test/?x&lang=1"),
    "&amp without ; at the end is decoded": ("https://x.test/?a&amp", "https://x.test/?a&"),
    "numeric without ;": ("https://x.test/?a=1&#38b=2", "https://x.test/?a=1&b=2"),
    "&colon; in the scheme": ("https&colon;&sol;&sol;x.test/", "https://x.test/"),
    "&#x68;ttps": ("&#x68;ttps://x.test/", "https://x.test/"),
    "&not_ decodes to ¬ (not ASCII)": ("https://x.test/?a&not_b", None),
    "&#150; is windows-1252 (not ASCII)": ("https://x.test/&#150;", None),
    "&#0; is U+FFFD": ("https://x.test/&#0;", None),
    "&lt; gives <": ("https://x.test/&lt;", None),
    "&#32; gives a space": ("https://x.test/a&#32;b", None),
    "&quot; gives a quote": ("https://x.test/&quot;", None),
    "huge numeric reference": ("https://x.test/&#" + "9" * 5000 + ";", None),
    "unknown name stays": ("https://x.test/?a&bogus;", "https://x.test/?a&bogus;"),
}

# --- ses: attributes ----------------------------------------------------------------

SES = {
    "no-track": Case(f'<a ses:no-track href="{X}">', f'<a href="{X}">'),
    "no-track last": Case(f'<a href="{X}" ses:no-track>', f'<a href="{X}">'),
    "no-track uppercase, with a value": Case(
        f'<a SES:NO-TRACK="true" href="{X}">', f'<a href="{X}">'
    ),
    "no-track with newlines": Case(f"<a\nhref={X}\nses:no-track\n>", f"<a\nhref={X}\n>"),
    "no-track takes no index": Case(
        f'<a ses:no-track href="{X}"><a href="https://y.test/">',
        f'<a href="{X}"><a href="{T(0)}">',
        [("https://y.test/", {})],
    ),
    "tags": Case(
        f'<a href="{X}" ses:tags="campaign:spring;variant:b;">',
        f'<a href="{T(0)}">',
        [(X, {"campaign": ["spring"], "variant": ["b"]})],
    ),
    "tags before href, single-quoted": Case(
        f"<a ses:tags='a:1' href='{X}'>", f"<a href='{T(0)}'>", [(X, {"a": ["1"]})]
    ),
    "invalid tag pairs are dropped": Case(
        f'<a href="{X}" ses:tags="ok:yes;bad key:x;k:v!;nocolon;:v;k:;a-b:c_d;'
        'dup:1;dup:2; sp : v ;">',
        f'<a href="{T(0)}">',
        [(X, {"ok": ["yes"], "a-b": ["c_d"], "dup": ["1", "2"], "sp": ["v"]})],
    ),
    "a colon in the value drops the pair": Case(
        f'<a href="{X}" ses:tags="k:a:b;x:y">', f'<a href="{T(0)}">', [(X, {"x": ["y"]})]
    ),
    "tags value with references": Case(
        f'<a href="{X}" ses:tags="a:b&#59;c:d">',
        f'<a href="{T(0)}">',
        [(X, {"a": ["b"], "c": ["d"]})],
    ),
    "first ses:tags wins, all removed": Case(
        f'<a ses:tags="a:1" href="{X}" ses:tags="b:2">', f'<a href="{T(0)}">', [(X, {"a": ["1"]})]
    ),
    "tags on an untracked link are removed": Case(
        '<a href="mailto:a@b.test" ses:tags="a:1">', '<a href="mailto:a@b.test">'
    ),
    "no-track and tags together": Case(
        f'<a ses:no-track ses:tags="a:1" href="{X}">', f'<a href="{X}">'
    ),
    "only the attribute goes when a / follows": Case(
        f"<a href={X} ses:no-track/>", f"<a href={X} />"
    ),
    "only the attribute goes when a name follows": Case(
        f'<a href={X} ses:tags="a:1"title="t">', f'<a href={T(0)} title="t">', [(X, {"a": ["1"]})]
    ),
    "no whitespace before it": Case(f'<a href="{X}"ses:no-track>', f'<a href="{X}">'),
    "on <a> without href": Case('<a ses:tags="a:1" name="n">', '<a name="n">'),
    "on other tags they stay": Case(
        '<td ses:no-track ses:tags="a:1">', '<td ses:no-track ses:tags="a:1">'
    ),
    "removed when click tracking is off": Case(
        f'<a ses:no-track href="{X}"><a href="{X}" ses:tags="a:1">',
        f'<a href="{X}"><a href="{X}">',
        click="off",
    ),
    "ses:no-trac + Kelvin sign is not ses:no-track": Case(
        f'<a ses:no-trac\u212a href="{X}">', f'<a ses:no-trac\u212a href="{T(0)}">', [(X, {})]
    ),
}

# --- replacement quoting ------------------------------------------------------------

QUOTING = {
    "double-quoted gets &amp; and &quot;": Case(
        f'<a href="{X}">',
        '<a href="https://t.test/c?i=0&amp;q=\'&quot;x">',
        [(X, {})],
        click="awkward",
    ),
    "single-quoted gets &amp; and &#39;": Case(
        f"<a href='{X}'>",
        "<a href='https://t.test/c?i=0&amp;q=&#39;\"x'>",
        [(X, {})],
        click="awkward",
    ),
    "unquoted gets quoted when needed": Case(
        f"<a href={X}>",
        '<a href="https://t.test/c?i=0&amp;q=\'&quot;x">',
        [(X, {})],
        click="awkward",
    ),
    "unquoted stays unquoted when it can": Case(
        f"<a href={X} x=y>", f"<a href={T(0)} x=y>", [(X, {})]
    ),
}

DOCTYPE = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
)

# --- where links are not touched ----------------------------------------------------

CONTEXTS = {
    "comment": Case(
        f'<!-- <a href="{X}"> --><a href="{X}">',
        f'<!-- <a href="{X}"> --><a href="{T(0)}">',
        [(X, {})],
    ),
    "comment ends at --!>": Case(
        f'<!-- x --!><a href="{X}">', f'<!-- x --!><a href="{T(0)}">', [(X, {})]
    ),
    "abrupt empty comments": Case(
        f'<!--><a href="{X}"><!---><a href="{X}">',
        f'<!--><a href="{T(0)}"><!---><a href="{T(1)}">',
        [(X, {}), (X, {})],
    ),
    "comment with dashes": Case(
        f'<!-- a - -- b ---><a href="{X}">', f'<!-- a - -- b ---><a href="{T(0)}">', [(X, {})]
    ),
    "nested comment opener": Case(
        f'<!-- <!-- <a href="{X}"> --><a href="{X}">',
        f'<!-- <!-- <a href="{X}"> --><a href="{T(0)}">',
        [(X, {})],
    ),
    "Outlook conditional comment is markup": Case(
        f'<!--[if mso]><table><tr><td><a href="{X}">x</a></td></tr></table><![endif]-->',
        f'<!--[if mso]><table><tr><td><a href="{T(0)}">x</a></td></tr></table><![endif]-->',
        [(X, {})],
    ),
    "conditional with operators": Case(
        f'<!--[if (gte mso 9)|(IE)]><a href="{X}"><![endif]-->',
        f'<!--[if (gte mso 9)|(IE)]><a href="{T(0)}"><![endif]-->',
        [(X, {})],
    ),
    "downlevel-revealed conditional": Case(
        f'<!--[if !mso]><!--><a href="{X}">x</a><!--<![endif]-->',
        f'<!--[if !mso]><!--><a href="{T(0)}">x</a><!--<![endif]-->',
        [(X, {})],
    ),
    "downlevel-revealed without comment": Case(
        f'<![if !mso]><a href="{X}"><![endif]>',
        f'<![if !mso]><a href="{T(0)}"><![endif]>',
        [(X, {})],
    ),
    "VML button pattern": Case(
        f'<!--[if mso]><v:roundrect href="{X}" style="height:40px"><center>Go</center>'
        f'</v:roundrect><![endif]--><a href="{X}" style="mso-hide:all">Go</a>',
        f'<!--[if mso]><v:roundrect href="{X}" style="height:40px"><center>Go</center>'
        f'</v:roundrect><![endif]--><a href="{T(0)}" style="mso-hide:all">Go</a>',
        [(X, {})],
    ),
    "not a conditional: an ordinary comment": Case(
        f'<!--[iffy]> <a href="{X}"> -->', f'<!--[iffy]> <a href="{X}"> -->'
    ),
    "style": Case(
        f'<style>a[href="x"]{{}} <a href="{X}"></style><a href="{X}">',
        f'<style>a[href="x"]{{}} <a href="{X}"></style><a href="{T(0)}">',
        [(X, {})],
    ),
    "STYLE uppercase, end tag with space": Case(
        f'<STYLE type="text/css"><a href="{X}"></STYLE ><a href="{X}">',
        f'<STYLE type="text/css"><a href="{X}"></STYLE ><a href="{T(0)}">',
        [(X, {})],
    ),
    "</styles> does not end a style": Case(
        f'<style></styles><a href="{X}"></style>', f'<style></styles><a href="{X}"></style>'
    ),
    "script": Case(
        f'<script>var s = "<a href=\\"{X}\\">";</script><a href="{X}">',
        f'<script>var s = "<a href=\\"{X}\\">";</script><a href="{T(0)}">',
        [(X, {})],
    ),
    "textarea and title": Case(
        f'<title><a href="{X}"></title><textarea><a href="{X}"></textarea>',
        f'<title><a href="{X}"></title><textarea><a href="{X}"></textarea>',
    ),
    "xmp, iframe, noembed, noframes": Case(
        f'<xmp><a href="{X}"></xmp><iframe><a href="{X}"></iframe>'
        f'<noembed><a href="{X}"></noembed><noframes><a href="{X}"></noframes>',
        f'<xmp><a href="{X}"></xmp><iframe><a href="{X}"></iframe>'
        f'<noembed><a href="{X}"></noembed><noframes><a href="{X}"></noframes>',
    ),
    "plaintext runs to the end": Case(
        f'<plaintext></plaintext><a href="{X}">', f'<plaintext></plaintext><a href="{X}">'
    ),
    "noscript is markup in mail": Case(
        f'<noscript><a href="{X}"></noscript>', f'<noscript><a href="{T(0)}"></noscript>', [(X, {})]
    ),
    "CDATA": Case(
        f'<svg><![CDATA[ <a href="{X}"> ]]></svg><a href="{X}">',
        f'<svg><![CDATA[ <a href="{X}"> ]]></svg><a href="{T(0)}">',
        [(X, {})],
    ),
    "doctype and processing instruction": Case(
        f'{DOCTYPE}<?xml version="1.0"?><a href="{X}">',
        f'{DOCTYPE}<?xml version="1.0"?><a href="{T(0)}">',
        [(X, {})],
    ),
}

# --- unterminated at the end: never raise, leave as is ------------------------------

UNTERMINATED = {
    "link tag": Case(
        f'<a href="{X}">ok</a><a href="{X}"', f'<a href="{T(0)}">ok</a><a href="{X}"', [(X, {})]
    ),
    "quote never closed": Case(f'<a href="{X}>', f'<a href="{X}>'),
    "other tag swallows the rest": Case(
        f'<div title=\'x <a href="{X}">', f'<div title=\'x <a href="{X}">'
    ),
    "comment": Case(f'<!-- <a href="{X}">', f'<!-- <a href="{X}">'),
    "conditional comment": Case(
        f'<!--[if mso]><a href="{X}">', f'<!--[if mso]><a href="{T(0)}">', [(X, {})]
    ),
    "style": Case(f'<style><a href="{X}">', f'<style><a href="{X}">'),
    "CDATA": Case(f'<![CDATA[<a href="{X}">', f'<![CDATA[<a href="{X}">'),
    "bogus comment": Case(f'<!x <a href="{X}"', f'<!x <a href="{X}"'),
    "lone < and </": Case("x <", "x <"),
    "lone </": Case("x </", "x </"),
    "lone <!": Case("x <!", "x <!"),
    "lone {": Case("x {{ses:open", "x {{ses:open"),
}

# --- the open pixel -----------------------------------------------------------------

PIXELS = {
    "before </body>": Case(
        "<body><p>x</p></body></html>", f"<body><p>x</p>{PIXEL}</body></html>", open_url=OPEN
    ),
    "before the last </body>": Case(
        "<body></body>x</body >y", f"<body></body>x{PIXEL}</body >y", open_url=OPEN
    ),
    "</BODY> any case": Case("<p>x</BODY>", f"<p>x{PIXEL}</BODY>", open_url=OPEN),
    "</body> in a comment or script does not count": Case(
        "</body><!-- </body> --><script></body></script>",
        f"{PIXEL}</body><!-- </body> --><script></body></script>",
        open_url=OPEN,
    ),
    "</bodyx> is another tag": Case("<p>x</bodyx>", f"<p>x</bodyx>{PIXEL}", open_url=OPEN),
    "at the end without </body>": Case("<p>x</p>", f"<p>x</p>{PIXEL}", open_url=OPEN),
    "before an unterminated comment": Case(
        "<p>x</p><!-- open", f"<p>x</p>{PIXEL}<!-- open", open_url=OPEN
    ),
    "before an unterminated tag": Case(
        '<p>x</p><img src="y', f'<p>x</p>{PIXEL}<img src="y', open_url=OPEN
    ),
    "empty document": Case("", PIXEL, open_url=OPEN),
    "at the placeholder": Case(
        "<p>{{ses:openTracker}}</p></body>", f"<p>{PIXEL}</p></body>", open_url=OPEN
    ),
    "only the first placeholder, others removed": Case(
        "a{{ses:openTracker}}b{{ses:openTracker}}c{{ses:openTracker}}</body>",
        f"a{PIXEL}bc</body>",
        open_url=OPEN,
    ),
    "placeholders removed without open tracking": Case(
        "a{{ses:openTracker}}b{{ses:openTracker}}</body>", "ab</body>"
    ),
    "placeholder after braces": Case("{{{ses:openTracker}}}", f"{{{PIXEL}}}", open_url=OPEN),
    "placeholder in a conditional comment counts": Case(
        "<!--[if mso]>{{ses:openTracker}}<![endif]-->",
        f"<!--[if mso]>{PIXEL}<![endif]-->",
        open_url=OPEN,
    ),
    "placeholder inside attribute, comment, title is left": Case(
        '<img alt="{{ses:openTracker}}"><!-- {{ses:openTracker}} -->'
        "<title>{{ses:openTracker}}</title></body>",
        '<img alt="{{ses:openTracker}}"><!-- {{ses:openTracker}} -->'
        f"<title>{{{{ses:openTracker}}}}</title>{PIXEL}</body>",
        open_url=OPEN,
    ),
    "placeholder is case-sensitive": Case(
        "{{SES:openTracker}}", f"{{{{SES:openTracker}}}}{PIXEL}", open_url=OPEN
    ),
    "pixel and links together": Case(
        f'<body><a href="{X}">x</a></body>',
        f'<body><a href="{T(0)}">x</a>{PIXEL}</body>',
        [(X, {})],
        open_url=OPEN,
    ),
}

# --- the limit ----------------------------------------------------------------------

LIMITS = {
    "at most max_links, the rest untouched": Case(
        f'<a href="{X}1"><a href="{X}2"><a href="{X}3" ses:tags="a:1">',
        f'<a href="{T(0)}"><a href="{T(1)}"><a href="{X}3">',
        [(X + "1", {}), (X + "2", {})],
        max_links=2,
    ),
    "untracked links do not count": Case(
        f'<a href="#x"><a href="{X}1"><a href="mailto:x@y.test"><a href="{X}2">',
        f'<a href="#x"><a href="{T(0)}"><a href="mailto:x@y.test"><a href="{T(1)}">',
        [(X + "1", {}), (X + "2", {})],
        max_links=2,
    ),
    "zero": Case(f'<a href="{X}">', f'<a href="{X}">', max_links=0),
    "click tracking off": Case(f'<a href="{X}">', f'<a href="{X}">', click="off"),
}

TABLES = {
    "tags": TAGS,
    "targets": {name: _target_case(*pair) for name, pair in TARGETS.items()},
    "entities": {name: _target_case(*pair) for name, pair in ENTITIES.items()},
    "ses": SES,
    "quoting": QUOTING,
    "contexts": CONTEXTS,
    "unterminated": UNTERMINATED,
    "pixels": PIXELS,
    "limits": LIMITS,
}
ALL = [
    pytest.param(case, id=f"{table}: {name}")
    for table, cases in TABLES.items()
    for name, case in cases.items()
]


@pytest.mark.parametrize("case", ALL)
def test_rewrite(case: Case) -> None:
    _check(case)


@pytest.mark.parametrize("case", ALL)
def test_no_tracking_changes_only_ses_markup(case: Case) -> None:
    # With both kinds of tracking off, only ses: attributes and placeholders may go.
    done = rewrite(case.html, click_url=None, open_url=None)
    assert done.links == [] and done.pixel is False
    if "ses:" not in case.html.lower():
        assert done.html == case.html


def test_default_limit_is_250() -> None:
    html = "".join(f'<a href="https://x.test/{i}">{i}</a>' for i in range(MAX_LINKS + 5))
    done = rewrite(html, click_url=plain, open_url=None)
    assert MAX_LINKS == 250
    assert [link.index for link in done.links] == list(range(250))
    assert done.html.count("https://t.test/c/") == 250
    assert done.html.endswith(
        "".join(f'<a href="https://x.test/{i}">{i}</a>' for i in range(250, 255))
    )


def test_click_url_is_called_once_per_tracked_link_in_order() -> None:
    seen: list[Link] = []

    def record(link: Link) -> str:
        seen.append(link)
        return plain(link)

    html = f'<a href="{X}a" ses:tags="k:v"><a href="#"><a href="{X}b">'
    done = rewrite(html, click_url=record, open_url=None)
    assert seen == done.links
    assert seen == [Link(0, X + "a", {"k": ["v"]}), Link(1, X + "b", {})]


def test_pixel_tag() -> None:
    assert pixel_tag('https://t.test/I0/m/k.s?a=1&b="2"') == (
        '<img alt="" src="https://t.test/I0/m/k.s?a=1&amp;b=&quot;2&quot;" width="1" '
        'height="1" style="display: none; width: 1px; height: 1px;">'
    )


def test_results_are_frozen() -> None:
    done = rewrite(f'<a href="{X}">', click_url=plain, open_url=OPEN)
    with pytest.raises(dataclasses.FrozenInstanceError):
        done.html = ""  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        done.links[0].url = ""  # type: ignore[misc]


def test_a_whole_newsletter_changes_only_where_it_should() -> None:
    html = (
        "<!DOCTYPE html>\r\n<html><head><title>Ünïcödé news</title>\r\n"
        "<!--[if gte mso 9]><xml><o:OfficeDocumentSettings><o:PixelsPerInch>96"
        "</o:PixelsPerInch></o:OfficeDocumentSettings></xml><![endif]-->\r\n"
        "<style>a { color: red } .x > .y { content: \"<a href='https://no.test/'>\" }</style>"
        "</head>\r\n<BODY>\r\n<TABLE WIDTH=600><TR><TD ALIGN=center>\r\n"
        "<A HREF=https://shop.test/?utm_source=nl&amp;utm_medium=email TARGET=_blank>Shop</A>"
        "&nbsp;&copy; 2025 — Grüße\r\n"
        '<a href="mailto:hi@shop.test">mail</a> <a ses:no-track href="https://keep.test/">keep</a>'
        "\r\n<!-- footer <a href='https://no.test/'> -->\r\n"
        "<a href='https://shop.test/unsubscribe?u=1&region=eu' ses:tags='kind:unsub;'>bye</a>"
        "\r\n</TD></TR></TABLE>\r\n</BODY>\r\n</HTML>\r\n"
    )
    expected = (
        html.replace("HREF=https://shop.test/?utm_source=nl&amp;utm_medium=email", f"HREF={T(0)}")
        .replace(" ses:no-track", "")
        .replace(
            "'https://shop.test/unsubscribe?u=1&region=eu' ses:tags='kind:unsub;'", f"'{T(1)}'"
        )
        .replace("</BODY>", PIXEL + "</BODY>")
    )
    done = rewrite(html, click_url=plain, open_url=OPEN)
    assert done.html == expected
    assert done.links == [
        Link(0, "https://shop.test/?utm_source=nl&utm_medium=email", {}),
        Link(1, "https://shop.test/unsubscribe?u=1&region=eu", {"kind": ["unsub"]}),
    ]


def test_first_index_continues_numbering_and_counts_toward_the_limit() -> None:
    html = "".join(f'<a href="https://example.org/{n}">{n}</a>' for n in range(4))
    done = rewrite(
        html, click_url=lambda link: f"https://t/{link.index}", open_url=None, first_index=248
    )
    assert [link.index for link in done.links] == [248, 249]
    assert [link.url for link in done.links] == ["https://example.org/0", "https://example.org/1"]
    assert 'href="https://example.org/2"' in done.html
