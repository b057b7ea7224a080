#!/usr/bin/env bash
# Start (or stop) the throwaway PostgreSQL and Redis servers that the test suite uses.
#   scripts/test-services.sh start   -> prints `export ...` lines for the test environment
#   scripts/test-services.sh stop
# PostgreSQL refuses to run as root, so the cluster belongs to the `postgres` user.
set -euo pipefail

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PG_PORT=${EDGEWATCH_TEST_PG_PORT:-55432}
REDIS_PORT=${EDGEWATCH_TEST_REDIS_PORT:-56379}
STATE=${EDGEWATCH_TEST_STATE:-/tmp/edgewatch-test-services}

install_missing() {
  local packages=()
  [ -x "$PG_BIN/postgres" ] || packages+=(postgresql)
  command -v redis-server >/dev/null || packages+=(redis-server)
  # PgBouncer: tests/db/test_pgbouncer_pooling.py runs Edgewatch through it (transaction pooling).
  [ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null || packages+=(pgbouncer)
  # promtool (Debian package `prometheus`) checks and unit-tests deploy/prometheus/ rules.
  command -v promtool >/dev/null || packages+=(prometheus)
  # Debian's Chromium drives the dashboard's browser tests (Playwright, never a downloaded browser).
  command -v chromium >/dev/null || packages+=(chromium)
  if [ ${#packages[@]} -gt 0 ]; then
    echo "installing ${packages[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o DPkg::Lock::Timeout=300 "${packages[@]}" >&2
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
}

run_as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  install_missing
  mkdir -p "$STATE"
  if ! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    rm -rf "$STATE/pg"
    mkdir -p "$STATE/pg"
    [ "$(id -u)" = 0 ] && chown postgres "$STATE/pg"
    run_as_postgres "$PG_BIN/initdb" -D "$STATE/pg/data" -U postgres --auth=trust -E UTF8 >/dev/null
    run_as_postgres "$PG_BIN/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/log" -w start -o \
      "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$STATE/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
  fi
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
      --pidfile "$STATE/redis.pid" --save '' --appendonly no >/dev/null
  fi
  echo "export EDGEWATCH_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "export EDGEWATCH_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

stop() {
  if [ -d "$STATE/pg/data" ]; then
    run_as_postgres "$PG_BIN/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
