"""Debian's Chromium for the browser tests, headless, driven by Playwright (no download)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 # without these Chromium keeps calling home on a closed network
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]


def require_chromium() -> None:
    """Skip the calling test module when Debian's chromium is missing (`make test` installs
    it)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium); `make test` "
                    "installs it", allow_module_level=True)


@contextmanager
def chromium(profile: Path, **options: Any) -> Iterator[BrowserContext]:
    """A persistent Chromium context on a fresh ``profile``; ``options`` go to Playwright's
    launch_persistent_context (viewport, has_touch, ...)."""
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            **options)
        try:
            yield context
        finally:
            context.close()


DOCS = Path(__file__).resolve().parents[2] / "docs"


def screenshot_path(name: str) -> Path:
    """Where a browser test saves the picture of a page: the committed one under docs/ when
    PODIUM_SCREENSHOTS=1 (`make screenshots`), else a scratch directory, so a plain test run
    leaves the checkout as it found it."""
    if os.environ.get("PODIUM_SCREENSHOTS") == "1":
        return DOCS / f"{name}.png"
    return Path(tempfile.gettempdir()) / "podium-screenshots" / f"{name}.png"
