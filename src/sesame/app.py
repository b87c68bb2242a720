"""build_app(settings): the ASGI application and everything it owns.

The app owns the store, the thread pool that runs store calls, the delivery
worker and the recorder of opens and clicks. The two background tasks start
with the server (ASGI lifespan) and stop with it: the worker finishes the
messages in hand, the recorder writes what it holds.

Requests are routed by path: `/I0/…` and `/L0/…` to the tracking endpoint,
`/_aws/ses` to the mailbox, `/_sesame/…` to the web inbox, everything else to the
SES v2 API.
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
from sesame.events.feed import EventFeed
from sesame.events.machines import Classifier
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
from sesame.web.tracking import TrackingEndpoint, is_tracking_path, not_found
from sesame.web.unsubscribe import UnsubscribeEndpoint, is_unsubscribe_path

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
    tracking: TrackingEndpoint
    mailbox: MailboxEndpoint
    worker: DeliveryWorker
    recorder: EngagementRecorder
    feed: EventFeed
    unsubscribe: UnsubscribeEndpoint
    inbox: Inbox
    publisher: Publisher
    admin: AdminEndpoint
    #: Runs `publisher` in a child process instead (publishing.py), when set.
    publisher_process: PublisherProcess | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if is_tracking_path(path):
                await self.tracking(scope, receive, send)
            elif is_unsubscribe_path(path):
                await self.unsubscribe(scope, receive, send)
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

    async def tracking_only(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app of the `--tracking-port` listener: tracking paths, and nothing else."""
        if scope["type"] == "http" and is_tracking_path(scope["path"]):
            await self.tracking(scope, receive, send)
        elif scope["type"] == "http" and is_unsubscribe_path(scope["path"]):
            await self.unsubscribe(scope, receive, send)
        elif scope["type"] == "http":
            await not_found(send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._tasks = [asyncio.create_task(self.recorder.run(), name="sesame-recorder")]
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
                self.recorder.stop()
                self.publisher.stop()
                if self.publisher_process is not None:
                    self._tasks.append(asyncio.create_task(self.publisher_process.stop()))
                await asyncio.gather(*self._tasks, return_exceptions=True)
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


def build_app(settings: Settings, *, publisher_process: bool = False) -> Sesame:
    """The app; with `publisher_process`, its event publisher runs in a child process
    (what `sesame serve` does: see publishing.py), else on the app's own loop."""
    credentials = resolve_credentials(settings)
    store = open_store(settings.database, pool_size=settings.database_pool_size)
    executor = ThreadPoolExecutor(max_workers=store.concurrency, thread_name_prefix="sesame-db")
    keys = Keys(store)
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
    classifier = Classifier(store, click_seconds=settings.machine_click_seconds)
    recorder = EngagementRecorder(
        store,
        executor,
        on_written=lambda e: feed.written(len(e)),
        classify=classifier.classify,
    )
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
        TrackingEndpoint(keys, recorder, trusted_proxies=settings.proxy_networks()),
        MailboxEndpoint(store, executor, settings.region),
        worker,
        recorder,
        feed,
        UnsubscribeEndpoint(store, keys, executor, on_recorded=feed.written),
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
            # Writers in other processes ring other feeds (see web/inbox/live.py).
            other_writers=settings.workers > 1 or not settings.deliver,
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
