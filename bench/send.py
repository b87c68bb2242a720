"""`make bench`, send: SendEmail accepted/s, and messages delivered/s to an SMTP sink
against smtplib feeding the same sink directly.

One run starts, side by side on loopback:
  sink     an aiosmtpd SMTP server in its own process (this file, `sink`), counting
           messages and connections and stamping each message's arrival
  sesame   `python -m sesame serve --smtp-relay <sink>` (one uvicorn process, SQLite
           in a temp folder, delivery in the process, as shipped)
  backlog  the same with --no-deliver and its own database, for delivery alone
sets both servers up with boto3 (a domain identity; a configuration set with a
CustomRedirectDomain and an enabled OPEN/CLICK event destination, so tracking is on),
pre-signs SendEmail requests with botocore's SigV4Auth (an HTML part with LINKS links,
a text part), and then runs interleaved rounds. Each round measures, in turn:

  Sesame           loadgen.py sends the signed SendEmail requests over keep-alive
                   connections for --seconds: accepted/s is the 200s over that time.
                   Then the run waits until the sink has every accepted message:
                   delivered/s = accepted / (last arrival at the sink - round start).
  worker alone     the same load fills `backlog`; then `sesame worker` on that
                   database delivers it: delivered/s from first to last arrival
  smtplib, 1 conn  one smtplib connection, reused, sends the messages Sesame delivered
                   (their exact bytes and envelopes, as the sink saved them during the
                   warm-up) one after another for --baseline-seconds, as fast as it can
  smtplib, N conn  the same with one connection per message (connect, EHLO, MAIL, RCPT,
                   DATA, QUIT)
  smtplib, 8 conn  8 smtplib connections (a thread each), reused, sending at once: the
                   concurrency Sesame's worker delivers with (relay.POOL_SIZE)

The issue's target: Sesame's delivered/s at 0.8x or more of the sink's own rate, with
tracking on. The sink's own rate is the one-connection smtplib figure: how fast this
sink takes these messages when the client costs it nothing extra. A connection per
message is a choice of the client, and its cost is part of what is measured, so the
per-connection figure is shown next to it, not used as the yardstick. Sesame's worker
sends over 8 connections at once, so the same with 8 smtplib connections is shown too:
the fair comparison for the worker's concurrency.

After the rounds, for both servers: every accepted message must have reached the sink
exactly once, and after a graceful stop the SQLite file must hold one message, one Send
and one Delivery event per accepted SendEmail and no outbox row.

    python bench/send.py [--rounds N] [--seconds S] [--connections C] [--profile [FILE]]
    python bench/send.py sink --port P --control-port Q --save-dir D   (the sink alone)

Exit status 1 when Sesame answered anything but 200, a message went missing or came
twice, or the stored state is off; the 0.8x target is reported, not enforced.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import smtplib
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import uvloop

from api import Signer, start_all, terminated_by_signal
from clicks import (
    Profile,
    add_profile_option,
    client_for,
    html_message,
    sesame_server,
    set_up,
    stop_gracefully,
)
from loadgen import Round, median, run_round
from servers import Server, free_port
from sesame.delivery.relay import POOL_SIZE

DOMAIN = "example.com"
SET_NAME = "sends"
TARGET_RATIO = 0.8
LINKS = 20
#: Distinct SendEmail bodies, sent round-robin (each request makes a new message anyway).
BODIES = 64
#: Messages the sink keeps (bytes and envelope) for the smtplib baseline.
SAVED = 64
#: A round fails when the sink has seen no new message for this long.
STALL_SECONDS = 30.0
SINK_HOSTNAME = "sink.bench.invalid"
CLIENT_HOSTNAME = "client.bench.invalid"


# -- the sink (its own process) --------------------------------------------------------


class Tally:
    """aiosmtpd handler: counts messages, bytes and connections; keeps the first few."""

    def __init__(self, save_dir: Path, save: int) -> None:
        self.save_dir = save_dir
        self.save = save
        self.saved = 0
        self.count = 0
        self.bytes = 0
        self.connections = 0
        self.first: float | None = None
        self.last: float | None = None

    def reset(self) -> dict[str, Any]:
        """Start counting afresh; the counts until now."""
        before = self.stats()
        self.count = self.bytes = self.connections = 0
        self.first = self.last = None
        return before

    def stats(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "bytes": self.bytes,
            "connections": self.connections,
            "first": self.first,
            "last": self.last,
        }

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        now = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process
        self.count += 1
        self.bytes += len(envelope.content)
        if self.first is None:
            self.first = now
        self.last = now
        if self.saved < self.save:
            record = {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "data": base64.b64encode(envelope.content).decode(),
            }
            (self.save_dir / f"{self.saved:04d}.json").write_text(json.dumps(record))
            self.saved += 1
        return "250 2.0.0 Ok: queued by the bench sink"


async def run_sink(host: str, port: int, control_port: int, save_dir: Path, save: int) -> None:
    from aiosmtpd.smtp import SMTP

    tally = Tally(save_dir, save)

    class CountingSMTP(SMTP):  # type: ignore[misc]
        def connection_made(self, transport: Any) -> None:
            tally.connections += 1
            super().connection_made(transport)

    async def control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        command = (await reader.readline()).strip()
        answer = tally.reset() if command == b"reset" else tally.stats()
        writer.write(json.dumps(answer).encode() + b"\n")
        await writer.drain()
        writer.close()

    loop = asyncio.get_running_loop()
    controls = await asyncio.start_server(control, host, control_port)
    # An explicit hostname: without one aiosmtpd asks socket.getfqdn() per connection.
    smtp = await loop.create_server(
        lambda: CountingSMTP(tally, hostname=SINK_HOSTNAME), host, port, backlog=1024
    )
    async with controls, smtp:
        await smtp.serve_forever()


class Sink:
    """The bench's side of the sink: its process, and its control port."""

    def __init__(self, tmp: Path) -> None:
        self.control_port = free_port()
        self.save_dir = tmp / "delivered"
        self.save_dir.mkdir()
        port = free_port()
        argv = [sys.executable, str(Path(__file__).resolve()), "sink", "--port", str(port)]
        argv += ["--control-port", str(self.control_port), "--save-dir", str(self.save_dir)]
        self.server = Server("sink", argv, port, tmp / "sink.log")

    @property
    def address(self) -> str:
        return f"{self.server.host}:{self.server.port}"

    def _ask(self, command: bytes) -> dict[str, Any]:
        with socket.create_connection((self.server.host, self.control_port), timeout=10) as s:
            s.sendall(command + b"\n")
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
        result: dict[str, Any] = json.loads(answer)
        return result

    def stats(self) -> dict[str, Any]:
        return self._ask(b"stats")

    def reset(self) -> None:
        self._ask(b"reset")

    def wait_for(self, count: int) -> dict[str, Any]:
        """Poll until the sink has `count` messages; fail after STALL_SECONDS without one."""
        stats = self.stats()
        progress_at, seen = time.monotonic(), stats["count"]
        while stats["count"] < count:
            if stats["count"] != seen:
                progress_at, seen = time.monotonic(), stats["count"]
            elif time.monotonic() - progress_at > STALL_SECONDS:
                raise RuntimeError(
                    f"the sink got {seen} of {count} messages and nothing for {STALL_SECONDS:g} s"
                )
            time.sleep(0.02)
            stats = self.stats()
        return stats

    def saved(self) -> list[tuple[str, list[str], bytes]]:
        """(sender, recipients, bytes) of the messages the sink kept, in arrival order."""
        found = []
        for path in sorted(self.save_dir.glob("*.json")):
            record = json.loads(path.read_text())
            found.append((record["from"], record["to"], base64.b64decode(record["data"])))
        return found


