"""ORCHESTRATOR, YAML only: the deployment workflow (see contract.yaml)."""
