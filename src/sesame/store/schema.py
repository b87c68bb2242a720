"""Versioned schema migrations: numbered SQL files in `migrations/`.

Each file `NNNN_name.sql` is applied once, in order, inside one transaction
together with the row that records it in `schema_migrations`, so a failed
migration leaves the database at the previous version.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """The file split into statements (our migrations have no `;` in literals)."""
        lines = [line for line in self.sql.splitlines() if not line.lstrip().startswith("--")]
        return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def migrations() -> list[Migration]:
    """Every migration shipped with this version of Sesame, oldest first."""
    found: list[Migration] = []
    folder = resources.files("sesame.store") / "migrations"
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def latest_version() -> int:
    return migrations()[-1].version
