"""The test kit shipped with the package (``pip install omnibase_infra[testing]``).

Real servers on free 127.0.0.1 ports, stopped by PID; a manual clock; free ports; one
poll-until-true helper; Kafka topic helpers. Its pytest plugin (entry point ``pytest11``,
``omnibase_infra.testing.pytest_plugin``) registers the fixtures of ``testing/fixtures/``.

Names load on first access (PEP 562), so ``import omnibase_infra.testing`` imports neither pytest
nor any server's client library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnibase_infra.lazy_names import load_lazy_name

# Bound now (it imports only asyncio): a lazy name here would be shadowed by the submodule of
# the same name once anything imports ``omnibase_infra.testing.eventually``, and
# ``from omnibase_infra.testing import eventually`` would then give the module.
from omnibase_infra.testing.eventually import eventually

if TYPE_CHECKING:
    from omnibase_infra.testing.fixtures.kafka import (
        TopicFactory,
        make_kafka_settings,
        make_unique_topic,
    )
    from omnibase_infra.testing.leak_check import error_surface
    from omnibase_infra.testing.manual_clock import ManualClock
    from omnibase_infra.testing.ports import free_port, free_port_pair
    from omnibase_infra.testing.servers.asgi_server import AsgiServerThread
    from omnibase_infra.testing.servers.fake_consul import FakeConsulAgent
    from omnibase_infra.testing.servers.flaky_http import FlakyHttpServer
    from omnibase_infra.testing.servers.http import HttpTestServer
    from omnibase_infra.testing.servers.keycloak_fake import FakeKeycloakServer
    from omnibase_infra.testing.servers.oidc import OidcProviderServer
    from omnibase_infra.testing.servers.openbao import OpenBaoServer
    from omnibase_infra.testing.servers.process import ManagedProcess, ServerStartError
    from omnibase_infra.testing.servers.tansu import TansuServer
    from omnibase_infra.testing.servers.valkey import ValkeyServer

__all__ = [
    "AsgiServerThread",
    "FakeConsulAgent",
    "FakeKeycloakServer",
    "FlakyHttpServer",
    "HttpTestServer",
    "ManagedProcess",
    "ManualClock",
    "OidcProviderServer",
    "OpenBaoServer",
    "ServerStartError",
    "TansuServer",
    "TopicFactory",
    "ValkeyServer",
    "error_surface",
    "eventually",
    "free_port",
    "free_port_pair",
    "make_kafka_settings",
    "make_unique_topic",
]

_PACKAGE = "omnibase_infra.testing"
_WHERE = {
    "AsgiServerThread": "servers.asgi_server",
    "FakeConsulAgent": "servers.fake_consul",
    "FakeKeycloakServer": "servers.keycloak_fake",
    "FlakyHttpServer": "servers.flaky_http",
    "HttpTestServer": "servers.http",
    "ManagedProcess": "servers.process",
    "ManualClock": "manual_clock",
    "OidcProviderServer": "servers.oidc",
    "OpenBaoServer": "servers.openbao",
    "ServerStartError": "servers.process",
    "TansuServer": "servers.tansu",
    "TopicFactory": "fixtures.kafka",
    "ValkeyServer": "servers.valkey",
    "error_surface": "leak_check",
    "free_port": "ports",
    "free_port_pair": "ports",
    "make_kafka_settings": "fixtures.kafka",
    "make_unique_topic": "fixtures.kafka",
}


def __getattr__(name: str) -> object:
    """Import a kit name on first access and cache it on this package."""
    return load_lazy_name(__name__, name, _WHERE, globals(), package=_PACKAGE)


def __dir__() -> list[str]:
    """The public names (``__all__``), loaded or not."""
    return sorted(__all__)
