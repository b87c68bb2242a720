"""The README tells the truth: every option is documented, the coverage table is current."""

from __future__ import annotations

from pathlib import Path

import pytest

from sesame.config import option_fields
from sesame.coverage import BEGIN, END, coverage_markdown

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize(("flag", "env"), [(flag, env) for flag, env, _, _ in option_fields()])
def test_every_option_is_in_the_readme(flag: str, env: str) -> None:
    row = next((line for line in README.splitlines() if line.startswith(f"| `{flag}` ")), None)
    assert row is not None, f"{flag} has no row in the README's configuration table"
    assert f"`{env}`" in row


def test_coverage_table_is_current() -> None:
    start, end = README.index(BEGIN), README.index(END) + len(END)
    assert README[start:end] == coverage_markdown(), "run `sesame coverage` into the README"


def test_every_layer_folder_states_its_rule() -> None:
    for folder in ("protocol", "api", "store", "web"):
        text = (ROOT / "src" / "sesame" / folder / "README.md").read_text()
        assert "Rule" in text


def test_settings_never_show_their_secrets() -> None:
    from sesame.config import Settings

    shown = repr(
        Settings(
            access_key_id="AKIAEXAMPLEKEY000001",
            secret_access_key="very-secret-access-key",
            smtp_password="very-secret-password",
        )
    )
    assert "AKIAEXAMPLEKEY000001" in shown
    assert "very-secret" not in shown


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    return README[start : README.index("\n## ", start + 1)]


def test_the_deployment_section_names_only_options_that_exist() -> None:
    import re

    import click

    from sesame.cli import main

    # Every option of every command, both halves of --flag/--no-flag.
    known: set[str] = set()
    commands: list[click.Command] = [main]
    while commands:
        command = commands.pop()
        if isinstance(command, click.Group):
            commands += command.commands.values()
        for param in command.params:
            known.update(param.opts, getattr(param, "secondary_opts", []))
    section = _section("Deploying on several machines")
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", section))
    assert named, "the section names no options"
    assert named <= known, f"not options of any sesame command: {sorted(named - known)}"
