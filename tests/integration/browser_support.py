"""A real headless browser for page tests: Debian's chromium driven by Playwright.

Playwright's own browser download needs the internet; Debian's ``chromium`` package does not
(``scripts/env.sh dev`` installs it). Missing, ``install_chromium`` installs it as root with
apt (quick when present); a test skips, naming why, only when it cannot be installed.
Screenshots go to ``test-artifacts/`` (ignored by git), kept for the CI run to upload.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def install_chromium() -> str | None:
    """None when ``/usr/bin/chromium`` is there (installed now if need be), else why not."""
    if CHROMIUM.exists():
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "no /usr/bin/chromium, and apt-get as root is not available to install it"
    for command in (
        ["apt-get", "install", "-y", "-q", "chromium"],
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "chromium"],
    ):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode == 0 and CHROMIUM.exists():
            return None
    return f"apt-get install chromium failed: {done.stderr.strip()[-300:]}"


def artifact(name: str) -> Path:
    """Where a test saves ``name`` (``test-artifacts/``, created)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
