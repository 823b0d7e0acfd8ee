"""The infrastructure error tree, rooted in core's ``ModelOnexError``.

::

    ModelOnexError (omnibase-core)
    └── RuntimeHostError                    OPERATION_FAILED        500
        ├── ProtocolConfigurationError      INVALID_CONFIGURATION   400
        │   ├── ContractLoadError           (runtime: contract loading, every file/field/reason)
        │   ├── DataDirInUseError           (handlers.postgres: embedded data dir owned)
        │   └── PolicyRegistryError         (runtime.policies: a policy or reference refused)
        │       ├── PolicyRegistryFrozenError  (a registration after the start)
        │       └── PolicyConflictError     (name@version given another content)
        ├── SecretResolutionError           RESOURCE_NOT_FOUND      404
        ├── InfraConnectionError            transport-aware code    503  retriable
        ├── InfraTimeoutError               TIMEOUT_ERROR           504  retriable
        ├── InfraAuthenticationError        AUTHENTICATION_ERROR    401
        ├── InfraUnavailableError           SERVICE_UNAVAILABLE     503  retriable
        ├── EnvelopeValidationError         VALIDATION_ERROR        400
        │   ├── MessageTooLargeError        (over the bus's max message size)
        │   └── IntrospectionValidationError  (nodes.registration: bad announcement)
        ├── RegistrationConflictError       (nodes: registration storage)        409
        ├── WorkflowStepError               (declarative: a step's output unusable)
        ├── AdapterRequestError             (nodes.adapters: a command an adapter refuses)
        ├── KeycloakNotFoundError           (handlers.oidc: no such role, client or user)  404
        └── MigrationError                  MIGRATION_ERROR         500  (migrations)
            └── MigrationChecksumError      (an applied migration was edited)

The classes outside this module live with the capability that raises them (named in brackets);
``tests/unit/test_errors.py`` fails when a ``RuntimeHostError`` subclass is missing here.

Every error carries a ``ModelInfraErrorContext`` (with the correlation id of the work in progress
when the caller gave none), its HTTP-equivalent status and whether retrying can help. An error
made from a dependency's HTTP answer also carries that answer's ``status_code``, and
``effective_status`` is what happened (the answer's status, else the class's): retry and
circuit breakers read that, never the class default alone. Messages
and extra fields are sanitised on construction, so a secret never reaches ``str(error)``.
Driver exceptions are translated at the handler boundary with ``raise ... from e``.
``is_dependency_unavailable`` tells an outage (refused, timed out, circuit open) from the rest.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import uuid4

from pydantic import JsonValue

from omnibase_infra._core import EnumCoreErrorCode, EnumOnexStatus, ModelOnexError
from omnibase_infra.correlation import current_correlation_id
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.models.model_infra_error_context import ModelInfraErrorContext
from omnibase_infra.sanitize import sanitize_text, sanitize_value

__all__ = [
    "EnvelopeValidationError",
    "InfraAuthenticationError",
    "InfraConnectionError",
    "InfraTimeoutError",
    "InfraUnavailableError",
    "MessageTooLargeError",
    "ModelInfraErrorContext",
    "ProtocolConfigurationError",
    "RuntimeHostError",
    "SecretResolutionError",
    "is_dependency_unavailable",
]


class RuntimeHostError(ModelOnexError):
    """Base of every error this package raises; carries context, status and retriability."""

    default_error_code: ClassVar[EnumCoreErrorCode] = EnumCoreErrorCode.OPERATION_FAILED
    http_status: ClassVar[int] = 500
    default_retriable: ClassVar[bool] = False

    infra_context: ModelInfraErrorContext
    retriable: bool
    status_code: int | None

    def __init__(
        self,
        message: str,
        *,
        context: ModelInfraErrorContext | None = None,
        retriable: bool | None = None,
        error_code: EnumCoreErrorCode | None = None,
        status_code: int | None = None,
        **extra: JsonValue,
    ) -> None:
        context = context or ModelInfraErrorContext()
        if context.correlation_id is None:
            context = context.model_copy(
                update={"correlation_id": current_correlation_id() or uuid4()}
            )
        fields: dict[str, JsonValue] = {key: sanitize_value(v, key) for key, v in extra.items()}
        if status_code is not None:
            fields["status_code"] = status_code
        if context.transport_type is not None:
            fields["transport_type"] = context.transport_type.value
        if context.operation is not None:
            fields["operation"] = context.operation
        if context.target_name is not None:
            fields["target_name"] = context.target_name
        super().__init__(
            self._render_message(message),
            error_code=error_code or self._error_code_for(context),
            status=EnumOnexStatus.ERROR,
            correlation_id=context.correlation_id,
            timestamp=None,
            **fields,
        )
        self.infra_context = context
        self.retriable = self.default_retriable if retriable is None else retriable
        self.status_code = status_code

    @property
    def effective_status(self) -> int:
        """The HTTP(-equivalent) status of what happened: the dependency's answer when there
        was one (``status_code``), else this error class's ``http_status``."""
        return self.status_code if self.status_code is not None else type(self).http_status

    @classmethod
    def _error_code_for(cls, context: ModelInfraErrorContext) -> EnumCoreErrorCode:
        """The error code for this class; subclasses may choose it by transport."""
        return cls.default_error_code

    def _render_message(self, message: str) -> str:
        """The error's message: ``message`` sanitised (subclasses may compose it from parts)."""
        return sanitize_text(message)


