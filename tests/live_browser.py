"""Headless Chromium for the dashboard tests and benchmark: Debian's /usr/bin/chromium driven by
Playwright (which cannot download its own browsers here)."""

import importlib.util
import shutil
from pathlib import Path
from typing import Final

CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        return "Chromium not found at /usr/bin/chromium; scripts/bootstrap installs it (apt)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed; run scripts/bootstrap"
    return None


def chromium_path() -> str:
    return str(CHROMIUM) if CHROMIUM.exists() else str(shutil.which("chromium"))
