"""Consul's JSON shapes for the fake agent: what it answers, and how it reads a registration."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from pydantic import JsonValue

from omnibase_infra.handlers.consul.wire import (
    ConsulCheckDefinition,
    ConsulServiceDefinition,
    parse_go_duration,
)
from omnibase_infra.handlers.discovery import (
    EnumCheckStatus,
    ModelDiscoveryCheck,
    ModelKvEntry,
    ModelServiceRegistration,
)
from omnibase_infra.handlers.discovery.local_catalog import CatalogCheckView, CatalogServiceView

__all__ = ["ConsulNodeShapes", "kv_pair", "registration_from_definition"]


@dataclass(frozen=True, slots=True)
class ConsulNodeShapes:
    """Catalog and health entries as the agent of one node (id, name, address, datacenter)
    answers them."""

    node_id: str
    node_name: str
    address: str
    datacenter: str

    def node(self) -> dict[str, JsonValue]:
        """The agent's node, as health entries carry it."""
        return {
            "ID": self.node_id,
            "Node": self.node_name,
            "Address": self.address,
            "Datacenter": self.datacenter,
            "TaggedAddresses": {"lan": self.address},
            "Meta": {},
            "CreateIndex": 1,
            "ModifyIndex": 1,
        }

    def health_entry(self, view: CatalogServiceView) -> JsonValue:
        """One entry of ``GET /v1/health/service/:name``."""
        registration = view.registration
        return {
            "Node": self.node(),
            "Service": {
                "ID": registration.service_id,
                "Service": registration.name,
                "Tags": list(registration.tags),
                "Address": registration.address or "",
                "Meta": dict(registration.meta),
                "Port": registration.port or 0,
                "Weights": {"Passing": 1, "Warning": 1},
                "EnableTagOverride": False,
                "CreateIndex": view.create_index,
                "ModifyIndex": view.modify_index,
            },
            "Checks": [self.serf_health(), *(self.check(check) for check in view.checks)],
        }

    def catalog_entry(self, view: CatalogServiceView) -> JsonValue:
        """One entry of ``GET /v1/catalog/service/:name``."""
        registration = view.registration
        return {
            "ID": self.node_id,
            "Node": self.node_name,
            "Address": self.address,
            "Datacenter": self.datacenter,
            "TaggedAddresses": {"lan": self.address},
            "NodeMeta": {},
            "ServiceID": registration.service_id,
            "ServiceName": registration.name,
            "ServiceTags": list(registration.tags),
            "ServiceAddress": registration.address or "",
            "ServicePort": registration.port or 0,
            "ServiceMeta": dict(registration.meta),
            "ServiceEnableTagOverride": False,
            "CreateIndex": view.create_index,
            "ModifyIndex": view.modify_index,
        }

    def check(self, check: CatalogCheckView) -> JsonValue:
        """A service check as health entries list it."""
        return {
            "Node": self.node_name,
            "CheckID": check.check_id,
            "Name": check.name,
            "Status": check.status.value,
            "Notes": check.notes,
            "Output": check.output,
            "ServiceID": check.service_id,
            "ServiceName": check.service_name,
            "ServiceTags": list(check.service_tags),
            "Type": check.kind,
            "CreateIndex": check.create_index,
            "ModifyIndex": check.modify_index,
        }

    def serf_health(self) -> JsonValue:
        """The node's own ``serfHealth`` check, always passing."""
        return {
            "Node": self.node_name,
            "CheckID": "serfHealth",
            "Name": "Serf Health Status",
            "Status": "passing",
            "Notes": "",
            "Output": "Agent alive and reachable",
            "ServiceID": "",
            "ServiceName": "",
            "ServiceTags": [],
            "Type": "",
            "CreateIndex": 1,
            "ModifyIndex": 1,
        }


def registration_from_definition(definition: ConsulServiceDefinition) -> ModelServiceRegistration:
    """Our model of a ``PUT /v1/agent/service/register`` body (ValueError/ValidationError)."""
    checks = list(definition.get("Checks") or [])
    single = definition.get("Check")
    if single:
        checks.insert(0, single)
    return ModelServiceRegistration(
        service_id=definition.get("ID") or definition["Name"],
        name=definition["Name"],
        address=definition.get("Address") or None,
        port=definition.get("Port") or None,
        tags=tuple(definition.get("Tags") or ()),
        meta=dict(definition.get("Meta") or {}),
        checks=tuple(_check_from_definition(check) for check in checks),
    )


def _check_from_definition(check: ConsulCheckDefinition) -> ModelDiscoveryCheck:
    status = check.get("Status")
    return ModelDiscoveryCheck(
        check_id=check.get("CheckID") or None,
        name=check.get("Name") or None,
        ttl_seconds=_seconds(check.get("TTL")),
        http_url=check.get("HTTP") or None,
        interval_seconds=_seconds(check.get("Interval")),
        timeout_seconds=_seconds(check.get("Timeout")),
        deregister_critical_after_seconds=_seconds(check.get("DeregisterCriticalServiceAfter")),
        initial_status=EnumCheckStatus(status) if status else None,
        notes=check.get("Notes") or None,
    )


def _seconds(duration: str | None) -> float | None:
    return parse_go_duration(duration) if duration else None


def kv_pair(entry: ModelKvEntry) -> JsonValue:
    """One entry of ``GET /v1/kv/:key`` (value base64, null when empty)."""
    return {
        "Key": entry.key,
        "Value": base64.b64encode(entry.value).decode() if entry.value else None,
        "Flags": entry.flags,
        "CreateIndex": entry.create_index,
        "ModifyIndex": entry.modify_index,
        "LockIndex": 0,
    }
