"""`make bench`, publishing: what event publishing costs the click path, and how many
events per second Sesame publishes to a local HTTP receiver.

One run starts, side by side on loopback:
  receiver  a uvicorn app that counts the notifications POSTed to it (this file,
            `serve-receiver`); `GET /count` answers the count
  off       `python -m sesame serve --no-deliver`: no publisher runs (the outbox
            rows are written, never published)
  on        `python -m sesame serve --sns-webhook TOPIC=<receiver>`: every Click is
            published, as a signed SNS notification, while the clicks come in, by
            the publisher `sesame serve` runs in a child process (its CPU counts
            as the server's)
  worker    `python -m sesame serve --no-deliver` beside a `python -m sesame worker
            --sns-webhook TOPIC=<receiver>` on the same database: publishing in
            a process started on its own (its CPU is not counted as the server's)
sets both up alike with boto3 (clicks.py's set-up: a tracking domain and an
OPEN/CLICK destination on the topic), and drives the same pre-built click
requests at both in interleaved rounds with loadgen.py. The issue's target: the
click rate with publishing on at least 0.9x the rate with it off.

Then it waits until the receiver has every Click the `on` server answered, and
reports the rate at which the backlog left after the rounds ended (events/s, the
whole pipeline: claim, sign, POST, delete).

    python bench/publishing.py [--rounds N] [--seconds S] [--connections C]
    python bench/publishing.py serve-receiver --port P
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path
from typing import Any

import requests
import uvloop

from api import Scenario, start_all, terminated_by_signal
from baseline import lifespan
from clicks import (
    SET_NAME,
    Totals,
    check_one_click,
    click_request,
    client_for,
    measure,
    report_table,
    send_messages,
    sesame_server,
    set_up,
    tracked_links,
    unexpected,
)
from loadgen import add_round_options
from servers import Server, free_port

#: The topic clicks.set_up's destination publishes to.
TOPIC = "arn:aws:sns:us-east-1:123456789012:engagement"
TARGET_RATIO = 0.9
DRAIN_TIMEOUT = 600.0


# -- the receiver ----------------------------------------------------------------------


def serve_receiver(host: str, port: int) -> None:
    import uvicorn

    from sesame.server import config

    count = 0

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal count
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
        if scope["method"] == "POST":
            count += 1
            body = b""
        else:
            body = json.dumps({"count": count}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    uvicorn.Server(config(app, host, port)).run()


def received(receiver: Server) -> int:
    answer = requests.get(f"{receiver.endpoint}/count", timeout=30)
    return int(answer.json()["count"])


def drain(receiver: Server, expected: int) -> tuple[int, int, float]:
    """Wait until the receiver has `expected` notifications; (count when the wait
    began, count at the end, seconds waited)."""
    start, began = time.monotonic(), received(receiver)
    count = began
    while count < expected and time.monotonic() - start < DRAIN_TIMEOUT:
        time.sleep(0.1)
        count = received(receiver)
    return began, count, time.monotonic() - start


# -- the run ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve-receiver", help="run only the counting receiver")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, required=True)
    add_round_options(parser)
    parser.add_argument("--messages", type=int, default=50, help="messages sent (default 50)")
    parser.add_argument("--links", type=int, default=20, help="links per message (default 20)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.connections < 1 or args.seconds <= 0 or args.messages < 1:
        parser.error("--rounds, --connections, --seconds and --messages must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "serve-receiver":
        serve_receiver(args.host, args.port)
        return 0
    started = time.monotonic()
    print(
        f"Sesame publishing benchmark: {args.rounds} rounds x {args.seconds:g} s per scenario "
        f"(interleaved), {args.connections} connections, {args.warmup:g} s warm-up each\n"
        f"machine: {os.cpu_count()} CPUs shared by the load generator, the receiver and the "
        f"servers; Python {platform.python_version()}, uvicorn {version('uvicorn')}",
        flush=True,
    )
    with terminated_by_signal(), ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sesame-bench-")))
        port = free_port()
        argv = [sys.executable, str(Path(__file__).resolve()), "serve-receiver"]
        receiver = Server("receiver", [*argv, "--port", str(port)], port, tmp / "receiver.log")
        off = sesame_server(tmp, tmp / "off", "--no-deliver", name="off")
        webhook = f"{TOPIC}={receiver.endpoint}/sns"
        on = sesame_server(tmp, tmp / "on", "--sns-webhook", webhook, name="on")
        apart = sesame_server(tmp, tmp / "apart", "--no-deliver", name="apart")
        start_all([receiver, off, on, apart], stack)
        worker_log = (tmp / "worker.log").open("wb")
        stack.callback(worker_log.close)
        worker = subprocess.Popen(
            [*apart.argv[:3], "worker", *apart.argv[4:], "--sns-webhook", webhook],
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        stack.callback(worker.wait)
        stack.callback(worker.terminate)

        links: dict[str, list[str]] = {}
        for server in (off, on, apart):
            client = client_for(server)
            set_up(client, SET_NAME)
            send_messages(client, args.messages, args.links)
            links[server.name] = tracked_links(server)
            check_one_click(server, links[server.name][0])
        scenarios = [
            Scenario("Sesame click, publishing off", off, [click_request(u) for u in links["off"]]),
            Scenario("Sesame click, publishing on", on, [click_request(u) for u in links["on"]]),
            Scenario(
                "Sesame click, publishing in worker",
                apart,
                [click_request(u) for u in links["apart"]],
            ),
        ]
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

        off_s, on_s, apart_s = scenarios
        # Every Click of both publishing servers (and the two clicked by hand).
        expected = sum(totals[id(s)].statuses.get(302, 0) + 1 for s in (on_s, apart_s))
        began, count, waited = drain(receiver, expected)
        ratio = on_s.median_rate() / (off_s.median_rate() or 1)
        apart_ratio = apart_s.median_rate() / (off_s.median_rate() or 1)
        ratios = [a / b for a, b in zip(on_s.rates(), off_s.rates(), strict=True) if b]
        errors = sum(unexpected(s) + s.transport_errors() for s in scenarios)
        print("\n" + "\n".join(report_table(scenarios)) + "\n")
        print(
            f"Click, publishing on / off: {ratio:.2f}x (median / median); per round "
            f"{min(ratios, default=0):.2f}x to {max(ratios, default=0):.2f}x. Target >= "
            f"{TARGET_RATIO:g}x (publishing costs < 10%): "
            f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}.\n"
            f"Click, publishing in a worker process / off: {apart_ratio:.2f}x "
            f"({'met' if apart_ratio >= TARGET_RATIO else 'NOT met'})."
        )
        rate = (count - began) / waited if waited > 0 else 0.0
        print(
            f"Published: the receiver had {began:,} of {expected:,} Click notifications when the "
            f"rounds ended and {count:,} {waited:.1f} s later: {rate:,.0f} events/s to a local "
            "HTTP receiver (signed SNS notifications, one POST each)"
            + ("." if count >= expected else "; NOT all arrived, FAILED.")
        )
        print(f"Errors: {errors} (must be 0). Whole run {time.monotonic() - started:.0f} s.")
        return 0 if errors == 0 and count >= expected else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
