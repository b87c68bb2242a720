"""A real HTTP server that receives SNS-style notifications, for tests to wait on.

Every POST lands in a queue (whatever the answer), so a test waits for a
notification the way a subscriber would: until it arrives, with a deadline.
`status` is the HTTP status the receiver answers with (500 plays a failing
subscriber).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness import free_port


@dataclass
class Notification:
    path: str
    headers: dict[str, str]
    body: bytes
    #: What the receiver answered.
    status: int

    def envelope(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    def record(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.envelope()["Message"])
        return parsed


class Receiver:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        #: Requests to these paths are held, unanswered, until `release` is set.
        self.held: set[str] = set()
        self.release = threading.Event()
        #: Every POST received, in order; `taken` counts those a test has consumed.
        self.received: list[Notification] = []
        self.taken: set[int] = set()
        self._arrived = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path in owner.held:
                    owner.release.wait(timeout=60)
                status = owner.status
                headers = {name.lower(): value for name, value in self.headers.items()}
                with owner._arrived:
                    owner.received.append(Notification(self.path, headers, body, status))
                    owner._arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/sns") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def take(
        self,
        count: int,
        *,
        path: str | None = None,
        answered: int | None = None,
        timeout: float = 30.0,
    ) -> list[Notification]:
        """The next `count` POSTs not taken yet (to `path`, answered with status
        `answered`, if given), waiting for them; fails the test after `timeout`."""

        def matching() -> list[int]:
            return [
                i
                for i, n in enumerate(self.received)
                if i not in self.taken
                and (path is None or n.path == path)
                and (answered is None or n.status == answered)
            ][:count]

        with self._arrived:
            if not self._arrived.wait_for(lambda: len(matching()) >= count, timeout):
                raise AssertionError(f"wanted {count} POSTs to {path}, have {len(matching())}")
            found = matching()
            self.taken.update(found)
            return [self.received[i] for i in found]

    def until(
        self, count: int, *, path: str | None = None, timeout: float = 30.0
    ) -> list[Notification]:
        """The next `count` POSTs to `path` that were answered with success."""
        return self.take(count, path=path, answered=200, timeout=timeout)

    def untaken(self, path: str | None = None) -> list[Notification]:
        with self._arrived:
            return [
                n
                for i, n in enumerate(self.received)
                if i not in self.taken and (path is None or n.path == path)
            ]
