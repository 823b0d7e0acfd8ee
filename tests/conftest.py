"""Shared pytest configuration: the real-server fixture modules of ``omnibase_infra.testing``."""

pytest_plugins = [
    "omnibase_infra.testing.fixtures_postgres",
    "omnibase_infra.testing.fixtures_kafka",
    "omnibase_infra.testing.fixtures_vault",
    "omnibase_infra.testing.fixtures_valkey",
    "omnibase_infra.testing.fixtures_http",
    "omnibase_infra.testing.fixtures_oidc",
    "omnibase_infra.testing.fixtures_consul",
    "omnibase_infra.testing.fixtures_flaky_http",
]
