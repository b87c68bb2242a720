"""The tracking edge: what readers' mail clients reach, and only what it needs.

An Edge serves

- `/I0/…` the open pixel and `/L0/…` the click redirects (web/tracking.py),
- `/U0/…` the List-Unsubscribe URLs (web/unsubscribe.py),
- `GET /_sesame/tracking`, the health check,

with the EngagementRecorder behind the pixel and the redirects and the signing
keys refreshed in the background (keys.py). It needs the database and nothing
else: no API key pair, no delivery worker, no publisher (whatever process
delivers publishes the events it records).

`sesame serve --role tracking` runs an Edge alone (it is then the ASGI app, with
its own lifespan); `--role all` runs one inside the full app (app.py), and the
`--tracking-port` listener serves that same Edge.

The health check answers from memory: 200 and `{"status": "ok", "pending": N,
"notRecorded": M}` (hits waiting to be written, hits lost to a full buffer since
the start) for as long as the process serves. It does not ask the database: a
slow or absent database does not stop this node from answering pixels and
redirects, so a load balancer must not take it out for that.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sesame.config import Settings
from sesame.events.feed import EventFeed
from sesame.events.machines import Classifier
from sesame.events.recorder import EngagementRecorder
from sesame.keys import Keys
from sesame.store import open_store
from sesame.store.base import Store
from sesame.web.asgi import Receive, Scope, Send, send_bytes
from sesame.web.tracking import TrackingEndpoint, is_tracking_path, not_found
from sesame.web.unsubscribe import UnsubscribeEndpoint, is_unsubscribe_path

HEALTH_PATH = "/_sesame/tracking"


def is_edge_path(path: str) -> bool:
    return is_tracking_path(path) or is_unsubscribe_path(path) or path == HEALTH_PATH


@dataclass
class Edge:
    store: Store
    executor: ThreadPoolExecutor
    keys: Keys
    recorder: EngagementRecorder
    tracking: TrackingEndpoint
    unsubscribe: UnsubscribeEndpoint
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app of a listener that serves the edge and nothing else."""
        if scope["type"] == "http":
            if is_edge_path(scope["path"]):
                await self.serve(scope, receive, send)
            else:
                await not_found(send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if is_tracking_path(path):
            await self.tracking(scope, receive, send)
        elif is_unsubscribe_path(path):
            await self.unsubscribe(scope, receive, send)
        else:
            await self._health(scope, send)

    async def start(self, *, recording: bool = True) -> None:
        """Read the keys (so no request waits for them), then start the keys' refresh
        and, when this process serves the tracking paths (`recording`), the recorder.
        An API-only node refreshes the keys too: it signs with a rotated key."""
        await asyncio.get_running_loop().run_in_executor(self.executor, self.keys.keyring)
        self._tasks = [asyncio.create_task(self.keys.run(), name="sesame-keys")]
        if recording:
            self._tasks.append(asyncio.create_task(self.recorder.run(), name="sesame-recorder"))

    async def stop(self) -> None:
        """Write what the recorder holds; stop refreshing the keys."""
        self.keys.stop()
        self.recorder.stop()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.store.close()

    async def _health(self, scope: Scope, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await send_bytes(send, 405, [(b"allow", b"GET, HEAD")], b"")
            return
        state = {
            "status": "ok",
            "pending": len(self.recorder.pending),
            "notRecorded": self.recorder.overflowed,
        }
        body = json.dumps(state).encode() + b"\n"
        headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
        await send_bytes(send, 200, headers, b"" if scope["method"] == "HEAD" else body)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def edge_of(
    settings: Settings,
    store: Store,
    executor: ThreadPoolExecutor,
    keys: Keys,
    feed: EventFeed | None = None,
) -> Edge:
    """The edge on a store and pool of its own or the full app's; `feed` hears of the
    events it writes (the inbox and the publisher of the same process listen)."""
    written = feed.written if feed is not None else (lambda count=1: None)
    classifier = Classifier(store, click_seconds=settings.machine_click_seconds)
    recorder = EngagementRecorder(
        store,
        executor,
        max_pending=settings.tracking_buffer,
        on_written=lambda events: written(len(events)),
        # Person or machine is decided in the recorder's batch, off the request path.
        classify=classifier.classify,
    )
    return Edge(
        store,
        executor,
        keys,
        recorder,
        TrackingEndpoint(keys, recorder, trusted_proxies=settings.proxy_networks()),
        UnsubscribeEndpoint(store, keys, executor, on_recorded=written),
    )


def build_edge(settings: Settings) -> Edge:
    """The app of `sesame serve --role tracking`."""
    store = open_store(settings.database, pool_size=settings.database_pool_size)
    executor = ThreadPoolExecutor(max_workers=store.concurrency, thread_name_prefix="sesame-db")
    return edge_of(settings, store, executor, Keys(store, executor))
