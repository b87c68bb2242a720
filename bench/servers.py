"""Servers under test as subprocesses: start, wait until they answer, measure, stop.

Each server runs in its own session (process group) with its output in a log file
in the benchmark's temporary folder, never a pipe (a full pipe would stall it). It
is stopped by its own process-group id: SIGTERM, then SIGKILL after a grace period,
so a server that forks workers leaves none behind; on Linux each server also gets
SIGTERM from the kernel if the benchmark itself dies (PR_SET_PDEATHSIG). CPU time
is read from /proc for the process and every descendant, so a server with worker
processes or threads is measured whole.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 30.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
STOP_TIMEOUT = 5.0
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the OS picks it; a race is possible, not likely)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    name: str
    argv: list[str]
    port: int
    log: Path
    host: str = "127.0.0.1"
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=self.env,
                preexec_fn=_die_with_parent,
            )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Poll a TCP connect until it succeeds; fail early if the process died."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{self.name} did not listen on {self.port} within {timeout:.0f} s:\n"
                        f"{self.log_tail()}"
                    ) from None
                time.sleep(0.05)

    def cpu_seconds(self) -> float:
        """User + system CPU of the process and all its descendants, so far."""
        if self.process is None:
            return 0.0
        return sum(_cpu_ticks(pid) for pid in _tree(self.process.pid)) / _TICKS

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
            try:
                os.killpg(process.pid, sig)  # the group this Popen created, by its id
            except ProcessLookupError:
                return
            try:
                process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


def process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes (not their children), so far; a process
    that is gone counts 0 (e.g. a database backend that another server owns)."""
    return sum(_cpu_ticks(pid) for pid in pids) / _TICKS


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM when the benchmark dies, even
    by SIGKILL, so no server outlives it."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    return raw[raw.rindex(")") + 2 :].split()


def _cpu_ticks(pid: int) -> int:
    fields = _stat_fields(pid)
    # After the name: state is index 0, so utime (field 14) is 11 and stime 12.
    return int(fields[11]) + int(fields[12]) if fields else 0


def _tree(root: int) -> list[int]:
    """`root` and its descendants (from each process's parent id in /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found
