"""`make bench`, quota: what a sending-quota reservation costs as the 24-hour window fills.

Every SendEmail reserves its recipients against the quotas in one store transaction
(`Store.reserve_send`, with the per-second and the daily limit). The store answers a
sliding window's count from running totals: the total now minus the total at the
window's start, two index lookups. The baseline, in the same run on a second SQLite
file filled the same way, is the obvious alternative: `SUM(recipients)` over the
window's rows inside the same kind of write transaction, a scan that grows with the
number of sends in the window.

For each window size it fills both databases to that many sends, then times
`--calls` reservations (each a real, committed one) and reports the median
microseconds per call over `--rounds` rounds, and the ratio baseline / Sesame.

    python bench/quota.py [--sizes 1000,10000,50000] [--calls 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sesame.store import open_store
from sesame.store.base import SendLimit, SendRecord, Store

LIMITS = [SendLimit("rate", 1.0, 1e9, allow_oversized=True), SendLimit("daily", 86_400.0, 1e12)]


class SumBaseline:
    """The same ledger, counted by scanning the window (BEGIN IMMEDIATE, like the store)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("CREATE TABLE sends (message_id TEXT PRIMARY KEY, sent REAL, n INTEGER)")
        self.conn.execute("CREATE INDEX sends_sent ON sends (sent)")

    def reserve(self, message_id: str, sent: float) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        for limit in LIMITS:
            (used,) = self.conn.execute(
                "SELECT COALESCE(SUM(n), 0) FROM sends WHERE sent > ?", (sent - limit.window,)
            ).fetchone()
            if used + 1 > limit.recipients:
                self.conn.execute("ROLLBACK")
                return
        self.conn.execute("INSERT INTO sends VALUES (?, ?, 1)", (message_id, sent))
        self.conn.execute("COMMIT")


def timed(calls: int, reserve: object) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        reserve()  # type: ignore[operator]
    return (time.perf_counter() - start) / calls * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="sends in the window")
    parser.add_argument("--calls", type=int, default=200, help="reservations timed per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="sesame-quota-"))
    store: Store = open_store(f"sqlite:///{folder / 'sesame.db'}")
    baseline = SumBaseline(folder / "baseline.db")
    counter = 0

    def next_id() -> str:
        nonlocal counter
        counter += 1
        return f"m{counter}"

    print(f"quota reservation, {args.calls} calls x {args.rounds} rounds per window size")
    print(f"{'sends in window':>15} {'Sesame µs/call':>15} {'SUM scan µs/call':>17} {'ratio':>7}")
    filled = 0
    for size in sizes:
        while filled < size:
            now = time.time()
            store.reserve_send(SendRecord(next_id(), now, 1), [])
            baseline.reserve(next_id(), now)
            filled += 1
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(args.rounds):
            ours.append(
                timed(
                    args.calls,
                    lambda: store.reserve_send(SendRecord(next_id(), time.time(), 1), LIMITS),
                )
            )
            theirs.append(timed(args.calls, lambda: baseline.reserve(next_id(), time.time())))
            filled += args.calls
        mine, base = statistics.median(ours), statistics.median(theirs)
        print(f"{size:>15,} {mine:>15.0f} {base:>17.0f} {base / mine:>6.1f}x")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
