"""The infrastructure error tree: codes, statuses, retriability, correlation and sanitising."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from omnibase_infra._core import EnumCoreErrorCode, ModelOnexError
from omnibase_infra.correlation import correlation_scope
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    EnvelopeValidationError,
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    InfraUnavailableError,
    ModelInfraErrorContext,
    ProtocolConfigurationError,
    RuntimeHostError,
    SecretResolutionError,
    is_dependency_unavailable,
)
from omnibase_infra.sanitize import register_secret

# (class, error code, HTTP status, retriable by default): the table in errors.py and DESIGN.md.
_TABLE: list[tuple[type[RuntimeHostError], EnumCoreErrorCode, int, bool]] = [
    (ProtocolConfigurationError, EnumCoreErrorCode.INVALID_CONFIGURATION, 400, False),
    (SecretResolutionError, EnumCoreErrorCode.RESOURCE_NOT_FOUND, 404, False),
    (InfraConnectionError, EnumCoreErrorCode.SERVICE_UNAVAILABLE, 503, True),
    (InfraTimeoutError, EnumCoreErrorCode.TIMEOUT_ERROR, 504, True),
    (InfraAuthenticationError, EnumCoreErrorCode.AUTHENTICATION_ERROR, 401, False),
    (InfraUnavailableError, EnumCoreErrorCode.SERVICE_UNAVAILABLE, 503, True),
    (EnvelopeValidationError, EnumCoreErrorCode.VALIDATION_ERROR, 400, False),
]

# The transport-aware codes of InfraConnectionError (docs: "InfraConnectionError
# Transport-Aware Error Codes"); every member of the enum must appear here.
_CONNECTION_CODES: dict[EnumInfraTransportType, EnumCoreErrorCode] = {
    EnumInfraTransportType.DATABASE: EnumCoreErrorCode.DATABASE_CONNECTION_ERROR,
    EnumInfraTransportType.HTTP: EnumCoreErrorCode.NETWORK_ERROR,
    EnumInfraTransportType.GRPC: EnumCoreErrorCode.NETWORK_ERROR,
    EnumInfraTransportType.KAFKA: EnumCoreErrorCode.SERVICE_UNAVAILABLE,
    EnumInfraTransportType.CONSUL: EnumCoreErrorCode.SERVICE_UNAVAILABLE,
    EnumInfraTransportType.VAULT: EnumCoreErrorCode.SERVICE_UNAVAILABLE,
    EnumInfraTransportType.VALKEY: EnumCoreErrorCode.SERVICE_UNAVAILABLE,
}


@pytest.mark.parametrize(("cls", "code", "status", "retriable"), _TABLE)
def test_error_class_has_its_code_status_and_retriability(
    cls: type[RuntimeHostError], code: EnumCoreErrorCode, status: int, retriable: bool
) -> None:
    """Each leaf of the tree carries the code, HTTP status and retriability of the table."""
    error = cls("something went wrong")
    assert isinstance(error, RuntimeHostError)
    assert isinstance(error, ModelOnexError)
    assert error.error_code is code
    assert error.model.error_code is code
    assert error.http_status == status
    assert error.retriable is retriable
    assert str(error) == f"[{code.value}] something went wrong"


def test_runtime_host_error_is_a_non_retriable_500() -> None:
    """The root of the tree is an internal, non-retriable OPERATION_FAILED error."""
    error = RuntimeHostError("boom")
    assert error.error_code is EnumCoreErrorCode.OPERATION_FAILED
    assert error.http_status == 500
    assert error.retriable is False


def test_every_transport_has_a_connection_code() -> None:
    """The code table covers every transport the enum declares (a new one must be mapped)."""
    assert set(_CONNECTION_CODES) == set(EnumInfraTransportType)


@pytest.mark.parametrize(("transport", "code"), sorted(_CONNECTION_CODES.items()))
def test_connection_error_code_depends_on_transport(
    transport: EnumInfraTransportType, code: EnumCoreErrorCode
) -> None:
    """InfraConnectionError picks its code from the context's transport type."""
    error = InfraConnectionError(
        "cannot connect", context=ModelInfraErrorContext(transport_type=transport)
    )
    assert error.error_code is code
    assert error.http_status == 503
    assert error.retriable is True
    assert error.model.context["transport_type"] == transport.value


def test_connection_error_without_context_is_service_unavailable() -> None:
    """Without a context (or without a transport) the connection code is SERVICE_UNAVAILABLE."""
    assert InfraConnectionError("x").error_code is EnumCoreErrorCode.SERVICE_UNAVAILABLE
    no_transport = InfraConnectionError("x", context=ModelInfraErrorContext(operation="connect"))
    assert no_transport.error_code is EnumCoreErrorCode.SERVICE_UNAVAILABLE


