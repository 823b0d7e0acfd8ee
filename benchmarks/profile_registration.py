"""Where the runtime's CPU goes when it registers nodes: each step's share (not a benchmark).

    .venv/bin/python benchmarks/profile_registration.py [--nodes 2000] [--repeats 2]
        [--out registration.prof]

Runs the runtime side of ``bench_registration`` (the same fleet, runtime and embedded
PostgreSQL) under cProfile on process CPU and prints each step's cumulative share of the
profiled CPU. cProfile inflates code that makes many small calls, so the absolute times mean
little; the shares hold even on a loaded machine. Steps nest (indented lines are part of the
line above) and coroutines count once per resumption, so calls per node are not exact.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import tempfile
import time
from pathlib import Path

from bench_registration import _DSN_VARIABLE, _POOL, _project_run, _truncate
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.observability.logging import configure_logging
from omnibase_infra.runtime.config import load_runtime_config
from omnibase_infra.runtime.heap import freeze_boot_heap
from omnibase_infra.runtime.host import RuntimeHostProcess
from omnibase_infra.runtime.infrastructure import build_infrastructure
from omnibase_infra.runtime.launch import run_event_loop

# (label, a fragment of the function's file, the function's name)
_STEPS: tuple[tuple[str, str, str], ...] = (
    ("bus publish", "event_bus/inmemory.py", "publish"),
    ("bus delivery (all of a message's handling)", "event_bus/message.py", "deliver_once"),
    ("  dispatch (decode, handler, outputs)", "dispatch/engine.py", "_dispatch"),
    ("    envelope decode", "event_bus/codec.py", "decode_envelope"),
    ("    envelope build (new_envelope)", "event_bus/codec.py", "new_envelope"),
    ("    envelope encode", "event_bus/codec.py", "encode_envelope"),
    ("    envelope headers", "event_bus/codec.py", "envelope_headers"),
    ("    envelope bytes (encode_new_envelope)", "event_bus/codec.py", "encode_new_envelope"),
    ("    orchestrator handler", "node_registration_orchestrator/handler.py", "handle"),
    ("      introspection validation", "registration/introspection.py", "normalize_introspection"),
    ("      workflow", "node_registration_orchestrator/workflow.py", "run"),
    ("        reducer", "node_registration_reducer/reducer.py", "reduce"),
    ("        registry effect", "node_registry_effect/effect.py", "apply"),
    ("          executors (timeout, breaker, retry)", "resilience/effect/executor.py", "call"),
    ("          storage (row arguments, batching)", "node_registry_effect/storage.py", "apply"),
    ("          discovery (local backend)", "node_registry_effect/discovery.py", "apply"),
    ("        announcements", "node_registration_orchestrator/workflow.py", "_announce"),
    ("        state-change log", "node_registration_orchestrator/workflow.py", "_log_transition"),
    ("  simulated nodes (decode answers, ack)", "registration/client.py", "_on_message"),
    ("batched SQL (asyncpg)", "node_registry_effect/storage_batch.py", "_drain"),
    ("pydantic model construction (all)", "pydantic/main.py", "__init__"),
    ("uuid4 (all)", "uuid.py", "uuid4"),
    ("str(UUID) (all)", "uuid.py", "__str__"),
)


async def _profile(nodes: int, repeats: int) -> cProfile.Profile:
    """Register ``nodes`` nodes ``repeats`` times under cProfile (after an unprofiled warm-up)."""
    configure_logging("ERROR")
    base_dir = Path(tempfile.mkdtemp(prefix="onex-profile-reg-"))
    server = EmbeddedPostgres(base_dir, fast=True, server_settings={"max_connections": "100"})
    await server.start()
    profile = cProfile.Profile(time.process_time)
    try:
        await server.create_database("project")
        os.environ[_DSN_VARIABLE] = server.dsn("project")
        config = load_runtime_config(
            None,
            http={"enabled": False},
            postgres={"mode": "external", "dsn": f"env://{_DSN_VARIABLE}", "pool_max_size": _POOL},
            nodes={"registration": {"tick_interval_seconds": 86_400.0}},
            log_level="ERROR",
        )
        async with build_infrastructure(config) as infra:
            bus = EventBusInmemory(partitions=4, capacity=nodes * 4, in_flight_per_partition=16)
            host = RuntimeHostProcess(
                config,
                bus=bus,
                handlers=infra.handlers,
                services=infra.services,
                components=infra.components,
                exclude_nodes=infra.exclude_nodes,
            )
            await host.start()
            freeze_boot_heap()
            try:
                assert infra.postgres is not None
                await _project_run(host, bus, min(nodes, 200))
                for _ in range(repeats):
                    await _truncate(infra.postgres)
                    profile.enable()
                    run = await _project_run(host, bus, nodes)
                    profile.disable()
                    print(f"run: {run.cpu_seconds / nodes * 1e3:.2f} ms CPU per node (profiled)")
            finally:
                await host.stop()
    finally:
        await server.stop()
        shutil.rmtree(base_dir, ignore_errors=True)
    return profile


def _print_shares(profile: cProfile.Profile, nodes: int) -> None:
    """Each step's cumulative share of the profiled CPU, and its calls per node."""
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values())
    print(f"\n{'step':<50} {'share':>6} {'calls/node':>11}")
    for label, fragment, name in _STEPS:
        cumulative = 0.0
        calls = 0
        for (filename, _, function), entry in stats.items():
            if fragment in filename and function == name:
                cumulative += entry[3]
                calls += entry[1]
        print(f"{label:<50} {100 * cumulative / total:5.1f}% {calls / nodes:11.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="also dump the raw profile here")
    args = parser.parse_args()
    profile = run_event_loop(_profile(args.nodes, args.repeats))
    if args.out is not None:
        profile.dump_stats(args.out)
    _print_shares(profile, args.nodes * args.repeats)


if __name__ == "__main__":
    main()
