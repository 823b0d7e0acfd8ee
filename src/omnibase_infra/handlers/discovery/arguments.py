"""Checks of the plain-string arguments of ``ProtocolServiceDiscovery`` calls.

Models validate themselves; ids, names and keys passed as strings are checked here, the same way
by every backend, so bad input fails before any I/O with a non-retriable ``RuntimeHostError``.
"""

from __future__ import annotations

import re

from omnibase_infra._core import EnumCoreErrorCode
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import ModelInfraErrorContext, RuntimeHostError
from omnibase_infra.handlers.discovery.model_discovery_check import CHECK_ID_PATTERN
from omnibase_infra.handlers.discovery.model_service_registration import (
    SERVICE_ID_PATTERN,
    SERVICE_NAME_PATTERN,
)

__all__ = [
    "MAX_KV_KEY_LENGTH",
    "MAX_KV_VALUE_BYTES",
    "invalid_argument",
    "require_check_id",
    "require_kv_key",
    "require_kv_prefix",
    "require_kv_write",
    "require_service_id",
    "require_service_name",
    "require_tag",
]

MAX_KV_KEY_LENGTH = 512
# Consul's default kv_max_value_size.
MAX_KV_VALUE_BYTES = 512 * 1024
_MAX_UINT64 = 2**64 - 1

_SERVICE_ID = re.compile(SERVICE_ID_PATTERN)
_SERVICE_NAME = re.compile(SERVICE_NAME_PATTERN)
_CHECK_ID = re.compile(CHECK_ID_PATTERN)
_KV_KEY = re.compile(r"^[^/\x00-\x1f\x7f][^\x00-\x1f\x7f]*$")
_TAG = re.compile(r"^\S{1,255}$")


def invalid_argument(
    message: str, operation: str, transport: EnumInfraTransportType
) -> RuntimeHostError:
    """The error for a bad argument: a validation error, never retriable."""
    return RuntimeHostError(
        message,
        context=ModelInfraErrorContext(transport_type=transport, operation=operation),
        retriable=False,
        error_code=EnumCoreErrorCode.VALIDATION_ERROR,
    )


def _require(
    pattern: re.Pattern[str],
    value: str,
    what: str,
    operation: str,
    transport: EnumInfraTransportType,
) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise invalid_argument(f"invalid {what}", operation, transport)
    return value


def require_service_id(value: str, operation: str, transport: EnumInfraTransportType) -> str:
    """A service id: letters, digits, ``._:-``, at most 255 characters."""
    return _require(_SERVICE_ID, value, "service id", operation, transport)


def require_service_name(value: str, operation: str, transport: EnumInfraTransportType) -> str:
    """A service name: letters, digits, ``._-``, at most 255 characters."""
    return _require(_SERVICE_NAME, value, "service name", operation, transport)


def require_check_id(value: str, operation: str, transport: EnumInfraTransportType) -> str:
    """A check id: letters, digits, ``._:-``, at most 255 characters."""
    return _require(_CHECK_ID, value, "check id", operation, transport)


def require_tag(value: str, operation: str, transport: EnumInfraTransportType) -> str:
    """A tag: 1-255 characters without whitespace."""
    return _require(_TAG, value, "tag", operation, transport)


def require_kv_key(value: str, operation: str, transport: EnumInfraTransportType) -> str:
    """A KV key: non-empty, no leading ``/``, no control characters, at most 512 characters."""
    if isinstance(value, str) and len(value) > MAX_KV_KEY_LENGTH:
        raise invalid_argument("invalid key: too long", operation, transport)
    return _require(_KV_KEY, value, "key", operation, transport)


def require_kv_prefix(value: str, operation: str, transport: EnumInfraTransportType) -> str:
    """A KV prefix: like a key, but may be empty (the whole store)."""
    if value == "":
        return value
    return require_kv_key(value, operation, transport)


def require_kv_write(
    value: bytes,
    cas: int | None,
    flags: int,
    operation: str,
    transport: EnumInfraTransportType,
) -> None:
    """A KV write: bytes of at most 512 KiB, ``cas`` and ``flags`` unsigned 64-bit integers."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise invalid_argument("value must be bytes", operation, transport)
    if len(value) > MAX_KV_VALUE_BYTES:
        raise invalid_argument(f"value exceeds {MAX_KV_VALUE_BYTES} bytes", operation, transport)
    if cas is not None and (isinstance(cas, bool) or not 0 <= cas <= _MAX_UINT64):
        raise invalid_argument("cas must be a non-negative index", operation, transport)
    if isinstance(flags, bool) or not 0 <= flags <= _MAX_UINT64:
        raise invalid_argument("flags must fit in 64 unsigned bits", operation, transport)
