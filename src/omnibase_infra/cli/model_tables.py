"""Markdown tables of pydantic models: one row per field (type, default, description).

Shared by the generated references (``config_reference``: the runtime's settings;
``contract_reference``: ``contract.yaml``), so both spell types and defaults the same way.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from enum import Enum
from pathlib import Path

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

__all__ = ["cell", "default_text", "first_paragraph", "nested_model", "type_name"]


def nested_model(annotation: object) -> type[BaseModel] | None:
    """The model a field holds (directly or as ``Model | None``), else None."""
    for candidate in typing.get_args(annotation) or (annotation,):
        if inspect.isclass(candidate) and issubclass(candidate, BaseModel):
            return candidate
    return None


def type_name(annotation: object, *, model_names: bool = False) -> str:
    """A reader's name for a field's type: ``int``, ``"a" | "b"``, ``secret | None``.

    A nested model reads ``section``, or its class name with ``model_names``.
    """
    if isinstance(annotation, typing.ForwardRef):
        # Whether a model's forward references are resolved yet depends on what was imported
        # before: the written name reads the same either way.
        return annotation.__forward_arg__
    if annotation is SecretStr:
        return "secret"
    if annotation is type(None):
        return "null"
    if annotation is Ellipsis:
        return "..."
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f'"{a}"' if isinstance(a, str) else str(a) for a in args)
    if origin in (types.UnionType, typing.Union):
        return " \\| ".join(type_name(a, model_names=model_names) for a in args)
    if origin is not None:
        inner = ", ".join(type_name(a, model_names=model_names) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if inspect.isclass(annotation):
        if issubclass(annotation, Path):
            return "path"
        if issubclass(annotation, BaseModel):
            return annotation.__name__ if model_names else "section"
        return annotation.__name__
    return re.sub(r"\b[a-z_]+(\.[a-z_]+)*\.(?=[A-Za-z])", "", str(annotation))


def default_text(field: FieldInfo) -> str:
    """The default as YAML would spell it (``required`` when there is none)."""
    if field.default is PydanticUndefined:
        if field.default_factory is None:
            return "required"
        try:
            made = field.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return "computed"  # a factory of the validated data: no fixed default
        if made != field.default_factory():  # type: ignore[call-arg]
            return "a new one each time"  # ids and the like: no value worth printing
        if isinstance(made, BaseModel):
            return "its defaults"
        return f"`{made!r}`" if made else "`[]`" if isinstance(made, list) else "empty"
    value = field.default
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Enum):
        return f"`{value.value}`"
    return f"`{value}`"


def cell(text: str | None) -> str:
    """``text`` made safe for one Markdown table cell."""
    return (text or "").replace("|", "\\|").replace("\n", " ")


def first_paragraph(model: type[BaseModel]) -> str:
    """The first paragraph of a model's docstring, on one line."""
    return inspect.cleandoc(model.__doc__ or "").split("\n\n")[0].replace("\n", " ")