@pytest.mark.parametrize("transport", list(EnumInfraTransportType))
def test_transport_does_not_change_codes_of_other_errors(
    transport: EnumInfraTransportType,
) -> None:
    """Only InfraConnectionError is transport-aware; a timeout stays TIMEOUT_ERROR everywhere."""
    context = ModelInfraErrorContext(transport_type=transport)
    assert InfraTimeoutError("x", context=context).error_code is EnumCoreErrorCode.TIMEOUT_ERROR
    unavailable = InfraUnavailableError("x", context=context)
    assert unavailable.error_code is EnumCoreErrorCode.SERVICE_UNAVAILABLE


def test_explicit_error_code_and_retriable_override_the_defaults() -> None:
    """A caller may choose the code and the retriability of a particular error."""
    error = InfraTimeoutError("x", retriable=False, error_code=EnumCoreErrorCode.OPERATION_FAILED)
    assert error.retriable is False
    assert error.error_code is EnumCoreErrorCode.OPERATION_FAILED
    assert InfraAuthenticationError("token expired", retriable=True).retriable is True


def test_context_fields_are_copied_into_the_error_model() -> None:
    """Transport, operation and target appear in the core error's structured context."""
    context = ModelInfraErrorContext(
        transport_type=EnumInfraTransportType.VAULT, operation="read", target_name="openbao"
    )
    error = InfraUnavailableError("sealed", context=context, attempt=3)
    assert error.infra_context.operation == "read"
    assert error.model.context == {
        "retry_after_seconds": None,
        "attempt": 3,
        "transport_type": "vault",
        "operation": "read",
        "target_name": "openbao",
    }


def test_correlation_id_comes_from_the_context_variable_when_absent() -> None:
    """An error raised inside a correlation scope carries that scope's id."""
    with correlation_scope() as correlation_id:
        error = InfraTimeoutError("slow")
        with_context = InfraTimeoutError("slow", context=ModelInfraErrorContext(operation="q"))
    assert error.correlation_id == correlation_id
    assert error.infra_context.correlation_id == correlation_id
    assert error.model.correlation_id == correlation_id
    assert with_context.correlation_id == correlation_id


def test_given_correlation_id_is_kept_over_the_context_variable() -> None:
    """A correlation id given in the error context wins over the ambient one."""
    given = uuid4()
    with correlation_scope() as ambient:
        error = InfraConnectionError("x", context=ModelInfraErrorContext(correlation_id=given))
    assert given != ambient
    assert error.correlation_id == given
    assert error.infra_context.correlation_id == given


def test_correlation_id_is_generated_outside_any_scope() -> None:
    """Outside any scope an error still gets a fresh (uuid4) correlation id of its own."""
    first, second = RuntimeHostError("a"), RuntimeHostError("b")
    assert isinstance(first.correlation_id, UUID)
    assert first.correlation_id.version == 4
    assert first.correlation_id != second.correlation_id
    assert first.infra_context.correlation_id == first.correlation_id


def test_unavailable_error_carries_retry_after_seconds() -> None:
    """InfraUnavailableError says when to try again, as attribute and in the model."""
    error = InfraUnavailableError("circuit open", retry_after_seconds=2.5)
    assert error.retry_after_seconds == 2.5
    assert error.model.context["retry_after_seconds"] == 2.5
    assert error.retriable is True
    assert InfraUnavailableError("down").retry_after_seconds is None


def test_configuration_error_names_file_field_and_reason() -> None:
    """ProtocolConfigurationError keeps file, field and reason apart and in its message."""
    error = ProtocolConfigurationError(
        "must be a list", file="nodes/a/contract.yaml", field="event_bus.subscribe_topics"
    )
    assert error.file == "nodes/a/contract.yaml"
    assert error.field == "event_bus.subscribe_topics"
    assert error.reason == "must be a list"
    assert error.message == "nodes/a/contract.yaml: event_bus.subscribe_topics: must be a list"
    assert error.model.context == {
        "file": "nodes/a/contract.yaml",
        "field": "event_bus.subscribe_topics",
        "reason": "must be a list",
    }
    assert error.retriable is False


def test_configuration_error_without_location_is_just_the_reason() -> None:
    """Without file and field the message is the reason alone (no dangling separators)."""
    error = ProtocolConfigurationError("no contracts found")
    assert error.message == "no contracts found"
    assert error.file is None
    assert error.field is None
    only_field = ProtocolConfigurationError("required", field="bus.kind")
    assert only_field.message == "bus.kind: required"


_SECRETS = {
    "message": "MsgPw-7731x",
    "target": "TargetPw-4410y",
    "operation": "OpTok-99120z",
    "extra": "ExtraPw-55102q",
    "nested": "NestedKey-1020w",
}


