"""One named operation of the contract: SQL text with ``$1..$n`` and the parameters' names."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnibase_infra.nodes.node_postgres_adapter_effect.enum_postgres_operation_returns import (
    EnumPostgresOperationReturns,
)

__all__ = ["ModelPostgresOperation"]

_PLACEHOLDER = re.compile(r"\$(\d+)")
_PARAMETER_NAME = r"^[a-z_][a-z0-9_]{0,62}$"


class ModelPostgresOperation(BaseModel):
    """SQL whose placeholders are exactly ``$1..$n``, ``n`` being the number of ``params``;
    ``$k`` is bound to the value of ``params[k-1]`` in the command."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sql: str = Field(min_length=1, max_length=20_000)
    params: tuple[str, ...] = ()
    returns: EnumPostgresOperationReturns = EnumPostgresOperationReturns.ROWS

    @model_validator(mode="after")
    def _placeholders_match_params(self) -> ModelPostgresOperation:
        for name in self.params:
            if not re.match(_PARAMETER_NAME, name):
                raise ValueError(f"parameter name {name!r} is not a lower-case identifier")
        if len(set(self.params)) != len(self.params):
            raise ValueError("parameter names must be unique")
        used = {int(number) for number in _PLACEHOLDER.findall(self.sql)}
        expected = set(range(1, len(self.params) + 1))
        if used != expected:
            listed = ", ".join(f"${n}" for n in sorted(used)) or "none"
            raise ValueError(
                f"the SQL uses placeholders {listed} but declares {len(self.params)} "
                f"parameter(s): it must use exactly $1..${len(self.params)}"
                if self.params
                else f"the SQL uses placeholders {listed} but declares no parameters"
            )
        return self
