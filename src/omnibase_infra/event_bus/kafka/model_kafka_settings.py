"""Settings of the Kafka bus: brokers, security (TLS, SASL), delivery and consumer tuning.

Credentials are ``SecretStr`` (the runtime resolves them from secret references before building
this model); their values are registered with the sanitiser on validation, appear in no
``repr``, log or error, and reach only the client configuration built here.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.sanitize import register_secret

__all__ = ["ClientConfig", "ModelKafkaSettings"]

ClientConfig = dict[str, str | int | float | bool]

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class ModelKafkaSettings(BaseModel):
    """How to reach and use the Kafka cluster (defaults are safe: acks=all, idempotence)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bootstrap_servers: str = Field(default="127.0.0.1:9092", min_length=1)
    client_id: str = "onex-infra"

    # -- security ------------------------------------------------------------------------------
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    ssl_key_password: SecretStr | None = None
    ssl_verify_hostname: bool = True

    # -- producing ----------------------------------------------------------------------------
    enable_idempotence: bool = True
    linger_ms: int = Field(default=1, ge=0, le=1000)
    delivery_timeout_ms: int = Field(default=30_000, ge=1000)
    message_max_bytes: int = Field(default=1_048_576, ge=1024)
    # Bounds of the producer's local queue: publish waits when it is full (backpressure).
    producer_queue_messages: int = Field(default=10_000, ge=1)
    producer_queue_kbytes: int = Field(default=32_768, ge=1)

    # -- topics -------------------------------------------------------------------------------
    auto_create_topics: bool = True
    partitions: int = Field(default=4, ge=1)
    replication_factor: int = Field(default=1, ge=1)

    # -- consuming ----------------------------------------------------------------------------
    # 6 s, the least a Kafka broker accepts by default (group.min.session.timeout.ms): a dead
    # member (kill -9) leaves its group that soon, and a join costs less (Tansu holds every
    # JoinGroup for half the session timeout: 3 s here, 5 s at 10 s).
    session_timeout_ms: int = Field(default=6_000, ge=500)
    heartbeat_interval_ms: int = Field(default=2_000, ge=100)
    max_poll_interval_ms: int = Field(default=300_000, ge=1000)
    fetch_wait_max_ms: int = Field(default=100, ge=0)
    # At most this many messages are taken per fetch and held in flight per consumer.
    max_batch: int = Field(default=500, ge=1)
    # Messages of one partition delivered at once, concurrently across keys (order per key
    # holds); 1 delivers each partition strictly in order.
    in_flight_per_partition: int = Field(default=16, ge=1)
    # Bound of the client's prefetch buffer per consumer (memory stays bounded).
    consumer_queue_kbytes: int = Field(default=4_096, ge=1)
    # How long the client's fetcher pauses when that buffer is full. librdkafka's default
    # (1000 ms) stalls a consumer that drains its buffer quickly: measured 19k msg/s at the
    # default against 297k msg/s at 10 ms on the same broker.
    fetch_queue_backoff_ms: int = Field(default=10, ge=0)
    redelivery_base_seconds: float = Field(default=0.01, gt=0)
    redelivery_max_seconds: float = Field(default=1.0, gt=0)
    # A parked message (its dead letter could not be written) is tried again this often.
    park_seconds: float = Field(default=30.0, gt=0)
    join_timeout_seconds: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _check_security(self) -> Self:
        """SASL needs a mechanism and credentials; secrets are registered for masking."""
        missing_sasl = (
            self.sasl_mechanism is None or not self.sasl_username or self.sasl_password is None
        )
        if self.security_protocol.startswith("SASL_") and missing_sasl:
            raise ProtocolConfigurationError(
                f"{self.security_protocol} needs sasl_mechanism, sasl_username and sasl_password",
                field="event_bus.kafka.sasl_mechanism",
            )
        for secret in (self.sasl_password, self.ssl_key_password):
            if secret is not None:
                register_secret(secret.get_secret_value())
        if self.heartbeat_interval_ms >= self.session_timeout_ms:
            raise ProtocolConfigurationError(
                "heartbeat_interval_ms must be below session_timeout_ms",
                field="event_bus.kafka.heartbeat_interval_ms",
            )
        return self

    def common_config(self) -> ClientConfig:
        """Connection and security options shared by producers, consumers and admin clients."""
        config: ClientConfig = {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            "security.protocol": self.security_protocol,
        }
        if self.sasl_mechanism is not None:
            config["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username is not None:
            config["sasl.username"] = self.sasl_username
        if self.sasl_password is not None:
            config["sasl.password"] = self.sasl_password.get_secret_value()
        optional = {
            "ssl.ca.location": self.ssl_ca_location,
            "ssl.certificate.location": self.ssl_certificate_location,
            "ssl.key.location": self.ssl_key_location,
        }
        config.update({k: v for k, v in optional.items() if v is not None})
        if self.ssl_key_password is not None:
            config["ssl.key.password"] = self.ssl_key_password.get_secret_value()
        if self.security_protocol in ("SSL", "SASL_SSL"):
            config["ssl.endpoint.identification.algorithm"] = (
                "https" if self.ssl_verify_hostname else "none"
            )
        return config

    def producer_config(self) -> ClientConfig:
        """Producer options: acks=all, idempotence (when enabled), bounded local queue."""
        return {
            **self.common_config(),
            "acks": "all",
            "enable.idempotence": self.enable_idempotence,
            "linger.ms": self.linger_ms,
            "delivery.timeout.ms": self.delivery_timeout_ms,
            "message.max.bytes": self.message_max_bytes,
            "queue.buffering.max.messages": self.producer_queue_messages,
            "queue.buffering.max.kbytes": self.producer_queue_kbytes,
        }

    def consumer_config(
        self, group_id: str, auto_offset_reset: Literal["earliest", "latest"]
    ) -> ClientConfig:
        """Consumer options: manual commits only, bounded prefetch, the group's timeouts."""
        return {
            **self.common_config(),
            "group.id": group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": auto_offset_reset,
            "session.timeout.ms": self.session_timeout_ms,
            "heartbeat.interval.ms": self.heartbeat_interval_ms,
            "max.poll.interval.ms": self.max_poll_interval_ms,
            "fetch.wait.max.ms": self.fetch_wait_max_ms,
            "queued.max.messages.kbytes": self.consumer_queue_kbytes,
            "fetch.queue.backoff.ms": self.fetch_queue_backoff_ms,
            "fetch.message.max.bytes": self.message_max_bytes,
        }
