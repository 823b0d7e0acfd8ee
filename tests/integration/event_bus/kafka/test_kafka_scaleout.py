"""Scale-out: consumer processes in one group share partitions; kill -9 one, lose nothing.

The same file is the worker: ``python test_kafka_scaleout.py BOOTSTRAP TOPIC GROUP OUT`` joins
the group with EventBusKafka and appends every value it handles to OUT before returning, so
the offset is committed only after the value is on disk (at-least-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import pytest

from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.testing import TopicFactory, eventually, make_kafka_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MESSAGES = 600
WORKERS = 3


async def _work(bootstrap: str, topic: str, group: str, out: Path) -> None:
    bus = EventBusKafka(make_kafka_settings(bootstrap, max_batch=20))
    await bus.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    with out.open("a", encoding="utf-8") as sink:

        async def on_message(message: BusMessage) -> None:
            await asyncio.sleep(0.004)  # some work, so the kill lands mid-stream
            sink.write(message.value.decode() + "\n")
            sink.flush()

        await bus.subscribe(topic, on_message=on_message, group_id=group)
        print("ready", flush=True)
        await stop.wait()
        await bus.close()


def _values(outs: list[Path]) -> list[str]:
    return [
        line
        for out in outs
        if out.exists()
        for line in out.read_text(encoding="utf-8").splitlines()
        if line
    ]


async def test_killed_member_loses_no_message(
    kafka_settings: ModelKafkaSettings,
    unique_topic: TopicFactory,
    tmp_path: Path,
) -> None:
    """Three worker processes share a topic; after kill -9 of one, every message is handled."""
    topic = unique_topic()
    group = f"scaleout-{topic.split('.')[3]}"
    publisher = EventBusKafka(kafka_settings)
    await publisher.start()
    outs = [tmp_path / f"worker-{i}.txt" for i in range(WORKERS)]
    workers: list[asyncio.subprocess.Process] = []
    try:
        await publisher.publish(topic, b"warm-up", b"")  # creates the topic before workers join
        for out in outs:
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                kafka_settings.bootstrap_servers,
                topic,
                group,
                str(out),
                stdout=asyncio.subprocess.PIPE,
            )
            workers.append(worker)
            assert worker.stdout is not None
            line = await asyncio.wait_for(worker.stdout.readline(), 60)
            assert line.strip() == b"ready"
        expected = {str(i) for i in range(MESSAGES)}
        for start in range(0, MESSAGES, 50):
            await asyncio.gather(
                *(
                    publisher.publish(topic, str(i).encode(), str(i).encode())
                    for i in range(start, start + 50)
                )
            )
        await eventually(lambda: len(_values(outs)) >= MESSAGES // 4, timeout=60)
        victim = workers[0]
        os.kill(victim.pid, signal.SIGKILL)
        await victim.wait()
        handled_by_victim = set(_values(outs[:1]))
        await eventually(lambda: expected <= set(_values(outs)) - {""}, timeout=90)
    finally:
        for worker in workers:
            if worker.returncode is None:
                os.kill(worker.pid, signal.SIGTERM)
        for worker in workers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(worker.wait(), 20)
            if worker.returncode is None:
                os.kill(worker.pid, signal.SIGKILL)
                await worker.wait()
        await publisher.close()
    handled = set(_values(outs))
    lost = expected - handled
    counts = [len(_values([out])) for out in outs]
    print(f"per worker {counts}, duplicates {sum(counts) - len(handled)}, lost {len(lost)}")
    assert lost == set()
    assert handled_by_victim  # it was consuming when it died
    assert expected - handled_by_victim <= set(_values(outs[1:]))


if __name__ == "__main__":
    asyncio.run(_work(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])))
