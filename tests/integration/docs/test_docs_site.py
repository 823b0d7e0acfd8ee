"""The documentation site builds with ``mkdocs build --strict``: no broken link, no page missing
from the nav, no API reference that fails to resolve, and nothing fetched from a CDN."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]
MKDOCS = Path(sys.executable).parent / "mkdocs"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built into a temporary directory (fails with mkdocs' output if the build does)."""
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_strict_build_renders_every_nav_page(site: Path) -> None:
    """Every page of the nav is built, including the generated references."""
    for page in (
        "getting-started/quickstart",
        "reference/contracts",
        "configuration",
        "operations/dlq",
        "decisions/0001-confluent-kafka",
    ):
        assert (site / page / "index.html").is_file(), page


def test_api_reference_renders_the_public_faces(site: Path) -> None:
    """The API pages carry the names the packages export (rendered from their docstrings)."""
    dispatch = (site / "api" / "dispatch" / "index.html").read_text()
    assert 'id="omnibase_infra.dispatch.MessageDispatchEngine"' in dispatch
    resilience = (site / "api" / "resilience" / "index.html").read_text()
    assert 'id="omnibase_infra.resilience.AsyncCircuitBreaker"' in resilience


def test_site_loads_nothing_from_another_host(site: Path) -> None:
    """No page loads a font, a script or a stylesheet from another host (the site works
    offline)."""
    external = re.compile(r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//', re.IGNORECASE)
    offenders = [
        str(page.relative_to(site))
        for page in site.rglob("*.html")
        if external.search(page.read_text(errors="replace"))
    ]
    assert offenders == []
