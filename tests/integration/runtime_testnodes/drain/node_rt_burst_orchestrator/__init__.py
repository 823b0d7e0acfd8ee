"""Test orchestrator: on the first runtime tick, a burst of slow-work commands."""
