"""Live updates: a Server-Sent Events stream that says "something changed".

Writers of messages and events ring the EventFeed (a thread condition); one
watcher thread turns each ring into a wake-up of every open stream on the event
loop, and each stream sends `event: change`. The page then fetches the part of
itself that may have changed. No data rides the stream, so a missed ring costs
nothing: a reconnecting page fetches once anyway.

Other processes (`--workers` > 1, `sesame worker`) ring their own feeds; when
there may be such writers, streams also say "change" every few seconds.

A stream ends when the server shuts down (`close`) and, at the latest, after
`lifetime` seconds (the browser reconnects at once), so a server that cannot
tell us it is stopping still never waits long on an open page.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

from sesame.events.feed import EventFeed
from sesame.web.asgi import Receive, Send

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]


class Live:
    def __init__(
        self,
        feed: EventFeed,
        *,
        other_writers: bool,
        heartbeat: float = 15.0,
        lifetime: float = 30.0,
    ) -> None:
        self.feed = feed
        self.other_writers = other_writers
        self.heartbeat = 5.0 if other_writers else heartbeat
        self.lifetime = lifetime
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closing = False

    def _watch(self) -> None:
        seen = [self.feed.version]
        while not self._closing:
            self.feed.wait_for(lambda: self.feed.version != seen[0] or self._closing, 1.0)
            if self.feed.version != seen[0] or self._closing:
                seen[0] = self.feed.version
                self._ring()

    def _ring(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that loop has closed
                loop.call_soon_threadsafe(event.set)

    def close(self) -> None:
        """End every stream (the server is stopping) and the watcher thread."""
        self._closing = True
        self._ring()

    async def stream(self, receive: Receive, send: Send) -> None:
        with self._lock:
            if self._thread is None and not self._closing:
                self._thread = threading.Thread(
                    target=self._watch, name="sesame-inbox-live", daemon=True
                )
                self._thread.start()
            wake = asyncio.Event()
            waiter = (asyncio.get_running_loop(), wake)
            self._waiters.add(waiter)
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            await _chunk(send, b"retry: 1000\n\n")
            ends = time.monotonic() + self.lifetime
            while not self._closing and not gone.done() and time.monotonic() < ends:
                ringing = asyncio.ensure_future(wake.wait())
                await asyncio.wait(
                    {ringing, gone}, timeout=self.heartbeat, return_when="FIRST_COMPLETED"
                )
                ringing.cancel()
                if gone.done() or self._closing:
                    break
                if wake.is_set() or self.other_writers:
                    wake.clear()
                    await _chunk(send, f"event: change\ndata: {self.feed.version}\n\n".encode())
                else:
                    await _chunk(send, b": still here\n\n")
            await send({"type": "http.response.body", "body": b""})
        except OSError:
            pass  # the client went away mid-write
        finally:
            gone.cancel()
            with self._lock:
                self._waiters.discard(waiter)


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _chunk(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})
