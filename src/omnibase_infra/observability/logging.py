"""Structured logging: JSON lines on stderr, every line with its correlation id, sanitised.

``configure_logging`` is applied on first import with the defaults (JSON, INFO), so no log line
can bypass the sanitiser even when the runtime has not configured logging yet.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, MutableMapping
from typing import Literal, TextIO

import structlog
from pydantic import JsonValue
from structlog.typing import EventDict, Processor, WrappedLogger

from omnibase_infra.correlation import current_correlation_id
from omnibase_infra.sanitize import sanitize_text, sanitize_value

__all__ = [
    "LogFormat",
    "configure_logging",
    "get_logger",
    "level_enabled",
    "set_trace_ids_hook",
]

LogFormat = Literal["json", "console", "auto"]


TraceIdsHook = Callable[[], tuple[str, str] | None]
_trace_ids: list[TraceIdsHook] = []  # set by observability.tracing while a tracer is configured


def set_trace_ids_hook(hook: TraceIdsHook | None) -> None:
    """Install (or remove) what gives the current trace and span ids to every log line."""
    _trace_ids[:] = [hook] if hook is not None else []


def _add_correlation_id(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Stamp the correlation id (and, when tracing, the trace and span ids) of the current
    context on the line, unless the caller gave them."""
    if "correlation_id" not in event_dict:
        correlation_id = current_correlation_id()
        if correlation_id is not None:
            event_dict["correlation_id"] = str(correlation_id)
    if _trace_ids and "trace_id" not in event_dict:
        ids = _trace_ids[0]()
        if ids is not None:
            event_dict["trace_id"], event_dict["span_id"] = ids
    return event_dict


_BOUND_NAME = "logger_name"


def _logger_key(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """One key for the logger's name on every line: ``logger`` (a name given explicitly on
    the call, like a forwarded client's, wins over the module's)."""
    bound = event_dict.pop(_BOUND_NAME, None)
    if bound is not None and "logger" not in event_dict:
        event_dict["logger"] = bound
    return event_dict


def _to_json(value: object) -> JsonValue:
    """A JSON-shaped copy of a log value: containers kept, any other object as its ``str``.

    The renderer would ``repr`` unknown objects nested in lists and dicts after sanitising,
    so an exception quoting a DSN inside a list would reach the line unmasked.
    """
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(key): _to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_to_json(item) for item in value]
    return str(value)


def _sanitize(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Mask secrets in every value of the line, including a formatted traceback."""
    clean: MutableMapping[str, object] = {}
    for key, value in event_dict.items():
        if key == "event":
            clean[key] = sanitize_text(str(value))
        else:
            clean[key] = sanitize_value(_to_json(value), key)
    return dict(clean)


def _stderr_logger(*_: object) -> structlog.PrintLogger:
    """A logger printing to whatever ``sys.stderr`` is when the line is logged.

    Looked up per logger rather than bound at import, so a redirected stderr (a test's
    capture, a CLI runner's) receives the lines.
    """
    return structlog.PrintLogger(sys.stderr)


_level = logging.INFO  # the level of the last configure_logging call


def level_enabled(level: int) -> bool:
    """Whether lines at ``level`` are written: hot paths ask before building a line's fields
    (a structlog logger binds itself on every call, even for a level it then drops)."""
    return level >= _level


def configure_logging(level: str = "INFO", fmt: LogFormat = "json") -> None:
    """Configure structlog, and route the standard library's loggers through the same chain.

    Drivers and frameworks (asyncpg, uvicorn, httpx, core) log through ``logging``; their
    lines get the same correlation id, sanitiser and renderer as ours. Idempotent; the last
    call wins.
    """
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    global _level
    _level = numeric_level
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _logger_key,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_correlation_id,
        structlog.processors.format_exc_info,
        _sanitize,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    _route_stdlib_logging(shared, renderer, numeric_level)


class _CurrentStderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at emit time (test captures swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _route_stdlib_logging(shared: list[Processor], renderer: Processor, level: int) -> None:
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = _CurrentStderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, _CurrentStderrHandler)]:
        root.removeHandler(existing)
    root.addHandler(handler)
    # Third-party INFO chatter (connection pools, HTTP access) stays out unless asked for.
    root.setLevel(max(level, logging.WARNING))


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """A logger bound to ``name`` (the module), configured as above; its lines name it under
    ``logger``, like the standard library's routed lines."""
    # Bound lazily under another key (``logger`` is a parameter of structlog's factory, and
    # binding now would fix the configuration of import time); ``_logger_key`` renames it.
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(**{_BOUND_NAME: name})
    return logger


if not structlog.is_configured():
    configure_logging()
