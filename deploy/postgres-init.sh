#!/bin/sh
# Databases for Watcher's metadata and the example warehouse (compose only). The password comes
# from WATCHER_DB_PASSWORD (compose reads it from .env); psql quotes it (:'password').
set -eu
psql -v ON_ERROR_STOP=1 -v password="$WATCHER_DB_PASSWORD" --username "$POSTGRES_USER" --dbname postgres <<'SQL'
CREATE ROLE watcher LOGIN PASSWORD :'password';
CREATE DATABASE watcher OWNER watcher;
CREATE DATABASE shop OWNER watcher;
SQL
