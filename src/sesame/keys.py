"""The tracking-link signing keys: kept in the store, shared by every node.

The newest key signs new links; every key still in the store verifies links
already sent, so rotating (`sesame keys rotate`) never breaks mail in anyone's
inbox. Each process keeps the keyring in memory and reloads it at most every
`refresh_seconds`, or sooner when a link fails to verify (it may use a key
another node just created).
"""

from __future__ import annotations

import secrets
import threading
import time

from sesame.mail.tokens import Keyring
from sesame.store.base import Duplicate, SigningKey, Store


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
    def __init__(self, store: Store, refresh_seconds: float = 60.0) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._keyring: Keyring | None = None
        self._loaded = 0.0

    def keyring(self) -> Keyring:
        """The current keyring, reloaded when older than `refresh_seconds`."""
        with self._lock:
            if self._keyring is None or time.monotonic() - self._loaded > self.refresh_seconds:
                self._keyring = self._load()
                self._loaded = time.monotonic()
            return self._keyring

    def reload(self, *, at_most_every: float = 1.0) -> Keyring:
        """Reload now (a link failed to verify: it may use a key another node just made),
        but not more often than `at_most_every` seconds, so bad links cannot hammer the
        database."""
        with self._lock:
            if self._keyring is None or time.monotonic() - self._loaded > at_most_every:
                self._keyring = self._load()
                self._loaded = time.monotonic()
            return self._keyring

    def _load(self) -> Keyring:
        keys = self.store.signing_keys()
        if not keys:
            keys = [new_key(self.store)]
        return Keyring({key.id: key.secret for key in keys}, keys[-1].id)
