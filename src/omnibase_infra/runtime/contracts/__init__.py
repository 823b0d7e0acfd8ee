"""Contracts: discovery and loading, the handler import allowlist, node plugins' naming
and layer checks, and what is drawn from loaded contracts (graphs, the AsyncAPI document)."""
