"""A YAML-only orchestrator's routing: which steps run for which event, what is published."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from omnibase_infra.errors import ProtocolConfigurationError

__all__ = ["RULES_FIELD", "ModelWorkflowPublish", "ModelWorkflowRoute", "ModelWorkflowRules"]

RULES_FIELD = "workflow_coordination.workflow_definition.coordination_rules"


class ModelWorkflowPublish(BaseModel):
    """One event the orchestrator publishes once the steps succeeded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str = Field(description="One of the contract's event_bus.publish_topics.")
    from_step: str | None = Field(
        default=None, description="The step whose result is the event; absent: the last step."
    )


class ModelWorkflowRoute(BaseModel):
    """What one payload type sets off: steps in order, then the events to publish."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: tuple[str, ...] = Field(
        min_length=1,
        description="Nodes of the execution graph, run in this order; a step's input is the "
        "event (no depends_on), the result of the step it depends on, or a mapping of the "
        "results of the steps it depends on.",
    )
    publish: tuple[ModelWorkflowPublish, ...] = ()
    on_failure: str | None = Field(
        default=None,
        description="Topic of the step-failed event published when a step fails; absent: the "
        "message fails (the runtime's failure policy: retry or dead letter).",
    )


class ModelWorkflowRules(BaseModel):
    """The ``coordination_rules`` of a workflow run by the runtime (no handler code)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    on_event: dict[str, ModelWorkflowRoute] = Field(
        min_length=1, description="Payload type of an incoming event -> what it sets off."
    )

    @classmethod
    def from_rules(cls, rules: dict[str, object] | None, *, file: str) -> ModelWorkflowRules:
        """Validate core's free-form coordination_rules, naming file and field on error."""
        try:
            return cls.model_validate(rules or {})
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            field = f"{RULES_FIELD}.{where}" if where else RULES_FIELD
            raise ProtocolConfigurationError(error["msg"], file=file, field=field) from None
