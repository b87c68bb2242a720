"""A deterministic corpus of realistic newsletter HTML, with the answer to each one.

    python bench/corpus.py            prints one line per document (size, links)
    python bench/corpus.py --show 3   prints document 3

Each document is what an e-mail builder produces: an XHTML doctype, `<head>` with a
large `<style>` block and Outlook's `<!--[if gte mso 9]>` settings, nested layout
tables (some written in old uppercase, unquoted-attribute style), hero images,
articles with inline links, bulletproof buttons (a VML `v:roundrect` for Outlook in
a conditional comment next to the real `<a>`), product grids, social icons and a
footer with `mailto:`/`tel:` links, `ses:no-track` and `ses:tags`, section comments,
entities and text in several scripts. Sizes run from 20 KB to 200 KB and link
counts from 10 to 300; the same seed always gives the same bytes.

While building a document the generator records which bytes may change — each
trackable href value (with its target), each `ses:` attribute to drop, where the
pixel goes — so `Newsletter.expected(...)` gives the exact output `rewrite` must
produce: the input with exactly those spans replaced. It is the oracle of
`tests/mail/test_tracking_properties.py`, built the same way.
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sesame.mail.tracking import MAX_LINKS, Link, pixel_tag

Tags = dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class Href:
    """A link's href value as written, and its target when it is trackable."""

    raw: str
    quote: str  # '"', "'" or "" (unquoted)
    url: str | None
    no_track: bool
    tags: Tags


@dataclass(frozen=True, slots=True)
class Drop:
    """Bytes that the rewrite removes (a `ses:` attribute and the space before it)."""

    text: str


class _Mark:
    pass


PIXEL_SLOT = _Mark()  # where the pixel goes (before `</body>` or at the placeholder)
HOLDER = "{{ses:openTracker}}"

Part = str | Href | Drop | _Mark


def _in_value(url: str, quote: str) -> str:
    url = url.replace("&", "&amp;")
    if quote == '"':
        return url.replace('"', "&quot;")
    if quote == "'":
        return url.replace("'", "&#39;")
    if re.fullmatch(r"[^\t\n\f\r \"'<=`>&]+", url):
        return url
    return '"' + url.replace('"', "&quot;") + '"'


@dataclass
class Newsletter:
    parts: list[Part] = field(default_factory=list)
    holder: bool = False  # the pixel slot is a `{{ses:openTracker}}`

    @property
    def html(self) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, Href):
                out.append(part.raw)
            elif isinstance(part, Drop):
                out.append(part.text)
            elif self.holder:
                out.append(HOLDER)
        return "".join(out)

    @property
    def links(self) -> int:
        return sum(isinstance(part, Href) for part in self.parts)

    def expected(
        self, click_url: Callable[[Link], str] | None, open_url: str | None
    ) -> tuple[str, list[Link]]:
        """What `rewrite(self.html, click_url=…, open_url=…)` must return."""
        out: list[str] = []
        links: list[Link] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, Href):
                tracked = (
                    click_url is not None
                    and part.url is not None
                    and not part.no_track
                    and len(links) < MAX_LINKS
                )
                if tracked and click_url is not None and part.url is not None:
                    link = Link(len(links), part.url, part.tags)
                    links.append(link)
                    out.append(_in_value(click_url(link), part.quote))
                else:
                    out.append(part.raw)
            elif isinstance(part, _Mark) and open_url is not None:
                out.append(pixel_tag(open_url))
        return "".join(out), links


# --- content -----------------------------------------------------------------------

