"""Kafka settings: safe defaults, TLS and SASL options for the client, secrets kept out of sight."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.sanitize import sanitize_text


def test_producer_defaults_are_acks_all_and_idempotent() -> None:
    """By default the producer waits for all replicas and is idempotent."""
    config = ModelKafkaSettings().producer_config()
    assert config["acks"] == "all"
    assert config["enable.idempotence"] is True


def test_consumer_never_auto_commits() -> None:
    """Consumers commit manually only (neither auto-commit nor auto offset store)."""
    config = ModelKafkaSettings().consumer_config("g", "earliest")
    assert config["enable.auto.commit"] is False
    assert config["enable.auto.offset.store"] is False
    assert config["group.id"] == "g"


def test_tls_and_sasl_options_reach_the_client() -> None:
    """SASL_SSL settings become the client's security, SASL and TLS options."""
    settings = ModelKafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="svc",
        sasl_password=SecretStr("s3cr3t-sasl-value"),
        ssl_ca_location="/etc/ca.pem",
        ssl_certificate_location="/etc/cert.pem",
        ssl_key_location="/etc/key.pem",
        ssl_key_password=SecretStr("k3y-pass-value"),
    )
    config = settings.common_config()
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert config["sasl.username"] == "svc"
    assert config["sasl.password"] == "s3cr3t-sasl-value"
    assert config["ssl.ca.location"] == "/etc/ca.pem"
    assert config["ssl.key.password"] == "k3y-pass-value"
    assert config["ssl.endpoint.identification.algorithm"] == "https"


def test_secrets_are_masked_in_repr_and_registered_for_sanitising() -> None:
    """Passwords never show in the model's repr and are masked in any later text."""
    settings = ModelKafkaSettings(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="svc",
        sasl_password=SecretStr("plain-sasl-secret-42"),
    )
    assert "plain-sasl-secret-42" not in repr(settings)
    assert "plain-sasl-secret-42" not in settings.model_dump_json()
    assert "plain-sasl-secret-42" not in sanitize_text("failed with plain-sasl-secret-42 here")


def test_sasl_without_credentials_is_a_configuration_error() -> None:
    """Choosing SASL without a mechanism and credentials fails with a typed error."""
    with pytest.raises(ProtocolConfigurationError):
        ModelKafkaSettings(security_protocol="SASL_SSL")
