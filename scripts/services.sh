#!/usr/bin/env bash
# Starts, stops or wraps the services the test suite needs:
#   - PostgreSQL: a throwaway cluster under target/services/pg on a free port (initdb as a
#     non-root user when run as root, since PostgreSQL refuses to run as root).
# `TEST_DATABASE_URL` set beforehand points the tests at an existing server instead.
#
#   scripts/services.sh start          start what is not running; write target/services/env
#   scripts/services.sh stop           stop what start started
#   scripts/services.sh run -- CMD...  start, run CMD with the services' environment, then stop
#                                      whatever this call started
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD/target/services
envfile=$root/env
pgdir=$root/pg

die() {
  echo "services: $*" >&2
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) "$(pg_config --bindir 2>/dev/null || true)"; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return
    fi
  done
  die "PostgreSQL server binaries (initdb, pg_ctl) not found. Install them (Debian: apt-get install postgresql) or set TEST_DATABASE_URL to an existing server."
}

# Runs a command as the cluster's owner: ourselves, or a non-root user when we are root.
as_owner() {
  if [ "$(id -u)" -ne 0 ]; then
    "$@"
  else
    runuser -u "$pg_user" -- "$@"
  fi
}

pg_running() {
  [ -f "$pgdir/data/postmaster.pid" ] && [ -f "$pgdir/port" ] && as_owner "$bindir/pg_ctl" -D "$pgdir/data" status >/dev/null 2>&1
}

start_postgres() {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "services: PostgreSQL: using TEST_DATABASE_URL"
    return
  fi
  bindir=$(pg_bindir)
  pg_user=$(id -un)
  if [ "$(id -u)" -eq 0 ]; then
    pg_user=postgres
    if ! id -u "$pg_user" >/dev/null 2>&1; then
      pg_user=wanllmdb-pg
      id -u "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user" \
        || die "running as root and cannot create a non-root user for PostgreSQL"
    fi
  fi
  mkdir -p "$pgdir"
  [ "$(id -u)" -eq 0 ] && chown "$pg_user" "$pgdir"
  if pg_running; then
    echo "services: PostgreSQL already running on port $(cat "$pgdir/port")"
  else
    if [ ! -f "$pgdir/data/PG_VERSION" ]; then
      rm -rf "$pgdir/data"
      as_owner "$bindir/initdb" -D "$pgdir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$pgdir/initdb.log" 2>&1 \
        || die "initdb failed; see $pgdir/initdb.log: $(tail -3 "$pgdir/initdb.log")"
    fi
    local port
    port=$(free_port)
    as_owner "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
      -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null || die "PostgreSQL did not start; see $pgdir/server.log: $(tail -5 "$pgdir/server.log")"
    echo "$port" >"$pgdir/port"
    touch "$pgdir/started-by-us"
    echo "services: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') started on 127.0.0.1:$port (data in $pgdir/data)"
  fi
  echo "TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$(cat "$pgdir/port")/postgres" >>"$envfile"
}

stop_postgres() {
  [ -f "$pgdir/started-by-us" ] || return 0
  bindir=$(pg_bindir)
  pg_user=$(stat -c %U "$pgdir")
  as_owner "$bindir/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -f "$pgdir/started-by-us" "$pgdir/port"
  echo "services: PostgreSQL stopped"
}

start() {
  mkdir -p "$root"
  : >"$envfile"
  start_postgres
}

stop() {
  stop_postgres
  rm -f "$envfile"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  run)
    shift
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || die "usage: $0 run -- COMMAND..."
    started_here=0
    if [ ! -f "$pgdir/started-by-us" ]; then started_here=1; fi
    start
    if [ "$started_here" -eq 1 ]; then trap stop EXIT; fi
    set -a
    # shellcheck disable=SC1090
    . "$envfile"
    set +a
    "$@"
    ;;
  *) die "usage: $0 start|stop|run -- COMMAND..." ;;
esac
