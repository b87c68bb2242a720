"""`make bench`, clicks: requests/s of Sesame's click redirect against a bare 302.

One run starts, side by side on loopback:
  bare302  the smallest ASGI app answering a fixed 302 (this file, `serve-302`),
           under the uvicorn Config that `sesame serve` uses
  sesame   `python -m sesame serve` (one uvicorn process, SQLite in a temp folder,
           no relay: mail is kept in the local mailbox)
sets Sesame up with boto3 (a domain identity, a configuration set with a
CustomRedirectDomain and an enabled OPEN/CLICK event destination), sends HTML
messages with links, reads the tracked click URLs back from `GET /_aws/ses`, and
then drives the same pre-built GET requests (Host: the custom tracking domain) at
both servers in interleaved fixed-duration rounds with loadgen.py.

For Sesame each request is the real thing: the signed path is verified (HMAC), the
hit is handed to the recorder, and the 302 goes out; the Click event is written to
the store in batches, off the request path. The issue's target is Sesame at 0.8x or
more of the bare 302. After the rounds the Click events are counted in the SQLite
file, first while Sesame runs (does the recorder keep up?) and again after a
graceful stop (SIGTERM flushes what is buffered): the count must equal the 302s.

    python bench/clicks.py [--rounds N] [--seconds S] [--warmup S] [--connections C]
    python bench/clicks.py serve-302 --port P      (the baseline server on its own)

`--experiments` adds one more server: Sesame's own `build_app` on the same SQLite
file, with the recorder's write replaced by a no-op (hits are still verified and
buffered, then dropped), which measures what writing the Click events costs.

Exit status 1 when Sesame answered anything but a 302, a connection failed, or a
Click event is missing; the 0.8x target is reported, not enforced.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import requests
import uvloop

from api import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, Scenario, start_all, terminated_by_signal
from api import report_table as api_report_table
from baseline import lifespan
from loadgen import Round, add_round_options, run_round
from servers import Server, free_port

DOMAIN = "example.com"
TRACKING_HOST = f"track.{DOMAIN}"
SET_NAME = "clicks"
TARGET_RATIO = 0.8
#: How long a graceful stop may take (the recorder writes what it still holds).
STOP_SECONDS = 60.0
#: How long the recorder may take to write the last round's clicks while running.
CATCH_UP_SECONDS = 15.0
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) sesame-bench/1.0"


# -- the baseline: a bare ASGI app answering a fixed 302 -------------------------------

#: What the bare app redirects to: as long as a typical target in the messages below.
BARE_LOCATION = b"https://example.org/articles/7?utm_source=newsletter&utm_medium=email"
#: The header set of Sesame's click answer (web/tracking.py), so both write alike.
BARE_HEADERS = [
    (b"location", BARE_LOCATION),
    (b"cache-control", b"no-store, no-cache, must-revalidate, max-age=0"),
    (b"content-type", b"text/plain"),
    (b"content-length", b"0"),
]


async def bare_302(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The smallest ASGI app that answers every request with the same 302."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    await send({"type": "http.response.start", "status": 302, "headers": BARE_HEADERS})
    await send({"type": "http.response.body", "body": b""})


def serve_302(host: str, port: int) -> None:
    import uvicorn

    from sesame.server import config

    # The uvicorn Config `sesame serve` uses, so the difference to Sesame is Sesame.
    uvicorn.Server(config(bare_302, host, port)).run()


def serve_without_writes(host: str, port: int, data_dir: Path) -> None:
    """Experiment: Sesame as `sesame serve` builds it, except that the recorder drops
    every batch instead of building and storing its Click events."""
    import uvicorn

    from sesame.app import build_app
    from sesame.config import Settings
    from sesame.server import config

    settings = Settings(
        host=host,
        port=port,
        data_dir=data_dir,
        region=REGION,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        deliver=False,
    )
    app = build_app(settings)
    app.recorder._write = lambda batch: []  # type: ignore[method-assign]
    uvicorn.Server(config(app, host, port)).run()


# -- setting Sesame up and collecting tracked links ------------------------------------


def html_message(number: int, links: int) -> str:
    """A small newsletter: `links` distinct links in paragraphs of text."""
    items = "\n".join(
        f'<p>Story {i}: <a href="https://example.org/articles/{number}-{i}'
        f'?utm_source=newsletter&amp;utm_medium=email">read more</a> about item {i}.</p>'
        for i in range(links)
    )
    return (
        "<!DOCTYPE html><html><head><title>News</title></head><body>"
        f"<h1>Issue {number}</h1>\n{items}\n<p>Thanks for reading.</p></body></html>"
    )


def client_for(server: Server) -> Any:
    return boto3.client(
        "sesv2",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


def sesame_server(tmp: Path, data_dir: Path, *extra: str, name: str = "sesame") -> Server:
    """`python -m sesame serve` on a free port, SQLite in `data_dir`, not started yet."""
    port = free_port()
    argv = [sys.executable, "-m", "sesame", "serve", "--port", str(port), "--region", REGION]
    argv += ["--data-dir", str(data_dir), "--access-key-id", ACCESS_KEY_ID]
    argv += ["--secret-access-key", SECRET_ACCESS_KEY, *extra]
    return Server(name, argv, port, tmp / f"{name}.log")


def set_up(client: Any, set_name: str) -> None:
    """A verified domain, and a configuration set that tracks opens and clicks."""
    client.create_email_identity(EmailIdentity=DOMAIN)
    client.create_configuration_set(
        ConfigurationSetName=set_name, TrackingOptions={"CustomRedirectDomain": TRACKING_HOST}
    )
    client.create_configuration_set_event_destination(
        ConfigurationSetName=set_name,
        EventDestinationName="engagement",
        EventDestination={
            "Enabled": True,
            "MatchingEventTypes": ["OPEN", "CLICK"],
            "SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:engagement"},
        },
    )


def send_messages(client: Any, messages: int, links: int) -> None:
    for number in range(messages):
        client.send_email(
            FromEmailAddress=f"news@{DOMAIN}",
            Destination={"ToAddresses": [f"reader{number}@example.org"]},
            Content={
                "Simple": {
                    "Subject": {"Data": f"Issue {number}"},
                    "Body": {"Html": {"Data": html_message(number, links)}},
                }
            },
            ConfigurationSetName=SET_NAME,
        )


def tracked_links(server: Server) -> list[str]:
    """Every tracked click URL of every message in Sesame's local mailbox."""
    answer = requests.get(f"{server.endpoint}/_aws/ses", timeout=30)
    answer.raise_for_status()
    found: list[str] = []
    pattern = re.compile(rf'href="(https?://{re.escape(TRACKING_HOST)}/L0/[^"]+)"')
    for message in answer.json()["messages"]:
        found += pattern.findall(message["Body"]["html_part"] or "")
    return found


