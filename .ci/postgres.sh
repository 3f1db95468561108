#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on the loopback interface for the
# multi-worker search tests, and print the line that points the tests at it:
#
#     eval "$(bash .ci/postgres.sh)"     # sets SKMNIST_TEST_POSTGRES_URL
#
# Idempotent: installs Debian's `postgresql` only when it is missing, creates
# the cluster (under /tmp, trust authentication, 127.0.0.1 only) only when it
# does not exist, starts it only when it is not running, and creates the test
# role and database only when they are missing. Progress goes to stderr; stdout
# carries nothing but the `export` line. Needs root (CI and the dev machines
# run as root); the server itself runs as the `postgres` user.
#
# Settings (environment): SKMNIST_PG_PORT (default 54329, away from a system
# server on 5432), SKMNIST_PG_DATA (default /tmp/skmnist-postgres).
set -euo pipefail

PORT="${SKMNIST_PG_PORT:-54329}"
DATA="${SKMNIST_PG_DATA:-/tmp/skmnist-postgres}"
ROLE=skmnist
DB=skmnist_test

log() { echo "postgres.sh: $*" >&2; }

pg_bindir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if [ -z "$(pg_bindir)" ] || [ ! -x "$(pg_bindir)/initdb" ]; then
    log "installing Debian's postgresql"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q postgresql >&2; then
        apt-get update -q >&2
        apt-get install -y -q postgresql >&2
    fi
fi
BIN="$(pg_bindir)"
id postgres >/dev/null 2>&1 || { log "no 'postgres' user after installing postgresql"; exit 1; }

as_postgres() { su postgres -s /bin/sh -c "$*"; }

if [ ! -s "$DATA/PG_VERSION" ]; then
    log "creating a cluster in $DATA"
    mkdir -p "$DATA"
    chown postgres:postgres "$DATA"
    chmod 700 "$DATA"
    as_postgres "'$BIN/initdb' -D '$DATA' -U postgres -A trust -E UTF8 --no-sync" >&2
fi

start_server() {
    # max_connections: each optuna worker holds a small connection pool.
    as_postgres "'$BIN/pg_ctl' -D '$DATA' -l '$DATA/server.log' -w -t 60 start \
        -o \"-c listen_addresses=127.0.0.1 -p $PORT -k /tmp -c max_connections=200 -c fsync=off\"" >&2
}
if ! as_postgres "'$BIN/pg_ctl' -D '$DATA' status" >/dev/null 2>&1; then
    log "starting the server on 127.0.0.1:$PORT"
    if ! start_server; then
        # A server killed with its machine leaves postmaster.pid behind; it is
        # stale when `pg_ctl status` says no server runs.
        log "retrying without the stale postmaster.pid"
        rm -f "$DATA/postmaster.pid"
        start_server
    fi
fi

psql_admin() { "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

for _ in $(seq 1 30); do
    "$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q && break
    sleep 1
done
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname='$ROLE'")" != "1" ]; then
    log "creating role $ROLE"
    psql_admin -c "CREATE ROLE $ROLE LOGIN"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='$DB'")" != "1" ]; then
    log "creating database $DB"
    psql_admin -c "CREATE DATABASE $DB OWNER $ROLE"
fi

echo "export SKMNIST_TEST_POSTGRES_URL=postgresql+psycopg2://$ROLE@127.0.0.1:$PORT/$DB"
