"""build_app(settings): the ASGI application and everything it owns.

The app owns the store, the thread pool that runs store calls, the delivery
worker, the event publisher and the tracking edge (edge.py: the recorder of
opens and clicks, the signing keys' refresh). The background tasks start with
the server (ASGI lifespan) and stop with it: the worker finishes the messages in
hand, the recorder writes what it holds.

Requests are routed by path: the edge's paths (`/I0/…`, `/L0/…`, `/U0/…`,
`/_sesame/tracking`) to the edge, `/_aws/ses` to the mailbox, `/_sesame/…` to
the web inbox, everything else to the SES v2 API. With `--role api` the edge's
paths are 404s and no recorder runs (the tracking nodes serve them);
`--role tracking` runs an Edge alone (`build_edge`), without this app.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sesame.api import dispatch_table
from sesame.api.dispatch import is_read_only
from sesame.api.throttle import throttled
from sesame.config import Settings
from sesame.credentials import Credentials, load_or_create
from sesame.delivery.relay import Relay
from sesame.delivery.worker import DeliveryWorker
from sesame.edge import Edge, build_edge, edge_of, is_edge_path
from sesame.events.feed import EventFeed
from sesame.events.publisher import Publisher
from sesame.events.recorder import EngagementRecorder
from sesame.events.sns import Signer
from sesame.events.targets import Targets
from sesame.keys import Keys
from sesame.publishing import PublisherProcess
from sesame.store import open_store
from sesame.store.base import Store
from sesame.web.admin import AdminEndpoint, is_admin_path
from sesame.web.api import ApiEndpoint
from sesame.web.asgi import Receive, Scope, Send
from sesame.web.inbox import Access, Inbox, is_inbox_path
from sesame.web.mailbox import PATH as MAILBOX_PATH
from sesame.web.mailbox import MailboxEndpoint
from sesame.web.tracking import TrackingEndpoint, not_found
from sesame.web.unsubscribe import UnsubscribeEndpoint

log = logging.getLogger("sesame")


def resolve_credentials(settings: Settings) -> Credentials:
    if settings.access_key_id and settings.secret_access_key:
        return Credentials(settings.access_key_id, settings.secret_access_key, "settings")
    return load_or_create(settings.data_dir)


def relay_of(settings: Settings) -> Relay | None:
    if settings.smtp_relay is None:
        return None
    host, _, port = settings.smtp_relay.rpartition(":")
    return Relay(
        host.strip("[]"),
        int(port),
        settings.smtp_tls,
        settings.smtp_username,
        settings.smtp_password,
        ca_file=settings.smtp_ca_file,
    )


@dataclass
class Sesame:
    """The ASGI app (see the module docstring for what it routes where)."""

    settings: Settings
    credentials: Credentials
    store: Store
    executor: ThreadPoolExecutor
    api: ApiEndpoint
    edge: Edge
    mailbox: MailboxEndpoint
    worker: DeliveryWorker
    feed: EventFeed
    inbox: Inbox
    publisher: Publisher
    admin: AdminEndpoint
    #: Runs `publisher` in a child process instead (publishing.py), when set.
    publisher_process: PublisherProcess | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def tracking(self) -> TrackingEndpoint:
        return self.edge.tracking

    @property
    def recorder(self) -> EngagementRecorder:
        return self.edge.recorder

    @property
    def unsubscribe(self) -> UnsubscribeEndpoint:
        return self.edge.unsubscribe

    @property
    def keys(self) -> Keys:
        return self.edge.keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if is_edge_path(path):
                if self.settings.serves_tracking:
                    await self.edge.serve(scope, receive, send)
                else:
                    await not_found(send)
            elif path == MAILBOX_PATH:
                await self.mailbox(scope, receive, send)
            elif is_admin_path(path):
                await self.admin(scope, receive, send)
            elif is_inbox_path(path):
                await self.inbox(scope, receive, send)
            else:
                await self.api(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    @property
    def tracking_only(self) -> Edge:
        """The app of the `--tracking-port` listener: the edge's paths, nothing else."""
        return self.edge

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # No recorder without the tracking paths (--role api).
                await self.edge.start(recording=self.settings.serves_tracking)
                if self.settings.deliver:
                    delivery = asyncio.create_task(self.worker.run(), name="sesame-delivery")
                    self._tasks.append(delivery)
                    if self.publisher_process is not None:
                        self.publisher_process.start()
                    else:
                        publishing = self.publisher.run()
                        self._tasks.append(asyncio.create_task(publishing, name="sesame-publisher"))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.worker.stop()
                self.publisher.stop()
                if self.publisher_process is not None:
                    self._tasks.append(asyncio.create_task(self.publisher_process.stop()))
                await asyncio.gather(self.edge.stop(), *self._tasks, return_exceptions=True)
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def draining(self) -> None:
        """The server is stopping: end long-lived responses (the inbox's live streams)."""
        self.inbox.close()

    def close(self) -> None:
        self.inbox.close()
        self.executor.shutdown(wait=True)
        self.store.close()


