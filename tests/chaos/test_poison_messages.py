"""Poison in a registration stream through ``onex-infra run`` on Tansu and PostgreSQL.

An oversize message (1.1 MB, over ``max_message_bytes``) and messages made by hypothesis
(random bytes, truncated JSON, envelopes with fields of the wrong type or a payload type no
node routes, garbage with headers of up to 900 kB) are sent with a raw producer, each on the
key of the registration sent right after it: every poison message must end in the DLQ with its
record, every registration must be registered (so no key, and no partition, stalled), and the
runtime must not report a stuck consumer. Then 100 failing messages are replayed twice through
``onex-infra dlq replay``: the first run replays each once (they fail again and update their
records), the second replays none and says why.

Each test prints its figures (sent, registered, dead-lettered, lost, duplicated, stuck).
Cost: one runtime boot on Kafka (~30 s on Tansu with 2 s group sessions) plus ~30-60 s.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from confluent_kafka import Producer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from poison_runtime import (
    CHAOS_ID,
    CLI,
    ChaosRuntime,
    chaos_id_of,
    chaos_runtime,
    introspection,
    read_topic,
)

from omnibase_infra.event_bus.headers import HEADER_PAYLOAD_TYPE, HEADER_REPLAY_OF
from omnibase_infra.nodes.registration.topics import TOPIC_NODE_INTROSPECTION

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.slow]

OVERSIZE_BYTES = 1_150_000
GOOD_PER_POISON = 3
SETTLE_SECONDS = 90.0


@dataclass(frozen=True)
class Poison:
    """One hostile message: what it is, its bytes and its headers (its chaos id added later)."""

    kind: str
    value: bytes
    headers: tuple[tuple[str, str], ...] = ()
    rejected: bool = False  # answered with a registration rejection instead of dead-lettered

    @property
    def correlation_id(self) -> str | None:
        """The envelope's correlation id, when the value is a JSON envelope that has one."""
        try:
            value = json.loads(self.value).get("correlation_id")
        except (ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None


@dataclass
class Figures:
    """What a stream sent and what became of it."""

    sent_good: int = 0
    sent_poison: int = 0
    registered: int = 0
    dead_lettered: int = 0
    rejected: int = 0
    duplicated: int = 0
    stuck: int = 0
    kinds: Counter[str] = field(default_factory=Counter)

    @property
    def lost(self) -> int:
        answered = self.dead_lettered + self.rejected
        return (self.sent_good - self.registered) + (self.sent_poison - answered)

    def line(self, title: str) -> str:
        """The figures in one line."""
        return (
            f"{title}: sent {self.sent_good + self.sent_poison} "
            f"({self.sent_good} registrations, {self.sent_poison} poison: {dict(self.kinds)}), "
            f"registered {self.registered}, dead-lettered {self.dead_lettered}, "
            f"rejected {self.rejected}, "
            f"lost {self.lost}, duplicated {self.duplicated}, stuck {self.stuck}"
        )


_, _GOOD_VALUE, _ = introspection("template")
_ENVELOPE = json.loads(_GOOD_VALUE)

random_bytes = st.binary(max_size=512).map(lambda raw: Poison("random-bytes", raw))
truncated_json = st.integers(1, len(_GOOD_VALUE) - 1).map(
    lambda cut: Poison("truncated-json", _GOOD_VALUE[:cut])
)
_wrong_value = st.one_of(
    st.integers(), st.lists(st.integers(), min_size=1, max_size=3), st.just({"x": 1})
)
wrong_types = st.tuples(
    st.sampled_from(["envelope_id", "correlation_id", "payload_type", "onex_version"]),
    _wrong_value,
).map(
    lambda change: Poison(
        f"wrong-type:{change[0]}",
        json.dumps({**_ENVELOPE, change[0]: change[1]}).encode(),
        ((HEADER_PAYLOAD_TYPE, "ModelNodeIntrospectionEvent"),),
    )
)
# A well-formed envelope whose introspection payload has fields of the wrong type: the
# registration protocol answers it with a rejection (its final answer), not a dead letter.
wrong_payload = st.tuples(
    st.sampled_from(["node_id", "node_name", "version", "node_type", "capabilities"]),
    _wrong_value,
).map(
    lambda change: Poison(
        f"wrong-payload:{change[0]}",
        json.dumps(
            {
                **_ENVELOPE,
                "payload": {**_ENVELOPE["payload"], change[0]: change[1]},
                "correlation_id": str(uuid4()),
            }
        ).encode(),
        ((HEADER_PAYLOAD_TYPE, "ModelNodeIntrospectionEvent"),),
        rejected=True,
    )
)
huge_headers = st.tuples(st.integers(100_000, 900_000), st.binary(max_size=64)).map(
    lambda drawn: Poison("huge-headers", drawn[1], (("chaos-pad", "h" * drawn[0]),))
)
POISON = st.one_of(random_bytes, truncated_json, wrong_types, wrong_payload, huge_headers)


@pytest.fixture(scope="module")
def runtime() -> Iterator[ChaosRuntime]:
    """One ``onex-infra run`` on Kafka for the module (booting it is most of the cost)."""
    with chaos_runtime() as running:
        yield running


def _producer(runtime: ChaosRuntime) -> Producer:
    # Raw, as any client could send: large messages allowed, so the oversize one gets through.
    return Producer(
        {
            "bootstrap.servers": runtime.tansu.bootstrap_servers,
            "message.max.bytes": 5_000_000,
            "linger.ms": 0,
        }
    )


def _send(producer: Producer, key: bytes, value: bytes, headers: list[tuple[str, str]]) -> None:
    producer.produce(TOPIC_NODE_INTROSPECTION, value, key, headers=headers)
    producer.poll(0)


def _until(predicate: object, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.5)


def _stream(runtime: ChaosRuntime, poisons: list[Poison]) -> Figures:
    """Send each poison right before a registration on the same key; count what became of it."""
    run = uuid4().hex[:8]
    producer = _producer(runtime)
    names: set[str] = set()
    poison_ids: dict[UUID, str] = {}
    rejections: set[str] = set()  # correlation ids of the poison answered by a rejection
    for index, poison in enumerate(poisons):
        for step in range(GOOD_PER_POISON):
            name = f"chaos-{run}-{index}-{step}"
            key, value, headers = introspection(name)
            if step == 0:
                chaos_id = uuid4()
                if poison.rejected and poison.correlation_id is not None:
                    rejections.add(poison.correlation_id)
                else:
                    poison_ids[chaos_id] = poison.kind
                _send(producer, key, poison.value, [(CHAOS_ID, str(chaos_id)), *poison.headers])
            _send(producer, key, value, list(headers.items()))
            names.add(name)
    assert producer.flush(30) == 0
    figures = Figures(sent_good=len(names), sent_poison=len(poison_ids) + len(rejections))
    figures.kinds.update(p.kind for p in poisons)
    registered: set[str] = set()  # a node that never acks may later expire: count it once seen

    def settled() -> bool:
        letters = Counter(chaos_id_of(e) for e in runtime.dead_letters())
        figures.dead_lettered = sum(1 for i in poison_ids if letters[i])
        figures.duplicated = sum(letters[i] - 1 for i in poison_ids if letters[i] > 1)
        figures.rejected = len(rejections & runtime.rejected_correlations())
        registered.update(runtime.registered(names))
        figures.registered = len(registered)
        return figures.lost == 0

    _until(settled, SETTLE_SECONDS)
    ready = runtime.ready().json()
    progress = next(c for c in ready["checks"] if c["name"] == "consumer_progress")
    figures.stuck = 0 if progress["healthy"] else (progress["detail"] or "").count("stuck on")
    return figures


@settings(
    max_examples=2,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    # chaos_report only prints and keeps lines: sharing it across examples is harmless.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(poisons=st.lists(POISON, min_size=6, max_size=10))
def test_poison_in_a_registration_stream_ends_in_the_dlq_and_nothing_stalls(
    runtime: ChaosRuntime, chaos_report: Callable[[str], None], poisons: list[Poison]
) -> None:
    """Every poison message (oversize and fuzzed) is dead-lettered with its record, every
    registration behind it on its key is registered, and no consumer is stuck: lost = 0."""
    stream = [Poison("oversize", b'{"x": "' + b"a" * OVERSIZE_BYTES + b'"}'), *poisons]
    figures = _stream(runtime, stream)
    chaos_report(figures.line("poison stream"))
    letters = [e for e in runtime.dead_letters() if chaos_id_of(e) is not None]
    assert all(e.record is not None for e in letters)
    oversize = [e for e in letters if e.record and (e.record.value_bytes or 0) > OVERSIZE_BYTES]
    assert oversize
    assert all(e.record is not None and e.record.value_truncated for e in oversize)
    assert figures.lost == 0
    assert figures.duplicated == 0
    assert figures.stuck == 0
    assert runtime.ready().status_code == 200
    assert runtime.events("partition parked") == []


def _replay(runtime: ChaosRuntime, since: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            CLI,
            *("dlq", "replay", "--config", str(runtime.config)),
            *("--topic", TOPIC_NODE_INTROSPECTION, "--since", since, "--rate", "1000"),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": str(runtime.config.parent)},
        check=False,
    )


def test_replaying_failing_dead_letters_twice_replays_each_once(
    runtime: ChaosRuntime, chaos_report: Callable[[str], None]
) -> None:
    """100 dead letters whose replays fail again: the first `dlq replay` replays 100 (their
    records are updated, not duplicated), the second replays 0 and says why."""
    time.sleep(1.1)  # --since has second precision: start past any earlier dead letter
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S%z")
    producer = _producer(runtime)
    ids = [uuid4() for _ in range(100)]
    for chaos_id in ids:
        _send(producer, chaos_id.bytes, b"\x00 never an envelope", [(CHAOS_ID, str(chaos_id))])
    assert producer.flush(30) == 0

    def ours(replays: int) -> int:
        found = [e for e in runtime.dead_letters() if chaos_id_of(e) in set(ids)]
        return sum(1 for e in found if e.record is not None and e.record.replay_count == replays)

    _until(lambda: ours(0) == 100, SETTLE_SECONDS)
    assert ours(0) == 100
    first = _replay(runtime, since)
    assert first.returncode == 0, first.stderr
    assert "replayed 100 of 100 dead letter(s)" in first.stdout
    _until(lambda: ours(1) == 100, SETTLE_SECONDS)
    second = _replay(runtime, since)
    assert second.returncode == 0, second.stderr
    assert "replayed 0 of 100 dead letter(s): 100 already replayed (use --again)" in second.stdout
    letters = [e for e in runtime.dead_letters() if chaos_id_of(e) in set(ids)]
    replayed = sum(1 for e in letters if e.record is not None and e.record.replay_count == 1)
    chaos_report(
        f"dlq replay: 100 dead letters, run 1 replayed 100, run 2 replayed 0; "
        f"{len(letters)} records after (replay count 1: {replayed}); "
        f"replays seen by the runtime: {_replays_seen(runtime, ids)}"
    )
    assert len(letters) == 100
    assert replayed == 100
    assert _replays_seen(runtime, ids) == 100


def _replays_seen(runtime: ChaosRuntime, ids: list[UUID]) -> int:
    """Messages on the introspection topic that are replays of our dead letters."""
    wanted = {str(i).encode() for i in ids}
    return sum(
        1
        for headers, _ in read_topic(runtime.tansu.bootstrap_servers, TOPIC_NODE_INTROSPECTION)
        if HEADER_REPLAY_OF in headers and headers.get(CHAOS_ID) in wanted
    )
