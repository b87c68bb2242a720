"""How fast `sesame.mail.tracking.rewrite` is, next to a bare regex scan for `<a`.

    python bench/rewrite.py [--repeats N] [--rounds N]

Over the corpus of `bench/corpus.py` (12 newsletters, 20–200 KB, 10–300 links), in
one process on one core, it times:

- `re scan <a`: `re.finditer(r"<a[\\t\\n\\f\\r />]", html, re.I)` counted — the floor of
  any scanner that looks at every byte, and the baseline the ratio is quoted against;
- `rewrite`: tracking on, with a cheap `click_url` (a fixed prefix and the index) and
  an open URL — the scanner and the splicing, what the issue's ≥ 100 MB/s is about;
- `rewrite + signing`: the same with real `tokens.click_path` / `open_path` URLs
  (HMAC-SHA256 per link), what the send path pays.

MB/s is UTF-8 bytes of input (10^6) per second. Each figure is the median over
`--rounds` rounds; a round runs the whole corpus `--repeats` times with each
scanner in turn, so drift on a shared machine hits all of them alike.

Before timing, it checks byte-faithfulness on every document with the corpus's
oracle (the input with exactly the tracked href values, the `ses:` attributes and
the pixel slot changed) and prints the result; it exits 1 if any document differs.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import Newsletter, corpus  # noqa: E402
from sesame.mail.tokens import Keyring, click_path, open_path  # noqa: E402
from sesame.mail.tracking import Link, rewrite  # noqa: E402

MESSAGE_ID = "0102018c4767ca7e-4b9f787e-7377-4e28-9741-83ab63157da1-000000"
KEYRING = Keyring({"k1": b"s" * 32}, current="k1")
HOST = "https://track.example.com"
A_TAG = re.compile(r"<a[\t\n\f\r />]", re.IGNORECASE)


def cheap(link: Link) -> str:
    return f"{HOST}/L0/{link.index}"


def signed(link: Link) -> str:
    return HOST + click_path(KEYRING, MESSAGE_ID, link.index, link.url)


OPEN_URL = HOST + open_path(KEYRING, MESSAGE_ID)


def check(docs: list[Newsletter]) -> bool:
    """Byte-faithfulness and link lists against the corpus oracle, for both URL kinds."""
    good = 0
    total = 0
    for click in (cheap, signed, None):
        for doc in docs:
            for open_url in (OPEN_URL, None):
                total += 1
                html = doc.html
                expected, links = doc.expected(click, open_url)
                done = rewrite(html, click_url=click, open_url=open_url)
                if done.html == expected and done.links == links:
                    good += 1
    tracked = sum(len(rewrite(d.html, click_url=cheap, open_url=None).links) for d in docs)
    print(
        f"byte-faithful: {good}/{total} rewrites identical to the oracle "
        f"({100 * good / total:.1f}%), {tracked} links tracked in {len(docs)} documents"
    )
    return good == total


def timed(scan: Callable[[str], object], htmls: list[str], repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        for html in htmls:
            scan(html)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="corpus passes per round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds; the median is quoted")
    args = parser.parse_args()

    docs = corpus()
    htmls = [doc.html for doc in docs]
    size = sum(len(html.encode("utf-8")) for html in htmls)
    links = sum(doc.links for doc in docs)
    print(
        f"corpus: {len(htmls)} documents, {size / 1e6:.2f} MB, {links} <a> links, "
        f"{min(len(h.encode()) for h in htmls) / 1e3:.0f}–"
        f"{max(len(h.encode()) for h in htmls) / 1e3:.0f} KB each"
    )
    faithful = check(docs)

    scanners: dict[str, Callable[[str], object]] = {
        "re scan <a": lambda html: sum(1 for _ in A_TAG.finditer(html)),
        "rewrite": lambda html: rewrite(html, click_url=cheap, open_url=OPEN_URL),
        "rewrite + signing": lambda html: rewrite(html, click_url=signed, open_url=OPEN_URL),
    }
    for scan in scanners.values():  # warm up
        timed(scan, htmls, 1)
    rates: dict[str, list[float]] = {name: [] for name in scanners}
    for _ in range(args.rounds):
        for name, scan in scanners.items():
            seconds = timed(scan, htmls, args.repeats)
            rates[name].append(size * args.repeats / seconds / 1e6)

    base = statistics.median(rates["re scan <a"])
    print(f"\n{'scanner':<20} {'MB/s (median)':>14} {'range':>17} {'vs re scan':>11}")
    for name, values in rates.items():
        median = statistics.median(values)
        spread = f"{min(values):.0f}–{max(values):.0f}"
        print(f"{name:<20} {median:>14.1f} {spread:>17} {median / base:>10.3f}×")
    rewrite_rate = statistics.median(rates["rewrite"])
    verdict = "met" if rewrite_rate >= 100 else "NOT met"
    print(f"\ntarget ≥ 100 MB/s for rewrite on one core: {verdict} ({rewrite_rate:.0f} MB/s)")
    print(f"regex scan / rewrite: {base / rewrite_rate:.1f}× (how much more a bare scan does)")
    return 0 if faithful else 1


if __name__ == "__main__":
    sys.exit(main())
