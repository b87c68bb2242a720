"""The `sesame` command: serve, coverage."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import click

from sesame.config import Settings, option_fields


def _settings_options(command: Any) -> Any:
    """Attach one click option per Settings field, each with its SESAME_* variable."""
    for flag, env, default, meta in reversed(option_fields()):
        kind: Any = meta.get("choices") and click.Choice(meta["choices"])
        if kind is None or kind is False:
            kind = int if isinstance(default, int) else str
            if isinstance(default, Path):
                kind = click.Path(path_type=Path)
        command = click.option(
            flag,
            envvar=env,
            default=default,
            type=kind,
            show_default=default is not None and not meta.get("secret"),
            show_envvar=True,
            help=meta["help"],
        )(command)
    return command


@click.group()
def main() -> None:
    """Sesame: a self-hosted, wire-compatible Amazon SES v2 service."""


@main.command()
@_settings_options
def serve(**options: Any) -> None:
    """Start the SES v2 API on --host:--port."""
    from sesame.app import build_app, resolve_credentials
    from sesame.server import Server, serve_workers
    from sesame.server import config as server_config
    from sesame.store import open_store

    try:
        settings = Settings(**options)
    except ValueError as problem:
        raise click.UsageError(str(problem)) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Credentials and migrations are settled here, once, before any worker starts.
    credentials = resolve_credentials(settings)
    open_store(settings.database).close()
    click.echo(f"Sesame {settings.region} account {settings.account_id}")
    click.echo(f"  endpoint:          {settings.endpoint_url}")
    click.echo(f"  database:          {settings.database}")
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
        app = build_app(settings)
        Server(server_config(app, settings.host, settings.port), lambda: click.echo(ready)).run()
        return
    serve_workers(
        settings, credentials, lambda: click.echo(f"{ready} ({settings.workers} workers)")
    )


@main.command()
def coverage() -> None:
    """Print which operations of the sesv2 model are implemented (Markdown)."""
    from sesame.coverage import coverage_markdown

    click.echo(coverage_markdown())


# A dataclass-field sanity check at import: every option has help text.
assert all(f.metadata.get("help") for f in dataclasses.fields(Settings))
