"""The correlation id context variable: scoping, generation and propagation into tasks."""

from __future__ import annotations

import asyncio
import contextvars
from uuid import UUID, uuid4

from omnibase_infra.correlation import (
    correlation_scope,
    current_correlation_id,
    ensure_correlation_id,
    set_correlation_id,
)


def _isolated() -> contextvars.Context:
    """An empty context: no ambient id, and nothing a test sets leaks into the next one."""
    return contextvars.Context()


def test_no_correlation_id_outside_any_scope() -> None:
    """Outside any scope there is no ambient correlation id."""
    assert _isolated().run(current_correlation_id) is None


def test_scope_sets_and_restores_the_given_id() -> None:
    """A scope makes its id current and restores the previous one when it ends."""

    def body() -> None:
        outer, inner = uuid4(), uuid4()
        with correlation_scope(outer) as got_outer:
            assert got_outer == outer
            assert current_correlation_id() == outer
            with correlation_scope(inner):
                assert current_correlation_id() == inner
            assert current_correlation_id() == outer
        assert current_correlation_id() is None

    _isolated().run(body)


def test_scope_without_id_generates_a_uuid4() -> None:
    """A scope opened without an id generates a fresh uuid4 each time."""

    def body() -> tuple[UUID, UUID]:
        with correlation_scope() as first:
            assert current_correlation_id() == first
        with correlation_scope() as second:
            pass
        return first, second

    first, second = _isolated().run(body)
    assert first.version == 4
    assert first != second


def test_scope_restores_the_previous_id_when_the_block_raises() -> None:
    """An exception inside a scope still restores the previous id."""

    def body() -> UUID | None:
        try:
            with correlation_scope(uuid4()):
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        return current_correlation_id()

    assert _isolated().run(body) is None


def test_ensure_generates_once_and_then_keeps_it() -> None:
    """ensure_correlation_id generates an id when absent and returns the same one afterwards."""

    def body() -> None:
        first = ensure_correlation_id()
        assert first.version == 4
        assert ensure_correlation_id() == first
        assert current_correlation_id() == first

    _isolated().run(body)


def test_ensure_keeps_an_existing_id() -> None:
    """ensure_correlation_id never replaces an id that is already set."""

    def body() -> None:
        given = uuid4()
        set_correlation_id(given)
        assert ensure_correlation_id() == given
        set_correlation_id(None)
        assert current_correlation_id() is None

    _isolated().run(body)


async def test_tasks_inherit_the_id_and_cannot_change_the_parents() -> None:
    """A task started in a scope sees its id; an id the task sets stays inside the task."""
    parent = uuid4()
    with correlation_scope(parent):

        async def child() -> tuple[UUID | None, UUID]:
            inherited = current_correlation_id()
            own = uuid4()
            set_correlation_id(own)
            await asyncio.sleep(0)
            return inherited, own

        inherited, own = await asyncio.create_task(child())
        assert inherited == parent
        assert current_correlation_id() == parent
    assert own != parent


async def test_concurrent_tasks_keep_their_own_ids() -> None:
    """Interleaved tasks each see only the id of their own scope."""

    async def worker(value: UUID) -> list[UUID | None]:
        seen: list[UUID | None] = []
        with correlation_scope(value):
            for _ in range(5):
                await asyncio.sleep(0)
                seen.append(current_correlation_id())
        return seen

    ids = [uuid4() for _ in range(4)]
    results = await asyncio.gather(*(worker(value) for value in ids))
    for value, seen in zip(ids, results, strict=True):
        assert seen == [value] * 5
