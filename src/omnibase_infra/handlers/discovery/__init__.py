"""Service discovery, the ``registration.discovery`` capability: ``ProtocolServiceDiscovery``
(``protocol_service_discovery``), the in-process backend of the local profile
(``handler_discovery_local``), and the protocol's inputs and outputs, exported here."""

from omnibase_infra.handlers.discovery.enum_check_status import EnumCheckStatus
from omnibase_infra.handlers.discovery.model_blocking_query import ModelBlockingQuery
from omnibase_infra.handlers.discovery.model_discovery_check import ModelDiscoveryCheck
from omnibase_infra.handlers.discovery.model_kv_entry import ModelKvEntry
from omnibase_infra.handlers.discovery.model_kv_read_result import ModelKvReadResult
from omnibase_infra.handlers.discovery.model_service_catalog import ModelServiceCatalog
from omnibase_infra.handlers.discovery.model_service_instance import ModelServiceInstance
from omnibase_infra.handlers.discovery.model_service_instances import ModelServiceInstances
from omnibase_infra.handlers.discovery.model_service_registration import ModelServiceRegistration

__all__ = [
    "EnumCheckStatus",
    "ModelBlockingQuery",
    "ModelDiscoveryCheck",
    "ModelKvEntry",
    "ModelKvReadResult",
    "ModelServiceCatalog",
    "ModelServiceInstance",
    "ModelServiceInstances",
    "ModelServiceRegistration",
]
