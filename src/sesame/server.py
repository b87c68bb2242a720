"""uvicorn, wired the way Sesame runs it, and able to say when it listens."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import uvicorn

from sesame.web.asgi import Receive, Scope, Send

ASGIApp = Callable[[Scope, Receive, Send], object]


class Server(uvicorn.Server):
    """A uvicorn server whose `ready` event is set once its socket listens."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.ready.set()
            if self.on_ready is not None:
                self.on_ready()


def config(app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
    )
