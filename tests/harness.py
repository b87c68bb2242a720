"""A real Sesame on a free loopback port, and boto3 clients pointed at it.

Imported by tests as `harness`; tests/conftest.py turns it into fixtures.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from sesame.app import Sesame, build_app
from sesame.config import Settings
from sesame.server import Server
from sesame.server import config as server_config
from sesame.store.base import Event

ACCESS_KEY_ID = "AKIASESAMETESTKEY001"
SECRET_ACCESS_KEY = "sesame-test-secret-access-key-0123456789"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningSesame:
    app: Sesame
    url: str
    server: Server
    thread: threading.Thread

    def client(self, **overrides: Any) -> Any:
        options: dict[str, Any] = {
            "endpoint_url": self.url,
            "region_name": REGION,
            "aws_access_key_id": ACCESS_KEY_ID,
            "aws_secret_access_key": SECRET_ACCESS_KEY,
            "config": Config(retries={"max_attempts": 1, "mode": "standard"}),
        }
        options.update(overrides)
        return boto3.client("sesv2", **options)

    def events(self, message_id: str, *types: str, timeout: float = 30.0) -> list[Event]:
        """Wait until `message_id` has an event of each of `types`; all its events."""
        store = self.app.store

        def ready() -> bool:
            have = {event.event_type for event in store.list_events(message_id=message_id)}
            return set(types) <= have

        if not self.app.feed.wait_for(ready, timeout):
            found = [e.event_type for e in store.list_events(message_id=message_id)]
            raise AssertionError(f"{message_id}: wanted {types}, have {found}")
        return store.list_events(message_id=message_id)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_sesame(data_dir: Path, **settings: Any) -> RunningSesame:
    options: dict[str, Any] = {
        "port": free_port(),
        "data_dir": data_dir,
        "account_id": ACCOUNT_ID,
        "region": REGION,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
    } | settings
    settings = Settings(**options)
    app = build_app(settings)
    server = Server(server_config(app, settings.host, options["port"]))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    if not server.ready.wait(timeout=30):
        raise RuntimeError("Sesame did not start")
    return RunningSesame(app, settings.endpoint_url, server, thread)


def run_sesame(cwd: Path, *args: str, ready: str) -> tuple[subprocess.Popen[str], list[str]]:
    """`python -m sesame ARGS` in `cwd` with no SESAME_*/AWS_* variables of ours, read
    until a line starts with `ready`: (the subprocess.Popen, the lines printed)."""
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
    lines: list[str] = []
    for line in process.stdout:  # returns as each line is printed
        lines.append(line)
        if line.startswith(ready):
            return process, lines
    process.wait(timeout=30)
    process.stdout.close()
    raise AssertionError(f"sesame {args[0]} exited before it was ready: {''.join(lines)}")
