"""Translation of the Kafka client's errors into this package's error tree (KAFKA context)."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    InfraUnavailableError,
    MessageTooLargeError,
    ModelInfraErrorContext,
    RuntimeHostError,
)

__all__ = ["kafka_context", "translate_kafka_error"]

_TIMEOUTS = frozenset(
    {KafkaError._MSG_TIMED_OUT, KafkaError._TIMED_OUT, KafkaError.REQUEST_TIMED_OUT}
)
_CONNECTION = frozenset(
    {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._RESOLVE, KafkaError._SSL}
)
_TOO_LARGE = frozenset({KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE})
_AUTH = frozenset(
    {
        KafkaError._AUTHENTICATION,
        KafkaError.SASL_AUTHENTICATION_FAILED,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.GROUP_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    }
)


def kafka_context(operation: str, target: str | None = None) -> ModelInfraErrorContext:
    """Error context of a Kafka operation on ``target`` (a topic or group)."""
    return ModelInfraErrorContext(
        transport_type=EnumInfraTransportType.KAFKA, operation=operation, target_name=target
    )


def translate_kafka_error(
    error: KafkaError | KafkaException | BufferError,
    operation: str,
    target: str | None = None,
    *,
    servers: str | None = None,
) -> RuntimeHostError:
    """The typed error for a client error (the caller raises it ``from`` the original).

    ``servers`` (the bootstrap servers) is named in the message when given, so an operator
    reading "timed out" also reads where the runtime was looking for the cluster.
    """
    context = kafka_context(operation, target)
    if isinstance(error, BufferError):
        return InfraUnavailableError(
            "producer queue is full", context=context, retry_after_seconds=0.1
        )
    where = f" (bootstrap servers {servers})" if servers else ""
    kafka_error = error.args[0] if isinstance(error, KafkaException) and error.args else error
    if not isinstance(kafka_error, KafkaError):
        return InfraConnectionError(
            f"kafka {operation} failed: {kafka_error}{where}", context=context
        )
    code = kafka_error.code()
    text = f"kafka {operation} failed: {kafka_error.name()}: {kafka_error.str()}{where}"
    if code in _TIMEOUTS:
        return InfraTimeoutError(text, context=context)
    if code in _AUTH:
        return InfraAuthenticationError(text, context=context)
    if code in _TOO_LARGE:
        return MessageTooLargeError(text, context=context)
    if code in _CONNECTION:
        return InfraConnectionError(text, context=context)
    return InfraUnavailableError(text, context=context, retriable=kafka_error.retriable())
