"""`make bench-api`: requests/s of SigV4-signed SES v2 calls, Sesame against moto.

One run starts, side by side on loopback:
  raw     a uvloop server answering fixed bytes: the load generator's own ceiling
  asgi    a minimal ASGI app under uvicorn with `sesame serve`'s settings
  sesame  `python -m sesame serve` (one uvicorn process, SQLite in a temp folder)
  moto    `python -m moto.server` (moto's Werkzeug server, as moto ships it)
sets up one verified domain identity (example.com) and one configuration set (bench)
with boto3, pre-signs the requests with botocore's SigV4Auth, and then measures
interleaved fixed-duration rounds (every scenario once per round, so drift on a
shared machine hits all of them alike) with the load generator in loadgen.py.

GetConfigurationSet is compared (the ratio Sesame / moto); PutConfigurationSetTracking-
Options is reported on its own, because moto answers that route with a 404. After the
PUT rounds a commit check reads the stored tracking options back, through the API and
straight from the SQLite file, and compares them with what was acknowledged.

Exit status 1 when Sesame answered anything but 2xx or the commit check failed; the
30x target is reported, not enforced. See bench/README.md for the caveats.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import uvloop
from botocore.auth import SigV4Auth
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.credentials import Credentials
from botocore.serialize import create_serializer

from loadgen import Round, add_round_options, median, run_round
from servers import Server, free_port

HERE = Path(__file__).resolve().parent
REGION = "us-east-1"
ACCESS_KEY_ID = "AKIDSESAMEBENCH00001"
SECRET_ACCESS_KEY = "sesame-bench-secret-not-a-real-one"
SET_NAME = "bench"
DOMAIN = "example.com"
PUT_BODIES = 100
POLICIES = ("REQUIRE", "REQUIRE_OPEN_ONLY", "OPTIONAL")
FINAL_BLOCK = {"CustomRedirectDomain": f"final.{DOMAIN}", "HttpsPolicy": "REQUIRE"}
TARGET_RATIO = 30.0


# -- signing --------------------------------------------------------------------------


class Signer:
    """Raw HTTP/1.1 requests, serialised by botocore's sesv2 serializer and signed with
    SigV4Auth exactly as boto3 would send them (a signature is good for 15 minutes)."""

    def __init__(self) -> None:
        self.model = botocore.session.get_session().get_service_model("sesv2")
        self.serializer = create_serializer(self.model.metadata["protocol"])
        self.auth = SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "ses", REGION)

    def prepared(self, endpoint: str, operation: str, params: dict[str, Any]) -> Any:
        """botocore's AWSPreparedRequest for `operation`, signed for `endpoint`."""
        request_dict = self.serializer.serialize_to_request(
            params, self.model.operation_model(operation)
        )
        prepare_request_dict(request_dict, endpoint)
        request = create_request_object(request_dict)
        self.auth.add_auth(request)
        return request.prepare()

    def raw(self, server: Server, operation: str, params: dict[str, Any]) -> bytes:
        """The same request as the bytes of one HTTP/1.1 message."""
        prepared = self.prepared(server.endpoint, operation, params)
        target = prepared.url.split(server.endpoint, 1)[1] or "/"
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode()
        lines = [f"{prepared.method} {target} HTTP/1.1", f"Host: {server.host}:{server.port}"]
        lines += [f"{name}: {value}" for name, value in prepared.headers.items()]
        if body and "Content-Length" not in prepared.headers:
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def tracking_blocks() -> list[dict[str, str]]:
    """PUT_BODIES distinct tracking blocks: every PUT really changes the stored value."""
    return [
        {"CustomRedirectDomain": f"t{i}.{DOMAIN}", "HttpsPolicy": POLICIES[i % len(POLICIES)]}
        for i in range(PUT_BODIES)
    ]


# -- the run --------------------------------------------------------------------------


@dataclass
class Scenario:
    label: str
    server: Server
    requests: Sequence[bytes]
    record_acks: bool = False
    rounds: list[Round] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)

    def rates(self) -> list[float]:
        return [r.rate for r in self.rounds]

    def median_rate(self) -> float:
        return median(self.rates())

    def statuses(self) -> dict[int, int]:
        total: dict[int, int] = {}
        for r in self.rounds:
            for status, n in r.statuses.items():
                total[status] = total.get(status, 0) + n
        return total

    def non_2xx(self) -> int:
        return sum(r.non_2xx for r in self.rounds)

    def transport_errors(self) -> int:
        return sum(r.transport_errors for r in self.rounds)

    def responses(self) -> int:
        return sum(r.responses for r in self.rounds)


