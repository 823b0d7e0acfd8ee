"""The test kit's pytest plugin (entry point ``pytest11``): registers the real-server fixtures.

pytest loads it in every project whose environment holds ``omnibase_infra``; it then imports the
fixture modules, which import their servers only when a test asks for a fixture. Without the
``testing`` extra (no pytest-asyncio) it registers nothing, so such a project's pytest still runs.
"""

from __future__ import annotations

from importlib.util import find_spec

__all__ = ["FIXTURE_MODULES"]

FIXTURE_MODULES = (
    "omnibase_infra.testing.fixtures_postgres",
    "omnibase_infra.testing.fixtures_kafka",
    "omnibase_infra.testing.fixtures_vault",
    "omnibase_infra.testing.fixtures_valkey",
    "omnibase_infra.testing.fixtures_http",
    "omnibase_infra.testing.fixtures_oidc",
    "omnibase_infra.testing.fixtures_consul",
    "omnibase_infra.testing.fixtures_flaky_http",
)

# Read by pytest when it registers this module.
pytest_plugins = list(FIXTURE_MODULES) if find_spec("pytest_asyncio") is not None else []
