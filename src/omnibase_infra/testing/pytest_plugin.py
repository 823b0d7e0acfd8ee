"""The test kit's pytest plugin (entry point ``pytest11``): registers the real-server fixtures.

pytest loads it in every project whose environment holds ``omnibase_infra``; it then imports the
fixture modules, which import their servers only when a test asks for a fixture. Without the
``testing`` extra (no pytest-asyncio) it registers nothing, so such a project's pytest still runs.
"""

from __future__ import annotations

from importlib.util import find_spec

__all__ = ["FIXTURE_MODULES"]

FIXTURE_MODULES = (
    "omnibase_infra.testing.fixtures.postgres",
    "omnibase_infra.testing.fixtures.kafka",
    "omnibase_infra.testing.fixtures.vault",
    "omnibase_infra.testing.fixtures.valkey",
    "omnibase_infra.testing.fixtures.http",
    "omnibase_infra.testing.fixtures.oidc",
    "omnibase_infra.testing.fixtures.consul",
    "omnibase_infra.testing.fixtures.flaky_http",
)

# Read by pytest when it registers this module.
pytest_plugins = list(FIXTURE_MODULES) if find_spec("pytest_asyncio") is not None else []
