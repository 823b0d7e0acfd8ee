"""What a Consul adapter command does."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EnumConsulAction"]


class EnumConsulAction(StrEnum):
    """Service registration and health, catalog queries, KV."""

    REGISTER = "register"
    DEREGISTER = "deregister"
    UPDATE_CHECK = "update_check"
    HEALTHY_INSTANCES = "healthy_instances"
    LIST_INSTANCES = "list_instances"
    LIST_SERVICES = "list_services"
    KV_GET = "kv_get"
    KV_LIST = "kv_list"
    KV_PUT = "kv_put"
    KV_DELETE = "kv_delete"
