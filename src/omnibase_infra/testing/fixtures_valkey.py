"""pytest fixtures for a real Valkey server (list this module in ``pytest_plugins``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from omnibase_infra.testing.server_valkey import ValkeyServer

__all__ = ["valkey_server", "valkey_server_fresh", "valkey_server_with_password"]


@pytest.fixture(scope="session")
def valkey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyServer]:
    """One Valkey without a password for the session (tests must not stop or pause it)."""
    server = ValkeyServer.start(tmp_path_factory.mktemp("valkey"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def valkey_server_with_password(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ValkeyServer]:
    """One Valkey requiring a (random) password, for the session."""
    server = ValkeyServer.start(tmp_path_factory.mktemp("valkey-auth"), require_password=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def valkey_server_fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyServer]:
    """A Valkey of the test's own, which it may stop or pause."""
    server = ValkeyServer.start(tmp_path_factory.mktemp("valkey-fresh"))
    try:
        yield server
    finally:
        server.stop()