def _surfaces(error: RuntimeHostError) -> list[str]:
    """Every rendering of an error a log line, reply or DLQ record could be built from."""
    return [
        str(error),
        repr(error),
        error.message,
        error.model.model_dump_json(),
        str(error.model.model_dump()),
        error.infra_context.model_dump_json(),
        str(error.context),
        str(error.args),
    ]


@pytest.mark.parametrize("cls", [cls for cls, *_ in _TABLE])
def test_no_secret_survives_in_message_context_or_extra_fields(cls: type[RuntimeHostError]) -> None:
    """Secrets in the message, the context's target/operation and extra fields never survive."""
    context = ModelInfraErrorContext(
        transport_type=EnumInfraTransportType.DATABASE,
        operation=f"login password={_SECRETS['operation']}",
        target_name=f"postgresql://app:{_SECRETS['target']}@db.internal:5432/app",
    )
    error = cls(
        f"connect failed for postgresql://app:{_SECRETS['message']}@db.internal/app",
        context=context,
        password=_SECRETS["extra"],
        settings={"api_key": _SECRETS["nested"], "host": "db.internal"},
    )
    for surface in _surfaces(error):
        for secret in _SECRETS.values():
            assert secret not in surface
    # What is not secret survives, so the error stays useful.
    assert "db.internal" in str(error)
    assert error.model.context["settings"] == {"api_key": "***", "host": "db.internal"}


def test_registered_secret_is_masked_in_errors_without_any_pattern() -> None:
    """A resolved secret that looks like plain text is still masked once registered."""
    secret = "plain-looking-value-" + uuid4().hex
    register_secret(secret)
    error = SecretResolutionError(
        f"vault returned {secret}", context=ModelInfraErrorContext(target_name=secret), note=secret
    )
    for surface in _surfaces(error):
        assert secret not in surface


def test_configuration_error_sanitises_reason_and_file() -> None:
    """A reason or file path quoting a credential is masked in every attribute."""
    error = ProtocolConfigurationError(
        "cannot parse dsn postgresql://u:CfgPw-8812@h/db",
        file="/tmp/token=FileTok-3321/config.yaml",
        field="database",
    )
    for text in (str(error), error.reason, error.model.model_dump_json()):
        assert "CfgPw-8812" not in text
        assert "FileTok-3321" not in text


@pytest.mark.parametrize("field", ["superuser.password", "webhook_secret", "vault.token"])
def test_configuration_error_about_a_secret_field_keeps_its_reason(field: str) -> None:
    """A field that names a secret does not make the sanitiser swallow the reason after it."""
    error = ProtocolConfigurationError(
        "must be a secret reference, not a literal", file="runtime.yaml", field=field
    )
    assert error.message == f"runtime.yaml: {field}: must be a secret reference, not a literal"
    leaky = ProtocolConfigurationError("got password=Leak-4242", file="runtime.yaml", field=field)
    assert "Leak-4242" not in str(leaky)


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (InfraConnectionError("refused"), True),
        (InfraTimeoutError("slow"), True),
        (InfraUnavailableError("circuit open", retry_after_seconds=3.0), True),
        (ConnectionRefusedError("refused"), True),
        (TimeoutError(), True),
        (InfraUnavailableError("gone for good", retriable=False), False),
        (RuntimeHostError("serialization failure", retriable=True), False),
        (InfraAuthenticationError("denied"), False),
        (EnvelopeValidationError("not json"), False),
        (ValueError("bug"), False),
    ],
)
def test_only_an_unreachable_or_silent_dependency_counts_as_unavailable(
    error: BaseException, unavailable: bool
) -> None:
    """Refused, timed out or circuit-open failures say a dependency is down (retry until it is
    back); a conflict, a bug, bad input or rejected credentials do not."""
    assert is_dependency_unavailable(error) is unavailable


def _all_subclasses(cls: type[RuntimeHostError]) -> set[type[RuntimeHostError]]:
    found: set[type[RuntimeHostError]] = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_all_subclasses(sub)}
    return found


def test_error_tree_in_errors_docstring_names_every_error_of_the_package() -> None:
    """Every RuntimeHostError subclass of the package appears in errors.py's tree."""
    import importlib
    import pkgutil

    import omnibase_infra
    import omnibase_infra.errors as errors_module

    for module in pkgutil.walk_packages(omnibase_infra.__path__, "omnibase_infra."):
        if ".testing" not in module.name:
            importlib.import_module(module.name)
    package_errors = {
        cls.__name__
        for cls in _all_subclasses(RuntimeHostError)
        if cls.__module__.startswith("omnibase_infra.") and ".testing" not in cls.__module__
    }
    tree = errors_module.__doc__ or ""
    missing = sorted(name for name in package_errors if f"── {name} " not in tree)
    assert len(package_errors) >= 14
    assert missing == []
