"""``error_handling.outbox: true`` under two ``onex-infra run`` processes on one PostgreSQL: an
effect's write and its result event commit together, the runtimes' relays share the outbox
(SKIP LOCKED) and every event is delivered once; a handler failing after its write leaves
neither the write nor the event."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from process_support import RuntimeProcess, spawned, write_config
from runtime_support import ALLOWLIST, metric_samples
from runtime_testnodes import EFFECTS_DIR
from runtime_testnodes.effects.node_rt_result_audit_orchestrator.handler import RESULTS_SEEN_FILE
from runtime_testnodes.files import read_lines
from runtime_testnodes.models import ModelRtSlowWork

from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.testing import eventually

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ORDER = "onex.cmd.rtest.order.v1"


def _ingress(runtime: RuntimeProcess) -> httpx.AsyncClient:
    (line,) = runtime.events("ingress without authentication: bound to loopback only")
    return httpx.AsyncClient(base_url=str(line["url"]), trust_env=False)


async def _relayed(runtime: RuntimeProcess) -> float:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{runtime.port}", trust_env=False
    ) as hub:
        samples = metric_samples((await hub.get("/metrics")).text)
    return sum(
        v for (name, _), v in samples.items() if name == "onex_outbox_published_messages_total"
    )


async def test_two_runtimes_relay_an_outbox_effect_s_events_once_each(
    tmp_path: Path, postgres_handler: HandlerPostgres, postgres_dsn: str
) -> None:
    """Orders sent to either runtime are each announced exactly once across both (whichever
    relay took the row); an order whose handler failed after its write has no row and no
    event; the outbox ends empty of unsent rows."""
    await postgres_handler.execute("CREATE TABLE rtest_orders (key text PRIMARY KEY)")
    config = write_config(
        tmp_path / "runtime.yaml",
        {
            "contract_dirs": [
                str(EFFECTS_DIR / "node_rt_outbox_order_effect"),
                str(EFFECTS_DIR / "node_rt_result_audit_orchestrator"),
            ],
            "use_entry_points": False,
            "plugin_allowlist": [ALLOWLIST],
            "postgres": {"mode": "external", "dsn": "env://RTEST_PG_DSN"},
            "event_bus": {"retry": None},
        },
    )
    ok = [f"order-{n}" for n in range(20)]
    failing = ["fail-a", "fail-b"]
    outs = [tmp_path / "out-a", tmp_path / "out-b"]
    async with (
        spawned(config, outs[0], RTEST_PG_DSN=postgres_dsn) as first,
        spawned(config, outs[1], RTEST_PG_DSN=postgres_dsn) as second,
    ):
        await first.until_ready()
        await second.until_ready()
        ingresses = [_ingress(first), _ingress(second)]
        for index, key in enumerate([*ok, *failing]):
            reply = await ingresses[index % 2].post(
                f"/v1/events/{ORDER}",
                params={"payload_type": "ModelRtSlowWork"},
                json=ModelRtSlowWork(work_id=index, key=key).model_dump(),
            )
            assert reply.status_code == 202
        for ingress in ingresses:
            await ingress.aclose()

        def seen() -> list[str]:
            lines = [line.split() for out in outs for line in read_lines(out, RESULTS_SEEN_FILE)]
            return [fields[1] for fields in lines if fields[0] == "onex.evt.rtest.order-placed.v1"]

        async def unsent() -> object:
            return await postgres_handler.fetchval(
                "SELECT count(*) FROM onex_outbox WHERE sent_at IS NULL"
            )

        relayed: list[float] = []

        async def settled() -> bool:
            relayed[:] = [await _relayed(first), await _relayed(second)]
            return len(seen()) >= len(ok) and await unsent() == 0 and sum(relayed) >= len(ok)

        # Announced (the relay published), then marked sent (its transaction committed).
        await eventually(settled, "every order announced and its outbox row marked sent")
    announced = seen()
    rows = [r["key"] for r in await postgres_handler.fetch("SELECT key FROM rtest_orders")]
    outbox = await postgres_handler.fetchval("SELECT count(*) FROM onex_outbox")
    print(
        f"\noutbox, two runtimes: {len(announced)} events for {len(ok)} orders, relayed "
        f"{relayed[0]:.0f} + {relayed[1]:.0f}; {len(failing)} failed handlers left "
        f"{len(set(rows) & set(failing))} rows and {len(set(announced) & set(failing))} events"
    )
    assert sorted(announced) == sorted(ok)
    assert sorted(rows) == sorted(ok)
    assert outbox == len(ok)
    assert sum(relayed) == len(ok)
