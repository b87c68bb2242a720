"""`sesame serve`'s event publisher, in a process of its own.

A publication costs about 0.4 ms of CPU to sign (RSA-2048) and as much again to
send, several times what a click costs. Run on the serving process's event loop and
threads, the publisher takes that time from the clicks and API calls (one GIL):
measured, publishing cost the click path 18% to 37% of its rate, and merely claiming
and dropping rows of destinations with no target here took a fifth of the serving
process's GIL under a click load (bench/README.md). So `sesame serve` runs the same
Publisher in a child process on the same database, as a `sesame worker` beside it
would: the outbox, its leases and at-least-once publishing are unchanged, since the
store is the only thing the two processes share.

The parent tells the child that events were written by writing a byte to a pipe
(never blocking: a full pipe already means "look"), so events are published as soon
as in-process; the child also polls. Closing the pipe is the stop signal: on the
server's shutdown, or when the server dies, the child finishes the publications in
hand and exits (anything it leaves leased is taken again after the lease). The child
rebuilds the server's settings from SESAME_* variables, as `--workers` processes do.

    python -m sesame.publishing FD     (started by PublisherProcess, not by hand)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from sesame.config import Settings, to_environment

log = logging.getLogger("sesame.publishing")


class PublisherProcess:
    """The child process that publishes events for this server (see the module doc)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None
        self._wake_fd: int | None = None

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        environment = {**os.environ, **to_environment(self.settings)}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sesame.publishing", str(read_fd)],
                pass_fds=(read_fd,),
                env=environment,
            )
        except BaseException:
            os.close(write_fd)
            raise
        finally:
            os.close(read_fd)
        self._wake_fd = write_fd

    def wake(self) -> None:
        """Events were written in this process: publish now. Safe from any thread."""
        fd = self._wake_fd
        if fd is None:
            return
        # A full pipe (the child is busy) already holds a wake-up; a closed one is a
        # child that has stopped.
        with contextlib.suppress(OSError):
            os.write(fd, b"w")

    async def stop(self) -> None:
        """Let the child finish what it holds, and wait for it to exit."""
        fd, self._wake_fd = self._wake_fd, None
        if fd is not None:
            os.close(fd)
        if self.process is not None:
            status = await asyncio.to_thread(self.process.wait)
            if status not in (0, -signal.SIGTERM, -signal.SIGINT):
                log.warning("the publisher process exited with status %s", status)


def settings_from_environment() -> Settings:
    """The parent's settings, from the SESAME_* variables (as `--workers` processes do)."""
    from sesame.cli import serve

    return Settings(**serve.make_context("serve", []).params)


def run_child(wake_fd: int) -> None:
    """The child: publish until the parent closes the pipe (or SIGTERM / SIGINT)."""
    from sesame.app import publisher_of
    from sesame.events.sns import Signer
    from sesame.server import run_loop
    from sesame.store import open_store

    settings = settings_from_environment()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    store = open_store(settings.database, pool_size=settings.database_pool_size, migrate=False)
    executor = ThreadPoolExecutor(max_workers=store.concurrency, thread_name_prefix="sesame-db")
    publisher = publisher_of(settings, store, executor, Signer(store, settings.endpoint_url))
    os.set_blocking(wake_fd, False)

    async def run() -> None:
        loop = asyncio.get_running_loop()

        def readable() -> None:
            try:
                data = os.read(wake_fd, 4096)
            except BlockingIOError:
                return
            if data:
                publisher.wake()
            else:  # the parent closed the pipe, or died
                loop.remove_reader(wake_fd)
                publisher.stop()

        loop.add_reader(wake_fd, readable)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, publisher.stop)
        await publisher.run()

    try:
        run_loop(run())
    finally:
        executor.shutdown(wait=True)
        store.close()
        os.close(wake_fd)


if __name__ == "__main__":
    run_child(int(sys.argv[1]))
