"""Two EFFECT nodes whose contracts name one dependency (``rtest-vault``): each keeps its own
breaker, and both must be shown (``test_effect_breakers_process``)."""
