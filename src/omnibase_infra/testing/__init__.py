"""Test kit shipped with the package: real-server launchers, free ports, pytest fixtures."""
