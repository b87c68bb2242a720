"""`make bench`, nodes: SendEmail accepted/s and click redirects/s on SQLite against
PostgreSQL with one node, and on PostgreSQL with one node against two, in one run.

One run starts, side by side on loopback, each `python -m sesame serve --no-deliver`
(the API and tracking node of the deployment in the README; no delivery worker, so
the outbox only fills):
  sqlite      one node on a SQLite file in a temp folder
  pg 1 node   one node on a PostgreSQL database of its own
  pg 2 nodes  two nodes on another PostgreSQL database, the load generator's
              connections spread over both in turn (a round-robin load balancer)
The databases are created for the run (`--postgres` names the server, by a URL with
rights to CREATE DATABASE) and dropped at its end.

Each setup gets a domain identity and a configuration set that tracks opens and
clicks (clicks.py's set_up), and 50 HTML messages with 20 links each, whose tracked
click URLs are read back from `GET /_aws/ses`. Then interleaved rounds, each running
every setup once per workload with loadgen.py over `--connections` keep-alive
connections:
  sends   pre-signed SendEmail requests (send.py's message: HTML with 20 links and a
          text part, tracking on), each signed for its node's Host
  clicks  GET of the tracked links (Host: the tracking domain): verify, record, 302

Where the time goes, per request: the nodes' CPU (every process of each node), the
PostgreSQL backends' CPU (the processes serving the setup's connections, from
pg_stat_activity; the server's shared writer processes are not counted), and the
transactions committed per request (pg_stat_database, which PostgreSQL updates about
once a second, so the figure is approximate). For SQLite the database's work is
inside the node's own CPU.

After the rounds, every setup's nodes are stopped gracefully and its database must
hold one message per accepted SendEmail and one Click event per 302.

    python bench/nodes.py [--rounds N] [--seconds S] [--connections C] [--postgres URL]

Exit status 1 when a request failed, a stored count is off, or PostgreSQL could not
be used (the reason is printed; the SQLite figures still are).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import uvloop

from api import Scenario, Signer, report_table, start_all, terminated_by_signal
from clicks import (
    SET_NAME,
    click_request,
    client_for,
    send_messages,
    sesame_server,
    set_up,
    stop_gracefully,
    tracked_links,
)
from loadgen import Target, add_round_options, median, run_spread
from send import send_params
from servers import Server, process_cpu_seconds

DEFAULT_POSTGRES = os.environ.get(
    "SESAME_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
#: Distinct SendEmail bodies per node, sent round-robin (each makes a new message).
BODIES = 32
MESSAGES, LINKS = 50, 20


# -- the databases ---------------------------------------------------------------------


@dataclass
class Database:
    """One setup's database: its URL, and how to read it from outside Sesame."""

    url: str
    admin: Any = None  # a psycopg connection to the server's maintenance database

    @property
    def name(self) -> str:
        return urlsplit(self.url).path.lstrip("/")

    @property
    def postgres(self) -> bool:
        return self.url.startswith("postgresql://")

    def count(self, sql: str) -> int:
        if not self.postgres:
            path = self.url.removeprefix("sqlite:///")
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as conn:
                return int(conn.execute(sql).fetchone()[0])
        import psycopg

        with psycopg.connect(self.url) as conn:
            row = conn.execute(sql).fetchone()
            assert row is not None
            return int(row[0])

    def backends(self) -> dict[int, float]:
        """PostgreSQL backend pid → its CPU seconds so far (none for SQLite)."""
        if not self.postgres:
            return {}
        rows = self.admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.name,)
        ).fetchall()
        return {pid: process_cpu_seconds([pid]) for (pid,) in rows}

    def commits(self) -> int:
        if not self.postgres:
            return 0
        self.admin.execute("SELECT pg_stat_clear_snapshot()")
        row = self.admin.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (self.name,)
        ).fetchone()
        return int(row[0]) if row else 0


