"""pytest fixtures for a real local HTTP test server (list this module in ``pytest_plugins``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from omnibase_infra.handlers.http.handler_http import new_webhook_secret
from omnibase_infra.testing.server_http import HttpTestServer

__all__ = ["http_test_server", "http_test_server_fresh"]


@pytest.fixture(scope="session")
def http_test_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpTestServer]:
    """One test HTTP server for the session, checking webhooks against a random secret."""
    server = HttpTestServer.start(
        tmp_path_factory.mktemp("http"), webhook_secret=new_webhook_secret()
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http_test_server_fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpTestServer]:
    """A test HTTP server of the test's own, which it may stop or pause."""
    server = HttpTestServer.start(
        tmp_path_factory.mktemp("http-fresh"), webhook_secret=new_webhook_secret()
    )
    try:
        yield server
    finally:
        server.stop()
