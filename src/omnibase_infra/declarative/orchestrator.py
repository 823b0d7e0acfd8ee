"""An ORCHESTRATOR run by its workflow alone: steps by node name, results handed on, events out.

Per message, the payload type chooses the route (``coordination_rules.on_event``); its steps
run in order, each calling its node: a COMPUTE node's handler in-process (pure), an EFFECT
node's handler under its contract's executor (timeout, retry, circuit breaker, idempotency).
A step's input is the event when it depends on nothing in the graph, the result of the step it
depends on, or ``{step: result}`` for several; it is validated into the step node's input
model. When every step succeeded the route's events are published (a step's result each, keyed
like the incoming message). When a step fails, a ``ModelWorkflowStepFailed`` is published on
the route's ``on_failure`` topic, or, without one, the message fails to the runtime's failure
policy (retry or dead letter). Only this node publishes: a step's own events or intents are
refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from pydantic import BaseModel, JsonValue, ValidationError

from omnibase_infra.declarative.errors import WorkflowStepError
from omnibase_infra.declarative.model_workflow_step_failed import ModelWorkflowStepFailed
from omnibase_infra.declarative.payload import as_json
from omnibase_infra.declarative.workflow_step import WorkflowStep
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.dispatch.model_outgoing_message import ModelOutgoingMessage
from omnibase_infra.errors import EnvelopeValidationError
from omnibase_infra.event_bus.codec import describe_validation_error
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.sanitize import sanitize_text

__all__ = ["CompiledRoute", "CompiledStep", "HandlerDeclarativeOrchestrator"]

_log = get_logger(__name__)
_REASON_LIMIT = 300


class CompiledStep(NamedTuple):
    """A route's step: the node it calls and the steps whose results are its input."""

    name: str
    node: WorkflowStep
    depends_on: tuple[str, ...]


class CompiledRoute(NamedTuple):
    """What one payload type sets off, checked against the contracts (see builder)."""

    steps: tuple[CompiledStep, ...]
    publish: tuple[tuple[str, str], ...]  # (topic, step whose result is published)
    on_failure: str | None


class _StepFailedError(Exception):
    """A step failed; carries the step and the original error."""

    def __init__(self, step: CompiledStep, error: Exception) -> None:
        super().__init__(step.name)
        self.step = step
        self.error = error


class HandlerDeclarativeOrchestrator:
    """The message handler of a YAML-only orchestrator (see module doc)."""

    def __init__(self, node_name: str, workflow: str, routes: Mapping[str, CompiledRoute]) -> None:
        self._node_name = node_name
        self._workflow = workflow
        self._routes = dict(routes)

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """Run the route of the payload type; its events, or the step-failed event."""
        trigger = context.envelope.payload_type or ""
        route = self._routes.get(trigger)
        if route is None:  # the engine routes only the declared payload types here
            raise EnvelopeValidationError(f"{self._node_name} has no route for {trigger!r}")
        key = (
            None if context.message.key is None else context.message.key.decode("utf-8", "replace")
        )
        try:
            results = await self._run(route, context)
        except _StepFailedError as failure:
            if route.on_failure is None:
                raise failure.error from None
            return ModelNodeOutput(
                events=(
                    ModelOutgoingMessage(
                        topic=route.on_failure,
                        payload=self._failed(failure, trigger),
                        key=key,
                    ),
                )
            )
        return ModelNodeOutput(
            events=tuple(
                ModelOutgoingMessage(topic=topic, payload=results[step], key=key)
                for topic, step in route.publish
            )
        )

    async def _run(self, route: CompiledRoute, context: DispatchContext) -> dict[str, BaseModel]:
        event = as_json(context.payload)
        results: dict[str, BaseModel] = {}
        for step in route.steps:
            try:
                results[step.name] = await _call(step, _input(step, event, results), context)
            except Exception as exc:  # any step failure goes where the contract says
                raise _StepFailedError(step, exc) from exc
        return results

    def _failed(self, failure: _StepFailedError, trigger: str) -> ModelWorkflowStepFailed:
        error = failure.error
        _log.warning(
            "workflow step failed",
            node=self._node_name,
            workflow=self._workflow,
            step=failure.step.name,
            error_type=type(error).__name__,
        )
        return ModelWorkflowStepFailed(
            workflow=self._workflow,
            step=failure.step.name,
            node_type=failure.step.node.archetype.value,
            trigger=trigger,
            error_type=type(error).__name__,
            reason=sanitize_text(str(error))[:_REASON_LIMIT],
        )


def _input(step: CompiledStep, event: JsonValue, results: Mapping[str, BaseModel]) -> JsonValue:
    if not step.depends_on:
        return event
    if len(step.depends_on) == 1:
        return results[step.depends_on[0]].model_dump(mode="json")
    return {name: results[name].model_dump(mode="json") for name in step.depends_on}


async def _call(step: CompiledStep, data: JsonValue, context: DispatchContext) -> BaseModel:
    node = step.node
    payload: BaseModel | JsonValue = data
    if node.input_model is not None:
        try:
            payload = node.input_model.model_validate(data)
        except ValidationError as exc:
            raise EnvelopeValidationError(
                f"input of step {step.name} is not a valid {node.input_model.__name__}: "
                f"{describe_validation_error(exc)}"
            ) from None
    output = await node.handler.handle(
        DispatchContext(
            context.envelope, payload, context.message, node.node_name, context.correlation_id
        )
    )
    if output is not None and (output.events or output.intents):
        raise WorkflowStepError(
            f"step {step.name} ({node.archetype.value}) emitted events or intents; only "
            "orchestrators publish"
        )
    if output is None or output.result is None:
        raise WorkflowStepError(
            f"step {step.name} ({node.archetype.value}) returned no result (an effect "
            "replayed by idempotency, or degraded to its fallback, has none)"
        )
    return output.result
