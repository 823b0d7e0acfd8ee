"""Free TCP ports on 127.0.0.1 for servers started by tests (never a default port)."""

from __future__ import annotations

import socket

__all__ = ["free_port", "free_port_pair"]

_HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_pair(attempts: int = 50) -> int:
    """A port P such that P and P+1 were both free a moment ago (for servers binding two)."""
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as first:
            first.bind((_HOST, 0))
            port: int = first.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as second:
                try:
                    second.bind((_HOST, port + 1))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no pair of adjacent free ports found in {attempts} attempts")
