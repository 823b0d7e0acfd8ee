"""Discovery models, Consul wire helpers and Consul settings: what they accept and refuse."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.handlers.consul.model_consul_settings import ModelConsulSettings
from omnibase_infra.handlers.consul.wire import (
    go_duration,
    parse_go_duration,
    service_definition,
)
from omnibase_infra.handlers.discovery import (
    EnumCheckStatus,
    ModelBlockingQuery,
    ModelDiscoveryCheck,
    ModelServiceRegistration,
)
from omnibase_infra.testing.servers.fake_consul_wire import registration_from_definition

# ---- checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"ttl_seconds": 10, "http_url": "http://h/health", "interval_seconds": 5},
        {"http_url": "http://h/health"},
        {"ttl_seconds": 10, "interval_seconds": 5},
        {"ttl_seconds": 10, "timeout_seconds": 5},
        {"http_url": "ftp://h/health", "interval_seconds": 5},
        {"http_url": "http://user:pw@h/health", "interval_seconds": 5},
        {"http_url": "http:///nohost", "interval_seconds": 5},
        {"http_url": "http://h/health", "interval_seconds": 0.5},
        {"ttl_seconds": 10, "deregister_critical_after_seconds": 30},
        {"ttl_seconds": 0},
        {"ttl_seconds": 10, "check_id": "has space"},
    ],
)
def test_invalid_checks_are_refused(fields: dict[str, object]) -> None:
    """A check is exactly one of TTL or HTTP+interval, with Consul's limits and a safe URL."""
    with pytest.raises(ValidationError):
        ModelDiscoveryCheck.model_validate(fields)


def test_valid_checks_of_each_kind() -> None:
    """A TTL check and an HTTP check with interval, timeout and reaping are accepted."""
    ttl = ModelDiscoveryCheck(ttl_seconds=15, initial_status=EnumCheckStatus.PASSING)
    http = ModelDiscoveryCheck(
        http_url="https://h:8443/health",
        interval_seconds=10,
        timeout_seconds=2,
        deregister_critical_after_seconds=60,
    )
    assert (ttl.is_ttl, http.is_ttl) == (True, False)


# ---- registrations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"service_id": "a/b", "name": "svc"},
        {"service_id": "", "name": "svc"},
        {"service_id": "a", "name": "with:colon"},
        {"service_id": "a", "name": "svc", "address": "0.0.0.0"},
        {"service_id": "a", "name": "svc", "address": "::"},
        {"service_id": "a", "name": "svc", "address": "user@host"},
        {"service_id": "a", "name": "svc", "port": 70000},
        {"service_id": "a", "name": "svc", "tags": ["x", "x"]},
        {"service_id": "a", "name": "svc", "tags": ["two words"]},
        {"service_id": "a", "name": "svc", "meta": {"bad key": "v"}},
        {"service_id": "a", "name": "svc", "meta": {"consul-reserved": "v"}},
        {"service_id": "a", "name": "svc", "meta": {"k": "v" * 513}},
        {"service_id": "a", "name": "svc", "meta": {f"k{i}": "v" for i in range(65)}},
        {
            "service_id": "a",
            "name": "svc",
            "checks": [
                {"ttl_seconds": 5, "check_id": "same"},
                {"ttl_seconds": 5, "check_id": "same"},
            ],
        },
    ],
)
def test_invalid_registrations_are_refused(fields: dict[str, object]) -> None:
    """Ids, names, addresses, tags, meta (Consul's limits) and check ids are validated."""
    with pytest.raises(ValidationError):
        ModelServiceRegistration.model_validate(fields)


def test_check_ids_default_as_consul_does() -> None:
    """One unnamed check is service:<id>; several are service:<id>:<n>; explicit ids stay."""
    one = ModelServiceRegistration(
        service_id="web-1", name="web", checks=(ModelDiscoveryCheck(ttl_seconds=5),)
    )
    three = ModelServiceRegistration(
        service_id="web-1",
        name="web",
        checks=(
            ModelDiscoveryCheck(ttl_seconds=5),
            ModelDiscoveryCheck(ttl_seconds=5, check_id="mine"),
            ModelDiscoveryCheck(ttl_seconds=5),
        ),
    )
    assert one.check_ids == ("service:web-1",)
    assert three.check_ids == ("service:web-1:1", "mine", "service:web-1:3")
    assert one.check_name(1) == "Service 'web' check"


