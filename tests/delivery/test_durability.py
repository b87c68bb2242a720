"""A message SendEmail answered for survives a killed process, and `sesame worker` delivers it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from harness import free_port
from smtp_sink import SmtpSink

KEY_ID, SECRET = "AKIADURABILITYTEST01", "d" * 40


def _start(cwd: Path, *args: str, ready: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESAME_", "AWS_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "sesame", *args],
        cwd=cwd,
        env=env | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:  # returns as each line is printed
        if line.startswith(ready):
            return process
    raise AssertionError(f"{args[0]} exited before it was ready")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    running = SmtpSink()
    running.start()
    yield running
    running.stop()


def _finish(process: subprocess.Popen[str], signum: int) -> None:
    process.send_signal(signum)
    process.wait(timeout=30)
    if process.stdout is not None:
        process.stdout.close()


def test_killed_server_loses_nothing_and_a_worker_delivers(tmp_path: Path, sink: SmtpSink) -> None:
    port = free_port()
    common = ["--access-key-id", KEY_ID, "--secret-access-key", SECRET]
    server = _start(
        tmp_path,
        "serve",
        "--port",
        str(port),
        "--no-deliver",
        *common,
        ready="Sesame is ready",
    )
    ses = boto3.client(
        "sesv2",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    ses.create_email_identity(EmailIdentity="example.com")
    sent = [
        ses.send_email(
            FromEmailAddress="me@example.com",
            Destination={"ToAddresses": [f"r{index}@example.org"]},
            Content={"Simple": {"Subject": {"Data": f"#{index}"}, "Body": {"Text": {"Data": "x"}}}},
        )["MessageId"]
        for index in range(3)
    ]
    _finish(server, signal.SIGKILL)

    worker = _start(
        tmp_path,
        "worker",
        "--smtp-relay",
        sink.address,
        "--delivery-retry-seconds",
        "1",
        ready="Sesame worker delivering",
    )
    received = [sink.next(timeout=60) for _ in sent]
    assert sorted(r.recipients[0] for r in received) == [f"r{i}@example.org" for i in range(3)]
    _finish(worker, signal.SIGTERM)

    for message_id in sent:
        printed = subprocess.run(
            [sys.executable, "-m", "sesame", "events", "--message-id", message_id],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.splitlines()
        types = [json.loads(line)["eventType"] for line in printed]
        assert types[0] == "Send" and types[-1] == "Delivery", types
        assert all(json.loads(line)["mail"]["messageId"] == message_id for line in printed)
