"""The tracking edge as it is deployed: `sesame serve --role tracking` processes beside
`sesame serve --role api` on one database (SQLite, PostgreSQL).

What is checked, each through the real `sesame` command and real HTTP:

- each role serves its paths and 404s the others; a tracking node needs no key pair;
- SIGTERM right after a burst of clicks loses none of them;
- a database that holds the recorder up (a table lock, the way a slow database does)
  or is away for a while delays no redirect, and the events land once it is back;
- a full buffer is counted and logged, and the redirects go on;
- bad links cost no database reads beyond the keys' rate limit, and an unknown key
  with the database away is a 404.

No test sleeps for a duration: each waits for the thing (a lock waiter in
pg_locks, a count of rows, a line of output), with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import re
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_string, policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import psycopg
import pytest

from sesame.config import Settings
from sesame.edge import build_edge
from sesame.server import Server
from sesame.server import config as server_config

import database
from engagement import configure, sns
from harness import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, free_port, run_sesame

HTML = (
    '<html><body><p><a href="https://example.org/one">one</a> '
    '<a href="https://example.org/two">two</a></p></body></html>'
)
DEADLINE = 60.0


def until(check: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    """Wait until `check()` holds (it reads state another process writes); fail at the
    deadline."""
    end = time.monotonic() + deadline
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def request(port: int, path: str, method: str = "GET", body: bytes | None = None) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers={"User-Agent": "edge-test/1.0"})
        response = connection.getresponse()
        return Answer(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


@dataclass
class Node:
    process: subprocess.Popen[str]
    lines: list[str]
    port: int

    def get(self, path: str, method: str = "GET", body: bytes | None = None) -> Answer:
        return request(self.port, path, method, body)

    def health(self) -> dict[str, Any]:
        answer = self.get("/_sesame/tracking")
        assert answer.status == 200, answer
        state: dict[str, Any] = json.loads(answer.body)
        return state

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)


class Nodes:
    """The `sesame serve` processes of one test, on one database, stopped at its end."""

    def __init__(self, cwd: Path, database_url: str) -> None:
        self.cwd = cwd
        self.database_url = database_url
        self.common = ["--database-url", database_url, "--region", REGION]
        self.common += ["--database-pool-size", "4", "--machine-click-seconds", "0"]
        self.started: list[tuple[Node, threading.Thread]] = []

    def tracking(self, *extra: str) -> Node:
        return self._start("--role", "tracking", *extra)

    def api(self, tracking: Node, *extra: str) -> Node:
        # --no-deliver: nothing but the tracking node writes events once mail is sent.
        args = ["--role", "api", "--no-deliver", "--tracking-domain", f"127.0.0.1:{tracking.port}"]
        args += ["--access-key-id", ACCESS_KEY_ID, "--secret-access-key", SECRET_ACCESS_KEY]
        return self._start(*args, *extra)

    def _start(self, *args: str) -> Node:
        port = free_port()
        process, lines = run_sesame(
            self.cwd, "serve", "--port", str(port), *self.common, *args, ready="Sesame is ready"
        )
        stdout = process.stdout
        assert stdout is not None
        # Read the rest as it comes: the pipe never fills, and the log is there to check.
        reader = threading.Thread(target=lambda: lines.extend(stdout), daemon=True)
        reader.start()
        node = Node(process, lines, port)
        self.started.append((node, reader))
        return node

    def stop(self) -> None:
        for node, _ in self.started:
            if node.process.poll() is None:
                node.process.terminate()
        for node, reader in self.started:
            try:
                node.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(timeout=30)
            reader.join(timeout=30)
            assert node.process.stdout is not None
            node.process.stdout.close()
            print(f"--- {' '.join(str(a) for a in node.process.args[3:])}:", *node.lines, sep="")


def query(database_url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of `sql` through a connection of the test's own."""
    if database_url.startswith("postgresql://"):
        with psycopg.connect(database_url, autocommit=True) as conn:
            return conn.execute(sql.replace("?", "%s"), args).fetchall()
    with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as conn:
        return conn.execute(sql, args).fetchall()


def clicks(database_url: str, message_id: str) -> int:
    sql = "SELECT count(*) FROM events WHERE message_id = ? AND event_type = 'Click'"
    return int(query(database_url, sql, message_id)[0][0])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def nodes(tmp_path: Path, database_url: str) -> Iterator[Nodes]:
    running = Nodes(tmp_path, database_url)
    yield running
    running.stop()