def measure(
    loop: Any, scenario: Scenario, *, connections: int, seconds: float, keep: bool
) -> Round:
    cpu0 = scenario.server.cpu_seconds()
    result = run_round(
        loop,
        scenario.server.host,
        scenario.server.port,
        scenario.requests,
        connections=connections,
        seconds=seconds,
        record_acks=scenario.record_acks,
    )
    if keep:
        scenario.rounds.append(result)
        scenario.server_cpu.append(scenario.server.cpu_seconds() - cpu0)
    return result


def start_all(servers: Sequence[Server], stack: ExitStack) -> None:
    for server in servers:
        stack.callback(server.stop)
        server.start()
    for server in servers:
        server.wait_ready()


def set_up(server: Server) -> Any:
    client = boto3.client(
        "sesv2",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )
    client.create_email_identity(EmailIdentity=DOMAIN)
    client.create_configuration_set(ConfigurationSetName=SET_NAME)
    return client


# -- the commit check -----------------------------------------------------------------


@dataclass
class CommitCheck:
    lines: list[str]
    ok: bool


def commit_check(
    loop: Any,
    sesame: Server,
    client: Any,
    signer: Signer,
    blocks: list[dict[str, str]],
    last_round: Round,
    connections: int,
    database: Path,
) -> CommitCheck:
    """What the PUT rounds acknowledged is what is stored.

    1. Right after the last concurrent round: the stored block must be one of the last
       `connections` acknowledged bodies (with one request in flight per connection,
       only requests in flight together can commit in another order than they answer).
    2. Then one more PUT with a body no round used; once it is acknowledged, a GET and
       a read-only SQLite connection (another process's view of the file) must both
       return exactly that body.
    """
    lines: list[str] = []
    ok = True
    stored = client.get_configuration_set(ConfigurationSetName=SET_NAME).get("TrackingOptions")
    recent = [blocks[i] for i in last_round.acknowledged[-connections:]]
    if stored in recent:
        lines.append(
            f"after {len(last_round.acknowledged)} acknowledged PUTs in the last round, "
            f"the stored block is one of the last {connections} acknowledged: OK"
        )
    else:
        ok = False
        lines.append(f"stored {stored} is not among the last {connections} acknowledged: FAILED")

    final = run_round(
        loop,
        sesame.host,
        sesame.port,
        [signer.raw(sesame, "PutConfigurationSetTrackingOptions", final_params())],
        connections=1,
        seconds=0.0,
    )
    acknowledged = final.statuses.get(200) == 1 and final.responses == 1
    via_api = client.get_configuration_set(ConfigurationSetName=SET_NAME).get("TrackingOptions")
    via_file = read_tracking_options(database)
    for source, value in (("GetConfigurationSet", via_api), ("SQLite file (read-only)", via_file)):
        if isinstance(value, str):  # the file could not be read; the API answer still counts
            lines.append(f"final PUT vs {source}: not checked ({value})")
            continue
        match = acknowledged and value == FINAL_BLOCK
        ok = ok and match
        lines.append(
            f"final PUT {dict(final.statuses)} then {source}: {value} "
            f"{'== body of the last PUT acknowledged: OK' if match else '!= last PUT: FAILED'}"
        )
    return CommitCheck(lines, ok)


def final_params() -> dict[str, Any]:
    return {"ConfigurationSetName": SET_NAME, **FINAL_BLOCK}