_TEXT = (
    "the quarterly update brings new features performance improvements and a few fixes "
    "we think you will like our team worked hard on this release thank you for reading "
    "Grüße aus München straße über café crème brûlée naïve façade déjà vu "
    "日本語のテキスト 新機能 お知らせ Привет мир новости ¡Hola! ¿Qué tal? 😀 🎉 ✓"
)
WORDS = _TEXT.split()
ENTITIES = ["&nbsp;", "&amp;", "&copy;", "&rsquo;", "&#8217;", "&mdash;", "&hellip;", "&reg;"]
DOMAINS = ["www.example.com", "shop.example.com", "blog.example.org", "news.example.net"]
CSS = """
body { margin: 0 !important; padding: 0 !important; -webkit-text-size-adjust: 100%; }
table, td { border-collapse: collapse; mso-table-lspace: 0pt; mso-table-rspace: 0pt; }
img { border: 0; height: auto; line-height: 100%; outline: none; text-decoration: none; }
a[x-apple-data-detectors] { color: inherit !important; text-decoration: none !important; }
.button-td, .button-a { transition: all 100ms ease-in; }
.button-td-primary:hover, .button-a-primary:hover { background: #555555 !important; }
@media screen and (max-width: 600px) {
  .stack-column, .stack-column-center { display: block !important; width: 100% !important; }
  .stack-column-center { text-align: center !important; }
  .center-on-narrow { text-align: center !important; float: none !important; }
  table.center-on-narrow { display: inline-block !important; }
  .email-container p { font-size: 17px !important; }
  .hide > a[href^="https://"] { content: "<a href='https://x.example/'>"; }
}
"""


