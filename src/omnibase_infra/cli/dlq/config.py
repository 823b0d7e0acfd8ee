"""Where the ``dlq`` commands find Kafka and PostgreSQL: the runtime's own config, like ``run``.

The config file is ``--config`` or ``$ONEX_CONFIG``, with ``ONEX_*`` variables on top (the same
``load_runtime_config`` as ``onex-infra run``). Kafka is ``event_bus.kafka`` (secret references
resolved, Vault first when configured); ``--bootstrap-servers`` overrides its brokers.
PostgreSQL, where replays are recorded, is ``postgres``: ``external`` resolves its ``dsn``
reference (``env://``, ``file://``, ``vault://``); ``embedded`` attaches to the runtime's
running server in ``postgres.data_dir`` (its port from ``postmaster.pid``, its password from
its file); ``--postgres-dsn-env NAME`` overrides both with the DSN held in that variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from omnibase_infra.errors import InfraUnavailableError, ProtocolConfigurationError
from omnibase_infra.runtime.config import ModelRuntimeConfig, load_runtime_config
from omnibase_infra.runtime.secrets import resolve_secret, resolve_secret_fields

if TYPE_CHECKING:
    from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
    from omnibase_infra.handlers.postgres.model_postgres_settings import ModelPostgresSettings
    from omnibase_infra.handlers.vault.handler_vault import HandlerVault

__all__ = ["dlq_kafka_settings", "dlq_postgres_settings", "load_dlq_config"]

CLIENT_ID = "onex-infra-dlq"
# The database the runtime's embedded PostgreSQL keeps its tables in (runtime.infrastructure).
_EMBEDDED_DATABASE = "onex"


def load_dlq_config(path: Path | None) -> ModelRuntimeConfig:
    """The runtime config the commands read (``path``, else ``$ONEX_CONFIG``, plus ``ONEX_*``)."""
    return load_runtime_config(path)


async def _vault(config: ModelRuntimeConfig) -> HandlerVault | None:
    if config.vault is None:
        return None
    from omnibase_infra.handlers.vault.handler_vault import HandlerVault

    vault = HandlerVault(await resolve_secret_fields(config.vault))
    await vault.start()
    return vault


async def dlq_kafka_settings(
    config: ModelRuntimeConfig, bootstrap_servers: str | None
) -> ModelKafkaSettings:
    """The config's Kafka settings, secrets resolved, brokers overridden when given."""
    vault = await _vault(config)
    try:
        kafka = await resolve_secret_fields(config.event_bus.kafka, vault=vault)
    finally:
        if vault is not None:
            await vault.close()
    update: dict[str, object] = {"client_id": CLIENT_ID}
    if bootstrap_servers:
        update["bootstrap_servers"] = bootstrap_servers
    return kafka.model_copy(update=update)


async def dlq_postgres_settings(
    config: ModelRuntimeConfig, dsn_variable: str | None
) -> ModelPostgresSettings:
    """Where replays are recorded: ``dsn_variable``'s DSN, else the config's PostgreSQL."""
    from omnibase_infra.handlers.postgres.model_postgres_settings import ModelPostgresSettings

    if dsn_variable:
        dsn = await resolve_secret(f"env://{dsn_variable}")
        return ModelPostgresSettings.from_dsn(dsn.get_secret_value())
    postgres = config.postgres
    if postgres.mode == "disabled":
        raise ProtocolConfigurationError(
            "postgres.mode is disabled: replays are recorded in PostgreSQL; configure "
            "postgres (external with a dsn reference) or pass --postgres-dsn-env NAME",
            field="postgres.mode",
        )
    if postgres.mode == "external":
        assert postgres.dsn is not None  # the config model requires it in external mode
        vault = await _vault(config)
        try:
            dsn = await resolve_secret(postgres.dsn, vault=vault)
        finally:
            if vault is not None:
                await vault.close()
        return ModelPostgresSettings.from_dsn(dsn.get_secret_value())
    return _embedded_settings(postgres.data_dir)


def _embedded_settings(data_dir: Path | None) -> ModelPostgresSettings:
    """The running embedded server of the runtime that uses ``data_dir``."""
    from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(data_dir)
    port = _running_port(server.data_dir)
    if port is None:
        raise InfraUnavailableError(
            f"the runtime's embedded PostgreSQL in {server.base_dir} is not running: start "
            "`onex-infra run` with this config first, or use postgres.mode external",
            operation="dlq_replay",
        )
    return EmbeddedPostgres(data_dir, port=port).settings(_EMBEDDED_DATABASE)


def _running_port(pgdata: Path) -> int | None:
    """The port in ``postmaster.pid`` when that postmaster is alive (None otherwise)."""
    try:
        lines = (pgdata / "postmaster.pid").read_text(encoding="utf-8").splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    return port if psutil.pid_exists(pid) else None
