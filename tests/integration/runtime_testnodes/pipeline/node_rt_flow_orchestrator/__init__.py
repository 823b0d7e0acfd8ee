"""Test orchestrator: start-job command -> job-started event."""
