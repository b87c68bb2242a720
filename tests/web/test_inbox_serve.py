"""`sesame serve` (what `make run` runs) prints the inbox's address, and it answers.

Also: a server with an inbox page open (a live stream) still stops at once on
SIGTERM, because the streams end when the server drains.
"""

from __future__ import annotations

import http.client
import re
import signal
from pathlib import Path
from urllib.parse import urlsplit

from harness import free_port, run_sesame


def test_serve_prints_the_inbox_address_and_stops_with_a_page_open(tmp_path: Path) -> None:
    port = free_port()
    process, lines = run_sesame(tmp_path, "serve", "--port", str(port), ready="Sesame is ready")
    try:
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
        if process.stdout is not None:
            process.stdout.close()
