#!/bin/sh
# Container entrypoint for every mfapp service (web, worker, beat).
# RUN_MIGRATIONS=1 (compose sets it on web only) applies migrations and registers the periodic
# tasks before the command starts; a failure stops the container instead of serving a
# half-migrated schema.
set -eu

if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
    python manage.py migrate --noinput
    python manage.py setup_periodic_tasks
fi

exec "$@"
