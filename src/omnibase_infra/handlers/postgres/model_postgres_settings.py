"""How to reach a PostgreSQL database: host, database, credentials (secret) and pool limits."""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from omnibase_infra.errors import ProtocolConfigurationError

__all__ = ["ModelPostgresSettings", "PostgresSslMode"]

PostgresSslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

_ENCODE_HINT = (
    "percent-encode '/', ':', '@', '?' and '#' in the user name and password (e.g. '/' as %2F)"
)
# DSN query parameters we understand, and the settings field each one sets.
_DSN_QUERY_FIELDS = {
    "sslmode": "ssl",
    "application_name": "application_name",
    "connect_timeout": "connect_timeout_seconds",
    "host": "host",
    "port": "port",
}


class ModelPostgresSettings(BaseModel):
    """Connection and pool settings of ``HandlerPostgres``; the password is a ``SecretStr``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=5432, ge=1, le=65535)
    database: str = Field(min_length=1)
    user: str = Field(min_length=1)
    password: SecretStr | None = None
    ssl: PostgresSslMode = "prefer"
    application_name: str = Field(default="omnibase_infra", max_length=63)
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    acquire_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest wait for a free pooled connection."
    )
    command_timeout_seconds: float | None = Field(
        default=None, gt=0, description="Client-side default timeout of each call."
    )
    statement_timeout_seconds: float | None = Field(
        default=None, gt=0, description="Server-side statement_timeout of every pooled session."
    )
    max_inactive_connection_lifetime_seconds: float = Field(default=300.0, ge=0)

    @model_validator(mode="after")
    def _pool_bounds(self) -> ModelPostgresSettings:
        """A pool cannot keep more idle connections than it may open."""
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("pool_min_size must not exceed pool_max_size")
        return self

    @property
    def target_name(self) -> str:
        """Where calls go, for errors, logs and metrics: host, port and database, no user."""
        return f"{self.host}:{self.port}/{self.database}"

    @classmethod
    def from_dsn(cls, dsn: str, **overrides: object) -> ModelPostgresSettings:
        """Parse a ``postgresql://user:password@host:port/database?sslmode=...`` DSN.

        Keyword arguments override (or add to) what the DSN says, e.g. ``pool_max_size=20``.
        Raises ``ProtocolConfigurationError``, which never quotes any part of the DSN: a parser's
        message would (``Port could not be cast to integer value as 'ab'`` is a piece of a
        password holding ``/``), and a text that is not a DSN at all may be a bare password.
        """
        if not dsn.startswith(("postgresql://", "postgres://")):
            raise ProtocolConfigurationError(
                "not a valid DSN: it must start with postgresql:// or postgres:// "
                "(the value is not shown: it may hold a password)",
                field="dsn",
            )
        try:
            parts = urlsplit(dsn)
            port = parts.port
        except ValueError:
            raise ProtocolConfigurationError(
                "not a valid DSN: its host or port cannot be read (the value is not shown); "
                f"{_ENCODE_HINT}",
                field="dsn",
            ) from None
        if parts.fragment:
            raise ProtocolConfigurationError(
                f"not a valid DSN: it has a '#' fragment (the value is not shown); {_ENCODE_HINT}",
                field="dsn",
            )
        values: dict[str, object] = {
            "host": unquote(parts.hostname) if parts.hostname else "127.0.0.1",
            "user": unquote(parts.username) if parts.username else "",
            "database": unquote(parts.path.lstrip("/")) if parts.path.strip("/") else "",
        }
        if port is not None:
            values["port"] = port
        if parts.password is not None:
            values["password"] = SecretStr(unquote(parts.password))
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            field = _DSN_QUERY_FIELDS.get(key)
            if field is None:
                # Not named: with a '?' in the password, the "parameter" is part of it.
                raise ProtocolConfigurationError(
                    "the DSN has an unsupported parameter (not shown); supported: "
                    + ", ".join(sorted(_DSN_QUERY_FIELDS))
                    + f"; {_ENCODE_HINT}",
                    field="dsn",
                )
            values[field] = value
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as e:
            # Name the fields only: a validation message may echo the offending input.
            fields = ", ".join(sorted({".".join(map(str, err["loc"])) for err in e.errors()}))
            raise ProtocolConfigurationError(
                f"invalid PostgreSQL settings in fields: {fields}", field="dsn"
            ) from e
