"""The policy registry: named, versioned retry, circuit-breaker, timeout and routing policies.

Policies are data, never code: they come from the runtime config (``policies.definitions``),
from YAML files it names (``policies.files``) or from allowlisted modules that export
``ONEX_POLICIES`` (``policies.modules``). Each is validated at load, registered once under
``name@version`` (logged with its source and content hash) and the registry is frozen before
any contract is loaded. A contract refers to one by ``name@version`` instead of repeating its
numbers; the config's ``event_bus.retry_policy`` names a routing policy (``routing``). The
trust model is docs/patterns/policy-registry.md.
"""
