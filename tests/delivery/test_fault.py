"""Many nodes, one killed: two API processes and two workers on one database, a worker
SIGKILLed mid-run and another started; every message still reaches the SMTP server,
a duplicate only for a message in flight at the kill, and every Send and Delivery
event is in the store exactly once.

The kill is not timed: the sink holds back its reply to one message the doomed worker
sent (after some hundreds have arrived) and the test kills the worker while it waits
for that 250. So there is always a message in flight at the kill, taken over after
the short lease (`--delivery-lease-seconds`) and delivered again: the duplicate the
at-least-once promise allows, and the only kind this test tolerates.
"""

from __future__ import annotations

import queue
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from botocore.config import Config

from harness import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, free_port, run_sesame
from smtp_sink import Received, SmtpSink

MESSAGES = 2000
#: The doomed worker is killed on its first message after this many have arrived.
KILL_AFTER = 300
SENDERS = 8
#: Short, so the takeover comes soon after the kill; far above what a batch takes here.
LEASE_SECONDS = 10
DEADLINE_SECONDS = 180.0
MESSAGE_ID = re.compile(rb"^Message-ID: <([^@>]+)@", re.MULTILINE | re.IGNORECASE)


def query(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of `sql`, read through a connection of the test's own, not Sesame's."""
    if database_url.startswith("postgresql://"):
        with psycopg.connect(database_url) as conn:
            return conn.execute(sql).fetchall()
    with closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The one database all the test's processes share: a SQLite file, or a fresh
    PostgreSQL schema (skipped without a server, except on CI: tests/conftest.py)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    # Three ports: the doomed worker's, the survivor's and the replacement's.
    running = SmtpSink(also=2)
    running.start()
    yield running
    running.stop()


class Processes:
    """The `sesame` processes of one test, all stopped at its end, killed if need be."""

    def __init__(self, cwd: Path, database_url: str) -> None:
        self.cwd = cwd
        self.common = ["--database-url", database_url, "--access-key-id", ACCESS_KEY_ID]
        self.common += ["--secret-access-key", SECRET_ACCESS_KEY, "--region", REGION]
        # Five processes at once on a server other tests use too: small pools.
        self.common += ["--database-pool-size", "4"]
        #: Each process with what it printed and the thread reading that; one append per
        #: process, since processes are started from several threads at once.
        self.started: list[tuple[subprocess.Popen[str], list[str], threading.Thread]] = []

    def api(self, port: int) -> subprocess.Popen[str]:
        args = ["serve", "--no-deliver", "--port", str(port), *self.common]
        return self._start(args, "Sesame is ready")

    def worker(self, relay: str) -> subprocess.Popen[str]:
        args = ["worker", "--smtp-relay", relay, *self.common]
        args += ["--delivery-lease-seconds", str(LEASE_SECONDS), "--delivery-retry-seconds", "1"]
        return self._start(args, "Sesame worker")

    def _start(self, args: list[str], ready: str) -> subprocess.Popen[str]:
        process, lines = run_sesame(self.cwd, *args, ready=ready)
        # Read the rest as it comes, so the pipe never fills (and it is there to show).
        stdout = process.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: lines.extend(stdout), daemon=True)
        reader.start()
        self.started.append((process, lines, reader))
        return process

    @staticmethod
    def finish(process: subprocess.Popen[str], signum: int) -> None:
        if process.poll() is None:
            process.send_signal(signum)
        process.wait(timeout=30)

    def stop(self) -> None:
        for process, _, _ in self.started:
            if process.poll() is None:
                process.terminate()
        for process, _, _ in self.started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        for process, lines, reader in self.started:
            reader.join(timeout=30)
            assert process.stdout is not None
            process.stdout.close()
            # Captured: pytest shows it when the test fails.
            print(f"--- {' '.join(str(a) for a in process.args[2:4])}:", *lines, sep="\n")


@pytest.fixture
def processes(tmp_path: Path, database_url: str) -> Iterator[Processes]:
    running = Processes(tmp_path, database_url)
    yield running
    running.stop()


def ses_client(url: str) -> Any:
    return boto3.client(
        "sesv2",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        # No retries: a retried SendEmail could queue a second message.
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=4),
    )


def send_all(urls: list[str], pool: ThreadPoolExecutor) -> list[Future[str]]:
    """MESSAGES SendEmail calls, spread over the API processes, from SENDERS threads."""
    clients = [ses_client(url) for url in urls]

    def send(index: int) -> str:
        response = clients[index % len(clients)].send_email(
            FromEmailAddress="news@example.com",
            Destination={"ToAddresses": [f"r{index}@example.org"]},
            Content={
                "Simple": {"Subject": {"Data": f"#{index}"}, "Body": {"Text": {"Data": "hello"}}}
            },
        )
        return str(response["MessageId"])

    return [pool.submit(send, index) for index in range(MESSAGES)]


def message_id(received: Received) -> str:
    found = MESSAGE_ID.search(received.data.split(b"\r\n\r\n", 1)[0])
    assert found is not None, received.data[:500]
    return found[1].decode()


class Arrivals:
    """The sink's mail as it comes: each message's Message-ID and the port it came to."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink
        self.order: list[tuple[str, int]] = []
        self.copies: Counter[str] = Counter()

    def take(self, received: Received) -> None:
        found = message_id(received)
        self.order.append((found, received.port))
        self.copies[found] += 1

    def until(self, done: Callable[[], bool]) -> None:
        """Take the sink's mail until `done()`; fail at the deadline. Each arrival (or a
        quarter second without one) is a moment to check again."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"not done after {DEADLINE_SECONDS:g} s: {len(self.order)} arrived"
                )
            try:
                self.take(self.sink.handler.inbox.get(timeout=0.25))
            except queue.Empty:
                continue
            for received in self.sink.drain():
                self.take(received)


def leased_rows(database_url: str) -> set[str]:
    """Every message a worker has claimed and not finished (deferred rows have no lease)."""
    sql = "SELECT message_id FROM outbox WHERE lease_until IS NOT NULL"
    return {row[0] for row in query(database_url, sql)}


def test_a_killed_worker_loses_nothing_and_duplicates_only_its_messages_in_flight(
    processes: Processes, sink: SmtpSink, database_url: str
) -> None:
    doomed_port, survivor_port, replacement_port = sink.ports
    api_ports = [free_port(), free_port()]
    # The first process creates the schema; the others start beside each other.
    processes.api(api_ports[0])
    with ThreadPoolExecutor(3) as starting:
        second = starting.submit(processes.api, api_ports[1])
        doomed_future = starting.submit(processes.worker, sink.address_of(doomed_port))
        survivor = starting.submit(processes.worker, sink.address_of(survivor_port))
        second.result(), survivor.result()
        doomed = doomed_future.result()
    urls = [f"http://127.0.0.1:{port}" for port in api_ports]
    ses_client(urls[0]).create_email_identity(EmailIdentity="example.com")

    arrived = Arrivals(sink)
    sink.hold(lambda r: r.port == doomed_port and len(arrived.order) >= KILL_AFTER)
    with ThreadPoolExecutor(SENDERS) as pool:
        sends = send_all(urls, pool)
        arrived.until(lambda: not sink.handler.held.empty())
        in_flight = message_id(sink.handler.held.get_nowait())
        processes.finish(doomed, signal.SIGKILL)
        # A superset of the killed worker's messages in flight: the survivor's are in
        # it too, and so is every row claimed before the kill and not finished since.
        leased = leased_rows(database_url)
        processes.worker(sink.address_of(replacement_port))
        sent = [future.result() for future in sends]

    def delivered_and_recorded() -> bool:
        if len(arrived.copies) < MESSAGES or not set(sent) <= arrived.copies.keys():
            return False
        return query(database_url, "SELECT COUNT(*) FROM outbox") == [(0,)]

    arrived.until(delivered_and_recorded)
    for received in sink.drain():
        arrived.take(received)

    copies = arrived.copies
    duplicates = {m for m, count in copies.items() if count > 1}
    print(
        f"{len(arrived.order)} arrived, {len(duplicates)} twice; {len(leased)} leased at the kill"
    )
    assert len(set(sent)) == MESSAGES
    assert set(copies) == set(sent), "mail at the sink that nobody sent"
    assert in_flight in leased
    assert in_flight in duplicates, "the message held at the kill was not taken over"
    assert duplicates <= leased, f"duplicates not in flight at the kill: {duplicates - leased}"
    assert max(copies.values()) == 2
    ports = [port for found, port in arrived.order if found == in_flight]
    assert ports in ([doomed_port, survivor_port], [doomed_port, replacement_port])

    counts = query(
        database_url,
        "SELECT message_id, event_type, COUNT(*) FROM events GROUP BY message_id, event_type",
    )
    expected = {(m, kind): 1 for m in sent for kind in ("Send", "Delivery")}
    assert {(m, kind): n for m, kind, n in counts} == expected


def test_the_delivery_lease_is_at_least_a_second() -> None:
    from sesame.config import Settings

    with pytest.raises(ValueError, match="--delivery-lease-seconds must be at least 1"):
        Settings(delivery_lease_seconds=0)
