"""`sesame serve` as a person runs it: a real process, its output, its files."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from sesame.coverage import coverage_markdown

from harness import free_port


def _serve(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], list[str]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SESAME_", "AWS_"))}
    env = clean | (env or {}) | {"PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sesame", "serve", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    # readline returns as soon as a line is printed, or "" when the process ends.
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Sesame is ready"):
            break
    return process, lines


def client(port: str | int, key_id: str, secret: str, region: str = "us-east-1") -> Any:
    """A boto3 sesv2 client for a `sesame serve` on this machine's `port`."""
    return boto3.client(
        "sesv2",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


@pytest.fixture
def stop() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def test_serve_generates_credentials_once_and_keeps_data(
    tmp_path: Path, stop: list[subprocess.Popen[str]]
) -> None:
    port = str(free_port())
    process, lines = _serve(tmp_path, "--port", port)
    stop.append(process)
    output = "\n".join(lines)
    assert f"endpoint:          http://127.0.0.1:{port}" in output, output
    key_id = re.search(r"access key id:\s+(AKIA[A-Z2-7]{16})", output)
    secret = re.search(r"secret access key: (\S{40})", output)
    assert key_id and secret, output
    credentials = tmp_path / ".sesame" / "credentials.json"
    assert credentials.stat().st_mode & 0o777 == 0o600

    ses = client(port, key_id.group(1), secret.group(1))
    ses.create_configuration_set(ConfigurationSetName="kept")
    process.terminate()
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    stop.remove(process)
    assert process.stdout is not None
    process.stdout.close()

    process, lines = _serve(tmp_path, "--port", port)
    stop.append(process)
    assert key_id.group(1) in "\n".join(lines)
    assert ses.list_configuration_sets()["ConfigurationSets"] == ["kept"]
    assert (tmp_path / ".sesame" / "sesame.db").exists()


def test_environment_variables_configure_serve(
    tmp_path: Path, stop: list[subprocess.Popen[str]]
) -> None:
    port = str(free_port())
    env = {
        "SESAME_PORT": port,
        "SESAME_REGION": "eu-west-1",
        "SESAME_DATA_DIR": str(tmp_path / "d"),
        "SESAME_ACCESS_KEY_ID": "AKIAENVIRONMENTKEY01",
        "SESAME_SECRET_ACCESS_KEY": "s" * 40,
    }
    process, lines = _serve(tmp_path, env=env)
    stop.append(process)
    text = "\n".join(lines)
    assert "eu-west-1" in text and "AKIAENVIRONMENTKEY01" in text and "s" * 40 not in text
    assert not (tmp_path / "d" / "credentials.json").exists()
    ses = client(port, "AKIAENVIRONMENTKEY01", "s" * 40, region="eu-west-1")
    assert ses.list_configuration_sets()["ConfigurationSets"] == []


def test_several_workers_share_one_port_and_one_database(
    tmp_path: Path, stop: list[subprocess.Popen[str]], shared_database: dict[str, Any]
) -> None:
    port = str(free_port())
    database = ["--database-url", shared_database["database_url"]] if shared_database else []
    process, lines = _serve(
        tmp_path,
        "--port",
        port,
        "--workers",
        "2",
        "--access-key-id",
        "AKIAWORKERSTESTKEY01",
        "--secret-access-key",
        "w" * 40,
        *database,
    )
    stop.append(process)
    assert lines[-1] == f"Sesame is ready on http://127.0.0.1:{port} (2 workers)"
    ses = client(port, "AKIAWORKERSTESTKEY01", "w" * 40)
    names = [f"set-{index}" for index in range(20)]
    for name in names:
        ses.create_configuration_set(ConfigurationSetName=name)
    # Whichever worker answers, it reads the one database every worker writes to.
    for _ in range(10):
        assert ses.list_configuration_sets(PageSize=100)["ConfigurationSets"] == sorted(names)


def test_bad_settings_are_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sesame", "serve", "--account-id", "12"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--account-id must be 12 digits" in result.stderr


def test_coverage_command_prints_the_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sesame", "coverage"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.strip() == coverage_markdown()


def test_the_tracking_port_serves_tracking_and_nothing_else(
    tmp_path: Path, stop: list[subprocess.Popen[str]]
) -> None:
    import json
    import re
    import urllib.error
    import urllib.request

    api_port, tracking_port = str(free_port()), str(free_port())
    process, lines = _serve(
        tmp_path,
        "--port",
        api_port,
        "--tracking-port",
        tracking_port,
        "--access-key-id",
        "AKIATRACKINGPORTKEY1",
        "--secret-access-key",
        "t" * 40,
    )
    stop.append(process)
    assert lines[-1].endswith(f"tracking also on port {tracking_port}"), lines
    ses = client(api_port, "AKIATRACKINGPORTKEY1", "t" * 40)
    ses.create_email_identity(EmailIdentity="example.com")
    ses.create_configuration_set(ConfigurationSetName="opens")
    ses.create_configuration_set_event_destination(
        ConfigurationSetName="opens",
        EventDestinationName="d",
        EventDestination={
            "Enabled": True,
            "MatchingEventTypes": ["OPEN"],
            "SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:000000000000:t"},
        },
    )
    message_id = ses.send_email(
        FromEmailAddress="me@example.com",
        Destination={"ToAddresses": ["you@example.org"]},
        Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Html": {"Data": "<p>hi</p>"}}}},
        ConfigurationSetName="opens",
    )["MessageId"]
    url = f"http://127.0.0.1:{api_port}/_aws/ses?id={message_id}"
    with urllib.request.urlopen(url) as response:
        html = json.load(response)["messages"][0]["Body"]["html_part"]
    [pixel] = re.findall(r'src="([^"]+)"', html)
    assert pixel.startswith(f"http://127.0.0.1:{tracking_port}/I0/")
    with urllib.request.urlopen(pixel) as response:
        assert response.headers["Content-Type"] == "image/gif"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"http://127.0.0.1:{tracking_port}/v2/email/configuration-sets")
    assert caught.value.code == 404
    caught.value.close()
    # List-Unsubscribe URLs point at the tracking port too, and it serves them.
    ses.create_contact_list(ContactListName="news")
    list_message = ses.send_email(
        FromEmailAddress="me@example.com",
        Destination={"ToAddresses": ["you@example.org"]},
        Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "hi"}}}},
        ListManagementOptions={"ContactListName": "news"},
    )["MessageId"]
    url = f"http://127.0.0.1:{api_port}/_aws/ses?id={list_message}"
    with urllib.request.urlopen(url) as response:
        raw = json.load(response)["messages"][0]["RawData"]
    from email import message_from_string, policy

    unsubscribe = str(message_from_string(raw, policy=policy.default)["List-Unsubscribe"])
    unsubscribe = unsubscribe.strip("<>")
    assert unsubscribe.startswith(f"http://127.0.0.1:{tracking_port}/U0/")
    request = urllib.request.Request(unsubscribe, data=b"List-Unsubscribe=One-Click")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    contact = ses.get_contact(ContactListName="news", EmailAddress="you@example.org")
    assert contact["UnsubscribeAll"] is True


