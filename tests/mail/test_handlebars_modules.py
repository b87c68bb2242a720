"""The template engine's modules: each imports on its own (no import cycles)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import sesame.mail.handlebars

MODULES = [
    "sesame.mail.render",
    "sesame.mail.handlebars",
    *(
        f"sesame.mail.handlebars.{m.name}"
        for m in pkgutil.iter_modules(sesame.mail.handlebars.__path__)
    ),
]


def test_the_modules_are_found() -> None:
    assert "sesame.mail.handlebars.compiler" in MODULES


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module: str) -> None:
    # A fresh interpreter: a cycle shows only when a module is the first one imported.
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