def app_for(settings: Settings, *, publisher_process: bool = False) -> Sesame | Edge:
    """The app `sesame serve` runs for the settings' --role."""
    if settings.role == "tracking":
        return build_edge(settings)
    return build_app(settings, publisher_process=publisher_process)


def build_app(settings: Settings, *, publisher_process: bool = False) -> Sesame:
    """The app; with `publisher_process`, its event publisher runs in a child process
    (what `sesame serve` does: see publishing.py), else on the app's own loop."""
    if not settings.serves_api:
        raise ValueError("--role tracking runs an Edge (build_edge), not the full app")
    credentials = resolve_credentials(settings)
    store = open_store(settings.database, pool_size=settings.database_pool_size)
    executor = ThreadPoolExecutor(max_workers=store.concurrency, thread_name_prefix="sesame-db")
    keys = Keys(store, executor)
    secrets = {credentials.access_key_id: credentials.secret_access_key}
    feed = EventFeed()
    worker = DeliveryWorker(
        store,
        executor,
        relay_of(settings),
        retry_seconds=settings.delivery_retry_seconds,
        lease_seconds=settings.delivery_lease_seconds,
        on_events=feed.written,
    )
    edge = edge_of(settings, store, executor, keys, feed)
    signer = Signer(store, settings.endpoint_url)
    publisher = publisher_of(settings, store, executor, signer)
    child = PublisherProcess(settings) if publisher_process else None
    feed.subscribe(publisher.wake if child is None else child.wake)

    def queued() -> None:
        # After SendEmail commits (on a store thread): tell event readers, wake delivery.
        feed.written()
        worker.wake()

    table = dispatch_table(
        store,
        identity_verification=settings.identity_verification,
        keys=keys,
        tracking_host=settings.tracking_host,
        tracking_host_is_listener=settings.tracking_domain is None,
        on_queued=queued,
        max_send_rate=settings.max_send_rate,
        max_24h_send=settings.max_24h_send,
        unsubscribe_base=settings.unsubscribe_base,
    )
    rates = settings.api_rates()
    table = throttled(table, store, rates)
    # A throttled operation counts its calls in the store: never inline.
    inline = frozenset(n for n in table if store.fast_reads and is_read_only(n) and n not in rates)
    api = ApiEndpoint(
        table,
        account_id=settings.account_id,
        region=settings.region,
        secret_for=secrets.get,
        executor=executor,
        inline=inline,
    )
    app = Sesame(
        settings,
        credentials,
        store,
        executor,
        api,
        edge,
        MailboxEndpoint(store, executor, settings.region),
        worker,
        feed,
        Inbox(
            store,
            executor,
            keys,
            feed,
            Access(
                open_=settings.inbox_is_open,
                access_key_id=credentials.access_key_id,
                secret_access_key=credentials.secret_access_key,
                ui_password=settings.ui_password,
            ),
            tracking_host=settings.tracking_host,
            # Writers in other processes (workers, tracking nodes) ring other feeds
            # (see web/inbox/live.py).
            other_writers=settings.workers > 1 or not settings.deliver or settings.role == "api",
            trusted_proxies=settings.proxy_networks(),
        ),
        publisher,
        AdminEndpoint(store, executor, signer, region=settings.region, secret_for=secrets.get),
        child,
    )
    return app


def publisher_of(
    settings: Settings, store: Store, executor: ThreadPoolExecutor, signer: Signer
) -> Publisher:
    """The event publisher `sesame serve` and `sesame worker` run."""
    targets = Targets(
        signer=signer,
        webhooks=settings.webhooks(),
        aws_endpoint_url=settings.aws_endpoint_url,
        region=settings.region,
        account_id=settings.account_id,
    )
    return Publisher(
        store,
        executor,
        targets,
        publish_machine_events=settings.publish_machine_events,
        retry_seconds=settings.publish_retry_seconds,
        lease_seconds=settings.publish_lease_seconds,
    )
