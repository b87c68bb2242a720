"""The tracking-link signing keys: kept in the store, shared by every node.

Every key still in the store verifies links already sent, so rotating (`sesame keys
rotate`) never breaks mail in anyone's inbox. A new key starts signing only once it
is `activation_seconds` old (two refresh intervals): by then every running node has
loaded it, so no tracking node meets a link signed with a key it has never read
(it would look the key up, but that lookup is rate-limited, and a flood of garbage
links could use up the turn of a real one). Until then the newest older key signs;
the very first key of a store signs at once, having no older one to stand in.

Each process keeps the keyring in memory, and the request path (pixel, redirect,
unsubscribe) never waits on the database for it, nor fails because of it:

- `run()` refreshes the keyring every `refresh_seconds` in the background, so a
  rotation on any machine reaches this process within that time. A refresh that
  fails keeps the keys already held: they verify everything they verified before.
- A path signed with a key id the keyring does not know (a key another node made
  since the last refresh, or a forged or garbled link) starts one reload, shared by
  every request that arrives while it runs, and at most one per `retry_seconds`
  for the whole process: a flood of bad links costs one database read a second at
  most. A request waits for that reload at most `wait_seconds`. A reload that is
  not due yet, fails or is late means "unknown key": the caller answers 404.
- A malformed key id never reaches the database at all.

The endpoints ask `holding(path)` first (a dict lookup, the path of nearly every
request) and `verifying(path)` only when it says None.

`keyring()` is for the signing side (SendEmail, the inbox), which runs on store
threads anyway: it loads the keys on first use and then returns what is held.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor

from sesame.mail.tokens import Keyring, key_id_of
from sesame.store.base import Duplicate, SigningKey, Store

log = logging.getLogger("sesame.keys")


def new_key(store: Store) -> SigningKey:
    """Create and store a new signing key; it signs every link from now on."""
    while True:
        key = SigningKey(secrets.token_hex(3), secrets.token_bytes(32), time.time())
        try:
            store.add_signing_key(key)
        except Duplicate:
            continue
        return key


class Keys:
    def __init__(
        self,
        store: Store,
        executor: Executor,
        *,
        refresh_seconds: float = 60.0,
        retry_seconds: float = 1.0,
        wait_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        activation_seconds: float | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.refresh_seconds = refresh_seconds
        self.retry_seconds = retry_seconds
        self.wait_seconds = wait_seconds
        self.clock = clock
        self.wall_clock = wall_clock
        self.activation_seconds = (
            2 * refresh_seconds if activation_seconds is None else activation_seconds
        )
        #: Database reads of the keys so far (tests count them).
        self.loads = 0
        # Serialises loads on store threads; the event loop never takes it.
        self._lock = threading.Lock()
        self._keyring: Keyring | None = None
        self._reloading: asyncio.Future[Keyring | None] | None = None
        self._last_try = -math.inf
        self._stop = asyncio.Event()

    # -- signing side, on store threads ---------------------------------------------

    def keyring(self) -> Keyring:
        """The keyring held, loaded from the store on first use (a store thread)."""
        held = self._keyring
        if held is not None:
            return held
        with self._lock:
            if self._keyring is None:
                self._keyring = self._read()
            return self._keyring

    def load(self) -> Keyring:
        """Read the keys from the store now, replacing those held (a store thread);
        raises when the store does."""
        with self._lock:
            self._keyring = self._read()
            return self._keyring

    # -- verifying side, on the event loop -------------------------------------------

    def holding(self, path: str) -> Keyring | None:
        """The keyring held, if it has the key `path` names; None otherwise (then ask
        `verifying`). No I/O and no coroutine: the path of nearly every request."""
        held = self._keyring
        if held is not None and path.rpartition("/")[2].partition(".")[0] in held.keys:
            return held
        return None

    async def verifying(self, path: str) -> Keyring | None:
        """A keyring holding the key `path` (a signed tracking or unsubscribe path) names,
        or None when there is none. Never raises; waits on the database only for a key
        id not held, and then as the module docstring says."""
        key_id = key_id_of(path)
        if key_id is None:
            return None
        held = self._keyring
        if held is not None and key_id in held.keys:
            return held
        held = await self._reload()
        return held if held is not None and key_id in held.keys else None

    async def run(self) -> None:
        """Refresh the keyring every `refresh_seconds` until `stop()`."""
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.refresh_seconds)
            if not self._stop.is_set():
                await self._reload(due=True)

    def stop(self) -> None:
        self._stop.set()

    async def _reload(self, *, due: bool = False) -> Keyring | None:
        if self._reloading is None:
            now = self.clock()
            if not due and now - self._last_try < self.retry_seconds:
                return self._keyring
            self._last_try = now
            self._reloading = asyncio.ensure_future(self._load_off_loop())
        try:
            # shield: a request that stops waiting leaves the reload to finish for others.
            return await asyncio.wait_for(asyncio.shield(self._reloading), self.wait_seconds)
        except TimeoutError:
            return self._keyring

    async def _load_off_loop(self) -> Keyring | None:
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, self.load)
        except Exception as problem:
            held = len(self._keyring.keys) if self._keyring else 0
            log.warning("could not read the signing keys (%s); keeping the %d held", problem, held)
            return self._keyring
        finally:
            self._reloading = None

    def _read(self) -> Keyring:
        self.loads += 1
        keys = self.store.signing_keys()
        if not keys:
            keys = [new_key(self.store)]
        return Keyring({key.id: key.secret for key in keys}, self._signing(keys).id)

    def _signing(self, keys: list[SigningKey]) -> SigningKey:
        """The newest key old enough that every node holds it (oldest first in `keys`)."""
        ripe = self.wall_clock() - self.activation_seconds
        active = [key for key in keys if key.created <= ripe]
        return active[-1] if active else keys[0]