class ProtocolConfigurationError(RuntimeHostError):
    """Configuration or a contract is invalid; names the file, field and reason when known."""

    default_error_code = EnumCoreErrorCode.INVALID_CONFIGURATION
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        field: str | None = None,
        context: ModelInfraErrorContext | None = None,
        status_code: int | None = None,
        **extra: JsonValue,
    ) -> None:
        self.file = file
        self.field = field
        self.reason = sanitize_text(message)
        super().__init__(
            message,
            context=context,
            retriable=False,
            error_code=None,
            status_code=status_code,
            file=file,
            field=field,
            reason=message,
            **extra,
        )

    def _render_message(self, message: str) -> str:
        """``file: field: reason``, each part sanitised on its own.

        Sanitising the joined text would read ``<field>: <reason>`` as a key/value pair when
        the field names a secret (``superuser.password: must be ...``) and mask the reason.
        """
        parts = (self.file, self.field, message)
        return ": ".join(sanitize_text(part) for part in parts if part)


class SecretResolutionError(RuntimeHostError):
    """A secret reference could not be resolved (never includes the secret itself)."""

    default_error_code = EnumCoreErrorCode.RESOURCE_NOT_FOUND
    http_status = 404


_CONNECTION_CODES: dict[EnumInfraTransportType, EnumCoreErrorCode] = {
    EnumInfraTransportType.DATABASE: EnumCoreErrorCode.DATABASE_CONNECTION_ERROR,
    EnumInfraTransportType.HTTP: EnumCoreErrorCode.NETWORK_ERROR,
    EnumInfraTransportType.GRPC: EnumCoreErrorCode.NETWORK_ERROR,
}


class InfraConnectionError(RuntimeHostError):
    """A connection to a dependency failed; the code depends on the transport."""

    default_error_code = EnumCoreErrorCode.SERVICE_UNAVAILABLE
    http_status = 503
    default_retriable = True

    @classmethod
    def _error_code_for(cls, context: ModelInfraErrorContext) -> EnumCoreErrorCode:
        if context.transport_type is None:
            return cls.default_error_code
        return _CONNECTION_CODES.get(context.transport_type, cls.default_error_code)


class InfraTimeoutError(RuntimeHostError):
    """A call to a dependency did not finish within its timeout."""

    default_error_code = EnumCoreErrorCode.TIMEOUT_ERROR
    http_status = 504
    default_retriable = True


class InfraAuthenticationError(RuntimeHostError):
    """A dependency rejected our credentials; retrying as-is cannot help (refreshing may)."""

    default_error_code = EnumCoreErrorCode.AUTHENTICATION_ERROR
    http_status = 401


class InfraUnavailableError(RuntimeHostError):
    """A dependency is unavailable (or its circuit is open); may say when to try again."""

    default_error_code = EnumCoreErrorCode.SERVICE_UNAVAILABLE
    http_status = 503
    default_retriable = True

    def __init__(
        self,
        message: str,
        *,
        context: ModelInfraErrorContext | None = None,
        retry_after_seconds: float | None = None,
        retriable: bool | None = None,
        status_code: int | None = None,
        **extra: JsonValue,
    ) -> None:
        super().__init__(
            message,
            context=context,
            retriable=retriable,
            error_code=None,
            status_code=status_code,
            retry_after_seconds=retry_after_seconds,
            **extra,
        )
        self.retry_after_seconds = retry_after_seconds


class EnvelopeValidationError(RuntimeHostError):
    """A consumed message is not a valid envelope (not JSON, wrong schema, too large...)."""

    default_error_code = EnumCoreErrorCode.VALIDATION_ERROR
    http_status = 400


class MessageTooLargeError(EnvelopeValidationError):
    """A message is larger than the bus accepts: publishing it as it is can never succeed."""


def is_dependency_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says a dependency is down for now, not that the work is wrong.

    True for a retriable ``InfraConnectionError`` (refused, reset, lost), ``InfraTimeoutError``
    or ``InfraUnavailableError`` (circuit open, 503, overloaded), and for Python's own
    ``ConnectionError``/``TimeoutError``: the same work can succeed once the dependency is
    back, so it is held for retry (``event_bus.retry.outage_budget_seconds``), never rejected.
    """
    if isinstance(error, InfraConnectionError | InfraTimeoutError | InfraUnavailableError):
        return error.retriable
    return isinstance(error, ConnectionError | TimeoutError)