class _Writer:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.doc = Newsletter()
        self.size = 0
        self.serial = 0

    def add(self, *parts: Part) -> None:
        for part in parts:
            self.doc.parts.append(part)
            if isinstance(part, str | Drop):
                self.size += len(part if isinstance(part, str) else part.text)
            elif isinstance(part, Href):
                self.size += len(part.raw)

    def words(self, count: int) -> str:
        rng = self.rng
        out = []
        for _ in range(count):
            out.append(rng.choice(WORDS))
            if rng.random() < 0.08:
                out.append(rng.choice(ENTITIES))
        return " ".join(out)

    def url(self) -> tuple[str, str]:
        """(target, as written in the attribute)."""
        rng = self.rng
        self.serial += 1
        path = f"/{rng.choice(['article', 'p', 'products', 'blog/2025'])}/{self.serial}"
        if rng.random() < 0.2:
            path += "/caf%C3%A9-cr%C3%A8me"
        params = [
            ("utm_source", "newsletter"),
            ("utm_medium", "email"),
            ("utm_campaign", f"spring_{self.serial % 7}"),
        ]
        if rng.random() < 0.3:
            params.append(("region", "eu"))
        url = f"https://{rng.choice(DOMAINS)}{path}?" + "&".join(f"{k}={v}" for k, v in params)
        if rng.random() < 0.1:
            url += "#section-2"
        # Builders write `&` as `&amp;`; hand-written mail sometimes keeps it raw, which
        # is safe here: every key is alphanumeric or `_` and followed by `=`.
        raw = url.replace("&", "&amp;") if rng.random() < 0.85 else url
        return url, raw

    def anchor(
        self,
        inner: str,
        *,
        style: str = "color:#1a82e2;text-decoration:underline;",
        upper: bool = False,
        kind: str = "track",
    ) -> None:
        """One `<a>`: kind is track, no-track, mailto, tel, fragment, relative or broken."""
        rng = self.rng
        url: str | None
        if kind in ("track", "no-track"):
            url, raw = self.url()
        elif kind == "mailto":
            url, raw = None, "mailto:hello@example.com?subject=Hi%20there"
        elif kind == "tel":
            url, raw = None, "tel:+49-89-1234567"
        elif kind == "fragment":
            url, raw = None, "#top"
        elif kind == "relative":
            url, raw = None, "/preferences"
        else:  # a raw space: SES leaves it untracked
            url, raw = None, "https://www.example.com/search?q=spring sale"
        tags: Tags = {}
        if upper and " " not in raw:
            self.add("<A HREF=", Href(raw, "", url, False, tags), " TARGET=_blank>", inner, "</A>")
            return
        quote = '"' if rng.random() < 0.8 else "'"
        style_first = rng.random() < 0.5
        self.add("<a")
        if kind == "no-track":
            self.add(Drop(" ses:no-track"))
        if style_first:
            self.add(f' style="{style}"')
        self.add(f" href={quote}", Href(raw, quote, url, kind == "no-track", tags), quote)
        if kind == "track" and rng.random() < 0.25:
            tags["campaign"] = ["spring"]
            tags["position"] = [f"p{self.serial % 5}"]
            self.add(Drop(f' ses:tags="campaign:spring;position:p{self.serial % 5};"'))
        self.add(' target="_blank"')
        if not style_first:
            self.add(f' style="{style}"')
        self.add(">", inner, "</a>")

    # --- blocks ---------------------------------------------------------------------

    def head(self) -> None:
        self.add(
            '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" '
            'xmlns:o="urn:schemas-microsoft-com:office:office" lang="de">\n<head>\n'
            '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
            f"<title>{self.words(6)}</title>\n"
            "<!--[if gte mso 9]><xml><o:OfficeDocumentSettings><o:AllowPNG/>"
            "<o:PixelsPerInch>96</o:PixelsPerInch></o:OfficeDocumentSettings></xml><![endif]-->\n"
            f'<style type="text/css">{CSS * self.rng.randint(1, 4)}</style>\n'
            "<!--[if mso]><style>* { font-family: Arial, sans-serif !important; }</style>"
            "<![endif]-->\n</head>\n"
            '<body width="100%" style="margin:0;padding:0!important;mso-line-height-rule:exactly;'
            'background-color:#f1f1f1;">\n<center style="width:100%;background-color:#f1f1f1;">\n'
            '<div style="display:none;font-size:1px;line-height:1px;max-height:0px;max-width:0px;'
            f'opacity:0;overflow:hidden;mso-hide:all;">{self.words(20)}&zwnj;&nbsp;&zwnj;</div>\n'
            '<!--[if mso | IE]><table role="presentation" border="0" cellpadding="0" '
            'cellspacing="0" width="600" align="center"><tr><td><![endif]-->\n'
            '<table role="presentation" cellspacing="0" cellpadding="0" border="0" width="100%" '
            'style="margin:auto;max-width:600px" class="email-container">\n'
        )

    def paragraph(self, links: int) -> None:
        self.add(
            '<tr><td style="padding:20px;font-family:sans-serif;font-size:15px;'
            'line-height:20px;color:#555555;"><p style="margin:0 0 10px;">'
        )
        for _ in range(links):
            self.add(self.words(self.rng.randint(8, 30)), " ")
            self.anchor(self.words(3), kind=self._kind())
        self.add(" ", self.words(self.rng.randint(20, 60)), "</p></td></tr>\n")

    def _kind(self) -> str:
        roll = self.rng.random()
        if roll < 0.86:
            return "track"
        return ["no-track", "mailto", "tel", "fragment", "relative", "broken"][int(roll * 100) % 6]

    def hero(self) -> None:
        self.add('<tr><td style="background-color:#ffffff;">')
        self.anchor(
            '<img src="https://cdn.example.com/hero.jpg" width="600" height="" alt="'
            + self.words(4)
            + '" border="0" style="width:100%;max-width:600px;height:auto;display:block;">'
        )
        self.add("</td></tr>\n")

    def button(self) -> None:
        url, raw = self.url()
        self.add(
            '<tr><td style="padding:0 20px 20px;"><table role="presentation" cellspacing="0" '
            'cellpadding="0" border="0" style="margin:auto;"><tr><td class="button-td '
            'button-td-primary" style="border-radius:4px;background:#222222;">'
            '<!--[if mso]><v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" '
            f'xmlns:w="urn:schemas-microsoft-com:office:word" href="{raw}" '
            'style="height:40px;v-text-anchor:middle;width:200px;" arcsize="10%" '
            'strokecolor="#1e3650" fill="t"><v:fill type="tile" color="#222222" /><w:anchorlock/>'
            '<center style="color:#ffffff;font-family:sans-serif;font-size:13px;">'
            "Read more</center></v:roundrect><![endif]-->"
        )
        self.add(
            '<a class="button-a button-a-primary" href="',
            Href(raw, '"', url, False, {}),
            '" style="background:#222222;border:1px solid #000000;font-family:sans-serif;'
            "font-size:15px;line-height:15px;text-decoration:none;padding:13px 17px;"
            'color:#ffffff;display:block;border-radius:4px;mso-hide:all;">Read&nbsp;more&nbsp;'
            "&rarr;</a></td></tr></table></td></tr>\n",
        )

    def grid(self, links: int) -> None:
        # old-school uppercase, unquoted attributes
        self.add("<TR><TD ALIGN=center VALIGN=top><TABLE WIDTH=100% BORDER=0 CELLPADDING=0>\n<TR>")
        for n in range(links):
            if n and n % 3 == 0:
                self.add("</TR>\n<TR>")
            self.add("<TD WIDTH=33% CLASS=stack-column-center VALIGN=top>")
            image = f"https://cdn.example.com/p/{self.serial}.png"
            self.anchor(f'<IMG SRC={image} WIDTH=170 ALT="{self.words(2)}">', upper=True)
            self.add(f'<P STYLE="margin:0">{self.words(5)}</P></TD>\n')
        self.add("</TR></TABLE></TD></TR>\n<!-- /grid -->\n")

    def social(self) -> None:
        self.add('<tr><td align="center" style="padding:10px;">')
        for name in ("facebook", "x", "instagram", "linkedin"):
            self.anchor(
                f'<img src="https://cdn.example.com/icons/{name}.png" width="32" alt="{name}">'
            )
            self.add("&nbsp;")
        self.add("</td></tr>\n")

    def footer(self) -> None:
        self.add(
            '<tr><td style="padding:20px;font-family:sans-serif;font-size:12px;'
            'line-height:15px;text-align:center;color:#888888;">'
        )
        self.anchor("Im Browser ansehen", kind="track")
        self.add("<br>Beispiel GmbH &middot; Musterstraße 1 &middot; 80331 München<br>")
        self.anchor("hello@example.com", kind="mailto")
        self.add(" &middot; ")
        self.anchor("+49 89 1234567", kind="tel")
        self.add("<br>")
        self.anchor("Abmelden", kind="no-track")
        self.add(" | ")
        self.anchor("Einstellungen", kind="relative")
        self.add("<br>&copy; 2025 Beispiel &mdash; ", self.words(10), "</td></tr>\n")

    def tail(self, holder: bool) -> None:
        self.doc.holder = holder
        self.add(
            "</table>\n<!--[if mso | IE]></td></tr></table><![endif]-->\n</center>\n",
        )
        if holder:
            self.add(PIXEL_SLOT, "\n</body>\n</html>\n")
        else:
            self.add(PIXEL_SLOT, self.rng.choice(["</body>", "</BODY>"]), "\n</html>\n")


