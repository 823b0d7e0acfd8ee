"""node_registration_orchestrator (see contract.yaml)."""
