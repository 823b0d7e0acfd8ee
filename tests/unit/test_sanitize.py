"""The sanitiser: every secret shape it claims is masked, ordinary text is left alone."""

from __future__ import annotations

from uuid import uuid4

import pytest

from omnibase_infra.sanitize import (
    MASK,
    register_secret,
    sanitize_mapping,
    sanitize_text,
    sanitize_value,
)

# (text containing a secret, the secret): each must come out without the secret.
_SECRET_SHAPES: list[tuple[str, str]] = [
    # credentials in DSN / URL userinfo
    ("postgresql://app:PgPw-0001@db.internal:5432/app", "PgPw-0001"),
    ("postgres://app:PgPw-0002@db.internal/app?sslmode=require", "PgPw-0002"),
    ("kafka://svc:KafkaPw-0003@broker-1:9092", "KafkaPw-0003"),
    ("amqp://guest:AmqpPw-0004@rabbit:5672/vhost", "AmqpPw-0004"),
    ("redis://:RedisPw-0005@cache:6379/0", "RedisPw-0005"),
    ("rediss://default:RedisPw-0006@cache:6380", "RedisPw-0006"),
    ("https://user:HttpPw-0007@example.com/path", "HttpPw-0007"),
    ("https://HttpTok-0008@example.com/v1", "HttpTok-0008"),
    ("connect to 'postgresql://app:PgPw-0009@db/app' failed", "PgPw-0009"),
    # an '@' inside the password (accepted by URL parsers that split at the last '@')
    ("postgresql://app:Pg@Pw-0010@db:5432/app", "Pw-0010"),
    # key=value, libpq keyword DSNs, query strings, env style
    ("host=db port=5432 user=app password=LibpqPw-0011 dbname=app", "LibpqPw-0011"),
    ("password='Quoted Pw-0012' host=db", "Quoted Pw-0012"),
    ("https://api.example.com/cb?token=QueryTok-0013&next=1", "QueryTok-0013"),
    ("secret=Sec-0014&user=a", "Sec-0014"),
    ("api-key=Key-0015", "Key-0015"),
    ("PGPASSWORD=PgEnv-0016", "PgEnv-0016"),
    ("SASL_PASSWORD=Sasl-0017", "Sasl-0017"),
    ("sasl.password=Sasl-0018", "Sasl-0018"),
    ("aws_secret_access_key = AwsSecret-0019", "AwsSecret-0019"),
    ("role_id=r1 secret_id=AppRoleSecret-0020", "AppRoleSecret-0020"),
    ("passphrase=KeyPhrase-0021", "KeyPhrase-0021"),
    # JSON forms
    ('{"password": "JsonPw-0022", "user": "app"}', "JsonPw-0022"),
    ('{"api_key": "JsonKey-0023", "x": 1}', "JsonKey-0023"),
    ('{"client_secret":"JsonCli-0024"}', "JsonCli-0024"),
    ('{"token": "JsonTok-0025"}', "JsonTok-0025"),
    ('{"secret": "JsonSec\\"0026"}', "0026"),
    ('{"password": 77001234}', "77001234"),
    # YAML forms
    ("password: YamlPw-0027", "YamlPw-0027"),
    ("client_secret: YamlCli-0028", "YamlCli-0028"),
    ("token: YamlTok-0029", "YamlTok-0029"),
    ("  apiKey: 'YamlKey-0030'", "YamlKey-0030"),
    # Authorization headers
    ("Authorization: Bearer HdrBearer-0031", "HdrBearer-0031"),
    ("Authorization: Basic dXNlcjpwYXNzLTAwMzI=", "dXNlcjpwYXNzLTAwMzI="),
    ("authorization=Bearer HdrBearer-0033", "HdrBearer-0033"),
    ("Proxy-Authorization: Basic cHJveHk6MDAzNA==", "cHJveHk6MDAzNA=="),
    ('{"Authorization": "Bearer HdrBearer-0035"}', "HdrBearer-0035"),
    ("sent header bearer RawBearer-0036 upstream", "RawBearer-0036"),
    ("x-api-key: XKey-0037", "XKey-0037"),
    ("Cookie: session=SessCookie-0038", "SessCookie-0038"),
    # JWTs
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwMDM5In0.c2lnbmF0dXJlLTAwMzk",
        "eyJzdWIiOiIwMDM5In0",
    ),
    # private keys (PEM), whole or truncated
    (
        "-----BEGIN RSA PRIVATE KEY-----\nPemBody0040\n-----END RSA PRIVATE KEY-----",
        "PemBody0040",
    ),
    ("-----BEGIN PRIVATE KEY-----\nPemBody0041 (truncated", "PemBody0041"),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nPemBody0042\n-----END OPENSSH PRIVATE KEY-----",
        "PemBody0042",
    ),
    (
        "-----BEGIN EC PRIVATE KEY-----\nPemBody0043\n-----END EC PRIVATE KEY-----",
        "PemBody0043",
    ),
    # well-known token prefixes
    ("vault hvs.CAESIJ0044abcdefghijklmnopqrstu", "hvs.CAESIJ0044abcdefghijklmnopqrstu"),
    ("legacy s.abcdefghijklmnopqrst0045", "s.abcdefghijklmnopqrst0045"),
    ("aws AKIAIOSFODNN70046XYZ", "AKIAIOSFODNN70046XYZ"),
    ("gh ghp_abcdefghijklmnopqrstuvwxyz0047", "ghp_abcdefghijklmnopqrstuvwxyz0047"),
    ("slack xoxb-1234567890-abcdefg0048", "xoxb-1234567890-abcdefg0048"),
    ("openai sk-abcdefghijklmnopqrst0049", "sk-abcdefghijklmnopqrst0049"),
    # emails (PII)
    ("contact alice.smith+0050@example.co.uk now", "alice.smith+0050"),
    ("owner: ops-0051@corp.example.com", "ops-0051"),
]