def test_keys_rotate_adds_a_signing_key(tmp_path: Path) -> None:
    from sesame.store import open_store

    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "sesame", "keys", "rotate", "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("New signing key ")
    store = open_store(f"sqlite:///{tmp_path / 'sesame.db'}")
    try:
        keys = store.signing_keys()
    finally:
        store.close()
    assert len(keys) == 2 and keys[0].id != keys[1].id
    assert all(len(key.secret) == 32 for key in keys)


def test_metrics_prints_ses_and_person_only_figures(tmp_path: Path) -> None:
    import json
    import time

    from sesame.store import open_store
    from sesame.store.base import Event

    store = open_store(f"sqlite:///{tmp_path / 'sesame.db'}")
    mail = {"destination": ["a@example.org"], "sourceArn": "arn:aws:ses:x:1:identity/example.org"}
    now = time.time()
    store.add_events(
        [
            Event("e1", "m1", "Open", now, "cs", {"eventType": "Open", "mail": mail, "open": {}}),
            Event(
                "e2",
                "m2",
                "Open",
                now,
                "cs",
                {
                    "eventType": "Open",
                    "mail": mail,
                    "open": {},
                    "sesameVerdict": {"actor": "machine", "reason": "gmail-image-proxy"},
                },
            ),
        ]
    )
    store.close()
    result = subprocess.run(
        [sys.executable, "-m", "sesame", "metrics", "--days", "1", "--data-dir", str(tmp_path)]
        + ["--configuration-set", "cs"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {
            "day": time.strftime("%Y-%m-%d", time.gmtime(now)),
            "metric": "OPEN",
            "value": 2,
            "human": 1,
        }
    ]


def test_repeatable_api_rate_travels_to_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    from sesame.cli import serve
    from sesame.config import Settings, to_environment

    given = Settings(api_rate=("GetAccount=1/s", "ListContacts=2.5/s"), max_24h_send=200)
    for name, value in to_environment(given).items():
        monkeypatch.setenv(name, value)
    rebuilt = Settings(**serve.make_context("serve", []).params)
    assert rebuilt.api_rates() == {"GetAccount": 1.0, "ListContacts": 2.5}
    assert rebuilt.max_24h_send == 200
    with pytest.raises(ValueError, match="OPERATION=N/s"):
        Settings(api_rate=("GetAccount=fast",))
    with pytest.raises(ValueError, match="-1 for no limit"):
        Settings(max_send_rate=0)


def sesame_command(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SESAME_", "AWS_"))}
    return subprocess.run(
        [sys.executable, "-m", "sesame", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_migrate_brings_an_empty_database_to_the_latest_version(
    tmp_path: Path, shared_database: dict[str, Any]
) -> None:
    from sesame.store import open_store
    from sesame.store.schema import latest_version

    url = shared_database.get("database_url") or f"sqlite:///{tmp_path / 'sesame.db'}"
    for _ in range(2):  # the second run finds nothing to do
        result = sesame_command(tmp_path, "migrate", "--database-url", url)
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"{url}: schema version {latest_version()}\n"
    store = open_store(url, migrate=False)
    try:
        assert store.migrate() == latest_version()
    finally:
        store.close()


def test_migrate_never_prints_the_database_password(postgres_url: str, tmp_path: Path) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(postgres_url)
    if parts.password is not None:
        pytest.skip("the test database's URL has a password of its own")
    # Trust authentication ignores the password, so the URL works with one in it.
    url = postgres_url.replace(f"{parts.username}@", f"{parts.username}:hunter2@", 1)
    assert "hunter2" in url
    result = sesame_command(tmp_path, "migrate", "--database-url", url)
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    assert result.stdout.startswith("postgresql://postgres:***@")


def test_an_unreachable_database_is_a_one_line_error(tmp_path: Path) -> None:
    # Port 9 (discard) is closed on loopback: the connection is refused at once.
    url = "postgresql://sesame:hunter2@127.0.0.1:9/sesame"
    for command in ("migrate", "serve", "worker"):
        result = sesame_command(tmp_path, command, "--database-url", url)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert "hunter2" not in result.stdout + result.stderr
        assert "Error: postgresql://sesame:***@127.0.0.1:9/sesame: cannot connect" in result.stderr
