"""How to reach a Consul agent: its HTTP address, ACL token (secret), datacenter and limits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.http_url import http_url_problem

__all__ = ["ModelConsulSettings"]

_TRUE = frozenset({"1", "true", "yes", "on"})


class ModelConsulSettings(BaseModel):
    """Settings of ``HandlerConsul``; the ACL token is a ``SecretStr`` sent only as a header."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(default="http://127.0.0.1:8500", max_length=2048)
    token: SecretStr | None = None
    datacenter: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=600)
    max_connections: int = Field(
        default=64, ge=1, le=4096, description="Open connections; each blocking read holds one."
    )
    max_response_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    verify_on_start: bool = Field(
        default=True, description="start() asks the agent for its leader and fails if it cannot."
    )

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        """An http(s) origin without credentials, query or fragment (the token is a header)."""
        parts = urlsplit(value)
        if parts.username is not None or parts.password is not None:
            raise ValueError("base_url must not carry credentials; set token instead")
        problem = http_url_problem(value)
        if problem is not None:
            raise ValueError(f"base_url {problem}")
        if parts.query or parts.fragment:
            raise ValueError("base_url must not have a query or fragment")
        return value.rstrip("/")

    @property
    def target_name(self) -> str:
        """Where calls go, for errors, logs and metrics: scheme, host and port."""
        parts = urlsplit(self.base_url)
        port = f":{parts.port}" if parts.port is not None else ""
        return f"{parts.scheme}://{parts.hostname}{port}"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> ModelConsulSettings:
        """Settings from Consul's own variables: ``CONSUL_HTTP_ADDR``, ``CONSUL_HTTP_TOKEN``,
        ``CONSUL_HTTP_SSL`` (``CONSUL_HTTP_ADDR`` may omit the scheme, as the Consul CLI allows).

        Keyword arguments override what the environment says. Raises
        ``ProtocolConfigurationError`` naming the fields (never their values).
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        address = env.get("CONSUL_HTTP_ADDR", "").strip()
        if address:
            if "://" not in address:
                scheme = "https" if env.get("CONSUL_HTTP_SSL", "").lower() in _TRUE else "http"
                address = f"{scheme}://{address}"
            values["base_url"] = address
        token = env.get("CONSUL_HTTP_TOKEN", "")
        if token:
            values["token"] = SecretStr(token)
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as e:
            # Name the fields only: a validation message may echo the offending input.
            fields = ", ".join(sorted({".".join(map(str, err["loc"])) for err in e.errors()}))
            raise ProtocolConfigurationError(
                f"invalid Consul settings in fields: {fields}", field="consul"
            ) from e
