#!/usr/bin/env bash
# Runs the ONEX runtime with zero configuration (local profile: in-memory bus, embedded
# PostgreSQL, local discovery and secrets). With no arguments it runs the demo; any
# arguments go to the onex-infra CLI (e.g. `bash scripts/run.sh run`).
set -euo pipefail
# The explicit "" keeps env.sh from reading our own first argument as an extra to install.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh" ""
if [ "$#" -eq 0 ]; then set -- demo; fi
exec "$(dirname "$PY")/onex-infra" "$@"
