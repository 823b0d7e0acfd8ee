"""Tansu 0.6.0 keeps a departed leader as a group's leader (raw confluent-kafka, no runtime).

Consumer A joins group G alone and becomes its leader; B joins; both hold partitions. Both
then close (each sends LeaveGroup):

- ``follower-first``: B leaves, then A at once, while the group is rebalancing after B's
  leave. Tansu's LeaveGroup on a rebalancing group removes A from the members but keeps A as
  the leader, so a later member C gets A named as leader in every JoinGroup answer, waits for
  A's assignment (SyncGroup: REBALANCE_IN_PROGRESS) and is never assigned.
- ``leader-first``: A leaves first (the group is stable: Tansu clears the leader), then B;
  C is assigned within one join round.

Run: ``.venv/bin/python scripts/tansu_stale_leader_repro.py follower-first [seconds]``.
"""

from __future__ import annotations

import sys
import threading
import time

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from omnibase_infra.testing import TansuServer

GROUP, TOPIC, PARTITIONS = "G", "t1", 4


class Member:
    """One consumer of GROUP polled on its own thread; ``assigned`` is its last assignment."""

    def __init__(self, servers: str, name: str) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": servers,
                "group.id": GROUP,
                "client.id": name,
                "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 2000,
                "enable.auto.commit": False,
            }
        )
        self.assigned: list[int] | None = None
        self.consumer.subscribe([TOPIC], on_assign=self._on_assign)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll)
        self._thread.start()

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned = [tp.partition for tp in partitions]

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.consumer.poll(0.05)

    def wait_assigned(self, seconds: float) -> float | None:
        """Seconds until the first assignment, None if none came within ``seconds``."""
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            if self.assigned is not None:
                return round(time.monotonic() - start, 1)
            time.sleep(0.05)
        return None

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.consumer.close()


def say(*parts: object) -> None:
    sys.stdout.write(" ".join(str(part) for part in parts) + "\n")
    sys.stdout.flush()


def main(order: str, wait: float) -> None:
    with TansuServer() as broker:
        servers = broker.bootstrap_servers
        admin = AdminClient({"bootstrap.servers": servers})
        for done in admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)]).values():
            done.result(30)
        a = Member(servers, "A")
        say("A (leader) assigned after", a.wait_assigned(30))
        b = Member(servers, "B")
        say("B assigned after", b.wait_assigned(30))
        while len(a.assigned or []) + len(b.assigned or []) != PARTITIONS or not b.assigned:
            time.sleep(0.1)
        say("stable: A", a.assigned, "B", b.assigned)
        first, second = (b, a) if order == "follower-first" else (a, b)
        first.close()
        second.close()
        c = Member(servers, "C")
        say(order, "then C assigned after", c.wait_assigned(wait))
        c.close()


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 30.0)
