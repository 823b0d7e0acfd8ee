"""Runtime configuration: one YAML file plus ``ONEX_*`` environment variables.

Precedence, highest first: constructor arguments, ``ONEX_*`` variables (nested with ``__``,
e.g. ``ONEX_HTTP__PORT=9000``), the YAML file (``--config`` or ``ONEX_CONFIG``), defaults.
Defaults are the ``local`` profile: in-memory bus, embedded PostgreSQL, local discovery and
secrets, everything bound to 127.0.0.1. Secrets are references (``env://NAME``,
``file:///path``, ``vault://mount/path#key``) resolved at start, never literals in files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from omnibase_infra.dispatch.model_retry_settings import ModelRetrySettings
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.handlers.consul.model_consul_settings import ModelConsulSettings
from omnibase_infra.handlers.http.model_http_client_settings import ModelHttpClientSettings
from omnibase_infra.handlers.oidc.model_keycloak_settings import ModelKeycloakSettings
from omnibase_infra.handlers.valkey.model_valkey_settings import ModelValkeySettings
from omnibase_infra.handlers.vault.model_vault_settings import ModelVaultSettings
from omnibase_infra.ingress.model_ingress_settings import ModelIngressSettings
from omnibase_infra.observability.model_tracing_settings import ModelTracingSettings
from omnibase_infra.runtime.contracts.plugin_loader import DEFAULT_ALLOWLIST
from omnibase_infra.runtime.dashboard.model_dashboard_settings import ModelDashboardSettings
from omnibase_infra.runtime.plugins.node_plugins import (
    discover_node_plugins,
    node_sections_at_the_top,
    validate_node_settings,
)
from omnibase_infra.runtime.plugins.protocol_node_plugin import ProtocolNodePlugin
from omnibase_infra.runtime.policies.model_policy_settings import ModelPolicySettings
from omnibase_infra.runtime.policies.routing import resolve_routing_policy
from omnibase_infra.runtime.safe_yaml import load_yaml_mapping
from omnibase_infra.validation_errors import first_validation_error

__all__ = [
    "ModelDiscoveryRuntimeSettings",
    "ModelEventBusSettings",
    "ModelHttpSettings",
    "ModelPostgresRuntimeSettings",
    "ModelRuntimeConfig",
    "load_runtime_config",
]

CONFIG_ENV_VAR = "ONEX_CONFIG"
_SECRET_SCHEMES = ("env://", "file://", "vault://")


class ModelHttpSettings(BaseModel):
    """The hub's HTTP server (health, readiness, metrics, registry)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8085, ge=0, le=65535, description="0 picks a free port")
    enabled: bool = True


class ModelEventBusSettings(BaseModel):
    """Which bus carries the messages, and the in-memory bus's bounds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["inmemory", "kafka"] = "inmemory"
    kafka: ModelKafkaSettings = Field(default_factory=ModelKafkaSettings)
    retry: ModelRetrySettings | None = Field(
        default_factory=ModelRetrySettings,
        description="delayed retries through retry topics before the DLQ (null: DLQ at once)",
    )
    retry_policy: str | None = Field(
        default=None,
        description="name@version of a routing policy declared in policies.definitions or "
        "policies.files, used instead of retry (give one of the two)",
    )
    partitions: int = Field(default=4, ge=1, le=1024)
    in_flight_per_partition: int = Field(
        default=16,
        ge=1,
        le=1024,
        description="in-memory bus: messages of a partition delivered at once, concurrently "
        "across keys, in order per key (the Kafka bus: event_bus.kafka.in_flight_per_partition)",
    )
    capacity: int = Field(
        default=1024,
        ge=1,
        description="in-memory bus: undelivered messages per group and partition before "
        "publish waits (back-pressure)",
    )
    capacity_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="in-memory bus: undelivered bytes (keys, values, headers) per group and "
        "partition before publish waits; a group with nothing undelivered always takes one "
        "message",
    )
    publish_timeout_seconds: float | None = Field(
        default=30.0,
        gt=0,
        description="in-memory bus: how long publish waits for room before it fails with a "
        "retriable 'event bus full' error (null: wait without end); nothing undelivered is "
        "ever dropped",
    )
    retention: int = Field(
        default=10_000,
        ge=0,
        description="in-memory bus: consumed messages kept per partition (oldest dropped)",
    )
    retention_bytes: int = Field(
        default=1024 * 1024,
        ge=0,
        description="in-memory bus: consumed bytes kept per partition (oldest dropped)",
    )
    max_message_bytes: int = Field(default=1024 * 1024, ge=1024)
    park_seconds: float = Field(
        default=30.0,
        gt=0,
        description="in-memory bus: pause before a parked message (its dead letter could not be "
        "written) is tried again (the Kafka bus: event_bus.kafka.park_seconds)",
    )
    stuck_after_seconds: float = Field(
        default=60.0,
        gt=0,
        description="a consumer group with messages waiting on a partition that has not moved "
        "for this long is stuck: an alarm, and /ready answers 503 naming it",
    )
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"

    @model_validator(mode="after")
    def _retry_or_its_policy(self) -> ModelEventBusSettings:
        if self.retry_policy is not None and "retry" in self.model_fields_set:
            raise ValueError("give event_bus.retry or event_bus.retry_policy, not both")
        return self


class ModelPostgresRuntimeSettings(BaseModel):
    """PostgreSQL for the runtime's stores: embedded (local), external (a DSN), or none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["embedded", "external", "disabled"] = "embedded"
    dsn: str | None = Field(
        default=None, description="secret reference to the DSN (env://, file://, vault://)"
    )
    data_dir: Path | None = Field(
        default=None, description="embedded mode: data directory (default: user data dir)"
    )
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)

    @field_validator("dsn")
    @classmethod
    def _dsn_is_a_reference(cls, dsn: str | None) -> str | None:
        # A field validator, so the error's location is postgres.dsn itself.
        # Anything but a reference is a literal DSN (URL or keyword form) or a bare password.
        if dsn is not None and not dsn.startswith(_SECRET_SCHEMES):
            raise ValueError(
                "postgres.dsn must be a secret reference (env://NAME, file:///path, "
                "vault://mount/path#key), not a literal DSN (the value is not shown)"
            )
        return dsn

    @model_validator(mode="after")
    def _dsn_for_external(self) -> ModelPostgresRuntimeSettings:
        if self.mode == "external" and not self.dsn:
            raise ValueError("postgres.mode 'external' needs postgres.dsn (a secret reference)")
        return self


