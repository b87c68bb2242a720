"""A process-wide signal that new events were written.

Whoever writes events (the API, the delivery worker, the tracking recorder)
calls `written()` after the transaction commits; whoever wants to react to new
events (the publisher, live views, tests) waits on `wait_for()` instead of
polling the database on a timer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class EventFeed:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.version = 0
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener` (from the writing thread) after every write."""
        self._listeners.append(listener)

    def written(self, count: int = 1) -> None:
        if count <= 0:
            return
        with self._condition:
            self.version += 1
            self._condition.notify_all()
        for listener in self._listeners:
            listener()

    def wait_for(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Block until `ready()` is true (checked now and after every write), or time out."""
        with self._condition:
            return self._condition.wait_for(ready, timeout)
