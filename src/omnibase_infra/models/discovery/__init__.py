"""Inputs and outputs of ``ProtocolServiceDiscovery``, the ``registration.discovery`` capability."""

from omnibase_infra.models.discovery.enum_check_status import EnumCheckStatus
from omnibase_infra.models.discovery.model_blocking_query import ModelBlockingQuery
from omnibase_infra.models.discovery.model_discovery_check import ModelDiscoveryCheck
from omnibase_infra.models.discovery.model_kv_entry import ModelKvEntry
from omnibase_infra.models.discovery.model_kv_read_result import ModelKvReadResult
from omnibase_infra.models.discovery.model_service_catalog import ModelServiceCatalog
from omnibase_infra.models.discovery.model_service_instance import ModelServiceInstance
from omnibase_infra.models.discovery.model_service_instances import ModelServiceInstances
from omnibase_infra.models.discovery.model_service_registration import ModelServiceRegistration

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