class ModelDiscoveryRuntimeSettings(BaseModel):
    """Service discovery for ``registration.discovery``: in process (local) or Consul."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["local", "consul"] = "local"
    consul: ModelConsulSettings = Field(default_factory=ModelConsulSettings)


class ModelRuntimeConfig(BaseSettings):
    """Everything the runtime host reads at start."""

    model_config = SettingsConfigDict(
        env_prefix="ONEX_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
    )

    profile: Literal["local", "production"] = "local"
    environment: str = Field(default="local", pattern=r"^[a-z0-9][a-z0-9_-]*$")
    service: str = Field(default="omnibase-infra", pattern=r"^[a-z0-9][a-z0-9_-]*$")
    contract_dirs: list[Path] = Field(default_factory=list)
    use_entry_points: bool = True
    plugin_allowlist: list[str] = Field(default_factory=list)
    http: ModelHttpSettings = Field(default_factory=ModelHttpSettings)
    event_bus: ModelEventBusSettings = Field(default_factory=ModelEventBusSettings)
    ingress: ModelIngressSettings = Field(default_factory=ModelIngressSettings)
    dashboard: ModelDashboardSettings = Field(default_factory=ModelDashboardSettings)
    postgres: ModelPostgresRuntimeSettings = Field(default_factory=ModelPostgresRuntimeSettings)
    discovery: ModelDiscoveryRuntimeSettings = Field(default_factory=ModelDiscoveryRuntimeSettings)
    vault: ModelVaultSettings | None = Field(
        default=None, description="Vault/OpenBao for vault:// secret references (null: none)"
    )
    valkey: ModelValkeySettings | None = Field(
        default=None, description="Valkey/Redis cache and locks for nodes (null: none)"
    )
    http_client: ModelHttpClientSettings | None = Field(
        default=None,
        description="Outbound HTTP client for nodes, webhook deliveries included (null: none)",
    )
    keycloak: ModelKeycloakSettings | None = Field(
        default=None,
        description="Keycloak/OIDC for nodes: token validation, client-credentials tokens, "
        "the admin API's roles; client_secret is a secret reference (null: none)",
    )
    nodes: dict[str, dict[str, JsonValue]] = Field(
        default_factory=dict,
        description="each node plugin's settings under its name (e.g. nodes.registration), "
        "validated by the plugin's own model; a plugin's section may also sit at the top "
        "level under its name (the form before nodes:)",
    )
    policies: ModelPolicySettings = Field(
        default_factory=ModelPolicySettings,
        description="named, versioned retry/circuit_breaker/timeout policies contracts refer "
        "to as name@version (docs/patterns/policy-registry.md)",
    )
    tracing: ModelTracingSettings = Field(default_factory=ModelTracingSettings)
    startup: Literal["degraded", "fail_fast"] = Field(
        default="degraded",
        description="a configured dependency (PostgreSQL, Valkey, Consul) that is down at start: "
        "degraded starts not ready naming it and connects when it comes up (Vault: the start "
        "waits for it, other secrets may live there); fail_fast stops the start (exit 1)",
    )
    shutdown_grace_seconds: float = Field(default=10.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console", "auto"] = Field(
        default="auto", description="auto: console lines on a terminal, else JSON lines"
    )

    # The YAML file this config was read from (None: environment and arguments only).
    _source_file: str | None = PrivateAttr(default=None)

    @property
    def source_file(self) -> str | None:
        """The YAML file this config was read from, if any (names policies defined in it)."""
        return self._source_file

    @model_validator(mode="before")
    @classmethod
    def _node_sections_at_the_top(cls, data: object) -> object:
        """A top-level key naming an installed node plugin is its section under ``nodes``."""
        if not isinstance(data, dict):
            return data
        moved = node_sections_at_the_top(data, set(cls.model_fields))
        if not moved:
            return data
        data = {key: value for key, value in data.items() if key not in moved}
        nodes = data.get("nodes")
        nodes = dict(nodes) if isinstance(nodes, dict) else {}
        for name, section in moved.items():
            if name in nodes:
                raise ValueError(f"settings of {name} given twice: as nodes.{name} and as {name}")
            nodes[name] = section
        data["nodes"] = nodes
        return data

    @model_validator(mode="after")
    def _production_needs_real_infrastructure(self) -> ModelRuntimeConfig:
        if self.profile == "production":
            if self.event_bus.kind != "kafka":
                raise ValueError("profile 'production' needs event_bus.kind: kafka")
            if self.postgres.mode == "embedded":
                raise ValueError("profile 'production' needs postgres.mode: external (a DSN)")
            if self.discovery.kind != "consul":
                raise ValueError("profile 'production' needs discovery.kind: consul")
        return self

    @property
    def allowlist(self) -> tuple[str, ...]:
        """Module prefixes handler imports and node plugins may come from."""
        return (*DEFAULT_ALLOWLIST, *self.plugin_allowlist)

    def node_settings(
        self, *, prefix: Mapping[str, str] | None = None
    ) -> list[tuple[ProtocolNodePlugin, BaseModel]]:
        """Every installed node plugin with its validated settings (see ``node_plugins``).

        Raises ``ProtocolConfigurationError`` naming the field and the reason.
        """
        plugins = discover_node_plugins(self.allowlist)
        return validate_node_settings(self.nodes, plugins, prefix=prefix)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then ``ONEX_*`` variables; the YAML file arrives as init arguments."""
        return init_settings, env_settings


