"""uvicorn, wired the way Sesame runs it, and able to say when it listens."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn

from sesame.config import Settings, to_environment
from sesame.credentials import Credentials
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

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn waits for open responses to finish; an app with long-lived ones (the
        # inbox's live streams) ends them when told the server is draining.
        draining = getattr(self.config.app, "draining", None)
        if callable(draining):
            draining()
        await super().shutdown(sockets)


def config(app: ASGIApp | str, host: str, port: int, **extra: Any) -> uvicorn.Config:
    options: dict[str, Any] = {
        "http": "httptools",
        # Said outright: uvicorn cannot tell from a bound method that it is ASGI 3.
        "interface": "asgi3",
        "lifespan": "on",
        "access_log": False,
        "log_level": "warning",
        "server_header": False,
        # Sesame decides itself whom to believe about X-Forwarded-For (--trusted-proxies).
        "proxy_headers": False,
    }
    return uvicorn.Config(app, host=host, port=port, **(options | extra))


def serve_with_tracking(
    api: uvicorn.Config, tracking: uvicorn.Config, on_ready: Callable[[], None]
) -> None:
    """Run the API listener and the tracking-only listener in one event loop.

    Each uvicorn server handles the shutdown signals; when either one stops, the
    other is told to stop too. Only the API listener runs the app's lifespan.
    """
    import asyncio

    first = Server(api)
    second = Server(tracking)
    ready = [first.ready, second.ready]

    def maybe_ready() -> None:
        if all(event.is_set() for event in ready):
            on_ready()

    first.on_ready = maybe_ready
    second.on_ready = maybe_ready

    async def run() -> None:
        tasks = [asyncio.create_task(first.serve()), asyncio.create_task(second.serve())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        first.should_exit = second.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())


def serve_workers(
    settings: Settings, credentials: Credentials | None, on_ready: Callable[[], None]
) -> None:
    """Run `settings.workers` processes on one listening socket.

    The parent binds the socket, so connections queue from that moment on and
    are served as soon as a worker is up. Workers are spawned fresh and build
    their app from SESAME_* variables, the credentials included (a tracking node
    has none).
    """
    from uvicorn.supervisors import Multiprocess

    os.environ.update(to_environment(settings))
    if credentials is not None:
        os.environ["SESAME_ACCESS_KEY_ID"] = credentials.access_key_id
        os.environ["SESAME_SECRET_ACCESS_KEY"] = credentials.secret_access_key
    worker_config = config(
        "sesame.cli:app_from_environment",
        settings.host,
        settings.port,
        factory=True,
        workers=settings.workers,
    )
    socket_ = worker_config.bind_socket()
    # Listening now means a client's connection waits in the backlog for the
    # first worker rather than being refused while the workers start.
    socket_.listen(worker_config.backlog)
    on_ready()
    Multiprocess(worker_config, sockets=[socket_]).run()


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` to its end on uvloop where it is installed (uvloop is not built for
    Windows), as uvicorn's loop="auto" chooses for `serve`: the delivery loop runs
    about a fifth faster on it. For `sesame worker` and the publisher's child."""
    loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main)
