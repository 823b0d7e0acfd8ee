"""Shared pytest configuration.

The real-server fixtures of ``omnibase_infra.testing`` come from the package's pytest plugin
(entry point ``pytest11``), installed with the package.
"""

import pytest

from omnibase_infra.observability.logging import configure_logging


@pytest.fixture(autouse=True)
def _default_logging() -> None:
    """Every test starts from the default log configuration: a runtime a test started sets
    the level of its config (WARNING in many), which would hide INFO lines from later tests'
    log captures."""
    configure_logging()
