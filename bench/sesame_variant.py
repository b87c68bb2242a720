"""Sesame's own app in shapes `sesame serve` does not offer, for `api.py --experiments`.

    python bench/sesame_variant.py --port P --data-dir D --workers 2
        build_app(settings) in 2 processes, each under the uvicorn Config of
        `sesame serve`, each with its own SO_REUSEPORT listener on the port (the
        kernel spreads connections over them by hash; one shared listener, as
        uvicorn --workers has, lets one idle worker accept every connection)
    python bench/sesame_variant.py --port P --data-dir D --inline
        provider calls run on the event-loop thread instead of the worker-thread
        pool: measures what the thread hop costs (combines with --workers)
    python bench/sesame_variant.py --port P --data-dir D --threads 1
        the worker-thread pool, but with 1 thread instead of 16

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
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from sesame.app import build_app
from sesame.config import Settings
from sesame.server import config

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


def serve(settings: Settings, sock: socket.socket, inline: bool, threads: int | None) -> None:
    app = build_app(settings)
    if inline or threads:
        if not hasattr(app.api, "executor"):
            sys.exit("sesame_variant: ApiEndpoint has no `executor` any more")
        app.api.executor.shutdown(wait=False)
        app.api.executor = InlineExecutor() if inline else ThreadPoolExecutor(threads)
    # The uvicorn Config of `sesame serve`; host and port are unused with sockets given.
    uvicorn.Server(config(app, settings.host, settings.port)).run(sockets=[sock])


def listener(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--access-key-id", required=True)
    parser.add_argument("--secret-access-key", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--inline", action="store_true")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    settings = Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        access_key_id=args.access_key_id,
        secret_access_key=args.secret_access_key,
    )
    if args.workers == 1:
        serve(settings, listener(args.host, args.port), args.inline, args.threads)
        return
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:  # each worker builds its own app: no SQLite handle crosses a fork
            sock = listener(args.host, args.port, reuse_port=True)
            serve(settings, sock, args.inline, args.threads)
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
