"""`sesame serve` (what `make run` runs) prints the inbox's address, and it answers.

Also: a server with an inbox page open (a live stream) still stops at once on
SIGTERM, because the streams end when the server drains.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from harness import free_port


def test_serve_prints_the_inbox_address_and_stops_with_a_page_open(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SESAME_", "AWS_"))}
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sesame", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=clean | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Sesame is ready"):
                break
        printed = re.search(r"inbox:\s+(\S+)\s+\(open on this machine\)", "".join(lines))
        assert printed, lines
        address = urlsplit(printed.group(1))
        assert (address.hostname, address.port, address.path) == ("127.0.0.1", port, "/_sesame/")

        page = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        page.request("GET", address.path)
        answer = page.getresponse()
        assert answer.status == 200 and b"No mail yet" in answer.read()

        stream = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        stream.request("GET", "/_sesame/live")
        live = stream.getresponse()
        assert live.readline() == b"retry: 1000\n"

        process.send_signal(signal.SIGTERM)
        # Less than the stream's 30-second lifetime: the stream ended when told to.
        assert process.wait(timeout=20) in (0, -signal.SIGTERM)
        stream.close()
        page.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        process.stdout.close()
