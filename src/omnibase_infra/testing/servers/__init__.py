"""Real and fake servers for tests, each on a free 127.0.0.1 port, stopped by PID.

Import them from ``omnibase_infra.testing``.
"""
