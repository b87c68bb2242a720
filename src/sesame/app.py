"""build_app(settings): the ASGI application and everything it owns.

The app owns the store and the worker threads that run provider calls; both
are closed when the server shuts down (ASGI lifespan).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sesame.api import dispatch_table
from sesame.api.dispatch import is_read_only
from sesame.config import Settings
from sesame.config import from_environment as settings_from_environment
from sesame.credentials import Credentials, load_or_create
from sesame.store import open_store
from sesame.store.base import Store
from sesame.web.api import ApiEndpoint
from sesame.web.asgi import Receive, Scope, Send

log = logging.getLogger("sesame")


def resolve_credentials(settings: Settings) -> Credentials:
    if settings.access_key_id and settings.secret_access_key:
        return Credentials(settings.access_key_id, settings.secret_access_key, "settings")
    return load_or_create(settings.data_dir)


@dataclass
class Sesame:
    """The ASGI app: API requests go to the endpoint; lifespan closes what we own."""

    settings: Settings
    credentials: Credentials
    store: Store
    executor: ThreadPoolExecutor
    api: ApiEndpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.api(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.store.close()


def build_app(settings: Settings) -> Sesame:
    credentials = resolve_credentials(settings)
    store = open_store(settings.database)
    executor = ThreadPoolExecutor(max_workers=store.concurrency, thread_name_prefix="sesame-db")
    keys = {credentials.access_key_id: credentials.secret_access_key}
    table = dispatch_table(store, identity_verification=settings.identity_verification)
    inline = frozenset(n for n in table if store.fast_reads and is_read_only(n))
    api = ApiEndpoint(
        table,
        account_id=settings.account_id,
        region=settings.region,
        secret_for=keys.get,
        executor=executor,
        inline=inline,
    )
    return Sesame(settings, credentials, store, executor, api)


def from_environment() -> Sesame:
    """App factory for worker processes: settings from the SESAME_* variables."""
    return build_app(settings_from_environment(dict(os.environ)))
