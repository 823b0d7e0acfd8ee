"""pytest fixtures for Vault: a real server for ``HandlerVault`` and ``vault://`` secrets.

The server is OpenBao (the open-source fork of Vault, same HTTP API, installed from a wheel), so
the fixtures are named after it: ``openbao_server``. List this module in ``pytest_plugins``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from omnibase_infra.testing.server_openbao import OpenBaoServer

__all__ = ["openbao_server", "openbao_server_fresh"]


@pytest.fixture(scope="session")
def openbao_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBaoServer]:
    """One dev-mode OpenBao for the session (tests must not stop or seal it)."""
    server = OpenBaoServer.start(tmp_path_factory.mktemp("openbao"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def openbao_server_fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBaoServer]:
    """A dev-mode OpenBao of the test's own, which it may stop, pause or seal."""
    server = OpenBaoServer.start(tmp_path_factory.mktemp("openbao-fresh"))
    try:
        yield server
    finally:
        server.stop()
