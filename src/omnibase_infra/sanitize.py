"""Removes secrets and PII from text before it reaches an error, log, metric, DLQ record or reply.

Two layers: patterns for secret-shaped text (credentials in URLs and DSNs, ``key=value`` pairs with
a secret-ish key, bearer/basic headers, JWTs, private keys, well-known token prefixes, emails),
and the literal values of every secret the runtime resolved (``register_secret``), so a secret
is masked even where no pattern would recognise it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping

from pydantic import JsonValue

__all__ = [
    "MASK",
    "is_sensitive_name",
    "register_secret",
    "sanitize_mapping",
    "sanitize_text",
    "sanitize_value",
]

MASK = "***"

_SENSITIVE_WORDS = (
    r"(?:password|passwd|pwd|pass|passphrase|secret|secret[_-]?id|token|api[_-]?key|apikey|"
    r"access[_-]?key|secret[_-]?key|client[_-]?secret|private[_-]?key|credentials?|auth|"
    r"authorization|session(?:[_-]?id)?|cookie|sasl[_-]?password|x[_-]api[_-]key)"
)

# Order matters: whole blocks first, then structures that contain '@' (URLs) before emails.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
            re.S,
        ),
        "***private-key***",
    ),
    # userinfo in any URL or DSN: scheme://user:pass@host -> scheme://***@host. Greedy up to
    # the authority's last '@': URL parsers split there, so a raw '@' may be in the password.
    (re.compile(r"(?<=://)[^\s/?#'\"]+@"), MASK + "@"),
    # libpq keyword DSNs and query strings / JSON / YAML: password=..., "token": "...", etc.
    (
        re.compile(
            rf"(?i)(?P<k>[\"']?\b[\w-]*{_SENSITIVE_WORDS}[\"']?\s*(?:=|:)\s*)"
            # An auth scheme belongs to the value (Authorization: Bearer <token>); quoted
            # values may contain escaped quotes.
            r"(?P<v>(?:(?:bearer|basic|digest|negotiate|token)\s+)?"
            r"(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s,;&}\]]+))"
        ),
        r"\g<k>" + MASK,
    ),
    (re.compile(r"(?i)\b(bearer|basic|token|negotiate)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "***jwt***"),
    (
        re.compile(
            r"\b(?:hv[sbr]\.[A-Za-z0-9_-]{20,}|s\.[A-Za-z0-9]{24}|AKIA[0-9A-Z]{16}|"
            r"gh[pousr]_[A-Za-z0-9]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{20,})"
        ),
        MASK,
    ),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"), "***@***"),
)

_MIN_SECRET_LENGTH = 4
_secrets_lock = threading.Lock()
_secret_values: set[str] = set()
_secret_pattern: re.Pattern[str] | None = None


def register_secret(value: str) -> None:
    """Remember a resolved secret so every later sanitisation masks its literal value."""
    global _secret_pattern
    if len(value) < _MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        if value in _secret_values:
            return
        _secret_values.add(value)
        # Longest first so a secret that contains another is masked whole.
        alternation = "|".join(re.escape(v) for v in sorted(_secret_values, key=len, reverse=True))
        _secret_pattern = re.compile(alternation)


def sanitize_text(text: str) -> str:
    """Return ``text`` with every secret-shaped fragment and registered secret masked."""
    if not text:
        return text
    pattern = _secret_pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for regex, replacement in _PATTERNS:
        text = regex.sub(replacement, text)
    return text


_SENSITIVE_NAME = re.compile(rf"(?i)^[\w.-]*{_SENSITIVE_WORDS}$")


def is_sensitive_name(name: str) -> bool:
    """Whether a field or header name says its value is a secret (``x-api-key``, ``token``)."""
    return _SENSITIVE_NAME.match(name) is not None


def sanitize_value(value: JsonValue, key: str | None = None) -> JsonValue:
    """Sanitise a JSON-shaped value; a value under a secret-ish key is masked whole."""
    if key is not None and _SENSITIVE_NAME.match(key) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return sanitize_text(value)
    if isinstance(value, dict):
        return sanitize_mapping(value)
    if isinstance(value, list):
        return [sanitize_value(item) for item in value]
    return value


def sanitize_mapping(data: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    """Sanitise every key's value of a mapping (recursively), masking secret-ish keys whole."""
    return {key: sanitize_value(value, key) for key, value in data.items()}