@pytest.mark.parametrize(("text", "secret"), _SECRET_SHAPES)
def test_secret_shape_is_masked(text: str, secret: str) -> None:
    """Each secret shape the module claims to recognise loses its secret."""
    clean = sanitize_text(text)
    assert secret not in clean
    assert "***" in clean


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "postgresql://app:PgPw-1@db.internal:5432/app",
            "postgresql://***@db.internal:5432/app",
        ),
        ("host=db user=app password=x1y2z3 dbname=app", "host=db user=app password=*** dbname=app"),
        ("Authorization: Bearer abcdef123456", "Authorization: ***"),
        ("contact alice@example.com now", "contact ***@*** now"),
    ],
)
def test_masking_keeps_the_structure_around_the_secret(text: str, expected: str) -> None:
    """Only the secret is replaced: host, port, user, database and the rest stay readable."""
    assert sanitize_text(text) == expected


_ORDINARY = [
    "db.internal:5432",
    "broker-1.kafka.svc.cluster.local:9092",
    "127.0.0.1:8085",
    "localhost",
    "onex.evt.registration.node-registered.v1",
    "onex.dlq.demo.store-record.v3",
    "550e8400-e29b-41d4-a716-446655440000",
    "ONEX_CORE_041_INVALID_CONFIGURATION",
    "DATABASE_CONNECTION_ERROR",
    "http://127.0.0.1:8200/v1/auth/approle/login",
    'connection to server at "db.internal" (10.0.0.5), port 5432 failed',
    "timeout after 30s on onex.cmd.demo.score.v1 partition 3 offset 42",
    "consumer group local.omnibase-infra.demo_node.consume.v1 rebalanced",
    "handler_routing.handlers.0.handler.module",
    "retry 3/5 in 0.25 s",
    "postgresql://db.internal:5432/app",
    "",
]


@pytest.mark.parametrize("text", _ORDINARY)
def test_ordinary_text_is_left_alone(text: str) -> None:
    """Hostnames, ports, topics, UUIDs, error codes and plain URLs come out unchanged."""
    assert sanitize_text(text) == text


def test_registered_secret_is_masked_wherever_it_appears() -> None:
    """A registered secret is masked inside words, URLs and JSON where no pattern would see it."""
    secret = "Zq" + uuid4().hex[:12]
    register_secret(secret)
    for text in (
        f"value {secret} end",
        f"prefix{secret}suffix",
        f'{{"note": "{secret}"}}',
        f"https://example.com/{secret}/x",
        f"{secret}{secret}",
    ):
        clean = sanitize_text(text)
        assert secret not in clean
        assert MASK in clean


def test_registered_secrets_are_masked_longest_first() -> None:
    """A secret containing another registered secret is masked whole, leaving no tail."""
    short = "Ab" + uuid4().hex[:6]
    long = short + "Tail" + uuid4().hex[:6]
    register_secret(short)
    register_secret(long)
    assert sanitize_text(f"x {long} y") == f"x {MASK} y"
    assert sanitize_text(f"x {short} y") == f"x {MASK} y"


def test_very_short_secrets_are_not_registered() -> None:
    """Values under four characters are ignored so common text is not masked everywhere."""
    register_secret("ab")
    assert sanitize_text("tab lab ab") == "tab lab ab"


def test_sanitize_value_masks_secret_keys_whole_and_recurses() -> None:
    """Values under secret-ish keys are masked whole; nested strings are pattern-sanitised."""
    data = {
        "password": "anything at all",
        "db_password": 12345,
        "Authorization": "Bearer abcdefghij",
        "client_secret": {"a": "b"},
        "credentials": ["x", "y"],
        "host": "db.internal",
        "port": 5432,
        "enabled": True,
        "missing_token": None,
        "empty_secret": "",
        "urls": ["redis://:Nested-Pw9@cache:6379", "http://ok.example.com"],
        "inner": {"api_key": "k-123456", "name": "svc", "dsn": "amqp://u:Deep-Pw8@mq/"},
    }
    assert sanitize_mapping(data) == {
        "password": MASK,
        "db_password": MASK,
        "Authorization": MASK,
        "client_secret": MASK,
        "credentials": MASK,
        "host": "db.internal",
        "port": 5432,
        "enabled": True,
        "missing_token": None,
        "empty_secret": "",
        "urls": ["redis://***@cache:6379", "http://ok.example.com"],
        "inner": {"api_key": MASK, "name": "svc", "dsn": "amqp://***@mq/"},
    }


def test_sanitize_value_leaves_non_secret_scalars_alone() -> None:
    """Numbers, booleans and None pass through; a plain key does not mask its value."""
    assert sanitize_value(42, "port") == 42
    assert sanitize_value(1.5, "ratio") == 1.5
    assert sanitize_value(None) is None
    assert sanitize_value(False, "enabled") is False
    assert sanitize_value("db.internal", "host") == "db.internal"


def test_sanitize_mapping_does_not_modify_its_input() -> None:
    """Sanitising returns a new mapping; the caller's data (which it may still need) is intact."""
    data: dict[str, object] = {"password": "p-123456", "nested": {"token": "t-123456"}}
    sanitize_mapping(data)  # type: ignore[arg-type]
    assert data == {"password": "p-123456", "nested": {"token": "t-123456"}}
