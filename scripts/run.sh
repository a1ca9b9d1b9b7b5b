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

# An admin account for the web UI and the API, created once; its token is shown only here
# and kept in instance/admin-token. Same email as Label Studio's admin, so the two map.
if [ ! -s instance/admin-token ]; then
    "$BIN/workbench" users create --email admin@workbench.local --role admin --name "Demo admin" \
        > instance/admin-token
fi
link="$("$BIN/workbench" users link --email admin@workbench.local --unless-set 2>/dev/null)"
if [ -n "$link" ]; then
    echo "  Choose the admin's password (one-time link): $link"
fi
echo "  Sign in:       $WORKBENCH_PUBLIC_URL/login as admin@workbench.local, or with the API token in"
echo "                 instance/admin-token: $(cat instance/admin-token)"
echo
echo "Serving the workbench on $WORKBENCH_PUBLIC_URL (Ctrl-C stops it; 'make label-studio-stop' stops Label Studio)"
# gunicorn, as in production: WORKBENCH_WORKERS processes of WORKBENCH_THREADS threads (2 x 8).
exec "$BIN/workbench" serve --host 127.0.0.1 --port "$PORT"
