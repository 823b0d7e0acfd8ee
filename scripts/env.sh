#!/usr/bin/env bash
# Creates (or reuses) the project's virtual environment in .venv and installs the package.
# Usage: source scripts/env.sh [extra]   (extra: "dev" installs the test and lint tools too;
# pass "" explicitly when sourcing from a script, or the script's own $1 is taken for it)
# Sets PY to the environment's python. Needs Python >= 3.12 somewhere on this machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRA="${1:-}"

python_ok() {  # true when $1 runs and is Python >= 3.12
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null
}

find_python() {
    local candidates=()
    [ -n "${ONEX_PYTHON:-}" ] && candidates+=("$ONEX_PYTHON")
    candidates+=(python3.13 python3.12)
    local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
    local v
    for v in "$pyenv_root"/versions/3.13* "$pyenv_root"/versions/3.12*; do
        [ -x "$v/bin/python" ] && candidates+=("$v/bin/python")
    done
    candidates+=(python3 python)
    local c
    for c in "${candidates[@]}"; do
        if command -v "$c" >/dev/null 2>&1 && python_ok "$c"; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}

if [ ! -x "$VENV/bin/python" ] || ! python_ok "$VENV/bin/python"; then
    if ! BASE_PY="$(find_python)"; then
        cat >&2 <<'MSG'
error: omnibase_infra needs Python 3.12 or newer, and none was found.
Looked at: $ONEX_PYTHON, python3.13, python3.12, ~/.pyenv/versions/3.1[23]*, python3, python.
Install one, for example:
    pyenv install 3.12        (then re-run this command)
    apt-get install python3.12 python3.12-venv
or point ONEX_PYTHON at an existing interpreter: ONEX_PYTHON=/path/to/python3.12 bash scripts/...
MSG
        exit 1
    fi
    echo "Creating .venv with $BASE_PY ($("$BASE_PY" --version))" >&2
    rm -rf "$VENV"
    "$BASE_PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip uv
fi

PY="$VENV/bin/python"
[ -x "$VENV/bin/uv" ] || "$PY" -m pip install --quiet uv

# Reinstall only when the pins (or the way we install) changed.
INSTALL_KIND="bytecode-1"  # bump to make existing environments reinstall once
STAMP="$VENV/.installed-${EXTRA:-base}-$( { cat "$ROOT/pyproject.toml" "$ROOT/requirements.lock"; echo "$INSTALL_KIND"; } | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
    SPEC="$ROOT"
    [ -n "$EXTRA" ] && SPEC="$ROOT[$EXTRA]"
    echo "Installing omnibase_infra${EXTRA:+[$EXTRA]} into .venv" >&2
    "$VENV/bin/uv" pip install --quiet --python "$PY" -c "$ROOT/requirements.lock" -e "$SPEC"
    # Bytecode compiled once here, as pip does at install and uv does not: without it every
    # process compiles core's ~1,000 modules again (with PYTHONDONTWRITEBYTECODE set, or a
    # read-only install, nothing is ever cached), ~40% of the runtime's boot. compileall (not
    # uv's --compile-bytecode) so an existing environment is compiled too; -qq and `|| true`
    # because a few third-party files are not meant for this Python and are skipped anyway.
    SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "Compiling bytecode (once)" >&2
    "$PY" -m compileall -qq -j 0 "$SITE" "$ROOT/src" || true
    rm -f "$VENV"/.installed-"${EXTRA:-base}"-*
    touch "$STAMP"
fi
# The test suite's Node.js tools (tests/node_tools: the official AsyncAPI parser), at the exact
# versions of its package-lock.json; installed again only when that lock changes. Install
# scripts are not run (none is needed; one of the parser's dependencies would phone home).
install_node_tools() {
    local dir="$ROOT/tests/node_tools"
    local stamp
    stamp="$dir/node_modules/.installed-$(sha256sum "$dir/package-lock.json" | cut -c1-16)"
    [ -f "$stamp" ] && return 0
    if ! command -v npm >/dev/null 2>&1; then
        echo "warning: npm not found: the AsyncAPI test needs Node.js >= 18 and npm" \
            "(apt-get install nodejs npm), then: source scripts/env.sh dev" >&2
        return 0
    fi
    echo "Installing the test suite's Node.js tools (tests/node_tools)" >&2
    (cd "$dir" && SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund \
        --loglevel=error >&2)
    touch "$stamp"
}
# The dashboard's browser test drives Debian's chromium (Playwright's own browser download
# needs the internet): installed as root with apt when missing; otherwise the test skips,
# naming why.
install_browser() {
    [ -x /usr/bin/chromium ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "warning: /usr/bin/chromium missing: the dashboard's browser test needs it" \
            "(apt-get install chromium, as root)" >&2
        return 0
    fi
    echo "Installing chromium (the dashboard's browser test)" >&2
    { apt-get install -y -q chromium >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; } \
        || echo "warning: apt-get install chromium failed: the browser test will skip" >&2
}
if [ "$EXTRA" = "dev" ]; then
    install_node_tools
    install_browser
fi
export PY
