"""Consul's HTTP API JSON shapes (the subset we use) and Go duration strings.

The shapes are ``TypedDict``s validated with pydantic ``TypeAdapter``s when a response arrives,
so a reply that is not what Consul documents fails loudly at the boundary. ``HandlerConsul``
reads them; the fake agent in ``omnibase_infra.testing`` writes them.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import NotRequired, TypedDict

from pydantic import TypeAdapter

from omnibase_infra.handlers.discovery import (
    ModelDiscoveryCheck,
    ModelKvEntry,
    ModelServiceRegistration,
)

__all__ = [
    "CATALOG_SERVICES",
    "CATALOG_SERVICE_ENTRIES",
    "HEALTH_SERVICE_ENTRIES",
    "KV_PAIRS",
    "SERVICE_DEFINITION",
    "ConsulCatalogService",
    "ConsulCheckDefinition",
    "ConsulHealthCheck",
    "ConsulKvPair",
    "ConsulNode",
    "ConsulService",
    "ConsulServiceDefinition",
    "ConsulServiceEntry",
    "check_definition",
    "decode_kv_value",
    "go_duration",
    "kv_entry",
    "parse_go_duration",
    "service_definition",
]


class ConsulCheckDefinition(TypedDict, total=False):
    """A check in a ``PUT /v1/agent/service/register`` body."""

    CheckID: str
    Name: str
    TTL: str
    HTTP: str
    Interval: str
    Timeout: str
    DeregisterCriticalServiceAfter: str
    Status: str
    Notes: str


class ConsulServiceDefinition(TypedDict):
    """The body of ``PUT /v1/agent/service/register``."""

    Name: str
    ID: NotRequired[str]
    Tags: NotRequired[list[str]]
    Address: NotRequired[str]
    Port: NotRequired[int]
    Meta: NotRequired[dict[str, str]]
    Check: NotRequired[ConsulCheckDefinition]
    Checks: NotRequired[list[ConsulCheckDefinition]]


class ConsulNode(TypedDict):
    """The ``Node`` of a health entry."""

    Node: str
    Address: str
    ID: NotRequired[str]
    Datacenter: NotRequired[str]


class ConsulService(TypedDict):
    """The ``Service`` of a health entry."""

    ID: str
    Service: str
    Tags: NotRequired[list[str] | None]
    Address: NotRequired[str]
    Port: NotRequired[int]
    Meta: NotRequired[dict[str, str] | None]


class ConsulHealthCheck(TypedDict):
    """One of the ``Checks`` of a health entry."""

    CheckID: str
    Status: str
    Node: NotRequired[str]
    Name: NotRequired[str]
    Notes: NotRequired[str]
    Output: NotRequired[str]
    ServiceID: NotRequired[str]
    ServiceName: NotRequired[str]
    ServiceTags: NotRequired[list[str] | None]
    Type: NotRequired[str]
    CreateIndex: NotRequired[int]
    ModifyIndex: NotRequired[int]


class ConsulServiceEntry(TypedDict):
    """One element of ``GET /v1/health/service/:service``."""

    Node: ConsulNode
    Service: ConsulService
    Checks: list[ConsulHealthCheck]


class ConsulCatalogService(TypedDict):
    """One element of ``GET /v1/catalog/service/:service``."""

    Node: str
    Address: str
    ServiceID: str
    ServiceName: str
    ID: NotRequired[str]
    Datacenter: NotRequired[str]
    ServiceTags: NotRequired[list[str] | None]
    ServiceAddress: NotRequired[str]
    ServicePort: NotRequired[int]
    ServiceMeta: NotRequired[dict[str, str] | None]
    CreateIndex: NotRequired[int]
    ModifyIndex: NotRequired[int]


class ConsulKvPair(TypedDict):
    """One element of ``GET /v1/kv/:key`` (``Value`` is base64, null when empty)."""

    Key: str
    CreateIndex: int
    ModifyIndex: int
    Value: NotRequired[str | None]
    Flags: NotRequired[int]
    LockIndex: NotRequired[int]
    Session: NotRequired[str]


SERVICE_DEFINITION: TypeAdapter[ConsulServiceDefinition] = TypeAdapter(ConsulServiceDefinition)
HEALTH_SERVICE_ENTRIES: TypeAdapter[list[ConsulServiceEntry]] = TypeAdapter(
    list[ConsulServiceEntry]
)
CATALOG_SERVICE_ENTRIES: TypeAdapter[list[ConsulCatalogService]] = TypeAdapter(
    list[ConsulCatalogService]
)
CATALOG_SERVICES: TypeAdapter[dict[str, list[str] | None]] = TypeAdapter(
    dict[str, list[str] | None]
)
KV_PAIRS: TypeAdapter[list[ConsulKvPair]] = TypeAdapter(list[ConsulKvPair])


def go_duration(seconds: float) -> str:
    """A Go duration string Consul parses, in whole milliseconds (at least 1 ms)."""
    return f"{max(1, round(seconds * 1000))}ms"


_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_GO_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration such as ``10s``, ``1m30s`` or ``1500ms``; ValueError if not one."""
    if text == "0":
        return 0.0
    position = 0
    total = 0.0
    for match in _GO_DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _GO_UNIT_SECONDS[match.group(2)]
        position = match.end()
    if not text or position != len(text):
        raise ValueError(f"invalid duration {text!r}")
    return total


def check_definition(check: ModelDiscoveryCheck, check_id: str, name: str) -> ConsulCheckDefinition:
    """The Consul definition of one of a service's checks."""
    definition: ConsulCheckDefinition = {"CheckID": check_id, "Name": name}
    if check.ttl_seconds is not None:
        definition["TTL"] = go_duration(check.ttl_seconds)
    if check.http_url is not None:
        definition["HTTP"] = check.http_url
    if check.interval_seconds is not None:
        definition["Interval"] = go_duration(check.interval_seconds)
    if check.timeout_seconds is not None:
        definition["Timeout"] = go_duration(check.timeout_seconds)
    if check.deregister_critical_after_seconds is not None:
        definition["DeregisterCriticalServiceAfter"] = go_duration(
            check.deregister_critical_after_seconds
        )
    if check.initial_status is not None:
        definition["Status"] = check.initial_status.value
    if check.notes is not None:
        definition["Notes"] = check.notes
    return definition


def service_definition(registration: ModelServiceRegistration) -> ConsulServiceDefinition:
    """The ``PUT /v1/agent/service/register`` body for ``registration``."""
    body: ConsulServiceDefinition = {
        "ID": registration.service_id,
        "Name": registration.name,
        "Tags": list(registration.tags),
        "Meta": dict(registration.meta),
    }
    if registration.address is not None:
        body["Address"] = registration.address
    if registration.port is not None:
        body["Port"] = registration.port
    if registration.checks:
        body["Checks"] = [
            check_definition(check, check_id, registration.check_name(position))
            for position, (check, check_id) in enumerate(
                zip(registration.checks, registration.check_ids, strict=True), start=1
            )
        ]
    return body


def decode_kv_value(value: str | None) -> bytes:
    """The bytes of a KV pair's base64 ``Value`` (null is empty); ValueError if not base64."""
    if not value:
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as e:
        raise ValueError("KV value is not valid base64") from e


def kv_entry(pair: ConsulKvPair) -> ModelKvEntry:
    """Our model of a Consul KV pair."""
    return ModelKvEntry(
        key=pair["Key"],
        value=decode_kv_value(pair.get("Value")),
        flags=pair.get("Flags", 0),
        create_index=pair["CreateIndex"],
        modify_index=pair["ModifyIndex"],
    )
