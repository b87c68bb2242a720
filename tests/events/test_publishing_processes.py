"""Publishing as a person runs it: `sesame serve` killed between the click and the
publish loses nothing, `sesame worker` publishes it, `sesame events` shows it."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from engagement import configure, fetch, send, sns, topic
from harness import free_port, run_sesame
from receiver import Receiver
from smtp_sink import SmtpSink

KEY_ID, SECRET = "AKIAPUBLISHINGTEST01", "p" * 40


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    healthy, failing = Receiver().start(), Receiver(status=500).start()
    yield healthy, failing
    healthy.stop()
    failing.stop()


def start(cwd: Path, *args: str, ready: str) -> subprocess.Popen[str]:
    process, _ = run_sesame(cwd, *args, ready=ready)
    return process


def finish(process: subprocess.Popen[str], signum: int) -> None:
    process.send_signal(signum)
    process.wait(timeout=30)
    if process.stdout is not None:
        process.stdout.close()


def sesame_events(cwd: Path, database: list[str], *args: str) -> list[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-m", "sesame", "events", "--data-dir", str(cwd), *database, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def client_of(port: int) -> Any:
    """boto3's sesv2 client for the `sesame serve` on `port`."""
    return boto3.client(
        "sesv2",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )


def recorded(cwd: Path, database: list[str], message_id: str, event_type: str) -> None:
    """Wait until the store has the message's event of this type (30 s at most)."""
    deadline = time.monotonic() + 30
    while not sesame_events(cwd, database, "--message-id", message_id, "--type", event_type):
        assert time.monotonic() < deadline, f"no {event_type} event for {message_id}"
        time.sleep(0.05)


def test_killed_server_loses_no_event_and_a_worker_publishes_them(
    tmp_path: Path,
    sink: SmtpSink,
    receivers: tuple[Receiver, Receiver],
    unique: str,
    shared_database: dict[str, Any],
) -> None:
    healthy, failing = receivers
    port = free_port()
    database = ["--database-url", shared_database["database_url"]] if shared_database else []
    common = ["--data-dir", str(tmp_path), *database, "--port", str(port)]
    common += ["--smtp-relay", sink.address]
    common += ["--access-key-id", KEY_ID, "--secret-access-key", SECRET]
    # A short lease: the worker takes over what the killed server held within seconds.
    common += ["--publish-retry-seconds", "1", "--publish-lease-seconds", "2"]
    common += ["--machine-click-seconds", "0"]
    server = start(
        tmp_path,
        "serve",
        *common,
        "--sns-webhook",
        f"{topic('all')}={failing.url('/all')}",
        "--sns-webhook",
        f"{topic('clicks')}={failing.url('/clicks')}",
        ready="Sesame is ready",
    )
    try:
        ses = client_of(port)
        sender = configure(ses, unique, ("all", sns("all")))
        ses.create_configuration_set_event_destination(
            ConfigurationSetName=unique,
            EventDestinationName="clicks",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["CLICK"], **sns("clicks")},
        )
        sent = send(ses, sink, sender, unique)
        # The sink has the mail a moment before the worker commits its Delivery: the
        # pixel waits for that, so the Open's time (and place in the lane) comes after.
        recorded(tmp_path, database, sent.message_id, "Delivery")
        endpoint = SimpleNamespace(url=f"http://127.0.0.1:{port}")
        assert fetch(endpoint, sent.pixel) == 200
        assert fetch(endpoint, sent.links[0]) == 302
        # The click was recorded and queued: its own destination tried it (and failed).
        [attempt] = failing.take(1, path="/clicks")
        assert attempt.record()["eventType"] == "Click"
        failed = sesame_events(tmp_path, database, "--failed")
        assert {(f["destination"], f["eventType"], f["state"]) for f in failed} >= {
            ("all", "Send", "retrying"),
            ("clicks", "Click", "retrying"),
        }
        assert all(
            f["lastError"] == f"{failing.url('/' + str(f['destination']))}: HTTP 500"
            for f in failed
        )
        people = sesame_events(
            tmp_path, database, "--message-id", sent.message_id, "--actor", "person"
        )
        assert [r["eventType"] for r in people] == ["Open", "Click"]
        assert sesame_events(tmp_path, database, "--actor", "machine") == []
        clicks = sesame_events(tmp_path, database, "--configuration-set", unique, "--type", "Click")
        assert [(r["eventType"], r["mail"]["messageId"]) for r in clicks] == [
            ("Click", sent.message_id)
        ]
        assert sesame_events(tmp_path, database, "--configuration-set", "elsewhere") == []
        assert sesame_events(tmp_path, database, "--since", "4102444800") == []  # 2100-01-01
    finally:
        finish(server, signal.SIGKILL)

    worker = start(
        tmp_path,
        "worker",
        *common,
        "--sns-webhook",
        f"{topic('all')}={healthy.url('/all')}",
        "--sns-webhook",
        f"{topic('clicks')}={healthy.url('/clicks')}",
        ready="Sesame worker",
    )
    try:
        everything = healthy.until(4, path="/all")
        # One lane, published in the order the events happened. That is usually Send,
        # Delivery, Open, Click, but the Delivery's time is taken when the server has
        # read the relay's answer, and the test may fetch the pixel (the sink already
        # has the message) a moment before that: then the Open comes first.
        stored = sesame_events(tmp_path, database, "--message-id", sent.message_id)
        assert [n.record()["eventType"] for n in everything] == [r["eventType"] for r in stored]
        assert sorted(r["eventType"] for r in stored) == ["Click", "Delivery", "Open", "Send"]
        [click] = healthy.until(1, path="/clicks")
        assert click.record() == everything[-1].record()
    finally:
        finish(worker, signal.SIGTERM)


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(child) for child in listing.read().split()]


def _command_line(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as raw:
        return raw.read().decode().split("\0")


def _exits_within(pid: int, seconds: float) -> bool:
    """Wait for a process that is not our child to end (a pidfd turns readable)."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([handle], [], [], seconds)
        return bool(readable)
    finally:
        os.close(handle)


@pytest.mark.parametrize("ending", [signal.SIGTERM, signal.SIGKILL])
def test_serve_publishes_from_a_child_process_that_ends_with_it(
    tmp_path: Path,
    sink: SmtpSink,
    receivers: tuple[Receiver, Receiver],
    unique: str,
    ending: signal.Signals,
) -> None:
    """`sesame serve` runs its publisher in a child process (sesame/publishing.py): events
    reach the destination from there, as soon as they are written, and the child ends
    when the server stops, and also when the server is killed."""
    healthy, _ = receivers
    port = free_port()
    server = start(
        tmp_path,
        "serve",
        *("--data-dir", str(tmp_path), "--port", str(port), "--smtp-relay", sink.address),
        *("--access-key-id", KEY_ID, "--secret-access-key", SECRET),
        *("--sns-webhook", f"{topic('all')}={healthy.url('/all')}"),
        *("--machine-click-seconds", "0"),
        ready="Sesame is ready",
    )
    try:
        ses = client_of(port)
        sent = send(ses, sink, configure(ses, unique, ("all", sns("all"))), unique)
        assert fetch(SimpleNamespace(url=f"http://127.0.0.1:{port}"), sent.links[0]) == 302
        published = healthy.until(3, path="/all")
        # (Their order is the lane's, tested in tests/store; here: all of them arrive.)
        assert sorted(n.record()["eventType"] for n in published) == ["Click", "Delivery", "Send"]
        [child] = [
            pid for pid in _children(server.pid) if "sesame.publishing" in _command_line(pid)
        ]
    finally:
        finish(server, ending)
    assert _exits_within(child, 30)