# -- what Sesame is sent ---------------------------------------------------------------


def send_params(number: int) -> dict[str, Any]:
    return {
        "FromEmailAddress": f"News <news@{DOMAIN}>",
        "Destination": {"ToAddresses": [f"reader{number}@example.org"]},
        "Content": {
            "Simple": {
                "Subject": {"Data": f"Issue {number}: the news this week"},
                "Body": {
                    "Text": {"Data": f"Issue {number}. Read it at https://example.org/{number}"},
                    "Html": {"Data": html_message(number, LINKS)},
                },
            }
        },
        "ConfigurationSetName": SET_NAME,
        "EmailTags": [{"Name": "campaign", "Value": "bench"}],
    }


# -- the scenarios ---------------------------------------------------------------------


@dataclass
class Run:
    """One scenario's measured rounds."""

    label: str
    rates: list[float] = field(default_factory=list)  # delivered messages/s, per round
    messages: int = 0  # at the sink
    bytes: int = 0
    connections: int = 0  # SMTP connections the sink accepted
    sink_cpu: float = 0.0
    #: CPU of the sending side (Sesame, the worker, or this process for smtplib) and
    #: the number of messages it was spent on.
    sender_cpu: float = 0.0
    sender_messages: int = 0
    accepted: list[Round] = field(default_factory=list)  # the SendEmail load, if any

    def median(self) -> float:
        return median(self.rates)

    def add(self, stats: dict[str, Any], rate: float) -> None:
        self.rates.append(rate)
        self.messages += stats["count"]
        self.bytes += stats["bytes"]
        self.connections += stats["connections"]


