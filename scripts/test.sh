#!/usr/bin/env bash
# Run every test: start (or reuse) a real Label Studio, then the suite on SQLite and,
# when WORKBENCH_TEST_DATABASE_URL is set, again on PostgreSQL.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"

# Tests get their own Label Studio (port and data) so they never touch `make run`'s.
export WORKBENCH_LS_PORT="${WORKBENCH_TEST_LS_PORT:-8089}"
export WORKBENCH_LS_DATA="${WORKBENCH_TEST_LS_DATA:-$PWD/instance/label-studio-test}"

started=0
if ! scripts/label-studio status >/dev/null 2>&1; then
    scripts/label-studio start || { echo "could not start Label Studio" >&2; exit 1; }
    started=1
fi
stop_ls() { if [ "$started" = 1 ]; then scripts/label-studio stop || true; fi; }
trap stop_ls EXIT

eval "$(scripts/label-studio env)"
export WORKBENCH_REQUIRE_LABEL_STUDIO=1

status=0
echo "== tests on SQLite"
env -u WORKBENCH_TEST_DATABASE_URL "$BIN/pytest" -q "$@" || status=1
if [ -n "${WORKBENCH_TEST_DATABASE_URL:-}" ]; then
    echo "== tests on PostgreSQL ($WORKBENCH_TEST_DATABASE_URL)"
    "$BIN/pytest" -q "$@" || status=1
fi
exit $status
