"""``onex-infra schema envelope``: the JSON Schema of the event envelope on the wire.

It is core's ``ModelEventEnvelope`` as the runtime decodes it (payload: any JSON, typed later by
the node's input model), so a producer in any language can check what it sends;
``docs/envelope.schema.json`` is this output.
"""

from __future__ import annotations

import typer

from omnibase_infra.cli.output import print_json

__all__ = ["envelope_schema", "envelope_schema_document", "register"]


def envelope_schema_document() -> dict[str, object]:
    """The envelope's JSON Schema (draft 2020-12), as the runtime validates incoming bytes."""
    from omnibase_infra.event_bus.codec import JsonEnvelope

    return {
        **JsonEnvelope.model_json_schema(mode="validation"),
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ONEX event envelope",
        "description": (
            "omnibase-core's ModelEventEnvelope as the runtime decodes it. The payload is any "
            "JSON; the node the message is routed to validates it with its input model, named "
            "by payload_type. Messages carry it as UTF-8 JSON bytes."
        ),
    }


def envelope_schema() -> None:
    """Print the JSON Schema of the event envelope the runtime accepts (stdout)."""
    from pydantic import TypeAdapter

    document = TypeAdapter(dict[str, object]).dump_python(envelope_schema_document(), mode="json")
    print_json(document)


def register(app: typer.Typer) -> None:
    """Add ``schema envelope`` to ``app``."""
    schema_app = typer.Typer(help="Schemas of what the runtime reads.", no_args_is_help=True)
    schema_app.command("envelope")(envelope_schema)
    app.add_typer(schema_app, name="schema")
