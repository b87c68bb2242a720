"""The access key pair API requests are signed with.

Given on the command line (or environment), it is used as is. Otherwise a
pair is generated on first start and kept, readable by its owner only, in
`<data-dir>/credentials.json`, so the same pair works after a restart.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

_KEY_ALPHABET = string.ascii_uppercase + "234567"


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    #: Where the pair came from: "settings", "generated" or the file it was read from.
    source: str

    def __repr__(self) -> str:  # never print the secret by accident
        return f"Credentials(access_key_id={self.access_key_id!r}, source={self.source!r})"


def generate() -> tuple[str, str]:
    """A pair in AWS's format: `AKIA` + 16 characters, and a 40-character secret."""
    key_id = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    alphabet = string.ascii_letters + string.digits + "+/"
    secret = "".join(secrets.choice(alphabet) for _ in range(40))
    return key_id, secret


def load_or_create(data_dir: Path) -> Credentials:
    path = data_dir / "credentials.json"
    if path.exists():
        stored = json.loads(path.read_text())
        return Credentials(stored["access_key_id"], stored["secret_access_key"], str(path))
    data_dir.mkdir(parents=True, exist_ok=True)
    key_id, secret = generate()
    # Create the file with owner-only permissions from the start.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"access_key_id": key_id, "secret_access_key": secret}, handle)
    return Credentials(key_id, secret, "generated")
