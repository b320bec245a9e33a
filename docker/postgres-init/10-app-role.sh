#!/bin/sh
# Runs once, when the postgres container initialises its data directory: the roles the
# application connects as. It owns nothing and cannot bypass row-level security; `migrate`
# (run as POSTGRES_USER, the tables' owner) grants it data access (docs/security.md).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_password="$MFAPP_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE mfapp_app LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
-- What the app becomes, one transaction at a time, under platform_access() (mfapp/core/rls.py).
CREATE ROLE mfapp_app_platform NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
GRANT mfapp_app_platform TO mfapp_app;
SQL
