"""Small ONEX nodes the runtime tests load from contracts, like any installed node package.

``pipeline/``: an orchestrator turning a start-job command into a job-started event, a reducer
turning that event into a record-job intent (a count per key), an effect handing the intent to
``ProtocolRtSink`` resolved from the container, and a compute squaring the command's value.
``drain/``: an orchestrator that, on the first runtime tick, emits a burst of slow-work
commands, and an effect that handles each slowly; both write what they did to files under
``$RTEST_OUT`` so a test can compare what was published with what was handled across a
process boundary. ``deployment/``: the apply effect the shipped deployment workflow
(``omnibase_infra.infra_nodes``) calls as a step. ``effects/``: a Vault read, a Valkey
cache read falling back to a PostgreSQL read, a two-step transfer with compensation.
``health/``: a compute recording the health monitor's events in ``$RTEST_OUT/health.txt``.
``shared_breaker/``: two contract-only Vault-read effects whose contracts name one dependency.
Tests add ``runtime_testnodes`` to the runtime's ``plugin_allowlist``.
"""

from pathlib import Path

PIPELINE_DIR = Path(__file__).parent / "pipeline"
DRAIN_DIR = Path(__file__).parent / "drain"
DEPLOYMENT_DIR = Path(__file__).parent / "deployment"
EFFECTS_DIR = Path(__file__).parent / "effects"
HEALTH_DIR = Path(__file__).parent / "health"
SHARED_BREAKER_DIR = Path(__file__).parent / "shared_breaker"