def elapsed_rate(stats: dict[str, Any], start: float) -> float:
    """Messages at the sink per second, from `start` to the last arrival."""
    return stats["count"] / (stats["last"] - start) if stats["count"] else 0.0


class Bench:
    """The servers of one run and what every round adds up."""

    def __init__(
        self,
        tmp: Path,
        loop: asyncio.AbstractEventLoop,
        sink: Sink,
        sesame: Server,
        backlog: Server,
        backlog_dir: Path,
        connections: int,
    ) -> None:
        self.tmp = tmp
        self.loop = loop
        self.sink = sink
        self.sesame = sesame
        self.backlog = backlog
        self.backlog_dir = backlog_dir
        self.connections = connections
        signer = Signer()
        self.requests = {
            server.name: [signer.raw(server, "SendEmail", send_params(i)) for i in range(BODIES)]
            for server in (sesame, backlog)
        }
        #: server name -> [accepted, arrived at the sink], warm-up included
        self.totals = {sesame.name: [0, 0], backlog.name: [0, 0]}
        self.non_200 = 0
        self.transport_errors = 0
        self.saved: list[tuple[str, list[str], bytes]] = []

    def _accept(self, server: Server, seconds: float) -> Round:
        accepted = run_round(
            self.loop,
            server.host,
            server.port,
            self.requests[server.name],
            connections=self.connections,
            seconds=seconds,
        )
        self.non_200 += sum(n for status, n in accepted.statuses.items() if status != 200)
        self.transport_errors += accepted.transport_errors
        self.totals[server.name][0] += accepted.statuses.get(200, 0)
        return accepted

    def end_to_end(self, run: Run | None, seconds: float) -> None:
        """SendEmail for `seconds` with delivery running, then until all is delivered:
        delivered/s from the round's start to the last arrival at the sink."""
        self.sink.reset()
        cpu, sink_cpu = self.sesame.cpu_seconds(), self.sink.server.cpu_seconds()
        start = time.monotonic()
        accepted = self._accept(self.sesame, seconds)
        stats = self.sink.wait_for(accepted.statuses.get(200, 0))
        self.totals[self.sesame.name][1] += stats["count"]
        if run is not None:
            run.add(stats, elapsed_rate(stats, start))
            run.accepted.append(accepted)
            run.sender_cpu += self.sesame.cpu_seconds() - cpu
            run.sender_messages += stats["count"]
            run.sink_cpu += self.sink.server.cpu_seconds() - sink_cpu

    def drain(self, run: Run | None, seconds: float) -> None:
        """Delivery alone: SendEmail for `seconds` into a server with no delivery worker,
        then a `sesame worker` on the same database delivers the backlog: delivered/s
        from the first to the last arrival (the worker's start-up is left out)."""
        backlog = self._accept(self.backlog, seconds).statuses.get(200, 0)
        self.sink.reset()
        argv = [sys.executable, "-m", "sesame", "worker", "--data-dir", str(self.backlog_dir)]
        worker = Server("worker", [*argv, "--smtp-relay", self.sink.address], 0, self.tmp / "w.log")
        worker.start()
        try:
            first = self.sink.wait_for(min(1, backlog))
            cpu, sink_cpu = worker.cpu_seconds(), self.sink.server.cpu_seconds()
            stats = self.sink.wait_for(backlog)
            cpu = worker.cpu_seconds() - cpu
            sink_cpu = self.sink.server.cpu_seconds() - sink_cpu
        finally:
            worker.stop()
        self.totals[self.backlog.name][1] += stats["count"]
        if run is not None:
            span = (stats["last"] or 0.0) - (stats["first"] or 0.0)
            run.add(stats, (stats["count"] - 1) / span if span > 0 else 0.0)
            run.sender_cpu += cpu
            run.sender_messages += stats["count"] - first["count"]
            run.sink_cpu += sink_cpu

    def smtplib(self, run: Run | None, reuse: bool, seconds: float, connections: int = 1) -> None:
        """smtplib sends the messages Sesame delivered (cycled) to the sink for `seconds`,
        one at a time on each of `connections` connections at once (a thread each),
        reusing each connection (`reuse`) or opening one per message."""
        host, port = self.sink.server.host, self.sink.server.port
        self.sink.reset()
        cpu, sink_cpu = time.process_time(), self.sink.server.cpu_seconds()
        start = time.monotonic()
        deadline = start + seconds
        counts = [0] * connections

        def client(slot: int) -> None:
            sent = 0
            connection: smtplib.SMTP | None = None
            while time.monotonic() < deadline:
                sender, recipients, data = self.saved[(slot + sent * connections) % len(self.saved)]
                if connection is None:
                    connection = smtplib.SMTP(host, port, local_hostname=CLIENT_HOSTNAME)
                connection.sendmail(sender, recipients, data)
                sent += 1
                if not reuse:
                    connection.quit()
                    connection = None
            if connection is not None:
                connection.quit()
            counts[slot] = sent

        threads = [threading.Thread(target=client, args=(slot,)) for slot in range(connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sent = sum(counts)
        cpu = time.process_time() - cpu
        stats = self.sink.wait_for(sent)
        if run is not None:
            run.add(stats, elapsed_rate(stats, start))
            run.sender_cpu += cpu
            run.sender_messages += sent
            run.sink_cpu += self.sink.server.cpu_seconds() - sink_cpu


# -- checks after the run --------------------------------------------------------------


def stored_counts(database: Path) -> dict[str, int] | str:
    """What the SQLite file holds (read-only, another process's view), or why not."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as conn:
            counts = {
                "messages": conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0],
                "outbox": conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0],
            }
            for kind in ("Send", "Delivery", "Bounce", "DeliveryDelay"):
                counts[kind] = conn.execute(
                    "SELECT COUNT(*) FROM events WHERE event_type = ?", (kind,)
                ).fetchone()[0]
    except sqlite3.Error as error:
        return f"{type(error).__name__}: {error}"
    return counts


def check_server(label: str, server: Server, database: Path, totals: list[int]) -> tuple[str, bool]:
    """Every accepted message arrived exactly once and is stored as delivered."""
    accepted, arrived = totals
    status = stop_gracefully(server)
    stored = stored_counts(database)
    expected = {"messages": accepted, "outbox": 0, "Send": accepted, "Delivery": accepted}
    expected |= {"Bounce": 0, "DeliveryDelay": 0}
    ok = arrived == accepted and stored == expected
    line = (
        f"{label}: {accepted:,} accepted (warm-up included), {arrived:,} arrived at the sink; "
        f"stored after SIGTERM (exit status {status}): {stored}: "
        + ("each delivered exactly once and stored as delivered, OK." if ok else "FAILED.")
    )
    return line, ok


# -- the report ------------------------------------------------------------------------


def report(runs: Sequence[Run], yardstick: Run) -> list[str]:
    head = (
        f"{'scenario':<40} {'delivered msg/s per round':<30} {'median':>7} {'ratio':>6} "
        f"{'conn/msg':>8} {'KB/msg':>6} {'sink µs/msg':>11} {'sender µs/msg':>13}"
    )
    out = [head, "-" * len(head)]
    for run in runs:
        n = run.messages or 1
        sender = run.sender_cpu / (run.sender_messages or 1) * 1e6
        out.append(
            f"{run.label:<40} {' '.join(f'{r:,.0f}' for r in run.rates):<30} "
            f"{run.median():>7,.0f} {run.median() / (yardstick.median() or 1):>5.2f}x "
            f"{run.connections / n:>8.2f} {run.bytes / n / 1000:>6.1f} "
            f"{run.sink_cpu / n * 1e6:>11.0f} {sender:>13.0f}"
        )
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    sink = sub.add_parser("sink", help="run only the counting SMTP sink")
    sink.add_argument("--host", default="127.0.0.1")
    sink.add_argument("--port", type=int, required=True)
    sink.add_argument("--control-port", type=int, required=True)
    sink.add_argument("--save-dir", type=Path, required=True)
    sink.add_argument("--save", type=int, default=SAVED)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="seconds of SendEmail load per round"
    )
    parser.add_argument(
        "--baseline-seconds", type=float, default=1.5, help="seconds per smtplib round"
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per scenario")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    add_profile_option(parser)
    args = parser.parse_args(argv)
    if args.command is None and (args.rounds < 1 or args.connections < 1 or args.seconds <= 0):
        parser.error("--rounds, --connections and --seconds must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "sink":
        asyncio.run(run_sink(args.host, args.port, args.control_port, args.save_dir, args.save))
        return 0
    started = time.monotonic()
    print(
        f"Sesame send benchmark: {args.rounds} rounds; SendEmail for {args.seconds:g} s over "
        f"{args.connections} connections, then until delivered; smtplib for "
        f"{args.baseline_seconds:g} s. Tracking on, {LINKS} links per message.\n"
        f"machine: {os.cpu_count()} CPUs shared by the load generator, Sesame and the sink; "
        f"Python {platform.python_version()}, aiosmtpd {version('aiosmtpd')}, "
        f"aiosmtplib {version('aiosmtplib')}",
        flush=True,
    )
    with terminated_by_signal(), ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sesame-bench-")))
        sink = Sink(tmp)
        relay = ("--smtp-relay", sink.address)
        sesame = sesame_server(tmp, tmp / "sesame", *relay)
        backlog = sesame_server(tmp, tmp / "backlog", *relay, "--no-deliver", name="backlog")
        start_all([sink.server, sesame, backlog], stack)
        for server in (sesame, backlog):
            set_up(client_for(server), SET_NAME)
        loop = uvloop.new_event_loop()
        stack.callback(loop.close)
        bench = Bench(tmp, loop, sink, sesame, backlog, tmp / "backlog", args.connections)
        size = sum(map(len, bench.requests[sesame.name])) / BODIES
        print(f"SendEmail: {BODIES} distinct requests of {size / 1000:.1f} KB, signed once.")

        end_to_end = Run("Sesame: SendEmail -> relay -> sink")
        drain = Run("Sesame worker alone, draining a backlog")
        one = Run("smtplib, one connection reused")
        many = Run("smtplib, one connection per message")
        pooled = Run(f"smtplib, {POOL_SIZE} connections reused")
        bench.end_to_end(None, args.warmup)  # the sink keeps these messages' bytes
        bench.saved = sink.saved()
        bench.drain(None, args.warmup)
        bench.smtplib(None, True, args.warmup)
        bench.smtplib(None, False, args.warmup)
        bench.smtplib(None, True, args.warmup, POOL_SIZE)
        profile = (
            Profile.start(sesame, args.profile or tmp / "send.pyspy")
            if args.profile is not None
            else None
        )
        for number in range(1, args.rounds + 1):
            bench.end_to_end(end_to_end, args.seconds)
            bench.drain(drain, args.seconds)
            bench.smtplib(one, True, args.baseline_seconds)
            bench.smtplib(many, False, args.baseline_seconds)
            bench.smtplib(pooled, True, args.baseline_seconds, POOL_SIZE)
            print(f"  round {number}/{args.rounds} done", file=sys.stderr, flush=True)
        profile_lines = profile.stop() if profile else []

        checks = [
            check_server("Sesame", sesame, tmp / "sesame" / "sesame.db", bench.totals[sesame.name]),
            check_server(
                "Backlog + worker", backlog, tmp / "backlog" / "sesame.db", bench.totals["backlog"]
            ),
        ]
        accepted = [r.rate for r in end_to_end.accepted]
        per_round = [s / o for s, o in zip(end_to_end.rates, one.rates, strict=True) if o]
        ratio = end_to_end.median() / (one.median() or 1)
        alone = drain.median() / (one.median() or 1)
        p50 = median([r.p50_ns for r in end_to_end.accepted]) / 1e6
        p99 = median([r.p99_ns for r in end_to_end.accepted]) / 1e6
        print(
            f"\nAccepted: SendEmail 200s per second of load, per round "
            f"{' '.join(f'{r:,.0f}' for r in accepted)}; median {median(accepted):,.0f}/s "
            f"(p50 {p50:.0f} ms, p99 {p99:.0f} ms at {args.connections} connections).\n"
        )
        print("\n".join(report([end_to_end, drain, one, many, pooled], one)))
        print(
            "ratio: median over the median of smtplib with one connection reused. sender µs/msg: "
            "CPU of the sending process per message (Sesame's covers accepting, tracking, "
            "storing and delivering; the worker's, delivering; smtplib's, this process).\n"
        )
        per_round_alone = [s / o for s, o in zip(drain.rates, one.rates, strict=True) if o]
        print(
            f"Delivery by `sesame worker` ({POOL_SIZE} connections) / the sink's own rate "
            f"(smtplib, one connection): {alone:.2f}x (median / median); per round "
            f"{min(per_round_alone, default=0):.2f}x to {max(per_round_alone, default=0):.2f}x. "
            f"Target >= {TARGET_RATIO:g}x: {'met' if alone >= TARGET_RATIO else 'NOT met'}. "
            f"Against smtplib over the same {POOL_SIZE} connections: "
            f"{drain.median() / (pooled.median() or 1):.2f}x."
        )
        print(
            f"End to end (SendEmail accepted -> delivered) / the sink's own rate: {ratio:.2f}x "
            f"(median / median); per round {min(per_round, default=0):.2f}x to "
            f"{max(per_round, default=0):.2f}x."
        )
        print(
            f"Delivered / accepted: {end_to_end.median() / (median(accepted) or 1):.2f} (near 1: "
            "acceptance sets the pace; below: delivery does)."
        )
        for line, _ in checks:
            print(line)
        errors = bench.non_200 + bench.transport_errors
        print(
            f"Errors: {bench.non_200} non-200 SendEmail answers, "
            f"{bench.transport_errors} connection errors (must be 0)."
        )
        if profile_lines:
            print("\n".join(profile_lines))
        print(f"Whole run {time.monotonic() - started:.0f} s.")
        return 0 if errors == 0 and all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