def load_runtime_config(path: Path | None = None, **overrides: JsonValue) -> ModelRuntimeConfig:
    """Load the config: YAML file (``path`` or ``$ONEX_CONFIG``), env, then ``overrides``.

    Raises ``ProtocolConfigurationError`` naming the file, the field and the reason.
    """
    source = path or (Path(os.environ[CONFIG_ENV_VAR]) if os.environ.get(CONFIG_ENV_VAR) else None)
    data: dict[str, JsonValue] = load_yaml_mapping(source) if source is not None else {}
    file = str(source) if source is not None else "<environment>"
    try:
        config = _with_sources(file_data=data, overrides=dict(overrides))()
    except ValidationError as exc:
        field, reason = first_validation_error(exc)
        origin = _origin(field, file, overrides)
        raise ProtocolConfigurationError(reason, file=origin, field=field) from None
    # A section written at the top level is reported where it was written.
    top = {key: key for key in (*data, *overrides) if key not in ModelRuntimeConfig.model_fields}
    try:
        config.node_settings(prefix=top)
    except ProtocolConfigurationError as exc:
        origin = _origin(exc.field, file, overrides)
        raise ProtocolConfigurationError(exc.reason, file=origin, field=exc.field) from None
    config = resolve_routing_policy(config, file=_origin("event_bus.retry_policy", file, overrides))
    config._source_file = str(source) if source is not None else None
    return config


def _origin(field: str | None, file: str, overrides: Mapping[str, JsonValue]) -> str:
    """Where the bad value came from, by precedence: arguments, an ``ONEX_*`` variable, the file.

    A bad ``ONEX_HTTP__PORT`` is reported against that variable, not against the YAML file
    that may not even mention the port.
    """
    if field is None:
        return file
    parts = field.split(".")
    node: JsonValue = dict(overrides)
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            break
        node = node[part]
    else:
        return "<arguments>"
    names = {name.upper() for name in os.environ}
    for end in range(len(parts), 0, -1):
        variable = "ONEX_" + "__".join(parts[:end]).upper()
        if variable in names:
            return f"environment variable {variable}"
    return file


def _with_sources(
    *, file_data: dict[str, JsonValue], overrides: dict[str, JsonValue]
) -> type[ModelRuntimeConfig]:
    """A config class reading overrides, then ``ONEX_*`` variables, then the file's mapping."""

    class _FileBackedConfig(ModelRuntimeConfig):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (
                InitSettingsSource(settings_cls, overrides),
                env_settings,
                InitSettingsSource(settings_cls, file_data),
            )

    _FileBackedConfig.__name__ = ModelRuntimeConfig.__name__
    return _FileBackedConfig
