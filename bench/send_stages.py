"""Where a SendEmail's CPU goes, in-process: no sockets, no HTTP, no signature.

Runs Sesame's own app (build_app on a temporary SQLite file, delivery off) with the
set-up of send.py (a verified domain, a configuration set with a tracking domain and
an OPEN/CLICK destination) and calls the SendEmail provider directly with send.py's
64 request bodies (a text part, an HTML part with 20 links, a tag): tracking on, each
call building, tracking, describing and committing one message. It reports the CPU
time per call (process time, so waiting for the CPU on a shared machine does not
count), median and minimum of --repeats timed loops of --calls calls, and, with
--profile, the functions that take the most of it (cProfile, cumulative).

A diagnostic, like api_stages.py: it has no baseline of its own. To compare two
versions of the code, run it on each, alternately, on the same machine.

    python bench/send_stages.py [--calls N] [--repeats R] [--profile [N]]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from clicks import TRACKING_HOST
from send import BODIES, DOMAIN, LINKS, SET_NAME, send_params
from sesame.api.context import RequestContext
from sesame.app import Sesame, build_app
from sesame.config import Settings

ACCOUNT = "0" * 12
REGION = "us-east-1"
ACCESS_KEY_ID = "AKIDSENDSTAGES"


def in_process_app(data_dir: Path, access_key_id: str) -> Sesame:
    """A Sesame on SQLite in `data_dir`, called without sockets (no delivery worker)."""
    settings = Settings(
        data_dir=data_dir,
        access_key_id=access_key_id,
        secret_access_key="s" * 40,
        region=REGION,
        deliver=False,
    )
    return build_app(settings)


def tracked_set(app: Sesame, domain: str, set_name: str) -> RequestContext:
    """Through the providers: a verified `domain` and a set tracking opens and clicks on
    TRACKING_HOST (an SNS destination for OPEN and CLICK); the context to call with."""
    table = app.api.table
    ctx = RequestContext("id", "SendEmail", ACCOUNT, REGION, ACCESS_KEY_ID, "127.0.0.1")
    table["CreateEmailIdentity"](ctx, {"EmailIdentity": domain})
    table["CreateConfigurationSet"](
        ctx,
        {
            "ConfigurationSetName": set_name,
            "TrackingOptions": {"CustomRedirectDomain": TRACKING_HOST},
        },
    )
    table["CreateConfigurationSetEventDestination"](
        ctx,
        {
            "ConfigurationSetName": set_name,
            "EventDestinationName": "engagement",
            "EventDestination": {
                "Enabled": True,
                "MatchingEventTypes": ["OPEN", "CLICK"],
                "SnsDestination": {"TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:e"},
            },
        },
    )
    return ctx


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per timed loop")
    parser.add_argument("--repeats", type=int, default=9, help="timed loops")
    parser.add_argument(
        "--profile", type=int, nargs="?", const=30, help="print the top N functions"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sesame-send-stages-") as tmp:
        app = in_process_app(Path(tmp), ACCESS_KEY_ID)
        try:
            table = app.api.table
            ctx = tracked_set(app, DOMAIN, SET_NAME)
            requests = [send_params(number) for number in range(BODIES)]
            send = table["SendEmail"]
            for request in requests:  # warm-up: caches, the first keys, SQLite pages
                send(ctx, dict(request))
            means = []
            for _ in range(args.repeats):
                start = time.process_time()
                for call in range(args.calls):
                    send(ctx, dict(requests[call % BODIES]))
                means.append((time.process_time() - start) / args.calls * 1e6)
            print(
                f"SendEmail provider, tracking on, {LINKS} links: CPU per call median "
                f"{statistics.median(means):,.0f} µs, min {min(means):,.0f} µs "
                f"({args.repeats} loops of {args.calls} calls: "
                f"{' '.join(f'{m:,.0f}' for m in means)})"
            )
            if args.profile:
                profile = cProfile.Profile()
                profile.enable()
                for call in range(args.calls * 4):
                    send(ctx, dict(requests[call % BODIES]))
                profile.disable()
                pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(
                    args.profile
                )
        finally:
            app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
