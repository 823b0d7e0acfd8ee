"""One service instance to register in discovery, with its health checks."""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omnibase_infra.handlers.discovery.model_discovery_check import ModelDiscoveryCheck

__all__ = [
    "SERVICE_ID_PATTERN",
    "SERVICE_NAME_PATTERN",
    "ModelServiceRegistration",
    "default_check_id",
]

SERVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$"
SERVICE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$"

# Consul's documented limits on service metadata.
_META_KEY = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_META_MAX_PAIRS = 64
_META_MAX_VALUE = 512
_MAX_TAG = 255


class ModelServiceRegistration(BaseModel):
    """A service instance: id (unique per agent), name (what clients look up), where, checks.

    Registering the same id again replaces the instance and its checks; checks that keep their
    id keep their current status (as Consul does).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    service_id: str = Field(pattern=SERVICE_ID_PATTERN)
    name: str = Field(pattern=SERVICE_NAME_PATTERN)
    address: str | None = Field(default=None, min_length=1, max_length=255)
    port: int | None = Field(default=None, ge=0, le=65535)
    tags: tuple[str, ...] = Field(default=(), max_length=64)
    meta: dict[str, str] = Field(default_factory=dict)
    checks: tuple[ModelDiscoveryCheck, ...] = Field(default=(), max_length=16)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        """A host name or IP; never the unspecified address (Consul rejects it)."""
        if value is None:
            return None
        if re.search(r"[\s/@]", value):
            raise ValueError("address must be a host name or IP address")
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            return value  # a host name
        if ip.is_unspecified:
            raise ValueError("address must not be 0.0.0.0 or ::")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Tags are short, non-blank and unique."""
        for tag in value:
            if not tag or len(tag) > _MAX_TAG or re.search(r"\s", tag):
                raise ValueError(f"tags must be 1-{_MAX_TAG} characters without whitespace")
        if len(set(value)) != len(value):
            raise ValueError("tags must be unique")
        return value

    @field_validator("meta")
    @classmethod
    def _meta(cls, value: dict[str, str]) -> dict[str, str]:
        """Consul's limits: 64 pairs, keys [A-Za-z0-9_-]{1,128} not prefixed consul-, values 512."""
        if len(value) > _META_MAX_PAIRS:
            raise ValueError(f"meta takes at most {_META_MAX_PAIRS} pairs")
        for key, item in value.items():
            if not _META_KEY.match(key) or key.lower().startswith("consul-"):
                raise ValueError(
                    "meta keys are 1-128 letters, digits, '-' or '_' and not prefixed 'consul-'"
                )
            if len(item) > _META_MAX_VALUE:
                raise ValueError(f"meta values take at most {_META_MAX_VALUE} characters")
        return value

    @model_validator(mode="after")
    def _unique_check_ids(self) -> ModelServiceRegistration:
        """Two checks of one service cannot share an id."""
        ids = self.check_ids
        if len(set(ids)) != len(ids):
            raise ValueError("check ids must be unique")
        return self

    @property
    def check_ids(self) -> tuple[str, ...]:
        """The id of each check, defaulted as Consul does (``service:<id>``, ``service:<id>:N``)."""
        total = len(self.checks)
        return tuple(
            check.check_id or default_check_id(self.service_id, position, total)
            for position, check in enumerate(self.checks, start=1)
        )

    def check_name(self, position: int) -> str:
        """The name of the check at 1-based ``position``, defaulted as Consul does."""
        return self.checks[position - 1].name or f"Service '{self.name}' check"


def default_check_id(service_id: str, position: int, total: int) -> str:
    """Consul's id for an unnamed service check: ``service:<id>``, or ``service:<id>:<n>``."""
    return f"service:{service_id}" if total == 1 else f"service:{service_id}:{position}"
