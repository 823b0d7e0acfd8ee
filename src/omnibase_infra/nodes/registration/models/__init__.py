"""Models of the registration workflow (one per module)."""

from omnibase_infra.nodes.registration.models.enum_backend_status import EnumBackendStatus
from omnibase_infra.nodes.registration.models.enum_registration_intent_kind import (
    EnumRegistrationIntentKind,
)
from omnibase_infra.nodes.registration.models.enum_registration_state import EnumRegistrationState
from omnibase_infra.nodes.registration.models.enum_registration_trigger import (
    EnumRegistrationTrigger,
)
from omnibase_infra.nodes.registration.models.model_backend_outcome import ModelBackendOutcome
from omnibase_infra.nodes.registration.models.model_node_heartbeat import ModelNodeHeartbeat
from omnibase_infra.nodes.registration.models.model_node_registration_accepted import (
    ModelNodeRegistrationAccepted,
)
from omnibase_infra.nodes.registration.models.model_node_registration_acked import (
    ModelNodeRegistrationAcked,
)
from omnibase_infra.nodes.registration.models.model_node_registration_rejected import (
    ModelNodeRegistrationRejected,
)
from omnibase_infra.nodes.registration.models.model_node_state_changed import ModelNodeStateChanged
from omnibase_infra.nodes.registration.models.model_published_introspection import (
    ModelPublishedIntrospection,
)
from omnibase_infra.nodes.registration.models.model_registration_intent import (
    ModelRegistrationIntent,
)
from omnibase_infra.nodes.registration.models.model_registration_record import (
    ModelRegistrationRecord,
)
from omnibase_infra.nodes.registration.models.model_registration_request import (
    ModelRegistrationRequest,
    NodeTypeName,
)
from omnibase_infra.nodes.registration.models.model_registration_settings import (
    ModelRegistrationSettings,
)
from omnibase_infra.nodes.registration.models.model_registry_entry import ModelRegistryEntry
from omnibase_infra.nodes.registration.models.model_registry_listing import ModelRegistryListing
from omnibase_infra.nodes.registration.models.model_registry_result import ModelRegistryResult
from omnibase_infra.runtime.plugins.model_runtime_tick import ModelRuntimeTick

__all__ = [
    "EnumBackendStatus",
    "EnumRegistrationIntentKind",
    "EnumRegistrationState",
    "EnumRegistrationTrigger",
    "ModelBackendOutcome",
    "ModelNodeHeartbeat",
    "ModelNodeRegistrationAccepted",
    "ModelNodeRegistrationAcked",
    "ModelNodeRegistrationRejected",
    "ModelNodeStateChanged",
    "ModelPublishedIntrospection",
    "ModelRegistrationIntent",
    "ModelRegistrationRecord",
    "ModelRegistrationRequest",
    "ModelRegistrationSettings",
    "ModelRegistryEntry",
    "ModelRegistryListing",
    "ModelRegistryResult",
    "ModelRuntimeTick",
    "NodeTypeName",
]