@dataclass
class Mail:
    message_id: str
    links: list[str]
    pixel: str


def ses_of(node: Node) -> Any:
    return boto3.client(
        "sesv2",
        endpoint_url=f"http://127.0.0.1:{node.port}",
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


def mailbox(api: Node, message_id: str) -> dict[str, Any]:
    answer = api.get(f"/_aws/ses?id={message_id}")
    assert answer.status == 200
    message: dict[str, Any] = json.loads(answer.body)["messages"][0]
    return message


def send_tracked(api: Node) -> Mail:
    """A message through a set that tracks opens and clicks (no CustomRedirectDomain, so
    the links point at --tracking-domain): its id, tracked link paths and pixel path."""
    ses = ses_of(api)
    name = "t" + uuid.uuid4().hex[:10]
    sender = configure(ses, name, ("engagement", sns("engagement")), types=["OPEN", "CLICK"])
    message_id = ses.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["reader@example.org"]},
        Content={"Simple": {"Subject": {"Data": "Tracked"}, "Body": {"Html": {"Data": HTML}}}},
        ConfigurationSetName=name,
    )["MessageId"]
    html = mailbox(api, message_id)["Body"]["html_part"]
    links = [urlsplit(u).path for u in re.findall(r'href="([^"]+)"', html) if "/L0/" in u]
    [pixel] = [urlsplit(u).path for u in re.findall(r'<img[^>]+src="([^"]+)"', html)]
    assert len(links) == 2
    return Mail(str(message_id), links, pixel)


# -- roles -------------------------------------------------------------------------------


