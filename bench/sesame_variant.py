"""Sesame's own app in shapes `sesame serve` does not offer, for `api.py --experiments`.

    python bench/sesame_variant.py --port P --data-dir D --workers 2
        build_app(settings) in 2 processes sharing one listening socket (what
        uvicorn --workers does), each under the uvicorn Config of `sesame serve`
    python bench/sesame_variant.py --port P --data-dir D --inline
        one process, but provider calls run on the event-loop thread instead of
        the worker-thread pool: measures what the thread hop costs

These are measurements, not proposals: the inline variant blocks the event loop on
every database call, which Sesame's design (architecture.md, decision 6) rules out.
Nothing here changes src/; the inline variant swaps the endpoint's executor object.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from sesame.app import build_app
from sesame.config import Settings

T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs the call at once on the calling thread; returns a finished future."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to the awaiting coroutine, as a pool would
            future.set_exception(error)
        return future


def serve(settings: Settings, sock: socket.socket, inline: bool) -> None:
    app = build_app(settings)
    if inline:
        if not hasattr(app.api, "executor"):
            sys.exit("sesame_variant --inline: ApiEndpoint has no `executor` any more")
        app.api.executor.shutdown(wait=False)
        app.api.executor = InlineExecutor()
    # The same Config as sesame.cli.serve.
    config = uvicorn.Config(
        app,
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
    )
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--access-key-id", required=True)
    parser.add_argument("--secret-access-key", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--inline", action="store_true")
    args = parser.parse_args()
    settings = Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        access_key_id=args.access_key_id,
        secret_access_key=args.secret_access_key,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    if args.workers == 1:
        serve(settings, sock, args.inline)
        return
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:  # each worker builds its own app: no SQLite handle crosses a fork
            serve(settings, sock, args.inline)
            os._exit(0)
        children.append(pid)

    def forward(signum: int, frame: object) -> None:
        for child in children:
            os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        os.waitpid(child, 0)


if __name__ == "__main__":
    main()
