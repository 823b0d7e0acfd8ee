"""EventBusKafka's early joins on a real Tansu broker: a group joined before its callbacks exist
fetches and commits nothing, is adopted by the matching ``subscribe_group``, and an early join
that failed leaves the subscription to fail (or not) exactly as a join of its own would."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from omnibase_infra.errors import InfraTimeoutError, RuntimeHostError
from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.event_bus.kafka.consumer import KafkaGroupMember
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.testing import (
    TansuServer,
    TopicFactory,
    eventually,
    free_port,
    make_kafka_settings,
)

pytestmark = pytest.mark.integration


def _group(label: str) -> str:
    return f"early-{label}-{uuid.uuid4().hex[:8]}"


async def test_a_group_joined_early_is_paused_then_adopted_and_delivers_each_message_once(
    kafka_bus: EventBusKafka, unique_topic: TopicFactory
) -> None:
    """Messages published while a group is joined early stay unfetched and uncommitted (the
    commit stays at the assignment's start); ``subscribe_group`` adopts that very member (no
    second join) and then delivers every message once and commits them all."""
    topic, group = unique_topic(), _group("adopt")
    kafka_bus.join_early({group: ([topic], "earliest")})
    await eventually(lambda: len(kafka_bus.early_members) == 1)
    (early,) = kafka_bus.early_members
    assert {t for t, _ in early.assigned} == {topic}
    for n in range(10):
        await kafka_bus.publish(topic, str(n).encode(), f"m{n}".encode())
    await asyncio.sleep(0.5)  # room for a paused member to fetch what it must not
    assert await kafka_bus.get_committed_offset(topic, group) == 0
    got: list[bytes] = []

    async def record(message: BusMessage) -> None:
        got.append(message.value)

    leave = await kafka_bus.subscribe_group(
        {topic: record}, group_id=group, auto_offset_reset="earliest"
    )
    try:
        assert kafka_bus.members == (early,)
        assert kafka_bus.early_groups == ()

        async def all_committed() -> bool:
            return await kafka_bus.get_committed_offset(topic, group) == 10

        await eventually(all_committed)
    finally:
        await leave()
    assert sorted(got) == sorted(f"m{n}".encode() for n in range(10))


async def test_a_subscription_that_differs_from_the_early_join_leaves_it_and_joins_afresh(
    kafka_bus: EventBusKafka, unique_topic: TopicFactory
) -> None:
    """A group joined early on one topic but subscribed on two is not adopted: the early
    member leaves, a new member holds both topics and delivers from each."""
    first, second, group = unique_topic(), unique_topic(), _group("differs")
    kafka_bus.join_early({group: ([first], "earliest")})
    await eventually(lambda: len(kafka_bus.early_members) == 1)
    (early,) = kafka_bus.early_members
    got: list[str] = []

    async def record(message: BusMessage) -> None:
        got.append(message.topic)

    leave = await kafka_bus.subscribe_group(
        {first: record, second: record}, group_id=group, auto_offset_reset="earliest"
    )
    try:
        (member,) = kafka_bus.members
        assert member is not early
        assert {t for t, _ in member.assigned} == {first, second}
        await kafka_bus.publish(first, None, b"a")
        await kafka_bus.publish(second, None, b"b")
        await eventually(lambda: sorted(got) == sorted([first, second]))
    finally:
        await leave()


async def test_groups_nobody_adopts_are_left_by_discard(
    kafka_bus: EventBusKafka, unique_topic: TopicFactory
) -> None:
    """``discard_early_joins`` leaves every group joined early: a later member of that group
    gets all of its partitions at once and reads from the start (nothing was consumed)."""
    topic, group = unique_topic(), _group("discard")
    kafka_bus.join_early({group: ([topic], "earliest")})
    await eventually(lambda: len(kafka_bus.early_members) == 1)
    await kafka_bus.publish(topic, None, b"kept")
    await kafka_bus.discard_early_joins()
    assert kafka_bus.early_groups == ()
    got: list[bytes] = []

    async def record(message: BusMessage) -> None:
        got.append(message.value)

    leave = await kafka_bus.subscribe_group(
        {topic: record}, group_id=group, auto_offset_reset="earliest"
    )
    try:
        (member,) = kafka_bus.members
        assert len(member.assigned) == kafka_bus.settings.partitions
        await eventually(lambda: got == [b"kept"])
    finally:
        await leave()


async def test_a_discard_without_waiting_returns_while_the_join_is_answered_then_leaves(
    kafka_bus: EventBusKafka, unique_topic: TopicFactory
) -> None:
    """``discard_early_joins(wait=False)`` on a join still under way returns with the group
    being left in the background (a start does not wait for the broker to answer the join),
    and once that leave finished a later member gets all partitions and reads from the start."""
    topic, group = unique_topic(), _group("background")
    await kafka_bus.publish(topic, None, b"kept")
    kafka_bus.join_early({group: ([topic], "earliest")})
    assert await kafka_bus.discard_early_joins(wait=False) == [group]
    assert kafka_bus.early_groups == ()
    assert kafka_bus.leaving_groups == (group,)
    await kafka_bus.discard_early_joins()  # waits for every leave under way
    assert kafka_bus.leaving_groups == ()
    got: list[bytes] = []

    async def record(message: BusMessage) -> None:
        got.append(message.value)

    leave = await kafka_bus.subscribe_group(
        {topic: record}, group_id=group, auto_offset_reset="earliest"
    )
    try:
        (member,) = kafka_bus.members
        assert len(member.assigned) == kafka_bus.settings.partitions
        await eventually(lambda: got == [b"kept"])
    finally:
        await leave()


async def test_an_early_join_that_cannot_reach_the_broker_fails_the_subscription() -> None:
    """With no broker listening, the early join fails and the subscription's own join then
    raises its typed timeout naming the servers; no member and no early group is left."""
    servers = f"127.0.0.1:{free_port()}"
    bus = EventBusKafka(
        make_kafka_settings(servers, auto_create_topics=False, join_timeout_seconds=1.0)
    )
    topic, group = "onex.evt.early.unreachable.v1", _group("unreachable")
    await bus.start()
    try:
        bus.join_early({group: ([topic], "earliest")})

        async def handle(message: BusMessage) -> None:
            raise AssertionError("nothing can be delivered")

        with pytest.raises(InfraTimeoutError) as caught:
            await bus.subscribe_group({topic: handle}, group_id=group)
        assert servers in str(caught.value)
        assert bus.members == ()
        assert bus.early_groups == ()
    finally:
        await bus.close()


async def test_an_early_join_on_a_missing_topic_fails_the_subscription_with_the_same_error(
    tansu_server: TansuServer, unique_topic: TopicFactory
) -> None:
    """Topic creation off and the topic missing: ``subscribe_group`` after an early join raises
    the very error a subscription without an early join raises."""
    servers = tansu_server.bootstrap_servers
    settings = make_kafka_settings(servers, auto_create_topics=False, join_timeout_seconds=3.0)
    topic = unique_topic()

    async def handle(message: BusMessage) -> None:
        raise AssertionError("nothing can be delivered")

    errors: list[RuntimeHostError] = []
    plain_group, adopted_group = _group("missing"), _group("missing")
    for early, group in ((False, plain_group), (True, adopted_group)):
        bus = EventBusKafka(settings)
        await bus.start()
        try:
            if early:
                bus.join_early({group: ([topic], "earliest")})
            with pytest.raises(RuntimeHostError) as caught:
                await bus.subscribe_group({topic: handle}, group_id=group)
            errors.append(caught.value)
            assert bus.early_groups == ()
        finally:
            await bus.close()
    plain, adopted = errors
    assert type(adopted) is type(plain)
    assert str(adopted).replace(adopted_group, "") == str(plain).replace(plain_group, "")


async def test_an_early_join_that_timed_out_fails_the_subscription_without_joining_again(
    kafka_bus: EventBusKafka,
    unique_topic: TopicFactory,
    tansu_server: TansuServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An early join that got no assignment within ``join_timeout_seconds`` is the
    subscription's failure: its timeout is raised and no second member joins, so a start fails
    after one join timeout, not two. (Here the group has a member already, and Tansu holds a
    newcomer's JoinGroup 3 s, past the 1 s budget; on Tansu 0.6.0 a group whose leader left
    mid-rebalance never assigns at all.)"""
    topic, group = unique_topic(), _group("timeout")

    async def handle(message: BusMessage) -> None:
        return None

    leave_holder = await kafka_bus.subscribe_group({topic: handle}, group_id=group)
    starts: list[str] = []
    real_start = KafkaGroupMember.start

    async def counted_start(member: KafkaGroupMember) -> None:
        starts.append(member.group_id)
        await real_start(member)

    monkeypatch.setattr(KafkaGroupMember, "start", counted_start)
    bus = EventBusKafka(
        make_kafka_settings(tansu_server.bootstrap_servers, join_timeout_seconds=1.0)
    )
    await bus.start()
    try:
        bus.join_early({group: ([topic], "earliest")})
        with pytest.raises(InfraTimeoutError) as caught:
            await bus.subscribe_group({topic: handle}, group_id=group, auto_offset_reset="earliest")
        assert group in str(caught.value)
        assert starts == [group]
        assert bus.members == ()
        assert bus.early_groups == ()
    finally:
        await bus.close()
        await leave_holder()