@contextmanager
def postgres_databases(server_url: str, count: int) -> Iterator[list[Database]]:
    """`count` fresh databases on the server `server_url` names, dropped afterwards."""
    import psycopg

    admin = psycopg.connect(server_url, autocommit=True)
    names = [f"sesame_bench_{uuid.uuid4().hex[:10]}" for _ in range(count)]
    parts = urlsplit(server_url)
    try:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
        yield [Database(urlunsplit(parts._replace(path=f"/{name}")), admin) for name in names]
    finally:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def postgres_unavailable(server_url: str) -> str | None:
    """Why PostgreSQL cannot be benchmarked here, or None."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (it comes with the PostgreSQL store)"
    if importlib.util.find_spec("sesame.store.postgres") is None:
        return "this Sesame has no PostgreSQL store (sesame.store.postgres)"
    try:
        with psycopg.connect(server_url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"cannot connect to {server_url}: {error}".strip()
    return None


# -- a setup: one or more nodes on one database ----------------------------------------


@dataclass
class Setup:
    label: str
    database: Database
    nodes: list[Server]
    sends: Scenario = field(init=False)
    clicks: Scenario = field(init=False)
    send_targets: list[Target] = field(default_factory=list)
    click_targets: list[Target] = field(default_factory=list)
    #: CPU seconds of the database's backends, and its commits, per workload.
    database_cpu: dict[str, float] = field(default_factory=lambda: {"sends": 0.0, "clicks": 0.0})
    database_commits: dict[str, int] = field(default_factory=lambda: {"sends": 0, "clicks": 0})
    #: Every response, warm-up included, per workload: status → count.
    totals: dict[str, dict[int, int]] = field(default_factory=lambda: {"sends": {}, "clicks": {}})
    transport_errors: int = 0

    def __post_init__(self) -> None:
        self.sends = Scenario(f"{self.label}: SendEmail", self.nodes[0], [])
        self.clicks = Scenario(f"{self.label}: click", self.nodes[0], [])

    def prepare(self, signer: Signer) -> None:
        """Identity, configuration set, messages to click; the requests of both loads."""
        client = client_for(self.nodes[0])
        set_up(client, SET_NAME)
        send_messages(client, MESSAGES, LINKS)
        links = tracked_links(self.nodes[0])
        if len(links) != MESSAGES * LINKS:
            raise RuntimeError(f"{self.label}: {len(links)} tracked links, sent {MESSAGES}x{LINKS}")
        clicks = [click_request(url) for url in links]
        for node in self.nodes:
            signed = [
                signer.raw(node, "SendEmail", send_params(i) | {"ConfigurationSetName": SET_NAME})
                for i in range(BODIES)
            ]
            self.send_targets.append(Target(node.host, node.port, signed))
            self.click_targets.append(Target(node.host, node.port, clicks))

    def measure(
        self, loop: Any, workload: str, connections: int, seconds: float, keep: bool
    ) -> None:
        scenario, targets = (
            (self.sends, self.send_targets)
            if workload == "sends"
            else (self.clicks, self.click_targets)
        )
        cpu0 = sum(node.cpu_seconds() for node in self.nodes)
        backends0, commits0 = self.database.backends(), self.database.commits()
        result = run_spread(loop, targets, connections=connections, seconds=seconds)
        backends1, commits1 = self.database.backends(), self.database.commits()
        cpu1 = sum(node.cpu_seconds() for node in self.nodes)
        totals = self.totals[workload]
        for status, n in result.statuses.items():
            totals[status] = totals.get(status, 0) + n
        self.transport_errors += result.transport_errors
        if keep:
            scenario.rounds.append(result)
            scenario.server_cpu.append(cpu1 - cpu0)
            self.database_cpu[workload] += sum(
                cpu - backends0.get(pid, 0.0) for pid, cpu in backends1.items()
            )
            self.database_commits[workload] += commits1 - commits0

    def check(self) -> tuple[str, bool]:
        """Stop the nodes gracefully (the recorder writes what it holds); then the
        database must hold a message per accepted SendEmail and a Click per 302."""
        statuses = [stop_gracefully(node) for node in self.nodes]
        accepted = self.totals["sends"].get(200, 0) + MESSAGES  # set-up's sends too
        redirects = self.totals["clicks"].get(302, 0)
        stored = {
            "messages": self.database.count("SELECT COUNT(*) FROM messages"),
            "Click": self.database.count("SELECT COUNT(*) FROM events WHERE event_type = 'Click'"),
        }
        bad = sum(n for s, n in self.totals["sends"].items() if s != 200)
        bad += sum(n for s, n in self.totals["clicks"].items() if s != 302)
        ok = stored == {"messages": accepted, "Click": redirects} and not bad
        ok = ok and not self.transport_errors
        line = (
            f"{self.label}: {accepted:,} SendEmail accepted, {redirects:,} redirects (warm-up "
            f"and set-up included); {bad} other answers, {self.transport_errors} connection "
            f"errors; stored after SIGTERM (exit {statuses}): {stored}: "
            + ("OK." if ok else "FAILED.")
        )
        return line, ok


# -- the report ------------------------------------------------------------------------


def failed(scenario: Scenario) -> int:
    """Answers other than SendEmail's 200 and the click's 302."""
    return sum(n for status, n in scenario.statuses().items() if status not in (200, 302))


def where_the_time_goes(setups: Sequence[Setup]) -> list[str]:
    """Per request: latency, the nodes' CPU, the database's CPU and commits, and what
    one core would serve at that CPU cost (a figure that depends less than the rate on
    how much of the machine the other processes left)."""
    head = (
        f"{'setup':<14} {'workload':<9} {'median/s':>9} {'p50 ms':>7} {'nodes µs/req':>12} "
        f"{'db µs/req':>9} {'commits/req':>11} {'req/s per core':>14}"
    )
    out = [head, "-" * len(head)]
    for setup in setups:
        for workload, scenario in (("sends", setup.sends), ("clicks", setup.clicks)):
            responses = scenario.responses() or 1
            p50 = median([r.p50_ns for r in scenario.rounds]) / 1e6
            nodes_us = sum(scenario.server_cpu) / responses * 1e6
            db_us = setup.database_cpu[workload] / responses * 1e6
            if setup.database.postgres:
                db = f"{db_us:>9.0f}"
                commits = f"{setup.database_commits[workload] / responses:>11.2f}"
            else:
                db, commits = f"{'(in node)':>9}", f"{'-':>11}"
            per_core = 1e6 / (nodes_us + db_us) if nodes_us + db_us else 0.0
            out.append(
                f"{setup.label:<14} {workload:<9} {scenario.median_rate():>9,.0f} {p50:>7.2f} "
                f"{nodes_us:>12.0f} {db} {commits} {per_core:>14,.0f}"
            )
    return out


def ratio_lines(setups: dict[str, Setup]) -> list[str]:
    pairs = [
        ("pg 1 node", "sqlite", "PostgreSQL / SQLite, one node"),
        ("pg 2 nodes", "pg 1 node", "two nodes / one node, PostgreSQL"),
    ]
    out: list[str] = []
    for top, bottom, title in pairs:
        if top not in setups or bottom not in setups:
            continue
        parts = []
        for workload in ("sends", "clicks"):
            a = getattr(setups[top], workload)
            b = getattr(setups[bottom], workload)
            per_round = [x / y for x, y in zip(a.rates(), b.rates(), strict=True) if y]
            parts.append(
                f"{workload} {a.median_rate() / (b.median_rate() or 1):.2f}x "
                f"(rounds {min(per_round, default=0):.2f}-{max(per_round, default=0):.2f}x)"
            )
        out.append(f"{title}: " + "; ".join(parts))
    return out


# -- main ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_round_options(parser, rounds=3)
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help="URL of a PostgreSQL server and a user that may create databases (default: "
        "$SESAME_BENCH_POSTGRES or %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.connections < 2 or args.seconds <= 0:
        parser.error("--rounds and --seconds must be positive, --connections at least 2")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    print(
        f"Sesame nodes benchmark: {args.rounds} rounds x {args.seconds:g} s per setup and "
        f"load (interleaved), {args.connections} connections, {args.warmup:g} s warm-up each\n"
        f"machine: {os.cpu_count()} CPUs shared by the load generator, every node and "
        f"PostgreSQL; Python {platform.python_version()}, uvicorn {version('uvicorn')}",
        flush=True,
    )
    missing = postgres_unavailable(args.postgres)
    if missing:
        print(f"PostgreSQL setups skipped: {missing}.", flush=True)
    with terminated_by_signal(), ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sesame-bench-")))

        def nodes(name: str, database: Database, count: int) -> list[Server]:
            return [
                sesame_server(
                    tmp,
                    tmp / name,
                    "--no-deliver",
                    "--database-url",
                    database.url,
                    name=f"{name}-{number}",
                )
                for number in range(count)
            ]

        sqlite = Database(f"sqlite:///{tmp / 'sqlite.db'}")
        setups = [Setup("sqlite", sqlite, nodes("sqlite", sqlite, 1))]
        if not missing:
            one, two = stack.enter_context(postgres_databases(args.postgres, 2))
            setups.append(Setup("pg 1 node", one, nodes("pg1", one, 1)))
            setups.append(Setup("pg 2 nodes", two, nodes("pg2", two, 2)))
        # The first node of each setup creates its schema before the second starts.
        start_all([s.nodes[0] for s in setups], stack)
        start_all([n for s in setups for n in s.nodes[1:]], stack)

        signer = Signer()
        for setup in setups:
            setup.prepare(signer)
        loop = uvloop.new_event_loop()
        stack.callback(loop.close)
        workloads = ("sends", "clicks")

        def each(seconds: float, keep: bool) -> None:
            for workload in workloads:
                for setup in setups:
                    setup.measure(loop, workload, args.connections, seconds, keep)

        each(args.warmup, keep=False)
        for number in range(1, args.rounds + 1):
            each(args.seconds, keep=True)
            print(f"  round {number}/{args.rounds} done", file=sys.stderr, flush=True)

        scenarios = [s.sends for s in setups] + [s.clicks for s in setups]
        table = report_table(scenarios, bad_label="failed", bad=failed, width=(26, 24))
        print("\n" + "\n".join(table) + "\n")
        by_label = {s.label: s for s in setups}
        print("\n".join(ratio_lines(by_label)))
        print("\nWhere the time goes (per request, over the measured rounds):")
        print("\n".join(where_the_time_goes(setups)) + "\n")
        checks = [setup.check() for setup in setups]
        print("\n".join(line for line, _ in checks))
        print(f"Whole run {time.monotonic() - started:.0f} s.")
        return 0 if all(ok for _, ok in checks) and not missing else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
