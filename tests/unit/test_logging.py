"""Logging through the real configured processors: JSON on stderr, correlation id, no secrets."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from uuid import uuid4

import pytest

from omnibase_infra.correlation import correlation_scope
from omnibase_infra.observability.logging import configure_logging, get_logger, level_enabled
from omnibase_infra.sanitize import register_secret


@pytest.fixture(autouse=True)
def _default_logging() -> Iterator[None]:
    """Every test starts and ends with the package's default configuration (JSON, INFO)."""
    configure_logging()
    yield
    configure_logging()


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    """The captured stderr lines, each parsed as JSON (fails if a line is not JSON)."""
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert lines, "expected at least one log line on stderr"
    parsed: list[dict[str, object]] = []
    for line in lines:
        value = json.loads(line)
        assert isinstance(value, dict)
        parsed.append(value)
    return parsed


def test_every_line_is_json_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """Each log call writes exactly one JSON object to stderr, with level, time and logger."""
    log = get_logger("tests.logging")
    log.info("first event", count=3)
    log.warning("second event", topic="onex.evt.demo.thing-happened.v1")
    log.error("third event")
    lines = _lines(capsys)
    assert [line["event"] for line in lines] == ["first event", "second event", "third event"]
    assert [line["level"] for line in lines] == ["info", "warning", "error"]
    assert all(line["logger"] == "tests.logging" for line in lines)
    assert all(isinstance(line["timestamp"], str) for line in lines)
    assert lines[0]["count"] == 3


def test_lines_carry_the_correlation_id_of_the_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A line logged inside a correlation scope carries that id; outside, it carries none."""
    log = get_logger("tests.logging")
    with correlation_scope() as correlation_id:
        log.info("inside")
    log.info("outside")
    inside, outside = _lines(capsys)
    assert inside["correlation_id"] == str(correlation_id)
    assert "correlation_id" not in outside


async def test_lines_logged_in_a_task_carry_the_scope_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Work started in a scope (a task) logs with the id of the scope that started it."""
    log = get_logger("tests.logging")

    async def work() -> None:
        await asyncio.sleep(0)
        log.info("in task")

    with correlation_scope() as correlation_id:
        await asyncio.create_task(work())
    (line,) = _lines(capsys)
    assert line["correlation_id"] == str(correlation_id)


def test_explicit_correlation_id_is_not_overwritten(capsys: pytest.CaptureFixture[str]) -> None:
    """A correlation id passed on the call wins over the ambient one."""
    given = uuid4()
    with correlation_scope():
        get_logger("tests.logging").info("explicit", correlation_id=given)
    (line,) = _lines(capsys)
    assert line["correlation_id"] == str(given)


class _LeakyError(Exception):
    """An exception whose text quotes a DSN with a password."""


def test_secrets_in_event_and_fields_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    """Secrets in the event text, in plain fields, nested fields and objects never reach stderr."""
    log = get_logger("tests.logging")
    log.info(
        "connecting to postgresql://app:EventPw-1111@db.internal/app",
        password="FieldPw-2222",
        dsn="postgresql://app:DsnPw-3333@db.internal/app",
        headers={"Authorization": "Bearer HeaderTok-4444", "Accept": "json"},
        errors=[_LeakyError("amqp://u:ListPw-5555@mq/")],
        nested={"inner": _LeakyError("token=NestedTok-6666")},
        error=_LeakyError("password=ObjPw-7777"),
        pair=("api_key=TuplePw-8888", 1),
    )
    text_lines = capsys.readouterr()
    for secret in (
        "EventPw-1111",
        "FieldPw-2222",
        "DsnPw-3333",
        "HeaderTok-4444",
        "ListPw-5555",
        "NestedTok-6666",
        "ObjPw-7777",
        "TuplePw-8888",
    ):
        assert secret not in text_lines.err
    (line,) = (json.loads(raw) for raw in text_lines.err.splitlines())
    # What is not secret is kept.
    assert line["event"] == "connecting to postgresql://***@db.internal/app"
    assert line["headers"] == {"Authorization": "***", "Accept": "json"}
    assert line["password"] == "***"
    assert line["errors"] == ["amqp://***@mq/"]


def test_registered_secret_is_masked_in_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """A registered secret value is masked in both the event and the fields."""
    secret = "Reg" + uuid4().hex
    register_secret(secret)
    get_logger("tests.logging").info(f"resolved {secret}", value=secret, items=[secret])
    captured = capsys.readouterr().err
    assert secret not in captured
    assert "resolved ***" in captured


def test_exception_tracebacks_are_sanitised(capsys: pytest.CaptureFixture[str]) -> None:
    """A logged exception's formatted traceback is masked like any other field."""
    log = get_logger("tests.logging")
    try:
        raise _LeakyError("cannot connect: redis://:TracePw-9999@cache:6379")
    except _LeakyError:
        log.exception("connect failed")
    (line,) = _lines(capsys)
    assert "TracePw-9999" not in json.dumps(line)
    assert "_LeakyError" in str(line["exception"])
    assert "redis://***@cache:6379" in str(line["exception"])


def test_level_filter_drops_lines_below_the_configured_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Under the default INFO level debug lines are dropped; DEBUG lets them through."""
    log = get_logger("tests.logging")
    log.debug("hidden")
    log.info("shown")
    assert [line["event"] for line in _lines(capsys)] == ["shown"]
    configure_logging(level="DEBUG")
    log.debug("now shown")
    assert [line["event"] for line in _lines(capsys)] == ["now shown"]


def test_console_format_is_sanitised_too(capsys: pytest.CaptureFixture[str]) -> None:
    """The human-readable console renderer goes through the same sanitiser."""
    configure_logging(fmt="console")
    get_logger("tests.logging").info("dsn postgresql://u:ConsolePw-1212@h/db", token="ct-3434")
    captured = capsys.readouterr().err
    assert "ConsolePw-1212" not in captured
    assert "ct-3434" not in captured
    assert "postgresql://***@h/db" in captured


def test_level_enabled_follows_the_configured_level() -> None:
    """``level_enabled`` (asked by hot paths before building a line) answers for the level
    of the last ``configure_logging`` call: INFO off under ERROR, on again under INFO."""
    assert level_enabled(logging.INFO)
    assert not level_enabled(logging.DEBUG)
    configure_logging(level="ERROR")
    assert not level_enabled(logging.INFO)
    assert level_enabled(logging.ERROR)
    configure_logging(level="INFO")
    assert level_enabled(logging.INFO)
