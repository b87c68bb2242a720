"""Where a click's CPU goes, in-process: no sockets, no HTTP server.

Runs Sesame's own app (build_app on a temporary SQLite file, delivery off) with the
set-up of clicks.py (a verified domain, a configuration set with a tracking domain and
an OPEN/CLICK destination, --messages HTML messages of --links links each), then
measures, as CPU time (process time, so waiting for the CPU on a shared machine does
not count; median of --repeats loops):

- the request path: the tracking endpoint called as uvicorn calls the app (an ASGI
  scope with clicks.py's request headers, the two `send` calls answered at once),
  verify, hand to the recorder, answer the 302;
- the recorder's batch work per click, for batches of --batch clicks spread over the
  messages' links as clicks.py's load spreads them (one batch a second at that rate):
  the whole `_write` (message facts, SES records, classification, the store's insert of
  the events and their outbox rows), and each of its stages on its own.

With --profile, cProfile's top functions of the request path and of the batch work.
A diagnostic, like api_stages.py: it has no baseline of its own. To compare two versions
of the code, run it on each, alternately, on the same machine.

    python bench/click_stages.py [--requests N] [--batch N] [--repeats R] [--profile [N]]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from clicks import SET_NAME, TRACKING_HOST, USER_AGENT, html_message
from send_stages import in_process_app, tracked_set
from sesame.app import Sesame
from sesame.events.recorder import Hit

ACCESS_KEY_ID = "AKIDCLICKSTAGES"


def set_up(app: Sesame, messages: int, links: int) -> list[str]:
    """clicks.py's set-up, through the providers; the tracked click paths."""
    table = app.api.table
    ctx = tracked_set(app, "example.com", SET_NAME)
    for number in range(messages):
        table["SendEmail"](
            ctx,
            {
                "FromEmailAddress": "news@example.com",
                "Destination": {"ToAddresses": [f"reader{number}@example.org"]},
                "Content": {
                    "Simple": {
                        "Subject": {"Data": f"Issue {number}"},
                        "Body": {"Html": {"Data": html_message(number, links)}},
                    }
                },
                "ConfigurationSetName": SET_NAME,
            },
        )
    paths: list[str] = []
    for message in app.store.list_messages(limit=messages):
        html = message.content.decode("utf-8", "replace")
        for part in html.split(f"https://{TRACKING_HOST}")[1:]:
            path = part.split('"', 1)[0]
            if path.startswith("/L0/"):
                paths.append(urlsplit(path).path)
    return paths


def scope_of(path: str) -> dict[str, Any]:
    """The scope uvicorn (httptools) builds for clicks.py's request."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": b"",
        "headers": [
            (b"host", TRACKING_HOST.encode()),
            (b"user-agent", USER_AGENT.encode()),
            (b"accept", b"text/html,*/*;q=0.8"),
            (b"accept-language", b"en"),
        ],
    }


def cpu_per_call(run: Callable[[], int], repeats: int) -> list[float]:
    """µs of process CPU per item, one figure per loop (`run` returns the items done)."""
    figures = []
    for _ in range(repeats):
        start = time.process_time()
        done = run()
        figures.append((time.process_time() - start) / done * 1e6)
    return figures


def show(name: str, figures: list[float]) -> None:
    print(f"  {name:<46} {statistics.median(figures):8.2f} µs  (min {min(figures):.2f})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests per timed loop")
    parser.add_argument("--batch", type=int, default=5_000, help="clicks per recorder batch")
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--links", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5, help="timed loops")
    parser.add_argument("--profile", type=int, nargs="?", const=25, help="print the top N")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sesame-click-stages-") as tmp:
        app = in_process_app(Path(tmp), ACCESS_KEY_ID)
        try:
            paths = set_up(app, args.messages, args.links)
            print(f"{len(paths)} tracked links; CPU per click, median of {args.repeats} loops")
            scopes = [scope_of(path) for path in paths]
            recorder = app.recorder

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: Any) -> None:
                pass

            async def requests(count: int) -> int:
                for n in range(count):
                    await app(scopes[n % len(scopes)], receive, send)
                recorder.pending.clear()
                return count

            loop = asyncio.new_event_loop()
            figures = cpu_per_call(
                lambda: loop.run_until_complete(requests(args.requests)), args.repeats
            )
            print("request path (tracking endpoint via Sesame.__call__):")
            show("verify + record() + 302", figures)

            hits: list[Hit] = []
            for n in range(args.batch):
                scope = scopes[n % len(scopes)]
                loop.run_until_complete(app(scope, receive, send))
            hits = list(recorder.pending)
            recorder.pending.clear()

            def batch() -> list[Hit]:
                # Fresh times a second apart per batch, as under a steady load.
                now = time.time()
                return [
                    Hit(
                        h.kind,
                        h.message_id,
                        now + i / len(hits),
                        h.ip_address,
                        h.user_agent,
                        h.index,
                        h.url,
                        h.method,
                        h.purpose,
                    )
                    for i, h in enumerate(hits)
                ]

            def whole() -> int:
                recorder._write(batch())
                return len(hits)

            whole()  # one batch before, so the classifier has history to read
            print(f"recorder batch of {len(hits)} clicks (one second at that rate):")
            show("_write: facts, records, classify, store", cpu_per_call(whole, args.repeats))
            if args.profile:
                profile = cProfile.Profile()
                profile.enable()
                loop.run_until_complete(requests(args.requests))
                profile.disable()
                print("\nrequest path, cProfile (tottime):")
                pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(
                    args.profile
                )
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(3):
                    whole()
                profile.disable()
                print("\nrecorder batch, cProfile (cumulative):")
                pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(
                    args.profile
                )
            loop.close()
        finally:
            app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
