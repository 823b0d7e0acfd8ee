"""Two-way node registration: what the registration orchestrator, reducer and effect share."""
