"""What tracking did to a message's links, read back from the delivered HTML.

Each `<a href>` of the HTML as it was sent is looked at: a click URL is decoded
and verified with the signing keys (`mail.tokens.read_click`), which gives the
link's index and original target; the index gives the link's tags (kept with the
message, as Click events use them). Links are counted per (target, tags), the
pair a Click record carries, so two links to one URL with the same tags share a
row (the record cannot tell them apart).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from sesame.mail.tokens import Keyring, read_click, read_open
from sesame.store.base import Event


class _Anchors(HTMLParser):
    """Every `<a href>` with its text, and every `<img src>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[str, str]] = []
        self.images: list[str] = []
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self._open.append((values["href"] or "", []))
        elif tag == "img":
            if values.get("src"):
                self.images.append(values["src"] or "")
            if self._open and values.get("alt"):  # an image link's text is its alt
                self._open[-1][1].append(values["alt"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open:
            href, text = self._open.pop()
            self.anchors.append((href, " ".join(" ".join(text).split())))

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][1].append(data)

    def close(self) -> None:
        super().close()
        while self._open:  # an <a> never closed still counts
            self.handle_endtag("a")


@dataclass
class TrackedLink:
    target: str
    tags: dict[str, list[str]]
    #: The link's index (or indexes) in the message, 0-based as in the click URL.
    positions: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    clicks: int = 0


@dataclass
class LinkReport:
    tracked: list[TrackedLink]
    #: Links left as they were (`ses:no-track`, mailto:, …): (href, text).
    untracked: list[tuple[str, str]]
    #: Click URLs that do not verify (signed with a key no longer kept).
    unverified: list[str]
    #: Whether the HTML carries this message's open pixel.
    pixel: bool


def _key(target: str, tags: dict[str, Any]) -> tuple[str, str]:
    return target, json.dumps(tags, sort_keys=True)


def link_report(
    html: str | None,
    message_id: str,
    link_tags: Sequence[dict[str, Any]],
    events: Sequence[Event],
    keyring: Keyring,
) -> LinkReport:
    report = LinkReport([], [], [], pixel=False)
    if html is None:
        return report
    parser = _Anchors()
    parser.feed(html)
    parser.close()
    rows: dict[tuple[str, str], TrackedLink] = {}
    for href, text in parser.anchors:
        path = urlsplit(href.strip()).path
        if not path.startswith("/L0/"):
            report.untracked.append((href, text))
            continue
        click = read_click(keyring, path)
        if click is None or click.message_id != message_id:
            report.unverified.append(href)
            continue
        tags = link_tags[click.index].get("tags", {}) if click.index < len(link_tags) else {}
        row = rows.setdefault(_key(click.url, tags), TrackedLink(click.url, tags))
        row.positions.append(click.index)
        if text:
            row.texts.append(text)
    for event in events:
        if event.event_type != "Click":
            continue
        detail = event.record.get("click", {})
        found = rows.get(_key(str(detail.get("link", "")), detail.get("linkTags") or {}))
        if found is not None:
            found.clicks += 1
    report.tracked = sorted(rows.values(), key=lambda row: row.positions[0])
    report.pixel = any(
        read_open(keyring, urlsplit(src.strip()).path) == message_id
        for src in parser.images
        if "/I0/" in src
    )
    return report
