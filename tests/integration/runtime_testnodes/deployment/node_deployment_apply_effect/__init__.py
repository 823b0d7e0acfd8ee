"""Test EFFECT: applies a deployment plan (a workflow step of node_infra_orchestrator)."""
