"""pytest fixture for the flaky HTTP dependency (list this module in ``pytest_plugins``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from omnibase_infra.testing.server_flaky_http import FlakyHttpServer

__all__ = ["flaky_http_server"]


@pytest.fixture
def flaky_http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlakyHttpServer]:
    """A flaky HTTP server process of the test's own (0% failures, no delay at start)."""
    server = FlakyHttpServer.start(tmp_path_factory.mktemp("flaky-http"))
    try:
        yield server
    finally:
        server.stop()
