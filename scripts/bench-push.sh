#!/usr/bin/env bash
# Run the push benchmark against a real Label Studio (started here if it is not running).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
scripts/label-studio start
eval "$(scripts/label-studio env)"
exec "$BIN/python" bench/push.py "$@"
