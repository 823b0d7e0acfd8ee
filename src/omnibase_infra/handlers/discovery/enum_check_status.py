"""The status of one health check, with Consul's own values."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EnumCheckStatus"]


class EnumCheckStatus(StrEnum):
    """Health of a check; only ``PASSING`` makes an instance healthy."""

    PASSING = "passing"
    WARNING = "warning"
    CRITICAL = "critical"
