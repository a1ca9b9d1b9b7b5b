#!/usr/bin/env bash
# Bring the whole loop up locally: Label Studio, the database, the sample article
# ingested and pushed, then the workbench web server in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"

scripts/label-studio start
eval "$(scripts/label-studio env)"

mkdir -p instance
# The webhook secret is generated once per checkout and never committed.
if [ ! -s instance/webhook-secret ]; then
    "$BIN/python" -c 'import secrets; print(secrets.token_hex(24))' > instance/webhook-secret
fi
export WORKBENCH_WEBHOOK_SECRET="$(cat instance/webhook-secret)"
PORT="${WORKBENCH_PORT:-5000}"
export WORKBENCH_PUBLIC_URL="${WORKBENCH_PUBLIC_URL:-http://127.0.0.1:$PORT}"

"$BIN/workbench" db upgrade
"$BIN/workbench" demo

# A reviewer account for the API, created once; its token is shown only here.
if [ ! -s instance/reviewer-token ]; then
    "$BIN/workbench" users create --email reviewer@workbench.local --role admin --name "Demo admin" \
        > instance/reviewer-token
fi
echo "    API token:   $(cat instance/reviewer-token)"
echo "                 (reviewer@workbench.local, role admin; kept in instance/reviewer-token)"
echo
echo "Serving the workbench on $WORKBENCH_PUBLIC_URL (Ctrl-C stops it; 'make label-studio-stop' stops Label Studio)"
exec "$BIN/workbench" serve --host 127.0.0.1 --port "$PORT"
