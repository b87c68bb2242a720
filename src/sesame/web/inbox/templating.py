"""The Jinja2 environment (autoescaped) and the static files, loaded once."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jinja2

#: Static file suffix -> Content-Type.
_TYPES = {
    ".css": b"text/css; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".svg": b"image/svg+xml",
}

#: What each HttpsPolicy does to the URLs in the mail (README, tracking domains).
HTTPS_POLICIES = {
    "OPTIONAL": ("http://", "the link's own scheme"),
    "REQUIRE": ("https://", "https://"),
    "REQUIRE_OPEN_ONLY": ("https://", "the link's own scheme"),
}


def stamp(moment: float) -> str:
    """`2026-12-03 19:26:06 UTC`: seconds are enough to read, and sort by eye."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KB"
    return f"{count / 1024 / 1024:.1f} MB"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sesame.web.inbox", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["stamp"] = stamp
    env.filters["size"] = size
    env.globals["https_policies"] = HTTPS_POLICIES
    return env


def static_files() -> dict[str, tuple[bytes, bytes]]:
    """File name -> (content type, bytes)."""
    files: dict[str, tuple[bytes, bytes]] = {}
    folder = resources.files("sesame.web.inbox") / "static"
    for entry in folder.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if suffix in _TYPES:
            files[entry.name] = (_TYPES[suffix], entry.read_bytes())
    return files


def render(env: jinja2.Environment, name: str, **context: Any) -> bytes:
    return env.get_template(name).render(**context).encode("utf-8")