def test_each_role_serves_its_paths_and_the_tracking_node_needs_no_key_pair(
    tmp_path: Path, nodes: Nodes, database_url: str
) -> None:
    tracking = nodes.tracking()
    api = nodes.api(tracking)
    mail = send_tracked(api)

    # The tracking node serves the mail the API node accepted, on the same database.
    assert tracking.get(mail.pixel).headers["content-type"] == "image/gif"
    redirect = tracking.get(mail.links[1])
    assert (redirect.status, redirect.headers["location"]) == (302, "https://example.org/two")
    health = tracking.health()
    assert health["status"] == "ok" and health["notRecorded"] == 0
    until(lambda: clicks(database_url, mail.message_id) == 1, "the click in the store")

    # One-click unsubscribe, on the tracking node, for mail sent through the API node.
    ses = ses_of(api)
    ses.create_email_identity(EmailIdentity="example.com")
    ses.create_contact_list(ContactListName="news")
    listed = ses.send_email(
        FromEmailAddress="me@example.com",
        Destination={"ToAddresses": ["you@example.org"]},
        Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "hi"}}}},
        ListManagementOptions={"ContactListName": "news"},
    )["MessageId"]
    raw = mailbox(api, listed)["RawData"]
    url = str(message_from_string(raw, policy=policy.default)["List-Unsubscribe"]).strip("<>")
    assert url.startswith(f"https://127.0.0.1:{tracking.port}/U0/")
    unsubscribe = urlsplit(url).path
    assert b"<form" in tracking.get(unsubscribe).body
    assert tracking.get(unsubscribe, "POST", b"List-Unsubscribe=One-Click").status == 200
    contact = ses.get_contact(ContactListName="news", EmailAddress="you@example.org")
    assert contact["UnsubscribeAll"] is True

    # Everything else is a 404 on the tracking node.
    for path in ("/v2/email/configuration-sets", "/_sesame/", "/_aws/ses", "/_sesame/events"):
        assert tracking.get(path).status == 404, path
    assert tracking.get("/v2/email/outbound-emails", "POST", b"{}").status == 404
    # And the tracking paths (and the health check) are a 404 on the API node.
    for path in (mail.pixel, mail.links[0], unsubscribe, "/_sesame/tracking"):
        assert api.get(path).status == 404, path
    assert clicks(database_url, mail.message_id) == 1

    # No key pair was made or printed by the tracking node (the API node was given one).
    assert not (tmp_path / "credentials.json").exists()
    assert not tracking.said("access key")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"role": "api"}, "--role api serves no tracking links: give --tracking-domain"),
        ({"role": "tracking", "tracking_port": 8841}, "--tracking-port needs --role all"),
        (
            {"role": "api", "tracking_domain": "t.example.com", "tracking_port": 8841},
            "--tracking-port needs --role all",
        ),
        ({"role": "edge"}, "--role must be all, api or tracking"),
        ({"tracking_buffer": 0}, "--tracking-buffer must be at least 1"),
    ],
)
def test_nonsense_role_combinations_are_refused(options: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        Settings(**options)


def test_the_command_says_why_it_refuses_a_role(tmp_path: Path) -> None:
    import os
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESAME_", "AWS_"))}
    result = subprocess.run(
        [sys.executable, "-m", "sesame", "serve", "--data-dir", str(tmp_path)],
        env=env | {"SESAME_ROLE": "api"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--role api serves no tracking links: give --tracking-domain" in result.stderr


# -- durability and independence from the database ----------------------------------------


def test_sigterm_right_after_a_burst_of_clicks_loses_none(nodes: Nodes, database_url: str) -> None:
    tracking = nodes.tracking()
    api = nodes.api(tracking)
    mail = send_tracked(api)
    count = 40
    for number in range(count):
        assert tracking.get(mail.links[number % 2]).status == 302
    # Most of them are still in the buffer (it is written once a second).
    tracking.process.terminate()
    # uvicorn shuts down gracefully, then re-raises the signal it caught: -SIGTERM.
    assert tracking.process.wait(timeout=60) in (0, -signal.SIGTERM)
    assert clicks(database_url, mail.message_id) == count
    assert not tracking.said("lost")


@contextlib.contextmanager
def events_locked(database_url: str) -> Iterator[Callable[[], bool]]:
    """Hold the events table the way a stalled database would: PostgreSQL's ACCESS
    EXCLUSIVE lock (every read and write of it waits), or SQLite's exclusive write lock.
    Yields "does someone wait for the lock?" (PostgreSQL only; SQLite cannot say)."""
    if database_url.startswith("postgresql://"):
        with psycopg.connect(database_url) as conn:
            conn.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            waiting = (
                "SELECT count(*) FROM pg_locks WHERE relation = 'events'::regclass AND NOT granted"
            )

            def someone_waits() -> bool:
                row = conn.execute(waiting).fetchone()
                return bool(row and row[0])

            try:
                yield someone_waits
            finally:
                conn.rollback()
        return
    conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield lambda: True
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def test_redirects_do_not_wait_for_a_stalled_database(nodes: Nodes, database_url: str) -> None:
    tracking = nodes.tracking()
    api = nodes.api(tracking)
    mail = send_tracked(api)
    count = 30
    with events_locked(database_url) as someone_waits:
        assert tracking.get(mail.links[0]).status == 302
        # The recorder's batch is now stuck on the lock (seen in pg_locks on PostgreSQL) ...
        until(someone_waits, "the recorder to wait for the lock")
        # ... and every redirect is still answered while the lock is held.
        for number in range(count):
            answer = tracking.get(mail.links[number % 2])
            assert answer.status == 302
        if database_url.startswith("postgresql://"):
            # Exactly: the first click is in the stuck batch, these wait behind it.
            assert tracking.health()["pending"] == count
    until(lambda: clicks(database_url, mail.message_id) == count + 1, "the clicks to land")
    assert tracking.health() == {"status": "ok", "pending": 0, "notRecorded": 0}


@pytest.mark.postgres
def test_a_full_buffer_is_counted_and_logged_and_redirects_go_on(
    tmp_path: Path, postgres_url: str
) -> None:
    nodes = Nodes(tmp_path, postgres_url)
    try:
        tracking = nodes.tracking("--tracking-buffer", "3")
        api = nodes.api(tracking)
        mail = send_tracked(api)
        with events_locked(postgres_url) as someone_waits:
            assert tracking.get(mail.links[0]).status == 302
            until(someone_waits, "the recorder to wait for the lock")
            for _ in range(10):
                assert tracking.get(mail.links[1]).status == 302
            # 3 wait in the buffer, 7 did not fit: counted, and said in the log at once.
            assert tracking.health() == {"status": "ok", "pending": 3, "notRecorded": 7}
            until(lambda: tracking.said("tracking buffer full"), "the warning")
        until(lambda: clicks(postgres_url, mail.message_id) == 4, "the buffered clicks")
        until(lambda: tracking.said("7 hits not recorded since the last report, 7 in all"), "log")
    finally:
        nodes.stop()


@pytest.fixture
def own_database(postgres_server: database.Server) -> Iterator[str]:
    """A PostgreSQL database of this test's own, which it may close to connections."""
    admin = database.server_url()
    assert admin is not None
    name = "sesame_edge_" + uuid.uuid4().hex[:12]
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as problem:
        pytest.skip(f"cannot create a database of the test's own: {problem}")
    try:
        yield database.with_database(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@contextlib.contextmanager
def unreachable(database_url: str) -> Iterator[None]:
    """The database refuses new connections and drops those it has, then comes back."""
    admin = database.server_url()
    assert admin is not None
    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        try:
            yield
        finally:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


@pytest.mark.postgres
def test_redirects_go_on_while_the_database_is_away_and_the_clicks_land_after(
    tmp_path: Path, own_database: str
) -> None:
    nodes = Nodes(tmp_path, own_database)
    try:
        tracking = nodes.tracking()
        api = nodes.api(tracking)
        mail = send_tracked(api)
        key_id = mail.links[0].rpartition("/")[2].partition(".")[0]
        unknown_key = mail.links[0].replace(f"/{key_id}.", "/zzzzzz.")
        with unreachable(own_database):
            for number in range(20):
                assert tracking.get(mail.links[number % 2]).status == 302
            assert tracking.get(mail.pixel).status == 200
            # A key this node does not hold cannot be looked up now: a 404, not a 500.
            assert tracking.get(unknown_key).status == 404
            assert tracking.health()["status"] == "ok"
            until(lambda: tracking.said("could not record"), "the failed flush")
        until(lambda: clicks(own_database, mail.message_id) == 20, "the clicks to land")
        assert tracking.health()["notRecorded"] == 0
    finally:
        nodes.stop()


# -- bad links and the keys ----------------------------------------------------------------


@dataclass
class InProcess:
    edge: Any
    port: int
    server: Server
    thread: threading.Thread


@pytest.fixture
def edge_node(tmp_path: Path) -> Iterator[InProcess]:
    """An Edge as `--role tracking` builds it, in this process so its keys can be read."""
    port = free_port()
    edge = build_edge(Settings(role="tracking", data_dir=tmp_path, port=port))
    server = Server(server_config(edge, "127.0.0.1", port))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    assert server.ready.wait(timeout=30)
    yield InProcess(edge, port, server, thread)
    server.should_exit = True
    thread.join(timeout=30)


def test_bad_links_cost_one_key_lookup_however_many_there_are(edge_node: InProcess) -> None:
    from sesame.mail.tokens import click_path, open_path

    keys = edge_node.edge.keys
    good = click_path(keys.keyring(), "m1", 0, "https://example.org/")
    held = keys.keyring().current
    # The one allowed lookup is the only one for the whole test.
    keys.retry_seconds = 3600.0
    loads = keys.loads
    forged = good[: good.rindex(".") + 1] + "A" * 22
    bad = [
        "/L0/x/0/m1/nodot",
        "/L0/x/0/m1/BAD-KEY.mac",
        "/I0/m1/" + "%00" * 10,
        forged,  # a held key, a wrong MAC: no lookup
        open_path(keys.keyring(), "m1").replace(f"/{held}.", f"/{held}9."),  # unknown key
        good.replace(f"/{held}.", "/zzzzzz."),  # unknown key
    ]
    for number in range(300):
        path = bad[number % len(bad)]
        assert request(edge_node.port, path).status == 404, path
    assert keys.loads == loads + 1
    # The good link still verifies (without a lookup).
    assert request(edge_node.port, good).status == 302
    assert keys.loads == loads + 1


def test_an_unsubscribe_the_database_cannot_take_is_a_503(
    edge_node: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sesame.mail.unsubscribe import Unsubscribe, unsubscribe_path

    path = unsubscribe_path(edge_node.edge.keys.keyring(), Unsubscribe("m1", 0, "news", None))

    def away(message_id: str) -> None:
        raise OSError("the database is away")

    monkeypatch.setattr(edge_node.edge.store, "message_facts", away)
    answer = request(edge_node.port, path, "POST", b"List-Unsubscribe=One-Click")
    assert answer.status == 503 and answer.headers["retry-after"] == "60"
    # The page (GET) needs no database and is still served.
    assert request(edge_node.port, path).status == 200