def read_tracking_options(database: Path) -> Any:
    """TrackingOptions as stored, or a string saying why the file could not be read."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
            row = conn.execute(
                "SELECT options FROM configuration_sets WHERE name = ?", (SET_NAME,)
            ).fetchone()
    except sqlite3.Error as error:
        return f"{type(error).__name__}: {error}"
    if row is None:
        return "no row"
    return json.loads(row[0]).get("TrackingOptions")


# -- the report -----------------------------------------------------------------------


def report_table(
    scenarios: Sequence[Scenario],
    *,
    bad_label: str = "non-2xx",
    bad: Callable[[Scenario], int] | None = None,
    width: tuple[int, int] = (44, 42),
) -> list[str]:
    """The results table; `bad` counts the responses a scenario should not have got."""
    count_bad = bad or Scenario.non_2xx
    name_w, rounds_w = width
    head = (
        f"{'scenario':<{name_w}} {'req/s per round':<{rounds_w}} {'median':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {bad_label:>8} {'conn err':>8} {'srv µs/req':>10} {'srv cores':>9} "
        f"{'gen µs/req':>10}"
    )
    out = [head, "-" * len(head)]
    for s in scenarios:
        responses = s.responses() or 1
        seconds = sum(r.seconds for r in s.rounds) or 1.0
        per_round = " ".join(f"{rate:,.0f}" for rate in s.rates())
        p50 = median([r.p50_ns for r in s.rounds]) / 1e6
        p99 = median([r.p99_ns for r in s.rounds]) / 1e6
        server_us = sum(s.server_cpu) / responses * 1e6
        gen_us = sum(r.generator_cpu for r in s.rounds) / responses * 1e6
        out.append(
            f"{s.label:<{name_w}} {per_round:<{rounds_w}} {s.median_rate():>8,.0f} {p50:>7.2f} "
            f"{p99:>7.2f} {count_bad(s):>8} {s.transport_errors():>8} {server_us:>10.0f} "
            f"{sum(s.server_cpu) / seconds:>9.2f} {gen_us:>10.1f}"
        )
    return out


# -- main -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_round_options(parser)
    parser.add_argument(
        "--experiments",
        action="store_true",
        help="also measure Sesame's GET with 2 uvicorn worker processes, with provider calls "
        "inline on the event loop (no worker-thread hop), and both; and its PUT inline: +55 s",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.connections < 1 or args.seconds <= 0:
        parser.error("--rounds, --connections and --seconds must be positive")
    return args


@contextmanager
def terminated_by_signal() -> Iterator[None]:
    """SIGTERM/SIGHUP unwind like Ctrl-C, so every cleanup callback still runs.
    (While a round runs, loadgen.run_round takes these signals over; see there.)"""

    def raise_exit(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, raise_exit) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass
class Lineup:
    """Every server of one run, not started yet."""

    raw: Server
    asgi: Server
    sesame: Server
    moto: Server
    #: --experiments: (label, server, "get" or "put")
    variants: list[tuple[str, Server, str]]

    def all(self) -> list[Server]:
        extra = {id(v[1]): v[1] for v in self.variants}
        return [self.raw, self.asgi, self.sesame, self.moto, *extra.values()]


def lineup(tmp: Path, experiments: bool) -> Lineup:
    python = sys.executable
    credentials = ["--access-key-id", ACCESS_KEY_ID, "--secret-access-key", SECRET_ACCESS_KEY]

    def server(name: str, *argv: str) -> Server:
        port = free_port()
        command = [python, *(a.replace("{port}", str(port)) for a in argv)]
        return Server(name, command, port, tmp / f"{name}.log")

    baseline = str(HERE / "baseline.py")
    sesame_args = ["--data-dir", str(tmp / "s1"), *credentials, "--region", REGION]
    chosen = Lineup(
        raw=server("raw", baseline, "raw", "--port", "{port}"),
        asgi=server("asgi", baseline, "asgi", "--port", "{port}"),
        sesame=server("sesame", "-m", "sesame", "serve", "--port", "{port}", *sesame_args),
        moto=server("moto", "-m", "moto.server", "-H", "127.0.0.1", "-p", "{port}"),
        variants=[],
    )
    # The same `sesame serve`, with one process per core.
    two_args = ["--data-dir", str(tmp / "s2w"), *credentials, "--region", REGION]
    workers = server("sesame-workers", "-m", "sesame", "serve", "--port", "{port}", *two_args)
    workers.argv.extend(["--workers", "2"])
    chosen.variants = [
        ("Sesame GET, sesame serve --workers 2", workers, "get"),
        ("Sesame PUT, sesame serve --workers 2", workers, "put"),
    ]
    if experiments:
        variant = [str(HERE / "sesame_variant.py"), "--port", "{port}", *credentials]
        two = server("sesame-2w", *variant, "--data-dir", str(tmp / "s2"), "--workers", "2")
        inline = server("sesame-inline", *variant, "--data-dir", str(tmp / "s3"), "--inline")
        both_args = ["--data-dir", str(tmp / "s4"), "--workers", "2", "--inline"]
        both = server("sesame-2w-inline", *variant, *both_args)
        chosen.variants += [
            ("Sesame GET, 2 uvicorn worker processes", two, "get"),
            ("Sesame GET, provider inline (no thread hop)", inline, "get"),
            ("Sesame GET, 2 workers + provider inline", both, "get"),
            ("Sesame PUT, provider inline (no thread hop)", inline, "put"),
        ]
    return chosen


def summary(scenarios: Sequence[Scenario], check: CommitCheck) -> tuple[list[str], bool]:
    """The lines under the table, and whether Sesame's side of the run was clean."""
    named = {s.label: s for s in scenarios}
    ceiling = scenarios[0]
    sesame_get, moto_get = named["Sesame GetConfigurationSet"], named["moto GetConfigurationSet"]
    sesame_put = named["Sesame PutConfigurationSetTrackingOptions"]
    moto_put = named["moto PutConfigurationSetTrackingOptions"]
    ratios = [s / m for s, m in zip(sesame_get.rates(), moto_get.rates(), strict=True) if m]
    ratio = sesame_get.median_rate() / (moto_get.median_rate() or 1)
    gen_cpu = sum(r.generator_cpu for r in sesame_get.rounds) / (sesame_get.responses() or 1)
    sesame_errors = sum(
        s.non_2xx() + s.transport_errors() for s in scenarios if s.server.name.startswith("sesame")
    )
    moto_get_errors = moto_get.non_2xx() + moto_get.transport_errors()
    lines = [
        f"GetConfigurationSet, Sesame / moto: {ratio:.1f}x (median / median); per round "
        f"{min(ratios, default=0):.1f}x to {max(ratios, default=0):.1f}x. "
        f"Target >= {TARGET_RATIO:g}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'}.",
        *[
            f"  {s.label}: {s.median_rate() / (moto_get.median_rate() or 1):.1f}x moto"
            for s in scenarios
            if s.label.startswith("Sesame GET, ")
        ],
        f"PutConfigurationSetTrackingOptions: Sesame {sesame_put.median_rate():,.0f} req/s "
        f"median, {sesame_put.non_2xx()} non-2xx, {sesame_put.transport_errors()} connection "
        f"errors. moto answers this route {moto_put.statuses()} (expected: 404, moto does not "
        "implement it), so it is not compared.",
        f"Load generator: ceiling {ceiling.median_rate():,.0f} req/s = "
        f"{ceiling.median_rate() / (sesame_get.median_rate() or 1):.0f}x Sesame's GET rate; "
        f"against Sesame it used {gen_cpu * 1e6:.0f} µs CPU per request "
        f"({gen_cpu * sesame_get.median_rate():.0%} of one core).",
        "Commit check (Sesame, after the PUT rounds):",
        *[f"  {line}" for line in check.lines],
        f"Errors: Sesame {sesame_errors} (must be 0); moto GET {moto_get_errors}"
        + (" (the comparison is not valid)" if moto_get_errors else "")
        + ".",
    ]
    return lines, sesame_errors == 0 and check.ok


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    print(
        f"Sesame API benchmark: {args.rounds} rounds x {args.seconds:g} s per scenario "
        f"(interleaved), {args.connections} connections, {args.warmup:g} s warm-up each\n"
        f"machine: {os.cpu_count()} CPUs shared by the load generator and the servers; "
        f"Python {platform.python_version()}, uvicorn {version('uvicorn')}, "
        f"moto {version('moto')}, botocore {version('botocore')}",
        flush=True,
    )
    with terminated_by_signal(), ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sesame-bench-")))
        servers = lineup(tmp, args.experiments)
        start_all(servers.all(), stack)
        sesame_client = set_up(servers.sesame)
        for other in servers.all()[3:]:
            set_up(other)

        signer = Signer()
        blocks = tracking_blocks()

        def get(s: Server) -> list[bytes]:
            return [signer.raw(s, "GetConfigurationSet", {"ConfigurationSetName": SET_NAME})]

        def put(s: Server) -> list[bytes]:
            operation = "PutConfigurationSetTrackingOptions"
            return [
                signer.raw(s, operation, {"ConfigurationSetName": SET_NAME, **b}) for b in blocks
            ]

        sesame, moto = servers.sesame, servers.moto
        sesame_put = Scenario(
            "Sesame PutConfigurationSetTrackingOptions", sesame, put(sesame), record_acks=True
        )
        scenarios = [
            Scenario("generator ceiling: raw uvloop server", servers.raw, get(sesame)),
            Scenario("uvicorn + minimal ASGI app (fixed 200)", servers.asgi, get(sesame)),
            Scenario("Sesame GetConfigurationSet", sesame, get(sesame)),
            Scenario("moto GetConfigurationSet", moto, get(moto)),
            sesame_put,
            Scenario("moto PutConfigurationSetTrackingOptions", moto, put(moto)),
            *[
                Scenario(label, s, get(s) if op == "get" else put(s))
                for label, s, op in servers.variants
            ],
        ]

        loop = uvloop.new_event_loop()
        stack.callback(loop.close)
        for s in scenarios:  # warm-up: also puts TrackingOptions in place before any GET round
            measure(loop, s, connections=args.connections, seconds=args.warmup, keep=False)
        for number in range(1, args.rounds + 1):
            for s in scenarios:
                measure(loop, s, connections=args.connections, seconds=args.seconds, keep=True)
            print(f"  round {number}/{args.rounds} done", file=sys.stderr, flush=True)

        check = commit_check(
            loop,
            sesame,
            sesame_client,
            signer,
            blocks,
            sesame_put.rounds[-1],
            args.connections,
            tmp / "s1" / "sesame.db",
        )
        lines, clean = summary(scenarios, check)
        print("\n" + "\n".join(report_table(scenarios)) + "\n")
        print("\n".join(lines))
        print(f"Whole run {time.monotonic() - started:.0f} s.")
        return 0 if clean else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
