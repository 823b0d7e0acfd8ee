"""Test effect: handles each slow-work command in ``$RTEST_DELAY`` seconds."""
