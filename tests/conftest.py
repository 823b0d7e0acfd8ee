"""Shared pytest configuration.

The real-server fixtures of ``omnibase_infra.testing`` come from the package's pytest plugin
(entry point ``pytest11``), installed with the package.
"""
