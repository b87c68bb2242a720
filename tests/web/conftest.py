"""Browser fixtures: Playwright's Python package driving the system's Chromium.

Playwright cannot download its own browser build here (and need not: Debian's
`chromium` works), so the browser is launched from its path: `SESAME_TEST_CHROMIUM`
if set, else /usr/bin/chromium. When that is missing and we are root (CI, a fresh
machine), it is installed with apt-get first; otherwise the tests fail saying how
to install it, rather than being skipped silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from harness import RunningSesame, start_sesame

CHROMIUM = Path(os.environ.get("SESAME_TEST_CHROMIUM", "/usr/bin/chromium"))


def _apt(*arguments: str) -> None:
    environment = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", *arguments], check=True, stdout=subprocess.DEVNULL, env=environment)


def chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() == 0 and shutil.which("apt-get"):
        _apt("update", "-q")
        _apt("install", "-y", "-q", "chromium")
    if not CHROMIUM.exists():
        pytest.fail(
            f"the browser tests need Chromium at {CHROMIUM}: `apt-get install chromium` "
            "(Debian/Ubuntu), or point SESAME_TEST_CHROMIUM at a Chromium or Chrome binary"
        )
    return CHROMIUM


# Module scope, not session: Playwright's sync API keeps an asyncio loop running on
# the main thread while it is open, and a later module's asyncio.run() would fail.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=str(chromium()), headless=True)
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def inbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSesame]:
    """A Sesame of its own, so what the pages show is only this module's mail."""
    running = start_sesame(tmp_path_factory.mktemp("inbox"))
    yield running
    running.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()
