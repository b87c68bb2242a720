"""One frozen Settings object: every option of `sesame serve`.

Each field is a command-line flag (`--data-dir`) and an environment variable
(`SESAME_DATA_DIR`); the flag wins. The `help` text of each field is what
`sesame serve --help` prints and what the README's configuration table says
(a test keeps the two in step).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


def _option(default: Any, help: str, **extra: Any) -> Any:
    return field(default=default, metadata={"help": help, **extra})


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = _option("127.0.0.1", "Address the API listener binds to.")
    port: int = _option(8840, "Port of the API listener.")
    data_dir: Path = _option(
        Path(".sesame"), "Folder for the SQLite database and generated credentials."
    )
    database_url: str | None = _option(
        None,
        "Database to use, overriding --data-dir: sqlite:///path/to/file.db "
        "(default: sqlite:///<data-dir>/sesame.db).",
    )
    region: str = _option(
        "us-east-1", "The AWS region Sesame answers as; requests must be signed for it."
    )
    account_id: str = _option("000000000000", "The 12-digit account id used in ARNs.")
    access_key_id: str | None = _option(
        None,
        "Access key id requests must be signed with. Without it (and the secret), "
        "a pair is generated on first start and kept in the data dir.",
    )
    secret_access_key: str | None = _option(
        None, "Secret access key that goes with --access-key-id.", secret=True
    )
    identity_verification: str = _option(
        "auto",
        "auto: identities are verified as soon as they are created (development); "
        "dns: they start PENDING until their DNS records are checked.",
        choices=("auto", "dns"),
    )
    workers: int = _option(
        1,
        "Number of processes serving the API on the same port; they share the "
        "database (SQLite in WAL mode allows that on one machine).",
    )

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("--workers must be at least 1")
        if not re.fullmatch(r"\d{12}", self.account_id):
            raise ValueError(f"--account-id must be 12 digits, not {self.account_id!r}")
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", self.region):
            raise ValueError(f"--region must look like us-east-1, not {self.region!r}")
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("--access-key-id and --secret-access-key go together")
        if self.identity_verification not in ("auto", "dns"):
            raise ValueError("--identity-verification must be auto or dns")

    @property
    def database(self) -> str:
        """The effective database URL."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sesame.db').as_posix()}"

    @property
    def endpoint_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


def to_environment(settings: Settings) -> dict[str, str]:
    """The SESAME_* variables that rebuild `settings` in another process."""
    return {
        "SESAME_" + f.name.upper(): str(getattr(settings, f.name))
        for f in fields(Settings)
        if getattr(settings, f.name) is not None
    }


def from_environment(environ: dict[str, str]) -> Settings:
    """Settings from SESAME_* variables alone (worker processes start this way)."""
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = environ.get("SESAME_" + f.name.upper())
        if raw is None:
            continue
        kind = type(f.default)
        values[f.name] = int(raw) if kind is int else Path(raw) if f.name == "data_dir" else raw
    return Settings(**values)


def option_fields() -> list[tuple[str, str, Any, dict[str, Any]]]:
    """(flag, env var, default, metadata) for every setting, in declaration order."""
    return [
        (
            "--" + f.name.replace("_", "-"),
            "SESAME_" + f.name.upper(),
            f.default,
            dict(f.metadata),
        )
        for f in fields(Settings)
    ]
