"""Providers: one class per resource family, one method per operation.

Rule: a provider method takes `(ctx, request)` — the request dict with AWS
member names unchanged — and returns the response dict. It raises only
modelled SES errors (protocol/errors.py), never HTTP exceptions, and reaches
the database only through the Store.
"""

from __future__ import annotations

from collections.abc import Callable

from sesame.api.account import AccountProvider
from sesame.api.configsets import ConfigurationSetsProvider
from sesame.api.contacts import ContactsProvider
from sesame.api.destinations import EventDestinationsProvider
from sesame.api.dispatch import Handler, build_table, handled
from sesame.api.identities import IdentitiesProvider
from sesame.api.metrics import MetricsProvider
from sesame.api.policy import SendingPolicy
from sesame.api.sending import SendingProvider
from sesame.api.suppression import SuppressionProvider
from sesame.api.tags import TagsProvider
from sesame.api.templates import TemplatesProvider
from sesame.keys import Keys
from sesame.store.base import Store

#: Every provider class; `dispatch_table` builds one of each.
PROVIDERS: tuple[type, ...] = (
    ConfigurationSetsProvider,
    EventDestinationsProvider,
    IdentitiesProvider,
    TagsProvider,
    TemplatesProvider,
    SendingProvider,
    # --- account (issue 5) ---
    AccountProvider,
    SuppressionProvider,
    MetricsProvider,
    ContactsProvider,
)


def implemented_operations() -> set[str]:
    """The operations some provider handles (read off the classes, nothing built)."""
    return {name for provider in PROVIDERS for name in handled(provider)}


def dispatch_table(
    store: Store,
    *,
    identity_verification: str,
    keys: Keys,
    tracking_host: str,
    tracking_host_is_listener: bool,
    on_queued: Callable[[], None] = lambda: None,
    max_send_rate: float = -1,
    max_24h_send: float = -1,
    unsubscribe_base: str = "",
) -> dict[str, Handler]:
    """Every implemented operation → its bound provider method."""
    policy = SendingPolicy(
        store,
        keys,
        max_send_rate=max_send_rate,
        max_24h_send=max_24h_send,
        unsubscribe_base=unsubscribe_base,
    )
    return build_table(
        [
            ConfigurationSetsProvider(store),
            EventDestinationsProvider(store),
            IdentitiesProvider(store, identity_verification),
            TagsProvider(store),
            TemplatesProvider(store),
            SendingProvider(
                store,
                keys,
                tracking_host=tracking_host,
                tracking_host_is_listener=tracking_host_is_listener,
                on_queued=on_queued,
                policy=policy,
            ),
            AccountProvider(store, max_send_rate=max_send_rate, max_24h_send=max_24h_send),
            SuppressionProvider(store),
            MetricsProvider(store),
            ContactsProvider(store),
        ]
    )