def test_blocking_query_limits() -> None:
    """A blocking wait is positive and at most Consul's 10 minutes; the index is not negative."""
    assert ModelBlockingQuery(index=3).wait_seconds > 0
    for fields in (
        {"index": -1},
        {"index": 1, "wait_seconds": 0},
        {"index": 1, "wait_seconds": 601},
    ):
        with pytest.raises(ValidationError):
            ModelBlockingQuery.model_validate(fields)


# ---- wire helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"), [(10, "10000ms"), (2.5, "2500ms"), (0.0001, "1ms"), (600, "600000ms")]
)
def test_go_duration(seconds: float, text: str) -> None:
    """Durations go to Consul as whole milliseconds, never zero."""
    assert go_duration(seconds) == text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10.0), ("1m30s", 90.0), ("1.5s", 1.5), ("500ms", 0.5), ("1h", 3600.0), ("0", 0.0)],
)
def test_parse_go_duration(text: str, seconds: float) -> None:
    """Go duration strings parse to seconds."""
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "s", "1x", "1s2", "-1s", "1s "])
def test_parse_go_duration_refuses_junk(text: str) -> None:
    """Anything that is not a Go duration is a ValueError."""
    with pytest.raises(ValueError, match="duration"):
        parse_go_duration(text)


def test_service_definition_round_trips() -> None:
    """A registration written as Consul's JSON reads back as the same registration."""
    registration = ModelServiceRegistration(
        service_id="node-1",
        name="onex-node",
        address="10.0.0.5",
        port=8085,
        tags=("effect", "v1"),
        meta={"version": "1.2.3"},
        checks=(
            ModelDiscoveryCheck(
                ttl_seconds=15,
                deregister_critical_after_seconds=90,
                initial_status=EnumCheckStatus.WARNING,
                notes="renewed by the node",
            ),
            ModelDiscoveryCheck(check_id="http", http_url="http://10.0.0.5/h", interval_seconds=10),
        ),
    )
    back = registration_from_definition(service_definition(registration))
    assert back.model_dump(exclude={"checks"}) == registration.model_dump(exclude={"checks"})
    assert back.check_ids == registration.check_ids
    assert [c.ttl_seconds for c in back.checks] == [15, None]
    assert back.checks[0].initial_status is EnumCheckStatus.WARNING


# ---- settings ----------------------------------------------------------------------------


def test_settings_from_consul_environment() -> None:
    """CONSUL_HTTP_ADDR (scheme optional), CONSUL_HTTP_SSL and CONSUL_HTTP_TOKEN are read."""
    plain = ModelConsulSettings.from_env({"CONSUL_HTTP_ADDR": "127.0.0.1:8501"})
    tls = ModelConsulSettings.from_env(
        {"CONSUL_HTTP_ADDR": "consul.internal:8501", "CONSUL_HTTP_SSL": "true"}
    )
    with_token = ModelConsulSettings.from_env(
        {"CONSUL_HTTP_ADDR": "http://c:8500/", "CONSUL_HTTP_TOKEN": "secret-token-value"},
        datacenter="dc2",
    )
    assert plain.base_url == "http://127.0.0.1:8501"
    assert tls.target_name == "https://consul.internal:8501"
    assert with_token.base_url == "http://c:8500"
    assert with_token.datacenter == "dc2"
    assert with_token.token is not None
    assert with_token.token.get_secret_value() == "secret-token-value"
    assert "secret-token-value" not in repr(with_token)
    assert ModelConsulSettings.from_env({}).base_url == "http://127.0.0.1:8500"


@pytest.mark.parametrize(
    "address",
    ["ftp://c:8500", "http://user:hunter2pass@c:8500", "http://c:8500/?token=x", "http://c:99999"],
)
def test_bad_consul_address_is_a_configuration_error(address: str) -> None:
    """A bad address raises ProtocolConfigurationError naming the field, not the value."""
    with pytest.raises(ProtocolConfigurationError) as caught:
        ModelConsulSettings.from_env({"CONSUL_HTTP_ADDR": address})
    assert "base_url" in str(caught.value)
    assert "hunter2pass" not in str(caught.value)
