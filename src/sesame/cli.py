"""The `sesame` command: serve, coverage."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import click

from sesame.config import Settings, option_fields
from sesame.store.base import Store


def _settings_options(command: Any) -> Any:
    """Attach one click option per Settings field, each with its SESAME_* variable."""
    for flag, env, default, meta in reversed(option_fields()):
        kind: Any = meta.get("choices") and click.Choice(meta["choices"])
        if kind is None or kind is False:
            kind = meta.get("kind") or (int if isinstance(default, int) else str)
            if isinstance(default, Path):
                kind = click.Path(path_type=Path)
        if isinstance(default, bool):
            name = flag.removeprefix("--")
            flag, kind = f"--{name}/--no-{name}", bool
        multiple = bool(meta.get("multiple"))
        # A repeatable flag is singular (--sns-webhook); its value keeps the field's name.
        names = [flag, env.lower().removeprefix("sesame_")] if multiple else [flag]
        command = click.option(
            *names,
            envvar=env,
            default=default,
            type=kind,
            multiple=multiple,
            show_default=default is not None and default != () and not meta.get("secret"),
            show_envvar=True,
            help=meta["help"],
        )(command)
    return command


def _database_options(command: Any) -> Any:
    """--data-dir and --database-url, for commands that only open the store."""
    command = click.option("--database-url", envvar="SESAME_DATABASE_URL", default=None)(command)
    return click.option(
        "--data-dir",
        envvar="SESAME_DATA_DIR",
        default=Path(".sesame"),
        type=click.Path(path_type=Path),
    )(command)


def _open_store(data_dir: Path, database_url: str | None) -> Store:
    return _store(Settings(data_dir=data_dir, database_url=database_url))


def _store(settings: Settings, pool_size: int | None = None) -> Store:
    """The store the settings name, migrated; a database that cannot be opened is a
    one-line error, not a traceback."""
    from sesame.store import open_store
    from sesame.store.base import Unreachable

    try:
        return open_store(settings.database, pool_size=pool_size or settings.database_pool_size)
    except (Unreachable, ValueError) as problem:
        raise click.ClickException(f"{settings.database_shown}: {problem}") from None


@click.group()
def main() -> None:
    """Sesame: a self-hosted, wire-compatible Amazon SES v2 service."""


@main.command()
@_settings_options
def serve(**options: Any) -> None:
    """Start the SES v2 API on --host:--port (or, with --role, a part of it)."""
    settings = _settings(options)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if settings.role == "tracking":
        _serve_tracking(settings)
        return
    from sesame.app import build_app, resolve_credentials
    from sesame.server import Server, serve_with_tracking, serve_workers
    from sesame.server import config as server_config

    # Credentials and migrations are settled here, once, before any worker starts.
    credentials = resolve_credentials(settings)
    _store(settings, pool_size=1).close()
    click.echo(f"Sesame {settings.region} account {settings.account_id}")
    click.echo(f"  endpoint:          {settings.endpoint_url}")
    login = "open on this machine" if settings.inbox_is_open else "asks for a login"
    click.echo(f"  inbox:             {settings.endpoint_url}/_sesame/  ({login})")
    if settings.role == "api":
        click.echo(
            f"  tracking:          not here (--role api); links use {settings.tracking_host}"
        )
    click.echo(f"  database:          {settings.database_shown}")
    click.echo(f"  access key id:     {credentials.access_key_id}")
    if credentials.source == "settings":
        click.echo("  secret access key: (the one given in SESAME_SECRET_ACCESS_KEY / flag)")
    else:
        # Printed on the console for the developer to copy; never sent to the log.
        click.echo(f"  secret access key: {credentials.secret_access_key}")
        click.echo(f"  (kept in {settings.data_dir / 'credentials.json'})")
    click.echo(
        f"  try: AWS_ACCESS_KEY_ID={credentials.access_key_id} AWS_SECRET_ACCESS_KEY=... "
        f"aws sesv2 list-configuration-sets --endpoint-url {settings.endpoint_url} "
        f"--region {settings.region}"
    )
    ready = f"Sesame is ready on {settings.endpoint_url}"
    if settings.workers == 1:
        app = build_app(settings, publisher_process=True)
        api_config = server_config(app, settings.host, settings.port)
        if settings.tracking_port is None:
            Server(api_config, lambda: click.echo(ready)).run()
            return
        tracking_config = server_config(
            app.tracking_only, settings.host, settings.tracking_port, lifespan="off"
        )
        tracking_ready = f"{ready}; tracking also on port {settings.tracking_port}"
        serve_with_tracking(api_config, tracking_config, lambda: click.echo(tracking_ready))
        return
    serve_workers(
        settings, credentials, lambda: click.echo(f"{ready} ({settings.workers} workers)")
    )


def _serve_tracking(settings: Settings) -> None:
    """`serve --role tracking`: the edge alone; no key pair is read or made."""
    from sesame.edge import HEALTH_PATH, build_edge
    from sesame.server import Server, serve_workers
    from sesame.server import config as server_config

    _store(settings, pool_size=1).close()
    click.echo(f"Sesame tracking node {settings.region} account {settings.account_id}")
    click.echo(
        f"  serves:            {settings.endpoint_url}/I0/ /L0/ /U0/ (pixel, links, unsubscribe)"
    )
    click.echo(f"  health check:      {settings.endpoint_url}{HEALTH_PATH}")
    click.echo(f"  database:          {settings.database_shown}")
    ready = f"Sesame is ready on {settings.endpoint_url} (tracking only"
    if settings.workers == 1:
        edge = build_edge(settings)
        config = server_config(edge, settings.host, settings.port)
        Server(config, lambda: click.echo(f"{ready})")).run()
        return
    serve_workers(settings, None, lambda: click.echo(f"{ready}, {settings.workers} workers)"))


def _settings(options: dict[str, Any]) -> Settings:
    try:
        return Settings(**options)
    except ValueError as problem:
        raise click.UsageError(str(problem)) from None


@main.command()
@_settings_options
def worker(**options: Any) -> None:
    """Deliver queued mail and publish events without serving HTTP (any number, beside `serve`)."""
    import asyncio
    import signal
    from concurrent.futures import ThreadPoolExecutor

    from sesame.app import publisher_of, relay_of
    from sesame.delivery.worker import DeliveryWorker
    from sesame.events.sns import Signer
    from sesame.server import run_loop

    settings = _settings(options)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    store = _store(settings)
    executor = ThreadPoolExecutor(max_workers=store.concurrency, thread_name_prefix="sesame-db")
    delivery = DeliveryWorker(
        store,
        executor,
        relay_of(settings),
        retry_seconds=settings.delivery_retry_seconds,
        lease_seconds=settings.delivery_lease_seconds,
    )
    publisher = publisher_of(settings, store, executor, Signer(store, settings.endpoint_url))
    delivery.on_events = lambda count: publisher.wake()

    def stop() -> None:
        delivery.stop()
        publisher.stop()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
        click.echo(f"Sesame worker delivering and publishing from {settings.database_shown}")
        await asyncio.gather(delivery.run(), publisher.run())

    try:
        run_loop(run())
    finally:
        executor.shutdown(wait=True)
        store.close()


@main.command()
@click.option("--message-id", help="Only this message's events.")
@click.option("--type", "event_type", help="Only this eventType (Send, Delivery, Open, …).")
@click.option("--configuration-set", help="Only events of this configuration set.")
@click.option("--since", type=float, help="Only events at or after this Unix time.")
@click.option(
    "--actor",
    type=click.Choice(["person", "machine"]),
    help="Only opens and clicks classified as made by a person or by a machine.",
)
@click.option(
    "--failed",
    is_flag=True,
    help="Publications whose last attempt failed (retrying or given up) instead of events.",
)
@click.option("--limit", type=int, default=1000, show_default=True)
@_database_options
def events(
    message_id: str | None,
    event_type: str | None,
    configuration_set: str | None,
    since: float | None,
    actor: str | None,
    failed: bool,
    limit: int,
    data_dir: Path,
    database_url: str | None,
) -> None:
    """Print recorded SES event records, one JSON document per line, oldest first."""
    import json

    from sesame.events.publisher import describe_failure

    store = _open_store(data_dir, database_url)
    try:
        if failed:
            for publication in store.failed_publications(limit=limit):
                click.echo(json.dumps(describe_failure(publication), separators=(",", ":")))
            return
        for event in store.list_events(
            message_id=message_id,
            event_type=event_type,
            configuration_set=configuration_set,
            since=since,
            limit=limit,
            actor=actor,
        ):
            click.echo(json.dumps(event.record, separators=(",", ":")))
    finally:
        store.close()


@main.command()
@_database_options
def migrate(data_dir: Path, database_url: str | None) -> None:
    """Apply the pending schema migrations and print the schema version (`serve` and
    `worker` do the same at start; this does it ahead of a rollout)."""
    settings = Settings(data_dir=data_dir, database_url=database_url)
    store = _store(settings, pool_size=1)
    try:
        version = store.migrate()
    finally:
        store.close()
    click.echo(f"{settings.database_shown}: schema version {version}")


@main.group()
def keys() -> None:
    """Tracking-link signing keys."""


@keys.command("rotate")
@_database_options
def keys_rotate(data_dir: Path, database_url: str | None) -> None:
    """Create a new signing key; links already sent keep working."""
    from sesame.keys import new_key

    store = _open_store(data_dir, database_url)
    try:
        key = new_key(store)
        count = len(store.signing_keys())
    finally:
        store.close()
    click.echo(
        f"New signing key {key.id}; {count} keys verify links. Every server verifies with it "
        "within a minute and signs new links with it within three."
    )


@main.command()
@click.option("--metric", default="OPEN", show_default=True, help="A VDM metric (OPEN, CLICK, …).")
@click.option("--days", type=int, default=7, show_default=True, help="UTC days up to today.")
@click.option("--configuration-set", help="Only this configuration set.")
@click.option("--email-identity", help="Only mail sent as this identity.")
@_database_options
def metrics(
    metric: str,
    days: int,
    configuration_set: str | None,
    email_identity: str | None,
    data_dir: Path,
    database_url: str | None,
) -> None:
    """Print a VDM metric per day as BatchGetMetricData counts it, beside Sesame's
    person-only figure (opens and clicks classified as a machine's left out)."""
    import json
    import time

    from sesame.events.metrics import DAY, SOURCES, Query, by_day

    if metric not in SOURCES:
        raise click.UsageError(f"--metric must be one of {', '.join(SOURCES)}")
    dimensions = {
        name: value
        for name, value in (
            ("CONFIGURATION_SET", configuration_set),
            ("EMAIL_IDENTITY", email_identity),
        )
        if value
    }
    end = (time.time() // DAY + 1) * DAY
    start = end - days * DAY
    store = _open_store(data_dir, database_url)
    try:
        events = store.events_between(start, end, list(SOURCES[metric]))
        every = by_day(Query(metric, dimensions, start, end), events, store.tracking_of)
        human_only = Query(metric, dimensions, start, end, human_only=True)
        people = by_day(human_only, events, store.tracking_of)
    finally:
        store.close()
    for stamp, value in every.items():
        day = time.strftime("%Y-%m-%d", time.gmtime(stamp))
        line = {"day": day, "metric": metric, "value": value, "human": people.get(stamp, 0)}
        click.echo(json.dumps(line))


def app_from_environment() -> Any:
    """App factory for `--workers` processes: the settings come from the SESAME_*
    variables the parent set, read by the same options `sesame serve` has."""
    from sesame.app import app_for

    context = serve.make_context("serve", [])
    return app_for(Settings(**context.params), publisher_process=True)


@main.command()
def coverage() -> None:
    """Print which operations of the sesv2 model are implemented (Markdown)."""
    from sesame.coverage import coverage_markdown

    click.echo(coverage_markdown())


# A dataclass-field sanity check at import: every option has help text.
assert all(f.metadata.get("help") for f in dataclasses.fields(Settings))
