"""The greeter's messages: the command, the compute's result and the effect's outcome."""

from pydantic import BaseModel, ConfigDict, Field


class ModelGreet(BaseModel):
    """Greet someone (the command sent through the ingress)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class ModelGreeting(BaseModel):
    """The text to greet someone with (the compute's result)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    text: str


class ModelGreeted(BaseModel):
    """Someone was greeted: the greeting was written (the event the orchestrator publishes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    text: str