def newsletter(seed: int, size: int, links: int) -> Newsletter:
    """One document of about `size` characters with about `links` links."""
    rng = random.Random(seed)
    w = _Writer(rng)
    w.head()
    w.hero()
    fixed = 1 + 4 + 5  # hero, social icons, footer
    budget = max(0, links - fixed)
    blocks = max(3, size // 2500)
    shares = [0] * blocks
    for _ in range(budget):
        shares[rng.randrange(blocks)] += 1
    for n, share in enumerate(shares):
        if n % 7 == 3 and share >= 3:
            w.grid(share)
        elif share and n % 4 == 1:
            w.paragraph(share - 1)
            w.button()
        else:
            w.paragraph(share)
        if n % 5 == 0:
            w.add(f"<!-- section {n} -->\n")
    footer_estimate = 2500
    while w.size + footer_estimate < size:
        w.paragraph(0)
    w.social()
    w.footer()
    w.tail(holder=seed % 4 == 0)
    return w.doc


def corpus() -> list[Newsletter]:
    """Twelve documents: 20 KB to 200 KB, 10 to 300 links."""
    plan = [
        (20_000, 10),
        (25_000, 40),
        (35_000, 25),
        (50_000, 60),
        (60_000, 120),
        (80_000, 90),
        (100_000, 150),
        (120_000, 200),
        (140_000, 110),
        (160_000, 250),
        (165_000, 180),
        (175_000, 300),
    ]
    return [newsletter(seed, size, links) for seed, (size, links) in enumerate(plan)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show", type=int, help="print this document")
    args = parser.parse_args()
    docs = corpus()
    if args.show is not None:
        print(docs[args.show].html)
        return
    for n, doc in enumerate(docs):
        html = doc.html
        print(f"{n:2}  {len(html.encode()):7,} bytes  {doc.links:3} links")


if __name__ == "__main__":
    main()
