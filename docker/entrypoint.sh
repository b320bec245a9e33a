#!/bin/sh
# Container entrypoint for every mfapp service (web, worker, beat).
# RUN_MIGRATIONS=1 (compose sets it on web only) applies migrations and registers the periodic
# tasks before the command starts; a failure stops the container instead of serving a
# half-migrated schema.
set -eu

if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
    # Migrations run as the tables' owner; the app itself connects as a role that owns nothing
    # (row-level security, docs/security.md). Without DATABASE_OWNER_URL both are one URL.
    (
        if [ -n "${DATABASE_OWNER_URL:-}" ]; then
            export DATABASE_URL="$DATABASE_OWNER_URL"
        fi
        python manage.py migrate --noinput
        python manage.py setup_periodic_tasks
    )
fi

exec "$@"
