#!/bin/sh
# docker-compose.yml's one-shot `databases` service: create Label Studio's database next to the
# workbench's (the postgres image creates only POSTGRES_DB, and only on a new volume). Safe to run
# at every start: it creates the database only when it is missing.
# Environment: PGHOST, PGUSER, PGPASSWORD (libpq), LABEL_STUDIO_DB (default labelstudio).
set -eu
name="${LABEL_STUDIO_DB:-labelstudio}"
case "$name" in
    *[!a-z0-9_]* | "") echo "LABEL_STUDIO_DB must be lower-case letters, digits and _: $name" >&2; exit 2 ;;
esac
if [ "$(psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$name'")" = "1" ]; then
    echo "database $name exists"
else
    psql -q -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE $name"
    echo "database $name created"
fi