def click_request(url: str) -> bytes:
    """A browser-like GET of `url`, with the custom tracking domain as Host."""
    parts = urlsplit(url)
    return (
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: {USER_AGENT}\r\n"
        "Accept: text/html,*/*;q=0.8\r\nAccept-Language: en\r\n\r\n"
    ).encode()


def check_one_click(server: Server, url: str) -> str:
    """Follow one link by hand: a 302 to the target the message had. Its Location."""
    parts = urlsplit(url)
    answer = requests.get(
        f"{server.endpoint}{parts.path}",
        headers={"Host": parts.netloc, "User-Agent": USER_AGENT},
        allow_redirects=False,
        timeout=30,
    )
    location = answer.headers.get("Location", "")
    # The target is the path's first segment after /L0/, percent-encoded (mail/tokens.py).
    expected = unquote(parts.path.split("/")[2])
    if answer.status_code != 302 or location != expected:
        raise RuntimeError(f"{url} answered {answer.status_code} {location!r}, not 302 {expected}")
    return location


# -- counting the Click events ---------------------------------------------------------


def count_clicks(database: Path) -> int | str:
    """Click events in the SQLite file (read-only, another process's view), or why not."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as conn:
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM events WHERE event_type = 'Click'"
            ).fetchone()
    except sqlite3.Error as error:
        return f"{type(error).__name__}: {error}"
    return int(count)


def wait_for_clicks(database: Path, expected: int, timeout: float) -> tuple[int | str, float]:
    """Poll the events table until it holds `expected` clicks (or `timeout` passes);
    the last count and the seconds it took."""
    start = time.monotonic()
    while True:
        count = count_clicks(database)
        waited = time.monotonic() - start
        if count == expected or waited > timeout:
            return count, waited
        time.sleep(0.05)


def stop_gracefully(server: Server) -> int | None:
    """SIGTERM the server's process group and wait (longer than Server.stop does:
    the recorder flushes on shutdown); its exit status, None if it had to be killed."""
    process = server.process
    if process is None or process.poll() is not None:
        return None if process is None else process.returncode
    os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        server.stop()
        return None


# -- profiling (optional) -------------------------------------------------------------

#: Where `pip install --target /tmp/pyspy py-spy` puts it (bench/README.md, Caveats).
PY_SPY_FALLBACK = "/tmp/pyspy/bin/py-spy"


class Profile:
    """py-spy recording a server while the rounds run: which code holds the GIL.

    `--gil` samples only the thread holding the GIL, so the shares add up to the one
    core a CPython process can use for Python code; a thread waiting on a socket or
    SQLite's disk I/O (with the GIL released) does not count."""

    def __init__(self, process: subprocess.Popen[bytes], out: Path) -> None:
        self.process = process
        self.out = out

    @classmethod
    def start(cls, server: Server, out: Path | str, rate: int = 200) -> Profile:
        out = Path(out)
        py_spy = shutil.which("py-spy") or PY_SPY_FALLBACK
        assert server.process is not None
        argv = [py_spy, "record", "--gil", "--threads", "--rate", str(rate), "--format", "raw"]
        argv += ["--output", str(out), "--pid", str(server.process.pid)]
        log = out.with_suffix(".log").open("wb")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return cls(process, out)

    def stop(self, top: int = 22) -> list[str]:
        """Stop recording; the summary lines (threads, then functions by inclusive share)."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if not self.out.exists():
            log = self.out.with_suffix(".log").read_text(errors="replace")
            return [f"py-spy wrote no profile: {log.strip()[-500:]}"]
        return summarize(self.out.read_text(), top)


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        nargs="?",
        const="",
        type=str,
        metavar="FILE",
        help="record Sesame with py-spy (--gil) during the measured rounds and print where its "
        "time goes; FILE keeps py-spy's raw collapsed stacks (for flamegraph.pl). py-spy comes "
        "from PATH or /tmp/pyspy/bin, and slows Sesame down while it samples",
    )


def summarize(raw: str, top: int) -> list[str]:
    """Shares of samples per thread, and per function (inclusive and self), from
    py-spy's raw (collapsed-stack) output. Frames in every sample of their thread
    (the interpreter, uvicorn's and the thread pool's outer loops) are left out."""
    total = 0
    threads: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[tuple[str, str]] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        thread, *frames = stack.split(";")
        thread = re.sub(r"^thread \(\w+\): ", "", thread)
        threads[thread] += samples
        # "function (path/to/file.py:line)" -> "function (file.py)"
        names = [re.sub(r" \(.*?([^/]+\.py):\d+\)", r" (\1)", f) for f in frames]
        for name in set(names):
            inclusive[(thread, name)] += samples
        if names:
            own[names[-1]] += samples
    if not total:
        return ["py-spy recorded no samples"]
    lines = [f"py-spy --gil profile of Sesame over the measured rounds, {total:,} samples:"]
    lines += [f"  {n / total:6.1%}  thread {name}" for name, n in threads.most_common()]
    lines.append("  inclusive (thread: function):")
    shown = [(key, n) for key, n in inclusive.most_common() if n < threads[key[0]]][:top]
    lines += [f"  {n / total:6.1%}  {thread}: {name}" for (thread, name), n in shown]
    lines.append("  self:")
    lines += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(top // 2)]
    return lines


# -- the run ---------------------------------------------------------------------------


@dataclass
class Totals:
    """Every response a scenario got, warm-up included (the event check counts all)."""

    statuses: dict[int, int]
    transport_errors: int = 0

    def add(self, result: Round) -> None:
        for status, n in result.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n
        self.transport_errors += result.transport_errors


def measure(
    loop: Any, scenario: Scenario, totals: Totals, *, connections: int, seconds: float, keep: bool
) -> None:
    cpu0 = scenario.server.cpu_seconds()
    result = run_round(
        loop,
        scenario.server.host,
        scenario.server.port,
        scenario.requests,
        connections=connections,
        seconds=seconds,
    )
    totals.add(result)
    if keep:
        scenario.rounds.append(result)
        scenario.server_cpu.append(scenario.server.cpu_seconds() - cpu0)


def unexpected(scenario: Scenario) -> int:
    """Responses other than a 302."""
    return sum(n for status, n in scenario.statuses().items() if status != 302)


def report_table(scenarios: Sequence[Scenario]) -> list[str]:
    return api_report_table(scenarios, bad_label="not 302", bad=unexpected, width=(34, 40))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve-302", help="run only the bare 302 app (the baseline)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, required=True)
    variant = sub.add_parser("serve-no-writes", help="run only the --experiments variant")
    variant.add_argument("--host", default="127.0.0.1")
    variant.add_argument("--port", type=int, required=True)
    variant.add_argument("--data-dir", type=Path, required=True)
    add_round_options(parser)
    parser.add_argument("--messages", type=int, default=50, help="messages sent (default 50)")
    parser.add_argument("--links", type=int, default=20, help="links per message (default 20)")
    parser.add_argument(
        "--experiments",
        action="store_true",
        help="also measure Sesame with the recorder's writes stubbed out (about +15 s)",
    )
    add_profile_option(parser)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.connections < 1 or args.seconds <= 0 or args.messages < 1:
        parser.error("--rounds, --connections, --seconds and --messages must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "serve-302":
        serve_302(args.host, args.port)
        return 0
    if args.command == "serve-no-writes":
        serve_without_writes(args.host, args.port, args.data_dir)
        return 0
    started = time.monotonic()
    print(
        f"Sesame click benchmark: {args.rounds} rounds x {args.seconds:g} s per scenario "
        f"(interleaved), {args.connections} connections, {args.warmup:g} s warm-up each\n"
        f"machine: {os.cpu_count()} CPUs shared by the load generator and the servers; "
        f"Python {platform.python_version()}, uvicorn {version('uvicorn')}",
        flush=True,
    )
    with terminated_by_signal(), ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sesame-bench-")))
        bare_port = free_port()
        bare = Server(
            "bare302",
            [sys.executable, str(Path(__file__).resolve()), "serve-302", "--port", str(bare_port)],
            bare_port,
            tmp / "bare302.log",
        )
        data_dir = tmp / "sesame"
        sesame = sesame_server(tmp, data_dir)
        start_all([bare, sesame], stack)

        client = client_for(sesame)
        set_up(client, SET_NAME)
        send_messages(client, args.messages, args.links)
        links = tracked_links(sesame)
        if len(links) != args.messages * args.links:
            raise RuntimeError(
                f"found {len(links)} tracked links, sent {args.messages}x{args.links}"
            )
        location = check_one_click(sesame, links[0])
        hand_clicks = 1
        print(
            f"{len(links)} tracked links ({args.messages} messages x {args.links}), Host "
            f"{TRACKING_HOST}; e.g. {len(click_request(links[0]))}-byte GET -> 302 {location}",
            flush=True,
        )

        requests_ = [click_request(url) for url in links]
        scenarios = [
            Scenario("bare ASGI app (fixed 302)", bare, requests_),
            Scenario("Sesame click (verify, record, 302)", sesame, requests_),
        ]
        if args.experiments:
            port = free_port()
            argv = [sys.executable, str(Path(__file__).resolve()), "serve-no-writes"]
            argv += ["--port", str(port), "--data-dir", str(data_dir)]
            no_writes = Server("no-writes", argv, port, tmp / "no-writes.log")
            start_all([no_writes], stack)
            scenarios.append(Scenario("Sesame, events not written (exp.)", no_writes, requests_))
        totals = {id(s): Totals({}) for s in scenarios}

        loop = uvloop.new_event_loop()
        stack.callback(loop.close)
        for s in scenarios:
            measure(
                loop,
                s,
                totals[id(s)],
                connections=args.connections,
                seconds=args.warmup,
                keep=False,
            )
        profile = (
            Profile.start(sesame, args.profile or tmp / "click.pyspy")
            if args.profile is not None
            else None
        )
        for number in range(1, args.rounds + 1):
            for s in scenarios:
                measure(
                    loop,
                    s,
                    totals[id(s)],
                    connections=args.connections,
                    seconds=args.seconds,
                    keep=True,
                )
            print(f"  round {number}/{args.rounds} done", file=sys.stderr, flush=True)
        profile_lines = profile.stop() if profile else []

        bare_s, sesame_s = scenarios[:2]
        sesame_totals = totals[id(sesame_s)]
        redirects = sesame_totals.statuses.get(302, 0) + hand_clicks
        database = data_dir / "sesame.db"
        running_count, waited = wait_for_clicks(database, redirects, CATCH_UP_SECONDS)
        status = stop_gracefully(sesame)
        final_count = count_clicks(database)
        overflow = "tracking buffer full" in sesame.log.read_text(errors="replace")

        ratios = [s / b for s, b in zip(sesame_s.rates(), bare_s.rates(), strict=True) if b]
        ratio = sesame_s.median_rate() / (bare_s.median_rate() or 1)
        errors = sesame_totals.transport_errors
        errors += sum(n for status, n in sesame_totals.statuses.items() if status != 302)
        events_ok = final_count == redirects
        print("\n" + "\n".join(report_table(scenarios)) + "\n")
        print(
            f"Click, Sesame / bare 302: {ratio:.2f}x (median / median); per round "
            f"{min(ratios, default=0):.2f}x to {max(ratios, default=0):.2f}x. "
            f"Target >= {TARGET_RATIO:g}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'}."
        )
        for extra in scenarios[2:]:
            print(
                f"  {extra.label}: {extra.median_rate() / (bare_s.median_rate() or 1):.2f}x the "
                f"bare 302 ({unexpected(extra) + extra.transport_errors()} errors): the events' "
                f"writing costs Sesame {1 - sesame_s.median_rate() / extra.median_rate():.0%} "
                "of its click rate."
            )
        print(
            f"Click events: Sesame answered {redirects:,} redirects in all (warm-up and one "
            f"by hand included). While running, the events table held {running_count:,} "
            f"of them {waited:.1f} s after the last response"
            + (" (caught up)" if running_count == redirects else " (NOT caught up)")
            + f"; after SIGTERM (exit status {status}) it holds {final_count:,}: "
            + ("all written, OK." if events_ok else "MISSING events, FAILED.")
            + (" The log reports a full tracking buffer." if overflow else "")
        )
        print(
            f"Errors: Sesame {errors} (must be 0); bare 302 "
            f"{unexpected(bare_s) + bare_s.transport_errors()}."
        )
        if profile_lines:
            print("\n".join(profile_lines))
        print(f"Whole run {time.monotonic() - started:.0f} s.")
        return 0 if errors == 0 and events_ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
