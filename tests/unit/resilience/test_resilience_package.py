"""Where the platform's documents import the resilience mixin from (the package's ``__all__`` is
pinned with every other face in tests/unit/test_public_api.py)."""

from __future__ import annotations

import omnibase_infra.resilience as resilience


def test_mixin_is_importable_where_the_platform_documents_it() -> None:
    """``from omnibase_infra.mixins import MixinAsyncCircuitBreaker`` is the resilience mixin."""
    from omnibase_infra.mixins import MixinAsyncCircuitBreaker

    assert MixinAsyncCircuitBreaker is resilience.MixinAsyncCircuitBreaker
